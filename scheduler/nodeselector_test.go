package scheduler

import (
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestNodeSelector(t *testing.T) {
	node := NewNodeInfo(testNode("n", "1", "1Gi", "disk", "ssd", "zone", "a"))
	mismatch := NewStatus(UnschedulableAndUnresolvable, ReasonNodeSelectorMismatch)
	tests := []struct {
		name string
		pod  *api.Pod
		want *Status
	}{
		{name: "no selector", pod: testPod("p")},
		{name: "empty selector", pod: testPod("p", selector())},
		{name: "subset", pod: testPod("p", selector("disk", "ssd"))},
		{name: "all labels", pod: testPod("p", selector("disk", "ssd", "zone", "a"))},
		{name: "other value", pod: testPod("p", selector("disk", "hdd")), want: mismatch},
		{name: "missing label", pod: testPod("p", selector("gpu", "")), want: mismatch},
		{name: "one of two missing", pod: testPod("p", selector("disk", "ssd", "gpu", "yes")), want: mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NodeSelector{}).Filter(NewPodInfo(tt.pod), node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %+v, want %+v", got, tt.want)
			}
		})
	}
}
