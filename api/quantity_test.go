package api

import "testing"

func TestParseCPU(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"100m", 100, true},
		{"0.5", 500, true},
		{"1", 1000, true},
		{"2.25", 2250, true},
		{"0", 0, true},
		{"0m", 0, true},
		{".1", 100, true},
		{"1.", 1000, true},
		{"0.0001", 1, true}, // rounds up to the smallest unit
		{"100.5m", 101, true},
		{"9223372036854775", 9223372036854775000, true},
		{"9223372036854776", 0, false},
		{"", 0, false},
		{"m", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{"1/2", 0, false},
		{"1 ", 0, false},
		{"1Ki", 0, false},
		{"abc", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseCPU(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseCPU(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"64Mi", 64 << 20, true},
		{"1Gi", 1 << 30, true},
		{"128M", 128e6, true},
		{"1000", 1000, true},
		{"0", 0, true},
		{"1k", 1000, true},
		{"1Ki", 1024, true},
		{"2Ti", 2 << 40, true},
		{"3T", 3e12, true},
		{"1G", 1e9, true},
		{"1Pi", 1 << 50, true},
		{"1.5Gi", 3 << 29, true},
		{"0.5", 1, true}, // fractions of a byte round up
		{"8192Pi", 0, false},
		{"64MB", 0, false},
		{"64mi", 0, false},
		{"1K", 0, false},
		{"-1Mi", 0, false},
		{"Mi", 0, false},
		{"", 0, false},
		{"1e3", 0, false},
		{"1e999999999", 0, false}, // rejected before big.Rat would expand it
	}
	for _, tt := range tests {
		got, err := ParseMemory(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestResourceListHelpers(t *testing.T) {
	r := ResourceList{ResourceCPU: "250m", ResourceMemory: "1Gi"}
	if r.CPUMilli() != 250 || r.MemoryBytes() != 1<<30 {
		t.Errorf("got %d, %d", r.CPUMilli(), r.MemoryBytes())
	}
	bad := ResourceList{ResourceCPU: "lots", ResourceMemory: "much"}
	var unset ResourceList
	if bad.CPUMilli() != 0 || bad.MemoryBytes() != 0 || unset.CPUMilli() != 0 || unset.MemoryBytes() != 0 {
		t.Errorf("invalid or unset quantities must read as 0")
	}
}

func TestPodRequests(t *testing.T) {
	spec := &PodSpec{Containers: []Container{
		{Resources: ResourceRequirements{Requests: ResourceList{"cpu": "100m", "memory": "64Mi"}}},
		// Limits without requests: the limits are the requests.
		{Resources: ResourceRequirements{Limits: ResourceList{"cpu": "1", "memory": "1Gi"}}},
		// A request for one resource and a limit for the other.
		{Resources: ResourceRequirements{Requests: ResourceList{"cpu": "50m"}, Limits: ResourceList{"cpu": "2", "memory": "32Mi"}}},
		{}, // requests nothing
	}}
	cpu, mem := PodRequests(spec)
	if cpu != 100+1000+50 || mem != 64<<20+1<<30+32<<20 {
		t.Errorf("PodRequests = %d, %d", cpu, mem)
	}
	if cpu, mem := PodRequests(&PodSpec{}); cpu != 0 || mem != 0 {
		t.Errorf("empty pod requests %d, %d", cpu, mem)
	}
}
