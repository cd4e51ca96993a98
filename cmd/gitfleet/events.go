package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := connFlags{readOnly: true}
	conn.register(fs)
	watch := fs.Bool("w", false, "watch: after the events recorded, print each one recorded or counted again, until interrupted")
	forObj := fs.String("for", "", "only the events of one object: KIND/NAMESPACE/NAME, or KIND/NAME for a cluster-scoped one (Node/n1, Source/default: the sync source)")
	output := fs.String("o", "", "output format: json ({\"items\": [...]}; with -w one event a line)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet events [-w] [--for KIND/NS/NAME] [-o json]\n\nThe events of the last hour, oldest first: what the controller, the scheduler and the agents did or saw"+
			"\n(commits applied, syncs failed, objects created and pruned, Pods scheduled or fitting nowhere, containers started,"+
			"\nrestarted, killed, OOMKilled or backing off, nodes NotReady); each object keeps its last 20 of each source.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("events: unexpected argument %q", fs.Arg(0))
	}
	if *output != "" && *output != "json" {
		return fmt.Errorf("events: -o %q: want json", *output)
	}
	match, err := eventFilter(*forObj)
	if err != nil {
		return err
	}
	timeout := 10 * time.Second
	if *watch {
		timeout = 0
	}
	ctx, s, done, err := conn.session(ctx, timeout)
	if err != nil {
		return err
	}
	defer done()
	evs, rev, err := s.ListEvents(ctx)
	if err != nil {
		return err
	}
	var shown []api.Event
	for _, e := range evs {
		if match(e) {
			shown = append(shown, e)
		}
	}
	p := eventPrinter{w: stdout, json: *output == "json", now: time.Now}
	if !*watch {
		return p.list(shown)
	}
	return p.watch(ctx, s, rev, shown, match)
}

// eventFilter parses --for: KIND/NS/NAME or KIND/NAME ("" matches every event).
func eventFilter(spec string) (func(api.Event) bool, error) {
	if spec == "" {
		return func(api.Event) bool { return true }, nil
	}
	parts := strings.Split(spec, "/")
	var k api.Key
	switch len(parts) {
	case 2:
		k = api.Key{Kind: parts[0], Name: parts[1]}
	case 3:
		k = api.Key{Kind: parts[0], Namespace: parts[1], Name: parts[2]}
	}
	if k.Kind == "" || k.Name == "" {
		return nil, fmt.Errorf("events: --for %q: want KIND/NAMESPACE/NAME or KIND/NAME (Pod/default/web-1, Node/n1)", spec)
	}
	return func(e api.Event) bool {
		return strings.EqualFold(e.Object.Kind, k.Kind) && e.Object.Namespace == k.Namespace && e.Object.Name == k.Name
	}, nil
}

// eventPrinter prints events as a table or JSON.
type eventPrinter struct {
	w    io.Writer
	json bool
	now  func() time.Time
}

const eventsHeader = "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE"

func (p eventPrinter) list(evs []api.Event) error {
	if p.json {
		return writeJSON(p.w, list[api.Event]{Items: append([]api.Event{}, evs...)})
	}
	rows := make([]string, len(evs))
	for i, e := range evs {
		rows[i] = p.row(e)
	}
	return table(p.w, eventsHeader, rows)
}

// row renders e: its age, with its count when it happened more than once.
func (p eventPrinter) row(e api.Event) string {
	seen := age(e.LastTime.Format(time.RFC3339), p.now())
	if e.Count > 1 {
		seen += fmt.Sprintf(" (x%d over %s)", e.Count, age(e.FirstTime.Format(time.RFC3339), p.now()))
	}
	return strings.Join([]string{seen, e.Type, e.Reason, eventObject(e.Object), e.Message}, "\t")
}

// eventObject is KIND/NS/NAME, or KIND/NAME for a cluster-scoped object.
func eventObject(k api.Key) string {
	if k.Namespace == "" {
		return k.Kind + "/" + k.Name
	}
	return k.String()
}

// watch prints evs, then each event recorded after rev that match accepts, until ctx ends
// (nil) or the watch is lost (an error: run it again).
func (p eventPrinter) watch(ctx context.Context, s *store.Store, rev int64, evs []api.Event, match func(api.Event) bool) error {
	print := func(e api.Event) error {
		if p.json {
			b, _ := json.Marshal(e) // plain struct: always marshals
			_, err := fmt.Fprintf(p.w, "%s\n", b)
			return err
		}
		_, err := fmt.Fprintln(p.w, strings.ReplaceAll(p.row(e), "\t", "   "))
		return err
	}
	if p.json {
		for _, e := range evs {
			if err := print(e); err != nil {
				return err
			}
		}
	} else if err := p.list(evs); err != nil {
		return err
	}
	for ch := range s.Watch(ctx, store.Events, rev) {
		var e api.Event
		if ch.Deleted || json.Unmarshal(ch.Value, &e) != nil || !match(e) {
			continue
		}
		if err := print(e); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("events: the watch was lost; run it again")
}
