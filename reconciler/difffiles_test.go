package reconciler

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestDiffFiles(t *testing.T) {
	cm := func(color string) []byte {
		return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: " + color + "\n")
	}
	prev := map[string][]byte{"cm.yaml": cm("blue"), "other.yaml": cm("x")[:0]}
	next := map[string][]byte{"cm.yaml": cm("green")}
	cs, errs := DiffFiles(prev, next, api.Rules{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if s := cs.Summary(); s.Updated != 1 || s.Created != 0 || s.Deleted != 0 {
		t.Fatalf("summary %+v, want one update", s)
	}
	var b bytes.Buffer
	if err := RenderUnified(&b, cs, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "-  color: blue\n+  color: green\n") {
		t.Errorf("diff:\n%s", b.String())
	}
	if cs, _ := DiffFiles(nil, next, api.Rules{}); cs.Summary().Created != 1 {
		t.Errorf("from nothing: %+v, want one create", cs.Summary())
	}
	if _, errs := DiffFiles(prev, map[string][]byte{"cm.yaml": []byte("kind: [\n")}, api.Rules{}); len(errs) == 0 || errs[0].File != "cm.yaml" {
		t.Errorf("broken commit: errors %v, want cm.yaml's", errs)
	}
}
