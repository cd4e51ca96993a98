package netnstest

import "testing"

func TestBenchPattern(t *testing.T) {
	for _, tc := range []struct{ name, parent, want string }{
		{"BenchmarkX", "BenchmarkX", "^BenchmarkX$"},
		{"BenchmarkX", ".", "^BenchmarkX$"},
		{"BenchmarkX", "BenchmarkX/hook-50", "^BenchmarkX$/hook-50"},
		{"BenchmarkX", "X/nodes=1000/pods=(1|2)", "^BenchmarkX$/nodes=1000/pods=(1|2)"},
		{"BenchmarkA.B", "", "^BenchmarkA\\.B$"},
	} {
		if got := benchPattern(tc.name, tc.parent); got != tc.want {
			t.Errorf("benchPattern(%q, %q) = %q, want %q", tc.name, tc.parent, got, tc.want)
		}
	}
}
