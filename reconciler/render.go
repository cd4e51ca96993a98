package reconciler

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/gitfleet/gitfleet/api"
)

// This file renders a change set as a unified diff of YAML, field by field, as `kubectl diff`
// does: what `gitfleet diff` prints. The short Render of diff.go is what logs and history keep.

// contextLines is how many unchanged lines surround each change in a hunk.
const contextLines = 3

// ANSI escapes of the coloured output.
const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
)

// RenderUnified writes, for every change that writes something, a header naming the live and
// the git version of the object and a unified diff (hunks with three lines of context) of the
// two rendered as YAML, without the gitfleet.io/commit and gitfleet.io/source annotations. A
// created object diffs against nothing, a deleted one to nothing, and a live value that could
// not be decoded shows as empty. With color, removed lines are red, added lines green, headers
// bold and hunk headers cyan.
func RenderUnified(w io.Writer, cs ChangeSet, color bool) error {
	bw := bufio.NewWriter(w)
	p := painter{color: color}
	for _, c := range cs.Changes {
		if c.Action == Unchanged {
			continue
		}
		if err := renderChange(bw, p, c); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write diff: %w", err)
	}
	return nil
}

// renderChange writes the header and hunks of one change.
func renderChange(w io.Writer, p painter, c Change) error {
	from, err := objectYAML(c.Live)
	if err != nil {
		return err
	}
	to, err := objectYAML(c.Object)
	if err != nil {
		return err
	}
	live, git := "live/"+c.Key.String(), "git/"+c.Key.String()
	fmt.Fprintln(w, p.paint(ansiBold, "diff -u "+live+" "+git))
	fmt.Fprintln(w, p.paint(ansiBold, "--- "+live))
	fmt.Fprintln(w, p.paint(ansiBold, "+++ "+git))
	for _, h := range hunks(diffLines(splitLines(from), splitLines(to)), contextLines) {
		writeHunk(w, p, h)
	}
	return nil
}

// objectYAML renders obj as YAML in canonical form (no nulls, empty collections or controller
// annotations; keys sorted); "" for nil.
func objectYAML(obj api.Object) (string, error) {
	if obj == nil {
		return "", nil
	}
	v, err := canonical(obj)
	if err != nil {
		return "", err
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("render %s as YAML: %w", api.KeyOf(obj), err)
	}
	return string(b), nil
}

// splitLines splits text into lines without their line ends; "" has none.
func splitLines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// painter wraps text in ANSI colours, or leaves it as it is.
type painter struct{ color bool }

func (p painter) paint(code, text string) string {
	if !p.color {
		return text
	}
	return code + text + ansiReset
}

// op is what a line of a line diff does.
type op byte

const (
	opEqual  op = ' '
	opDelete op = '-'
	opInsert op = '+'
)

// edit is one line of a line diff: its op, its text and its 0-based index in the old (a) and
// new (b) lines, where it is, or would be inserted.
type edit struct {
	op   op
	text string
	a, b int
}

// diffLines returns a shortest edit script from a to b (Myers' O(ND) algorithm), deletions
// before insertions where both are possible.
func diffLines(a, b []string) []edit {
	trace := myersTrace(a, b)
	var rev []edit
	x, y := len(a), len(b)
	for d := len(trace) - 1; d >= 0; d-- {
		v, off := trace[d], len(a)+len(b)+1
		k := x - y
		prevK := k - 1
		if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
			prevK = k + 1
		}
		prevX := v[off+prevK]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x, y = x-1, y-1
			rev = append(rev, edit{op: opEqual, text: a[x], a: x, b: y})
		}
		if d == 0 {
			break
		}
		if x == prevX {
			rev = append(rev, edit{op: opInsert, text: b[prevY], a: x, b: prevY})
		} else {
			rev = append(rev, edit{op: opDelete, text: a[prevX], a: prevX, b: prevY})
		}
		x, y = prevX, prevY
	}
	out := make([]edit, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}

// myersTrace runs the forward pass of Myers' algorithm and returns, for each edit distance d up
// to the shortest, the furthest-reaching x of every diagonal k (at index k+len(a)+len(b)+1)
// before step d.
func myersTrace(a, b []string) [][]int {
	n, m := len(a), len(b)
	off := n + m + 1
	v := make([]int, 2*off+1)
	var trace [][]int
	for d := 0; d <= n+m; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			x := v[off+k-1] + 1
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return trace
			}
		}
	}
	return trace
}

// hunk is a run of edits with their context.
type hunk []edit

// hunks groups the changed lines of edits with up to ctx lines of context on each side; changes
// closer than 2*ctx lines share a hunk.
func hunks(edits []edit, ctx int) []hunk {
	var out []hunk
	start, end := -1, -1 // the current hunk is edits[start:end]
	for i, e := range edits {
		if e.op == opEqual {
			continue
		}
		lo, hi := max(0, i-ctx), min(len(edits), i+ctx+1)
		if start >= 0 && lo > end {
			out = append(out, hunk(edits[start:end]))
			start = -1
		}
		if start < 0 {
			start = lo
		}
		end = hi
	}
	if start >= 0 {
		out = append(out, hunk(edits[start:end]))
	}
	return out
}

// writeHunk writes "@@ -a,n +b,m @@" and the lines of h.
func writeHunk(w io.Writer, p painter, h hunk) {
	var na, nb int
	for _, e := range h {
		if e.op != opInsert {
			na++
		}
		if e.op != opDelete {
			nb++
		}
	}
	head := fmt.Sprintf("@@ -%s +%s @@", hunkRange(h[0].a, na), hunkRange(h[0].b, nb))
	fmt.Fprintln(w, p.paint(ansiCyan, head))
	for _, e := range h {
		line := string(e.op) + e.text
		switch e.op {
		case opDelete:
			line = p.paint(ansiRed, line)
		case opInsert:
			line = p.paint(ansiGreen, line)
		}
		fmt.Fprintln(w, line)
	}
}

// hunkRange is the range of a hunk header as diff -u writes it: the 1-based first line and the
// count, the count left out when it is 1; an empty range starts at the line before it.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}
