package main

import (
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestPodStatusColumn(t *testing.T) {
	for _, tc := range []struct {
		st   api.PodStatus
		want string
	}{
		{api.PodStatus{Phase: api.PodRunning}, "Running"},
		{api.PodStatus{Phase: api.PodPending, Reason: "ContainerCreating"}, "Pending"},
		{api.PodStatus{Phase: api.PodPending, Reason: "Init:1/2"}, "Init:1/2"},
		{api.PodStatus{Phase: api.PodPending, Reason: "Init:CrashLoopBackOff"}, "Init:CrashLoopBackOff"},
		{api.PodStatus{Phase: api.PodFailed, Reason: "Init:Error"}, "Init:Error"},
		{api.PodStatus{Phase: api.PodFailed, Reason: "Error"}, "Failed"},
	} {
		if got := podStatusColumn(tc.st); got != tc.want {
			t.Errorf("podStatusColumn(%+v) = %q, want %q", tc.st, got, tc.want)
		}
	}
}
