package scheduler

import (
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestNodeInfoAccountsForPods(t *testing.T) {
	hostNet := testPod("h", hostPort(0, "UDP"))
	hostNet.Spec.HostNetwork = true
	n := NewNodeInfo(testNode("n", "2", "4Gi"),
		testPod("a", requests("250m", "1Gi"), owner("Deployment/default/web"), hostPort(80, "")),
		testPod("b", limits("1", "512Mi"), owner("Deployment/default/web")),
		hostNet)
	if n.Name() != "n" || n.CPUCapacity != 2000 || n.MemoryCapacity != 4<<30 || n.CapacityErr != nil {
		t.Errorf("capacity = %d, %d, %v; want 2000, 4Gi", n.CPUCapacity, n.MemoryCapacity, n.CapacityErr)
	}
	if n.RequestedCPU != 1250 || n.RequestedMemory != 1536<<20 {
		t.Errorf("requested = %d, %d; want 1250, 1536Mi", n.RequestedCPU, n.RequestedMemory)
	}
	wantPorts := map[HostPort]int{{Protocol: "TCP", Port: 80}: 1, {Protocol: "UDP", Port: 8080}: 1}
	if !reflect.DeepEqual(n.UsedPorts, wantPorts) {
		t.Errorf("ports = %v, want %v", n.UsedPorts, wantPorts)
	}
	if got := n.OwnerCount("Deployment/default/web"); got != 2 || len(n.Pods) != 3 {
		t.Errorf("owner count = %d, pods = %d; want 2, 3", got, len(n.Pods))
	}
	n.RemovePod("default/a")
	n.RemovePod("default/h")
	n.RemovePod("default/missing")
	if n.RequestedCPU != 1000 || n.RequestedMemory != 512<<20 || len(n.UsedPorts) != 0 || n.OwnerCount("Deployment/default/web") != 1 {
		t.Errorf("after removing a and h: requested %d, %d, ports %v, owner count %d; want 1000, 512Mi, none, 1",
			n.RequestedCPU, n.RequestedMemory, n.UsedPorts, n.OwnerCount("Deployment/default/web"))
	}
}

func TestNodeInfoCapacityErrors(t *testing.T) {
	tests := []struct {
		name     string
		capacity api.ResourceList
		wantErr  bool
	}{
		{name: "valid", capacity: api.ResourceList{"cpu": "1500m", "memory": "1Gi"}},
		{name: "missing", capacity: nil},
		{name: "bad cpu", capacity: api.ResourceList{"cpu": "lots"}, wantErr: true},
		{name: "bad memory", capacity: api.ResourceList{"cpu": "1", "memory": "-1Gi"}, wantErr: true},
		{name: "bad pods", capacity: api.ResourceList{"cpu": "1", "pods": "1.5"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := NewNodeInfo(&api.Node{Metadata: api.ObjectMeta{Name: "n"}, Status: api.NodeStatus{Capacity: tt.capacity}})
			if (n.CapacityErr != nil) != tt.wantErr {
				t.Errorf("CapacityErr = %v, want error %v", n.CapacityErr, tt.wantErr)
			}
		})
	}
}
