package api

import "testing"

func TestPullPolicy(t *testing.T) {
	for _, tc := range []struct{ image, policy, want string }{
		{"busybox", "", PullAlways},
		{"busybox:latest", "", PullAlways},
		{"acme/app:1", "", PullIfNotPresent},
		{"localhost:5000/acme/app", "", PullAlways},
		{"localhost:5000/acme/app:2", "", PullIfNotPresent},
		{"acme/app@sha256:0123", "", PullIfNotPresent},
		{"busybox:latest", PullNever, PullNever},
		{"acme/app:1", PullAlways, PullAlways},
	} {
		c := Container{Image: tc.image, ImagePullPolicy: tc.policy}
		if got := c.PullPolicy(); got != tc.want {
			t.Errorf("image %q policy %q: PullPolicy() = %s, want %s", tc.image, tc.policy, got, tc.want)
		}
	}
}

// TestPodRequestsInit: init containers count as Kubernetes counts them, the most the Pod needs
// at any moment of its start.
func TestPodRequestsInit(t *testing.T) {
	req := func(cpu, mem string) ResourceRequirements {
		return ResourceRequirements{Requests: ResourceList{"cpu": cpu, "memory": mem}}
	}
	for _, tc := range []struct {
		name           string
		init, app      []Container
		wantCPU, wantM int64
	}{
		{"big init", []Container{{Resources: req("2", "1Gi")}}, []Container{{Resources: req("500m", "64Mi")}}, 2000, 1 << 30},
		{"small init", []Container{{Resources: req("100m", "16Mi")}}, []Container{{Resources: req("500m", "64Mi")}}, 500, 64 << 20},
		{"sidecar adds to the app", []Container{{RestartPolicy: RestartAlways, Resources: req("200m", "32Mi")}},
			[]Container{{Resources: req("500m", "64Mi")}}, 700, 96 << 20},
		{"init after a sidecar", []Container{{RestartPolicy: RestartAlways, Resources: req("200m", "32Mi")}, {Resources: req("1", "8Mi")}},
			[]Container{{Resources: req("500m", "64Mi")}}, 1200, 96 << 20},
	} {
		cpu, mem := PodRequests(&PodSpec{InitContainers: tc.init, Containers: tc.app})
		if cpu != tc.wantCPU || mem != tc.wantM {
			t.Errorf("%s: PodRequests = %d, %d; want %d, %d", tc.name, cpu, mem, tc.wantCPU, tc.wantM)
		}
	}
}
