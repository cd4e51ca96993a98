package containerd

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestEndShim ends a stand-in shim, a shell named and flagged as a shim that ignores SIGTERM
// and runs a child: the child is killed, then the shim after SIGTERM did not end it. A process
// that is not the shim meant (another ID on its command line) is left alone.
func TestEndShim(t *testing.T) {
	start := func(id string) (*exec.Cmd, <-chan struct{}) {
		cmd := exec.Command("/bin/sh")
		cmd.Args = []string{"containerd-shim-runc-v2", "-c", `trap "" TERM; sleep 60 & wait; read x`, "sh",
			"-namespace", "ns", "-id", id, "-address", "/run/test.sock"}
		stdin, w, err := os.Pipe() // read blocks on it until the test ends
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close(); w.Close() })
		cmd.Stdin = stdin
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that cleanup ends its child too
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(done)
		}()
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		})
		return cmd, done
	}
	shim, done := start("default_web_main")
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c := childrenOf(shim.Process.Pid); len(c) == 1 {
			child = c[0]
		}
	}
	if child == 0 {
		t.Fatal("the stand-in shim runs no child")
	}
	other, otherDone := start("default_other_main")
	// the record of a shim whose PID another process has now
	if err := endShim(t.Context(), shimProc{PID: other.Process.Pid, Namespace: "ns", ID: "default_web_main", Address: "/run/test.sock"}); err != nil {
		t.Fatalf("end a process that is not the shim: %v", err)
	}
	select {
	case <-otherDone:
		t.Fatal("a process that is not the shim was ended")
	case <-time.After(100 * time.Millisecond):
	}
	begin := time.Now()
	if err := endShim(t.Context(), shimProc{PID: shim.Process.Pid, Namespace: "ns", ID: "default_web_main", Address: "/run/test.sock"}); err != nil {
		t.Fatalf("end shim: %v", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the shim still runs")
	}
	if took := time.Since(begin); took < shimStopTimeout {
		t.Errorf("the shim ended %v after SIGTERM, which it ignores", took)
	}
	if err := syscall.Kill(child, 0); err == nil && parentOf(child) == shim.Process.Pid {
		t.Errorf("the shim's child %d still runs", child)
	}
	if err := endShim(t.Context(), shimProc{PID: shim.Process.Pid, Namespace: "ns", ID: "default_web_main", Address: "/run/test.sock"}); err != nil {
		t.Errorf("end an ended shim: %v", err)
	}
}
