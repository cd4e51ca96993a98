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
