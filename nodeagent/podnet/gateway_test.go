package podnet

import "testing"

func TestGateway(t *testing.T) {
	for cidr, want := range map[string]string{
		"10.244.3.0/24": "10.244.3.1",
		"10.244.3.7/24": "10.244.3.1",
		"10.1.0.0/16":   "10.1.0.1",
		"fd00:1::/64":   "fd00:1::1",
		"10.0.0.5/32":   "",
		"nonsense":      "",
	} {
		gw, err := Gateway(cidr)
		switch {
		case want == "" && err == nil:
			t.Errorf("%s: gateway %s, want an error", cidr, gw)
		case want != "" && (err != nil || gw.String() != want):
			t.Errorf("%s: gateway %s, %v; want %s", cidr, gw, err, want)
		}
	}
}
