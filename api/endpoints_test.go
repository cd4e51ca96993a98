package api

import "testing"

func TestServiceSelects(t *testing.T) {
	svc := &Service{Metadata: ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ServiceSpec{Selector: map[string]string{"app": "web", "tier": "front"}}}
	pod := func(ns string, labels map[string]string, phase string) *Pod {
		return &Pod{Metadata: ObjectMeta{Name: "p", Namespace: ns, Labels: labels}, Status: PodStatus{Phase: phase}}
	}
	both := map[string]string{"app": "web", "tier": "front", "extra": "x"}
	for _, tt := range []struct {
		name string
		svc  *Service
		pod  *Pod
		want bool
	}{
		{"every label", svc, pod("default", both, PodRunning), true},
		{"pending and unknown count", svc, pod("default", both, PodUnknown), true},
		{"one label missing", svc, pod("default", map[string]string{"app": "web"}, PodRunning), false},
		{"one label differs", svc, pod("default", map[string]string{"app": "web", "tier": "back"}, PodRunning), false},
		{"other namespace", svc, pod("prod", both, PodRunning), false},
		{"succeeded", svc, pod("default", both, PodSucceeded), false},
		{"failed", svc, pod("default", both, PodFailed), false},
		{"no selector selects nothing", &Service{Metadata: svc.Metadata}, pod("default", both, PodRunning), false},
	} {
		if got := tt.svc.Selects(tt.pod); got != tt.want {
			t.Errorf("%s: Selects = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := svc.Spec.SelectorString(); got != "app=web,tier=front" {
		t.Errorf("SelectorString = %q", got)
	}
	if got := (&ServiceSpec{}).SelectorString(); got != "" {
		t.Errorf("SelectorString of none = %q", got)
	}
}

func TestNodePortOf(t *testing.T) {
	st := ServiceStatus{NodePorts: []ServiceNodePort{{Name: "http", Port: 80, Protocol: ProtocolTCP, NodePort: 30001},
		{Name: "dns", Port: 53, Protocol: ProtocolUDP, NodePort: 30002}, {Port: 8080, Protocol: ProtocolTCP, NodePort: 30003}}}
	for _, tt := range []struct {
		port ServicePort
		want int32
	}{
		{ServicePort{Name: "http", Port: 8000}, 30001}, // by name: the number changed in an update
		{ServicePort{Name: "dns", Port: 53, Protocol: ProtocolUDP}, 30002},
		{ServicePort{Name: "dns", Port: 53}, 0}, // TCP by default
		{ServicePort{Port: 8080, Protocol: ProtocolTCP}, 30003},
		{ServicePort{Port: 8081}, 0},
	} {
		if got := st.NodePortOf(tt.port); got != tt.want {
			t.Errorf("NodePortOf(%+v) = %d, want %d", tt.port, got, tt.want)
		}
	}
}
