package services

import (
	"fmt"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestPoolFirstFree(t *testing.T) {
	for _, tt := range []struct {
		name, cidr string
		taken      map[string]string
		want, err  string
	}{
		{name: "first", cidr: "10.96.0.0/16", want: "10.96.0.1"},
		{name: "masked", cidr: "10.96.7.9/16", want: "10.96.0.1"},
		{name: "next", cidr: "10.96.0.0/16", taken: map[string]string{"10.96.0.1": "a/x", "10.96.0.2": "a/y"}, want: "10.96.0.3"},
		{name: "reuse after free", cidr: "10.96.0.0/16", taken: map[string]string{"10.96.0.1": "", "10.96.0.2": "a/y"}, want: "10.96.0.1"},
		{name: "across a byte", cidr: "10.96.0.0/23", taken: ips("10.96.0.", 1, 255), want: "10.96.1.0"},
		{name: "exhausted", cidr: "10.0.0.0/30", taken: map[string]string{"10.0.0.1": "a/x", "10.0.0.2": "a/y"},
			err: "service CIDR 10.0.0.0/30 has no free address left: all 2 are allocated (delete a Service, or use a larger --service-cidr)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(tt.cidr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.FirstFree(tt.taken)
			if fmt.Sprint(err) != tt.err && (err != nil || tt.err != "") {
				t.Errorf("err = %v, want %s", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("FirstFree = %q, want %q", got, tt.want)
			}
		})
	}
}

func ips(prefix string, from, to int) map[string]string {
	out := map[string]string{}
	for i := from; i <= to; i++ {
		out[fmt.Sprintf("%s%d", prefix, i)] = "a/s"
	}
	return out
}

func TestNewPool(t *testing.T) {
	for cidr, want := range map[string]string{
		"10.96.0.0/16": "",
		"10.96.0.0/31": "service CIDR 10.96.0.0/31 must be IPv4, /8 to /30",
		"fd00::/108":   "service CIDR fd00::/108 must be IPv4, /8 to /30",
		"10.96.0.0":    `parse service CIDR "10.96.0.0": netip.ParsePrefix("10.96.0.0"): no '/'`,
	} {
		_, err := NewPool(cidr)
		if (err == nil) != (want == "") || (err != nil && err.Error() != want) {
			t.Errorf("NewPool(%s) = %v, want %q", cidr, err, want)
		}
	}
}

func TestPoolContains(t *testing.T) {
	p, _ := NewPool("10.96.0.0/24")
	for ip, want := range map[string]bool{
		"10.96.0.1": true, "10.96.0.254": true, "10.96.0.0": false, "10.96.0.255": false,
		"10.96.1.1": false, "None": false, "": false, "::ffff:10.96.0.1": false,
	} {
		if got := p.Contains(ip); got != want {
			t.Errorf("Contains(%q) = %v", ip, got)
		}
	}
}

func TestFirstFreeNodePort(t *testing.T) {
	if p, err := FirstFreeNodePort(map[int32]string{30000: "a/x", 30002: "a/y"}); p != 30001 || err != nil {
		t.Errorf("FirstFreeNodePort = %d, %v", p, err)
	}
	all := map[int32]string{}
	for p := int32(api.MinNodePort); p <= api.MaxNodePort; p++ {
		all[p] = "a/x"
	}
	_, err := FirstFreeNodePort(all)
	if want := "no free node port left: all 2768 of 30000-32767 are allocated (delete a NodePort Service)"; fmt.Sprint(err) != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
