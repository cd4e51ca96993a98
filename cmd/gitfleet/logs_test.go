package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// logsManifest is a Pod on b with a container that prints three lines (the last one new at
// each attempt) and one that ticks, and a Pod on a that says hello.
const logsManifest = `apiVersion: v1
kind: Pod
metadata:
  name: printer
spec:
  nodeName: b
  containers:
    - name: count
      image: gitfleet.local/busybox:1
      command: ["sh", "-c", "trap 'exit 0' TERM; echo one; echo two; echo \"three $(cat /proc/sys/kernel/random/uuid)\"; sleep 3600 & wait"]
    - name: tick
      image: gitfleet.local/busybox:1
      command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]
---
apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  nodeName: a
  containers:
    - name: sh
      image: gitfleet.local/busybox:1
      command: ["sh", "-c", "trap 'exit 0' TERM; echo hello from a; sleep 3600 & wait"]
`

// TestLogs: gitfleet logs on two hosts (up on a, a worker agent on b joined with a token). From
// a: a Pod of two containers needs -c; a container's whole log, its tail, a follow that gets
// lines printed after it started, the previous attempt once the container restarted, and the
// log again once b's agent restarted. From b, whose identity (its node's) may not read Pods: a
// Pod's log on a and one on b. An identity of the cluster that may not read logs (controller)
// gets 403.
func TestLogs(t *testing.T) {
	testenv.RequireDaemon(t)
	if !netnstest.Run(t) {
		return
	}
	f := newFleet(t, "a", "b")
	f.startUp()
	b := f.host("b")
	f.startAgent(b)
	f.waitNodes(2)
	f.remote.Write("deploy/logs.yaml", logsManifest)
	f.remote.CommitAndPush("Pods that print")
	f.waitFor("2 Pods running", 90*time.Second, func() error { _, err := f.runningPods(2); return err })

	if _, err := f.cli("logs", "printer"); err == nil || !strings.Contains(err.Error(), "pod default/printer has 2 containers: name one with -c (count, tick)") {
		t.Fatalf("logs of a Pod of two containers without -c: %v", err)
	}
	first := f.waitLog([]string{"logs", "printer", "-c", "count"}, 3)
	if !strings.HasPrefix(first, "one\ntwo\nthree ") {
		t.Fatalf("log %q", first)
	}
	if out, err := f.cli("logs", "printer", "-c", "count", "--tail", "2"); err != nil || out != strings.TrimPrefix(first, "one\n") {
		t.Fatalf("--tail 2: %q, %v", out, err)
	}
	if _, err := f.cli("logs", "printer", "-c", "count", "--previous"); err == nil || !strings.Contains(err.Error(), `container "count" of Pod default/printer has no previous attempt on node b`) {
		t.Fatalf("--previous before a restart: %v", err)
	}
	f.followTicks()

	f.killContainer(b, "count")
	f.waitFor("the previous attempt's log", 30*time.Second, func() error {
		out, err := f.cli("logs", "printer", "-c", "count", "--previous")
		if err != nil || out != first {
			return fmt.Errorf("--previous: %q, %v; want %q", out, err, first)
		}
		return nil
	})
	second := f.waitLog([]string{"logs", "printer", "-c", "count"}, 3)
	if second == first {
		t.Fatalf("the new attempt's log is the old one's: %q", second)
	}

	if err := f.stop(b, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	f.startAgent(b)
	f.waitFor("the log served by b's restarted agent", 30*time.Second, func() error {
		out, err := f.cli("logs", "printer", "-c", "count")
		if err != nil || out != second {
			return fmt.Errorf("%q, %v; want %q", out, err, second)
		}
		return nil
	})

	fromB := func(args ...string) (string, error) {
		cmd := b.Command(f.bin, append(args, "--data-dir", b.dataDir)...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return out.String(), fmt.Errorf("%v: %s", err, errOut.String())
		}
		return out.String(), nil
	}
	if out, err := fromB("logs", "hello"); err != nil || out != "hello from a\n" {
		t.Fatalf("from b, the log of a Pod on a: %q, %v", out, err)
	}
	if out, err := fromB("logs", "printer", "-c", "count", "--tail", "1"); err != nil || !strings.HasPrefix(out, "three ") {
		t.Fatalf("from b, the log of a Pod on b: %q, %v", out, err)
	}

	f.refusedToController(b)
}

// waitLog waits until the log args prints has lines lines, and returns it.
func (f *fleet) waitLog(args []string, lines int) string {
	f.t.Helper()
	var out string
	f.waitFor(strings.Join(args, " "), 30*time.Second, func() (err error) {
		out, err = f.cli(args...)
		if err == nil && strings.Count(out, "\n") != lines {
			err = fmt.Errorf("log %q, want %d lines", out, lines)
		}
		return err
	})
	return out
}

// followTicks follows the ticking container from its last line on until it prints a line it
// had not printed when the follow started.
func (f *fleet) followTicks() {
	f.t.Helper()
	cmd := f.cliCommand("logs", "printer", "-c", "tick", "-f", "--tail", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The first line is the last one printed when the follow started; each next one was
	// printed since, in order.
	first, last := -1, -1
	timeout := time.After(30 * time.Second)
	for last < first+3 {
		select {
		case l, ok := <-lines:
			if !ok {
				f.t.Fatal("logs -f ended")
			}
			n, err := strconv.Atoi(strings.TrimPrefix(l, "tick "))
			switch {
			case err != nil:
				f.t.Fatalf("logs -f printed %q", l)
			case first < 0:
				first = n
			case n != last+1:
				f.t.Fatalf("logs -f printed tick %d after tick %d", n, last)
			}
			last = n
		case <-timeout:
			f.t.Fatalf("logs -f: no new tick in 30s after tick %d", last)
		}
	}
	f.t.Logf("logs -f --tail 1: tick %d, then followed to tick %d", first, last)
}

// killContainer kills the task of h's container name (of any Pod): its Pod's restart policy
// starts a new attempt.
func (f *fleet) killContainer(h *fleetHost, name string) {
	f.t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), h.ns)
	ctrs, err := h.client.Containers(ctx, `labels."gitfleet.io/container"==`+name)
	if err != nil || len(ctrs) != 1 {
		f.t.Fatalf("host %s: containers %q: %d, %v", h.Name, name, len(ctrs), err)
	}
	task, err := ctrs[0].Task(ctx, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		f.t.Fatal(err)
	}
}

// refusedToController checks that h's log server answers a certificate of the cluster CA for
// an identity that may not read logs, controller's, with 403, and a viewer's with the log.
func (f *fleet) refusedToController(h *fleetHost) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := f.store().GetNode(ctx, h.Name)
	if err != nil {
		f.t.Fatal(err)
	}
	ep := node.Status.DaemonEndpoints.AgentEndpoint
	if ep.Scheme != "https" || ep.Address != h.IP || ep.Port != 10250 {
		f.t.Fatalf("node %s's logs endpoint %+v, want https at %s:10250", h.Name, ep, h.IP)
	}
	dir := pkiDir(f.hosts[0].dataDir)
	for _, c := range []struct {
		user string
		code int
		body string
	}{{store.UserController, 403, `"controller" may not read logs`}, {store.UserViewer, 200, "one\ntwo\n"}} {
		cert, key := identityFiles(dir, c.user)
		conf, err := pki.ClientTLS(filepath.Join(dir, pki.CACert), cert, key)
		if err != nil {
			f.t.Fatal(err)
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}
		resp, err := client.Get(ep.URL() + "/v1/logs/default/printer/count?previous=true")
		if err != nil {
			f.t.Fatalf("as %s: %v", c.user, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		client.CloseIdleConnections()
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.body) {
			f.t.Fatalf("as %s: %s %q; want %d with %q", c.user, resp.Status, b, c.code, c.body)
		}
	}
}
