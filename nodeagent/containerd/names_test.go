package containerd

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/identifiers"

	"github.com/gitfleet/gitfleet/api"
)

func TestIDs(t *testing.T) {
	key := api.PodKey{Namespace: "default", Name: "web"}
	if got := sandboxID(key); got != "default_web" {
		t.Errorf("sandboxID = %q", got)
	}
	if got := containerID(key, "app"); got != "default_web_app" {
		t.Errorf("containerID = %q", got)
	}
	long := api.PodKey{Namespace: "default", Name: strings.Repeat("a", 70)}
	a, b := containerID(long, "x"), containerID(long, "y")
	if a == b || !strings.HasPrefix(a, "gf-") || identifiers.Validate(a) != nil {
		t.Errorf("long names should hash to distinct valid IDs: %q %q", a, b)
	}
}

func TestLabels(t *testing.T) {
	key := api.PodKey{Namespace: "ns", Name: "p"}
	l := containerLabels("n1", key, "c", "h", podNet{IP: "10.244.0.5", NetNSPath: "/d/netns/ns_p/cni-1"})
	if keyOfLabels(l) != key || l[labelContainer] != "c" || l[labelSpecHash] != "h" || l[labelNode] != "n1" {
		t.Errorf("labels %v", l)
	}
	if net := netOfLabels(l); net.Host || net.IP != "10.244.0.5" || net.NetNSPath != "/d/netns/ns_p/cni-1" {
		t.Errorf("network from labels %+v", net)
	}
	if net := netOfLabels(containerLabels("n1", key, "c", "h", podNet{Host: true})); !net.Host || net.IP != "" {
		t.Errorf("host network from labels %+v", net)
	}

	// a start, one that failed, one after the container ran
	for i, tt := range []struct {
		ran               bool
		restarts, attempt string
	}{{false, "0", "1"}, {false, "0", "2"}, {true, "1", "1"}, {false, "1", "2"}} {
		next := startLabels(l, t0.Add(time.Duration(i)*time.Minute), tt.ran)
		if next[labelRestartCount] != tt.restarts || next[labelStartAttempts] != tt.attempt ||
			!startedAt(next).Equal(t0.Add(time.Duration(i)*time.Minute)) {
			t.Errorf("start %d (ran %v): labels %v; want %s restarts, attempt %s", i, tt.ran, next, tt.restarts, tt.attempt)
		}
		maps.Copy(l, next)
	}
	if restartCount(map[string]string{labelRestartCount: "junk"}) != 0 || !startedAt(nil).IsZero() {
		t.Error("bad labels should read as zero")
	}
}

func TestProcessArgs(t *testing.T) {
	ep, cmd := []string{"/bin/busybox"}, []string{"sh"}
	tests := []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image defaults", nil, nil, []string{"/bin/busybox", "sh"}},
		{"args replace cmd", nil, []string{"httpd", "-f"}, []string{"/bin/busybox", "httpd", "-f"}},
		{"command replaces both", []string{"sleep"}, nil, []string{"sleep"}},
		{"command and args", []string{"sh", "-c"}, []string{"exit 1"}, []string{"sh", "-c", "exit 1"}},
	}
	for _, tt := range tests {
		if got := processArgs(ep, cmd, tt.command, tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := processArgs(nil, nil, nil, nil); len(got) != 0 {
		t.Errorf("nothing to run gave %q", got)
	}
}

func TestResources(t *testing.T) {
	for milli, want := range map[int64]int64{1000: 100_000, 250: 25_000, 2500: 250_000, 1: 1000} {
		if got := cpuQuota(milli); got != want {
			t.Errorf("cpuQuota(%d) = %d, want %d", milli, got, want)
		}
	}
	for milli, want := range map[int64]uint64{1000: 1024, 250: 256, 1: 2} {
		if got := cpuShares(milli); got != want {
			t.Errorf("cpuShares(%d) = %d, want %d", milli, got, want)
		}
	}
	opts, err := resourceOpts(api.ResourceRequirements{Limits: api.ResourceList{"cpu": "500m", "memory": "64Mi"}})
	if err != nil || len(opts) != 3 { // quota, shares of the limit, memory
		t.Errorf("resourceOpts: %d opts, %v", len(opts), err)
	}
	if _, err := resourceOpts(api.ResourceRequirements{Requests: api.ResourceList{"cpu": "lots"}}); err == nil {
		t.Error("resourceOpts of a bad cpu request should fail")
	}
	for _, bad := range []api.ResourceList{{"cpu": "lots"}, {"memory": "-1"}, {"memory": "0"}} {
		if _, err := resourceOpts(api.ResourceRequirements{Limits: bad}); err == nil {
			t.Errorf("resourceOpts(%v) should fail", bad)
		}
	}
	if got := containerEnv(api.Container{Env: []api.EnvVar{{Name: "A", Value: "1"}, {Name: "B"}}}, nil); !slices.Equal(got, []string{"A=1", "B="}) {
		t.Errorf("containerEnv = %q", got)
	}
}
