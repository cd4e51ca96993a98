package reconciler

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

// renderCase is one change set rendered by RenderUnified into a golden file.
type renderCase struct {
	name    string
	desired []api.Object
	live    map[api.Key]store.DesiredObject
}

func renderCases() []renderCase {
	web := func(replicas int32, image string) *api.Deployment {
		d := fixture.Deployment("web", replicas, image)
		d.Spec.Selector = &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		d.Spec.Template.Spec.Containers[0].Command = []string{"sh", "-c", "exec httpd -f -p 8080"}
		d.Spec.Template.Spec.Containers[0].Ports = []api.ContainerPort{{ContainerPort: 8080}}
		return d
	}
	return []renderCase{
		{"create", []api.Object{annotated(web(2, "nginx:1.25"), "c1", "deploy/web.yaml:1")}, nil},
		{"update", []api.Object{annotated(web(3, "nginx:1.27"), "c2", "deploy/web.yaml:1")},
			fixture.Desired(4, annotated(web(2, "nginx:1.25"), "c1", "deploy/web.yaml:1"))},
		{"delete", nil, fixture.Desired(4, annotated(fixture.ConfigMap("default", "retired", map[string]string{"mode": "slow"}), "c1", "cm.yaml:1"))},
		{"mixed", []api.Object{web(3, "nginx:1.27"), fixture.Namespace("prod"),
			fixture.ConfigMap("default", "web-config", map[string]string{"mode": "fast", "level": "info"})},
			fixture.Desired(1, web(2, "nginx:1.27"), fixture.Pod("old", "busybox"),
				fixture.ConfigMap("default", "web-config", map[string]string{"mode": "slow", "level": "info"}))},
	}
}

func TestRenderUnifiedGolden(t *testing.T) {
	for _, tc := range renderCases() {
		cs := Diff(tc.desired, tc.live)
		for _, color := range []bool{false, true} {
			name := "unified-" + tc.name
			if color {
				name += "-color"
			}
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := RenderUnified(&buf, cs, color); err != nil {
					t.Fatal(err)
				}
				golden(t, name+".golden", buf.Bytes())
				if strings.Contains(buf.String(), api.AnnotationCommit) || strings.Contains(buf.String(), api.AnnotationSource) {
					t.Errorf("the diff shows the controller's annotations:\n%s", buf.String())
				}
				if hasEscape := strings.Contains(buf.String(), "\x1b["); hasEscape != color {
					t.Errorf("color %v, but escapes in the output: %v", color, hasEscape)
				}
			})
		}
	}
}

// The update of replicas shows as a pair of lines, the way users and the e2e test read it.
func TestRenderUnifiedReplicasLinePair(t *testing.T) {
	cs := Diff([]api.Object{fixture.Deployment("web", 3, "nginx")}, fixture.Desired(1, fixture.Deployment("web", 2, "nginx")))
	var buf bytes.Buffer
	if err := RenderUnified(&buf, cs, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\n-  replicas: 2\n+  replicas: 3\n") {
		t.Fatalf("no replicas line pair in:\n%s", buf.String())
	}
}

func TestRenderUnifiedSkipsUnchanged(t *testing.T) {
	cs := Diff([]api.Object{fixture.Deployment("web", 2, "nginx")}, fixture.Desired(1, fixture.Deployment("web", 2, "nginx")))
	var buf bytes.Buffer
	if err := RenderUnified(&buf, cs, true); err != nil || buf.Len() != 0 {
		t.Fatalf("unchanged set rendered %q, %v; want nothing", buf.String(), err)
	}
}

// An undecodable live value diffs as empty against the git version.
func TestRenderUnifiedUndecodableLive(t *testing.T) {
	cs := Diff([]api.Object{fixture.Pod("p", "x")}, map[api.Key]store.DesiredObject{
		{Kind: api.KindPod, Namespace: "default", Name: "p"}: {ModRevision: 3}})
	var buf bytes.Buffer
	if err := RenderUnified(&buf, cs, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "@@ -0,0 +1,") || !strings.Contains(buf.String(), "+kind: Pod\n") {
		t.Fatalf("undecodable live value:\n%s", buf.String())
	}
}

func TestHunks(t *testing.T) {
	tests := []struct {
		name string
		a, b string // one line per character
		want string // hunk headers, in order
	}{
		{"equal", "abcdef", "abcdef", ""},
		{"from empty", "", "abc", "@@ -0,0 +1,3 @@"},
		{"to empty", "abc", "", "@@ -1,3 +0,0 @@"},
		{"one line changed in the middle", "abcdefghij", "abcdeXghij", "@@ -3,7 +3,7 @@"},
		{"first line", "abcdefgh", "Xbcdefgh", "@@ -1,4 +1,4 @@"},
		{"one line file", "a", "b", "@@ -1 +1 @@"},
		{"insert at end", "abcdef", "abcdefg", "@@ -4,3 +4,4 @@"},
		{"changes 6 apart share a hunk", "abcdefghijklmnop", "abcXefghijXlmnop", "@@ -1,14 +1,14 @@"},
		{"changes 7 apart do not", "abcdefghijklmnopq", "abcXefghijkXmnopq", "@@ -1,7 +1,7 @@ @@ -9,7 +9,7 @@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var heads []string
			for _, h := range hunks(diffLines(chars(tt.a), chars(tt.b)), contextLines) {
				var buf bytes.Buffer
				writeHunk(&buf, painter{}, h)
				heads = append(heads, strings.SplitN(buf.String(), "\n", 2)[0])
			}
			if got := strings.Join(heads, " "); got != tt.want {
				t.Fatalf("hunks = %q, want %q", got, tt.want)
			}
		})
	}
}

// Property: the edit script turns a into b, keeps every line of a in order, and is as short as
// the longest common subsequence allows (checked against the textbook dynamic program).
func TestDiffLinesIsAShortestScript(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		a, b := randomLines(rng), randomLines(rng)
		edits := diffLines(a, b)
		var gotA, gotB []string
		changed := 0
		for _, e := range edits {
			if e.op != opInsert {
				gotA = append(gotA, e.text)
			}
			if e.op != opDelete {
				gotB = append(gotB, e.text)
			}
			if e.op != opEqual {
				changed++
			}
		}
		if strings.Join(gotA, ",") != strings.Join(a, ",") || strings.Join(gotB, ",") != strings.Join(b, ",") {
			t.Fatalf("case %d: script %v does not turn %v into %v", i, edits, a, b)
		}
		if want := len(a) + len(b) - 2*lcsLen(a, b); changed != want {
			t.Fatalf("case %d: %d changed lines from %v to %v, want %d", i, changed, a, b, want)
		}
	}
}

func randomLines(rng *rand.Rand) []string {
	out := make([]string, rng.IntN(12))
	for i := range out {
		out[i] = string(rune('a' + rng.IntN(4)))
	}
	return out
}

func lcsLen(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

func chars(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "")
}
