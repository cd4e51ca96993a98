package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// list is the stable shape of `get -o json`: {"items": [...]}, as kubectl prints a List.
type list[T any] struct {
	Items []T `json:"items"`
}

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := connFlags{readOnly: true}
	conn.register(fs)
	output := fs.String("o", "", "output format: json, yaml or wide")
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("get: want one of pods, deployments, replicasets, services, nodes")
	}
	ctx, s, done, err := conn.session(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer done()
	switch fs.Arg(0) {
	case "pods", "pod", "po":
		return getPods(ctx, s, *output, stdout)
	case "deployments", "deployment", "deploy":
		return getDeployments(ctx, s, *output, stdout)
	case "replicasets", "replicaset", "rs":
		return getReplicaSets(ctx, s, *output, stdout)
	case "services", "service", "svc":
		return getServices(ctx, s, *output, stdout)
	case "nodes", "node", "no":
		return getNodes(ctx, s, *output, stdout)
	}
	return fmt.Errorf("get: unknown resource %q (want pods, deployments, replicasets, services or nodes)", fs.Arg(0))
}

// reorderFlags moves flags after the positional argument to the front, so `get pods -o json`
// parses as kubectl users expect.
func reorderFlags(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
		case strings.Contains(a, "=") || i+1 >= len(args):
			flags = append(flags, a)
		default:
			flags = append(flags, a, args[i+1])
			i++
		}
	}
	return append(flags, pos...)
}

func emit[T any](w io.Writer, format string, items []T, header string, row func(T) string) error {
	switch format {
	case "json":
		return writeJSON(w, list[T]{Items: items})
	case "yaml":
		return writeYAML(w, list[T]{Items: items})
	}
	rows := make([]string, len(items))
	for i, it := range items {
		rows[i] = row(it)
	}
	return table(w, header, rows)
}

func getPods(ctx context.Context, s *store.Store, format string, w io.Writer) error {
	pods, err := s.ListPodsWithStatus(ctx)
	if err != nil {
		return err
	}
	sort.Slice(pods, func(i, j int) bool {
		a, b := pods[i].Metadata, pods[j].Metadata
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	header := "NAMESPACE\tNAME\tREADY\tSTATUS\tRESTARTS\tNODE"
	if format == "wide" {
		header += "\tIP\tMESSAGE"
	}
	return emit(w, format, pods, header, func(p api.Pod) string {
		ready := 0
		if p.Status.Ready {
			ready = 1
		}
		r := fmt.Sprintf("%s\t%s\t%d/1\t%s\t%d\t%s", p.Metadata.Namespace, p.Metadata.Name, ready,
			podStatusColumn(p.Status), p.Status.Restarts, dash(p.Spec.NodeName))
		if format == "wide" {
			r += fmt.Sprintf("\t%s\t%s", dash(p.Status.PodIP), p.Status.Message)
		}
		return r
	})
}

// podStatusColumn is the phase, or while init containers run their progress (Init:1/2,
// Init:CrashLoopBackOff, Init:Error), as kubectl shows it.
func podStatusColumn(st api.PodStatus) string {
	if strings.HasPrefix(st.Reason, api.ReasonInitPrefix) {
		return st.Reason
	}
	return st.Phase
}

func getDeployments(ctx context.Context, s *store.Store, format string, w io.Writer) error {
	desired, _, err := s.ListDesired(ctx)
	if err != nil {
		return err
	}
	var deps []*api.Deployment
	for _, d := range desired {
		if dep, ok := d.Object.(*api.Deployment); ok {
			deps = append(deps, dep)
		}
	}
	sort.Slice(deps, func(i, j int) bool {
		return deps[i].Metadata.Namespace+"/"+deps[i].Metadata.Name < deps[j].Metadata.Namespace+"/"+deps[j].Metadata.Name
	})
	health, err := recordedHealth(ctx, s)
	if err != nil {
		return err
	}
	return emit(w, format, deps, "NAMESPACE\tNAME\tREADY\tHEALTH\tCOMMIT", func(d *api.Deployment) string {
		o, ok := health[api.KeyOf(d)]
		ready, state := "-", "-"
		if ok {
			ready, state = fmt.Sprintf("%d/%d", o.Ready, o.Want), o.Health
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", d.Metadata.Namespace, d.Metadata.Name, ready, state,
			short(d.Metadata.Annotations[api.AnnotationCommit]))
	})
}

// recordedHealth is the health the workload controller recorded, by object; empty before its
// first record.
func recordedHealth(ctx context.Context, s *store.Store) (map[api.Key]api.ObjectStatus, error) {
	h, err := s.GetHealth(ctx, api.DefaultSource)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	out := make(map[api.Key]api.ObjectStatus, len(h.Objects))
	for _, o := range h.Objects {
		out[o.Key] = o
	}
	return out, nil
}

func getNodes(ctx context.Context, s *store.Store, format string, w io.Writer) error {
	items, _, err := s.ListNodes(ctx)
	if err != nil {
		return err
	}
	nodes := make([]api.Node, len(items))
	for i, it := range items {
		nodes[i] = it.Value
	}
	header := "NAME\tSTATUS\tPOD-CIDR\tINTERNAL-IP\tCPU\tMEMORY"
	if format == "wide" {
		header += "\tCONDITIONS"
	}
	return emit(w, format, nodes, header, func(n api.Node) string {
		r := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", n.Metadata.Name, nodeStatus(n), dash(n.Spec.PodCIDR),
			dash(n.Status.InternalIP()), n.Status.Capacity[api.ResourceCPU], n.Status.Capacity[api.ResourceMemory])
		if format == "wide" {
			r += "\t" + conditions(n.Status.Conditions)
		}
		return r
	})
}

// nodeStatus is Ready or NotReady, as kubectl shows it, with SchedulingDisabled when cordoned.
func nodeStatus(n api.Node) string {
	s := "NotReady"
	if n.Status.Ready {
		s = "Ready"
	}
	if n.Spec.Unschedulable {
		s += ",SchedulingDisabled"
	}
	return s
}

// conditions renders the conditions that are not as they should be, or "-".
func conditions(cs []api.NodeCondition) string {
	var out []string
	for _, c := range cs {
		if c.Type == api.NodeReady && c.Status == api.ConditionTrue {
			continue
		}
		out = append(out, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	return dash(strings.Join(out, ","))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
