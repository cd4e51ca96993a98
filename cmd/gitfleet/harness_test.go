package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/store"
)

// cluster drives the built gitfleet binary the way a user does: `up` in the background and the
// CLI against its data dir.
type cluster struct {
	t       testing.TB
	bin     string
	dataDir string
	args    []string // extra flags for up
	cmd     *exec.Cmd
	logs    *testenv.SyncBuffer
	// command makes the CLI's commands: on a host of a multi-host test, or exec.Command when
	// nil.
	command func(name string, args ...string) *exec.Cmd
}

// buildBinary compiles gitfleet once per test binary run.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gitfleet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build gitfleet: %v\n%s", err, out)
	}
	return bin
}

func (c *cluster) start() {
	c.t.Helper()
	args := append([]string{"up", "--data-dir", c.dataDir}, c.args...)
	c.cmd = exec.Command(c.bin, args...)
	if c.logs == nil {
		c.logs = &testenv.SyncBuffer{}
	}
	fmt.Fprintf(c.logs, "=== start %v\n", args)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("start up: %v", err)
	}
	c.t.Cleanup(func() { _ = c.stop(syscall.SIGTERM) })
}

// stop signals up and waits for it; a nil cmd means it is already stopped. It returns how up
// exited (a SIGKILL reports the kill).
func (c *cluster) stop(sig syscall.Signal) error {
	if c.cmd == nil {
		return nil
	}
	_ = c.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		err = fmt.Errorf("up did not stop in 30s after %v: %w", sig, <-done)
	}
	c.cmd = nil
	return err
}

// connect dials the running cluster's etcd directly.
func (c *cluster) connect() *store.Store {
	c.t.Helper()
	conn := connFlags{dataDir: c.dataDir}
	s, closeFn, err := conn.open()
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(closeFn)
	return s
}

// cliCommand is a gitfleet command against the running cluster.
func (c *cluster) cliCommand(args ...string) *exec.Cmd {
	args = append(args, "--data-dir", c.dataDir)
	if c.command != nil {
		return c.command(c.bin, args...)
	}
	return exec.Command(c.bin, args...)
}

// cli runs a gitfleet command against the running cluster and returns stdout.
func (c *cluster) cli(args ...string) (string, error) {
	cmd := c.cliCommand(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("gitfleet %v: %w: %s", args, err, stderr.String())
	}
	return stdout.String(), nil
}

// cliExit runs a gitfleet command against the running cluster and returns its stdout, stderr and
// exit status; err is set only when the command could not run at all.
func (c *cluster) cliExit(args ...string) (stdout, stderr string, code int, err error) {
	cmd := c.cliCommand(args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return o.String(), e.String(), exit.ExitCode(), nil
	}
	return o.String(), e.String(), 0, err
}

type historyJSON struct {
	Commit struct {
		Hash string `json:"hash"`
	} `json:"commit"`
	Result   string `json:"result"`
	Rollback bool   `json:"rollback"`
}

// history returns `gitfleet history -o json`, oldest first.
func (c *cluster) history() ([]historyJSON, error) {
	out, err := c.cli("history", "-o", "json")
	if err != nil {
		return nil, err
	}
	var l struct {
		Items []historyJSON `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("decode history: %w: %s", err, out)
	}
	return l.Items, nil
}

type podJSON struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase    string `json:"phase"`
		Ready    bool   `json:"ready"`
		Restarts int    `json:"restarts"`
		PodIP    string `json:"podIP"`
		Message  string `json:"message"`
	} `json:"status"`
}

func (c *cluster) pods() ([]podJSON, error) {
	out, err := c.cli("get", "pods", "-o", "json")
	if err != nil {
		return nil, err
	}
	var l struct {
		Items []podJSON `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("decode get pods: %w: %s", err, out)
	}
	return l.Items, nil
}

type statusJSON struct {
	AppliedCommit string `json:"appliedCommit"`
	SeenCommit    string `json:"seenCommit"`
	PinnedCommit  string `json:"pinnedCommit"`
	Sync          string `json:"sync"`
	Errors        []struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (c *cluster) status() (statusJSON, error) {
	var st statusJSON
	out, err := c.cli("status", "-o", "json")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("decode status: %w: %s", err, out)
	}
	return st, nil
}

// waitFor polls cond every 100ms until it returns nil or the deadline passes; it fails with
// cond's last error and the tail of gitfleet's logs.
func (c *cluster) waitFor(what string, timeout time.Duration, cond func() error) {
	c.t.Helper()
	c.waitEvery(what, timeout, 100*time.Millisecond, cond)
}

// waitForFast is waitFor polling every 10ms, for measurements.
func (c *cluster) waitForFast(what string, timeout time.Duration, cond func() error) {
	c.t.Helper()
	c.waitEvery(what, timeout, 10*time.Millisecond, cond)
}

func (c *cluster) waitEvery(what string, timeout, every time.Duration, cond func() error) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(every)
	}
	c.t.Fatalf("%s: not reached in %s: %v\n--- gitfleet logs:\n%s", what, timeout, err, tail(c.logs.String(), 60))
}

func (c *cluster) podCount(n int) error {
	pods, err := c.pods()
	if err != nil {
		return err
	}
	if len(pods) != n {
		return fmt.Errorf("%d pods, want %d", len(pods), n)
	}
	return nil
}

// runningPods returns the Pods if exactly n are Running and ready with a Pod IP, all from commit.
func (c *cluster) runningPods(n int) ([]podJSON, error) {
	pods, err := c.pods()
	if err != nil {
		return nil, err
	}
	if len(pods) != n {
		return nil, fmt.Errorf("%d pods, want %d: %+v", len(pods), n, pods)
	}
	for _, p := range pods {
		if p.Status.Phase != "Running" || !p.Status.Ready || p.Status.PodIP == "" {
			return nil, fmt.Errorf("pod %s: phase %s ready %t ip %q: %s", p.Metadata.Name,
				p.Status.Phase, p.Status.Ready, p.Status.PodIP, p.Status.Message)
		}
	}
	return pods, nil
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
