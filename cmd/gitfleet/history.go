package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := connFlags{readOnly: true}
	conn.register(fs)
	output := fs.String("o", "", "output format: json or yaml ({\"items\": [...]}, oldest first)")
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("history: unexpected argument %q", fs.Arg(0))
	}
	ctx, s, done, err := conn.session(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer done()
	entries, err := s.ListHistory(ctx, syncSource)
	if err != nil {
		return err
	}
	return emit(stdout, *output, entries, "ID\tTIME\tCOMMIT\tRESULT\tCHANGES\tAUTHOR\tMESSAGE", historyRow)
}

// maxTableMessage bounds the MESSAGE column; -o json has the whole text.
const maxTableMessage = 100

// historyRow is one entry as a table row: the commit's message, followed by the attempt's own
// message (why it failed, what it reverted) when it has one.
func historyRow(e api.HistoryEntry) string {
	result := e.Result
	switch {
	case e.RollbackFrom != "":
		result += " (automatic rollback)"
	case e.Rollback:
		result += " (rollback)"
	}
	if e.Healthy {
		result += ", Healthy"
	}
	s := e.Summary
	msg := e.Commit.Message
	if e.Message != "" {
		msg = strings.TrimPrefix(msg+": "+e.Message, ": ")
	}
	return fmt.Sprintf("%d\t%s\t%s\t%s\t+%d ~%d -%d\t%s\t%s", e.ID, dash(e.Time), short(e.Commit.Hash), result,
		s.Created, s.Updated, s.Deleted, dash(cell(e.Commit.Author, 40)), dash(cell(msg, maxTableMessage)))
}

// cell makes s fit one table cell: no tabs or line breaks, at most n runes.
func cell(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}
