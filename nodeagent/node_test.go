package nodeagent

import (
	"maps"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// TestNodeObjectPublishesMaxPods checks the node's "pods" capacity, which the scheduler's
// NodePods filter reads: DefaultMaxPods unless MaxPods says, and a given capacity's own count
// kept unless MaxPods overrides it.
func TestNodeObjectPublishesMaxPods(t *testing.T) {
	for _, tt := range []struct {
		name     string
		capacity api.ResourceList
		maxPods  int
		want     string
	}{
		{"host capacity, default", nil, 0, "110"},
		{"host capacity, --max-pods", nil, 250, "250"},
		{"given capacity, default", api.ResourceList{api.ResourceCPU: "4"}, 0, "110"},
		{"given capacity with pods", api.ResourceList{api.ResourceCPU: "4", api.ResourcePods: "30"}, 0, "30"},
		{"given capacity with pods, --max-pods", api.ResourceList{api.ResourcePods: "30"}, 40, "40"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.capacity)
			cfg := NodeConfig{Name: "n", Capacity: tt.capacity, MaxPods: tt.maxPods}
			node := nodeObject(cfg, time.Unix(0, 0), nil)
			if got := node.Status.Capacity[api.ResourcePods]; got != tt.want {
				t.Errorf("capacity pods %q, want %q", got, tt.want)
			}
			if got := node.Status.Allocatable[api.ResourcePods]; got != tt.want {
				t.Errorf("allocatable pods %q, want %q", got, tt.want)
			}
			if !maps.Equal(tt.capacity, before) {
				t.Errorf("the config's capacity became %v", tt.capacity)
			}
		})
	}
}
