package scheduler

import (
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestNodePorts(t *testing.T) {
	hostNet := testPod("hostnet", boundTo("n"), hostPort(0, ""))
	hostNet.Spec.HostNetwork = true // takes its container port, 8080
	node := NewNodeInfo(testNode("n", "1", "1Gi"),
		testPod("web", boundTo("n"), hostPort(80, "")),
		testPod("dns", boundTo("n"), hostPort(53, "UDP")),
		hostNet)
	conflict := NewStatus(Unschedulable, ReasonNodePortsConflict)
	tests := []struct {
		name string
		pod  *api.Pod
		want *Status
	}{
		{name: "no ports", pod: testPod("p")},
		{name: "container port only", pod: testPod("p", hostPort(0, ""))},
		{name: "free port", pod: testPod("p", hostPort(81, ""))},
		{name: "taken port", pod: testPod("p", hostPort(80, "TCP")), want: conflict},
		{name: "same number, other protocol", pod: testPod("p", hostPort(53, ""))},
		{name: "taken udp port", pod: testPod("p", hostPort(53, "UDP")), want: conflict},
		{name: "taken by a host-network pod", pod: testPod("p", hostPort(8080, "")), want: conflict},
		{name: "second port taken", pod: testPod("p", hostPort(81, ""), hostPort(80, "")), want: conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NodePorts{}).Filter(NewPodInfo(tt.pod), node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %+v, want %+v", got, tt.want)
			}
		})
	}
}
