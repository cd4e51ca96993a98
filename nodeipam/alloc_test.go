package nodeipam

import (
	"strings"
	"testing"
)

func TestRanges(t *testing.T) {
	r, err := NewRanges("10.244.0.0/16", 24)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 256 || r.At(0).String() != "10.244.0.0/24" || r.At(3).String() != "10.244.3.0/24" ||
		r.At(255).String() != "10.244.255.0/24" {
		t.Fatalf("ranges: %d, %s, %s, %s", r.Len(), r.At(0), r.At(3), r.At(255))
	}
	for cidr, want := range map[string]bool{"10.244.7.0/24": true, "10.244.7.0/25": false, "10.245.0.0/24": false,
		"10.244.7.1/24": false, "junk": false} {
		if r.Contains(cidr) != want {
			t.Errorf("Contains(%s) = %t", cidr, !want)
		}
	}
	for _, bad := range []string{"10.244.0.0/24:23", "fd00::/64:80", "x:24"} {
		c, b, _ := strings.Cut(bad, ":")
		n := map[string]int{"23": 23, "80": 80, "24": 24}[b]
		if _, err := NewRanges(c, n); err == nil {
			t.Errorf("NewRanges(%s, %d) accepted", c, n)
		}
	}
}

func TestFirstFreeReusesAndExhausts(t *testing.T) {
	r, _ := NewRanges("10.0.0.0/30", 30) // a single range
	if got, err := r.FirstFree(nil); err != nil || got != "10.0.0.0/30" {
		t.Fatalf("FirstFree = %s, %v", got, err)
	}
	_, err := r.FirstFree(map[string]string{"10.0.0.0/30": "a"})
	if err == nil || !strings.Contains(err.Error(), "no free /30 range left") {
		t.Fatalf("exhausted: %v", err)
	}
	r, _ = NewRanges("10.244.0.0/16", 24)
	taken := map[string]string{"10.244.0.0/24": "a", "10.244.2.0/24": "c"}
	if got, _ := r.FirstFree(taken); got != "10.244.1.0/24" {
		t.Fatalf("a freed range is reused first: got %s", got)
	}
}
