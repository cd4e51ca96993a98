package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/pki"
)

// worker is a `gitfleet agent` process of another host, run from the built binary.
type worker struct {
	t       testing.TB
	bin     string
	args    []string
	dataDir string
	cmd     *exec.Cmd
	logs    *testenv.SyncBuffer
}

func (w *worker) start() {
	w.t.Helper()
	w.cmd = exec.Command(w.bin, append([]string{"agent", "--data-dir", w.dataDir}, w.args...)...)
	fmt.Fprintf(w.logs, "=== start %v\n", w.args)
	w.cmd.Stdout, w.cmd.Stderr = w.logs, w.logs
	if err := w.cmd.Start(); err != nil {
		w.t.Fatalf("start agent: %v", err)
	}
}

func (w *worker) stop() {
	w.t.Helper()
	if w.cmd == nil {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			w.t.Errorf("agent after SIGTERM: %v\n%s", err, tail(w.logs.String(), 20))
		}
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		w.t.Errorf("agent did not stop in 30s")
	}
	w.cmd = nil
}

// nodeJSON is the part of `get nodes -o json` the join test reads.
type nodeJSON struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Status struct {
		Ready bool `json:"ready"`
	} `json:"status"`
}

// nodesReady returns nil when `get nodes -o json` against dataDir lists each of names Ready.
func nodesReady(c *cluster, dataDir string, names ...string) error {
	out, err := exec.Command(c.bin, "get", "nodes", "-o", "json", "--data-dir", dataDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("get nodes: %w: %s", err, out)
	}
	var l struct {
		Items []nodeJSON `json:"items"`
	}
	if err := json.Unmarshal(out, &l); err != nil {
		return fmt.Errorf("decode get nodes: %w: %s", err, out)
	}
	for _, name := range names {
		if !slices.ContainsFunc(l.Items, func(n nodeJSON) bool { return n.Metadata.Name == name && n.Status.Ready }) {
			return fmt.Errorf("node %s is not listed Ready: %s", name, out)
		}
	}
	return nil
}

// TestJoinWorker: `up --advertise-address` on the first host, `token create
// --print-join-command` there, and the printed command with the token in a file on a second
// host (its own data dir and containerd namespace): the worker joins, registers, reads the
// cluster with its own certificate, and restarts without the token. A wrong token is refused
// with its reason.
func TestJoinWorker(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	addr := testenv.RequireContainerd(t)
	bin := buildBinary(t)
	remote := gittest.NewRemote(t)
	remote.Write("deploy/.keep", "")
	remote.CommitAndPush("nothing to run")
	c := &cluster{t: t, bin: bin, dataDir: t.TempDir(), args: []string{"--repo", remote.URL(), "--poll", "200ms",
		"--containerd-namespace", testenv.Namespace(t, addr), "--node-name", "e2e",
		"--advertise-address", "127.0.0.1", "--etcd-public-listen", "127.0.0.1:0", "--join-listen", "127.0.0.1:0"}}
	c.start()
	c.waitFor("node e2e Ready", 60*time.Second, func() error { return nodesReady(c, c.dataDir, "e2e") })

	out, err := c.cli("token", "create", "--print-join-command")
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Fields(out)
	if len(line) != 6 || strings.Join(line[:3], " ") != "gitfleet agent --server" || !strings.HasPrefix(line[3], "https://127.0.0.1:") || line[4] != "--token" {
		t.Fatalf("join command %q, want gitfleet agent --server https://127.0.0.1:PORT --token TOKEN", out)
	}
	server, token := line[3], line[5]
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	w := &worker{t: t, bin: bin, dataDir: t.TempDir(), logs: &testenv.SyncBuffer{}, args: []string{"--server", server, "--token-file", tokenFile,
		"--node-name", "w1", "--advertise-address", "127.0.0.1", "--containerd-namespace", testenv.Namespace(t, addr),
		"--logs-listen", "127.0.0.1:0"}} // up's agent serves logs on 127.0.0.1:10250
	t.Cleanup(func() { unmountUnder(t, w.dataDir) })
	w.start()
	t.Cleanup(w.stop)
	c.waitFor("w1 listed Ready", 60*time.Second, func() error {
		if err := nodesReady(c, c.dataDir, "e2e", "w1"); err != nil {
			return fmt.Errorf("%w\n--- worker logs:\n%s", err, tail(w.logs.String(), 20))
		}
		return nil
	})
	// The worker's CLI reads the cluster with the worker's own certificate; it has no CA key.
	if err := nodesReady(c, w.dataDir, "e2e", "w1"); err != nil {
		t.Fatalf("from the worker's data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(w.dataDir, "pki", pki.CAKey)); !os.IsNotExist(err) {
		t.Fatalf("the worker has the CA key: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(w.dataDir, "pki", pki.ClientKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the worker's key: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(w.dataDir, "pki", pki.NodeServingKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the worker's serving key: %v", err)
	}

	// A restart needs no token: the join kept what it needs.
	w.stop()
	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	w.start()
	c.waitFor("the worker back without its token", 30*time.Second, func() error {
		run := lastRun(w.logs.String())
		if !strings.Contains(run, `msg="joined already; the token is not used"`) || !strings.Contains(run, `msg="node heartbeat started"`) {
			return fmt.Errorf("worker logs:\n%s", run)
		}
		return nodesReady(c, c.dataDir, "w1")
	})

	// A wrong secret is refused at once, and the secret shows nowhere.
	wrong := token[:len(token)-16] + "0000000000000000"
	cmd := exec.Command(bin, "agent", "--data-dir", t.TempDir(), "--server", server, "--token", wrong, "--node-name", "w2")
	stderr, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(stderr), "token refused: wrong secret") || strings.Contains(string(stderr), token[len(token)-16:]) {
		t.Fatalf("agent with a wrong secret: %v\n%s", err, stderr)
	}
	t.Logf("refused: %s", strings.TrimSpace(string(stderr)))
	if strings.Contains(c.logs.String(), token[len(token)-16:]) || strings.Contains(w.logs.String(), token[len(token)-16:]) {
		t.Fatal("a log shows the token's secret")
	}

	w.stop()
	before := c.logs.String()
	if err := c.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("up after SIGTERM: %v\n%s", err, tail(c.logs.String(), 30))
	}
	after := strings.TrimSuffix(c.logs.String()[len(before):], "\n")
	if got, want := roles(after, "stopped"), append(slices.Clone(upRoleNames), "join"); !slices.Equal(got, sorted(want)) {
		t.Fatalf("roles stopped %v, want %v:\n%s", got, want, after)
	}
	for _, l := range strings.Split(after, "\n") {
		if !strings.Contains(l, " level=INFO ") {
			t.Fatalf("up stopped with a line that is not INFO: %q", l)
		}
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
