package containerd

import (
	"testing"
	"time"

	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestProcessStatus(t *testing.T) {
	exited := time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   *tasktypes.Process
		want client.Status
	}{
		{&tasktypes.Process{Status: tasktypes.Status_CREATED}, client.Status{Status: client.Created}},
		{&tasktypes.Process{Status: tasktypes.Status_RUNNING, Pid: 7}, client.Status{Status: client.Running}},
		{&tasktypes.Process{Status: tasktypes.Status_STOPPED, ExitStatus: 137, ExitedAt: timestamppb.New(exited)},
			client.Status{Status: client.Stopped, ExitStatus: 137, ExitTime: exited}},
		{&tasktypes.Process{Status: tasktypes.Status_PAUSED}, client.Status{Status: client.Paused}},
		{&tasktypes.Process{Status: tasktypes.Status_UNKNOWN}, client.Status{Status: client.Unknown}},
	} {
		got := processStatus(tc.in)
		if got.Status != tc.want.Status || got.ExitStatus != tc.want.ExitStatus || !got.ExitTime.Equal(tc.want.ExitTime) {
			t.Errorf("processStatus(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
