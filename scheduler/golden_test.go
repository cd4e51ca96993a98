package scheduler

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/placement")

// TestPlacementGolden runs each scenario under testdata/placement: YAML documents of Nodes and Pods,
// where a Pod with spec.nodeName runs there already and the others are placed in file order on
// a Cluster with the default profile, each seeing those before it. Where each went, or why it
// fits nowhere, is compared with the scenario's .golden file. Run with -update to rewrite them.
func TestPlacementGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/placement/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			got := placeScenario(t, file)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("placements differ from %s (run with -update to accept):\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// placeScenario places the Pending Pods of file and renders one line per Pod.
func placeScenario(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []store.Item[api.Node]
	var pending []*api.Pod
	c := NewCluster()
	for i, doc := range strings.Split(string(data), "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		switch head.Kind {
		case api.KindNode:
			var n api.Node
			if err := yaml.UnmarshalStrict([]byte(doc), &n); err != nil {
				t.Fatalf("document %d: %v", i, err)
			}
			nodes = append(nodes, store.Item[api.Node]{Name: n.Metadata.Name, Value: n, ModRevision: int64(i + 1)})
		case api.KindPod:
			p := &api.Pod{}
			if err := yaml.UnmarshalStrict([]byte(doc), p); err != nil {
				t.Fatalf("document %d: %v", i, err)
			}
			p.Metadata.Namespace = cmp.Or(p.Metadata.Namespace, "default")
			if p.Spec.NodeName == "" {
				pending = append(pending, p)
				continue
			}
			c.Assume(store.Item[api.Pod]{Name: podName(p), Value: *p, ModRevision: int64(i + 1)})
		}
	}
	c.SetNodes(nodes)
	var b strings.Builder
	for _, p := range pending {
		pl, fitErr := c.Place(NewPodInfo(p), DefaultProfile(), len(nodes))
		if fitErr != nil {
			fmt.Fprintf(&b, "%s: %s\n", podName(p), fitErr.Error())
			continue
		}
		fmt.Fprintf(&b, "%s -> %s\n", podName(p), pl.Node)
		bound := *p
		bound.Spec.NodeName = pl.Node
		c.Assume(store.Item[api.Pod]{Name: podName(p), Value: bound})
	}
	return b.String()
}
