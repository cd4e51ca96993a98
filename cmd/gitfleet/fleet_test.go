package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/store"
)

// etcdPort is where up's embedded etcd listens on the first host's address, for the agents of
// the other hosts (and gitfleet's default with --advertise-address). Each host is a namespace of
// the test's own, so a fixed port cannot clash.
const etcdPort = "2379"

// fleet is a cluster of hosts on one machine, driven through the built binary as an operator
// would: `up` on the first host, `agent` on the others. Each host is a network namespace on a
// switch (netnstest.NewHosts) with its own containerd daemon, data dir, containerd namespace and
// node name (the host's name). The embedded cluster runs the CLI on the first host.
type fleet struct {
	*cluster
	remote *gittest.Remote
	hosts  []*fleetHost
	// tokenFile holds a join token, made on the first host when the first agent starts.
	tokenFile string
}

// fleetHost is one host of a fleet and the gitfleet process running on it, if any.
type fleetHost struct {
	*netnstest.Host
	dataDir string
	ctrd    *testenv.Daemon
	client  *client.Client
	// ns is the containerd namespace of the host's agent (see testenv.Daemon.Namespace).
	ns   string
	out  io.Writer
	proc *exec.Cmd
	// exited closes when proc has exited.
	exited chan struct{}
}

// newFleet prepares one host per name, the first to run up, and a git remote with an empty
// deploy/ directory. It must run inside netnstest.Run. Nothing runs yet: see startUp and
// startAgent. Cleanups stop the processes, then empty and stop each containerd, then unmount
// what is left under the data dirs, then delete the hosts.
func newFleet(t testing.TB, names ...string) *fleet {
	t.Helper()
	remote := gittest.NewRemote(t)
	remote.Write("deploy/.keep", "")
	remote.CommitAndPush("empty")
	f := &fleet{cluster: &cluster{t: t, bin: buildBinary(t), logs: &testenv.SyncBuffer{}}, remote: remote}
	image := filepath.Join(t.TempDir(), "busybox.tar")
	if err := testimage.Build(image, testimage.Ref); err != nil {
		t.Fatal(err)
	}
	for _, h := range netnstest.NewHosts(t, names...) {
		f.hosts = append(f.hosts, f.newHost(h, image))
	}
	f.dataDir, f.command = f.hosts[0].dataDir, f.hosts[0].Command
	t.Cleanup(func() {
		// The agents first: up's etcd would wait for their connections to close.
		for _, h := range slices.Backward(f.hosts) {
			if err := f.stop(h, syscall.SIGTERM); err != nil {
				t.Errorf("host %s: %v", h.Name, err)
			}
		}
		if t.Failed() {
			t.Logf("--- gitfleet logs:\n%s", tail(f.logs.String(), 200))
		}
	})
	return f
}

// newHost gives h a data dir with the image archive (each agent imports DATA_DIR/images into
// its own containerd at start) and a containerd daemon started on h.
func (f *fleet) newHost(h *netnstest.Host, image string) *fleetHost {
	t := f.t
	fh := &fleetHost{Host: h, dataDir: t.TempDir(), out: &prefixWriter{w: f.logs, prefix: h.Name + "| "}}
	t.Cleanup(func() {
		if err := errors.Join(forgetCNI(fh.dataDir), testenv.UnmountUnder(fh.dataDir)); err != nil {
			t.Errorf("host %s: %v", h.Name, err)
		}
	})
	if err := os.MkdirAll(filepath.Join(fh.dataDir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(image, filepath.Join(fh.dataDir, "images", "busybox.tar")); err != nil {
		t.Fatal(err)
	}
	fh.ctrd = testenv.StartDaemon(t, t.TempDir(), h.Command)
	fh.ns = fh.ctrd.Namespace()
	var err error
	if fh.client, err = fh.ctrd.Client(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.client.Close() })
	t.Logf("host %s: %s, containerd answered in %s, namespace %s", h.Name, h.IP, fh.ctrd.Started.Round(time.Millisecond), fh.ns)
	return fh
}

// forgetCNI removes what CNI cached on the machine (in /var/lib/cni, outside the test's dirs)
// for the Pod networks left in dataDir: a Pod the agent tore down has none left, so this only
// matters when a test failed with Pods still running.
func forgetCNI(dataDir string) error {
	nets, err := filepath.Glob(filepath.Join(dataDir, "netns", "*", "cni-*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range nets {
		// The CNI container ID is the Pod network's directory and the namespace's name.
		id := filepath.Base(filepath.Dir(n)) + "_" + filepath.Base(n)
		cached, _ := filepath.Glob(filepath.Join("/var/lib/cni/results", "*-"+id+"-*"))
		for _, c := range cached {
			errs = append(errs, os.Remove(c))
		}
	}
	return errors.Join(errs...)
}

// startUp starts `up` on the first host, reachable by the other hosts' agents as
// --advertise-address alone makes it: etcd over TLS on ADDRESS:2379, the join server on :9443.
// --allow-mass-prune lets a test remove its last Deployment.
func (f *fleet) startUp() {
	a := f.hosts[0]
	args := []string{"up", "--repo", f.remote.URL(), "--poll", "200ms", "--allow-mass-prune"}
	f.run(a, append(args, f.nodeArgs(a)...)...)
}

// startAgent starts `agent` on h, joined to the first host.
func (f *fleet) startAgent(h *fleetHost) {
	f.run(h, append([]string{"agent"}, append(f.joinArgs(), f.nodeArgs(h)...)...)...)
}

// joinArgs are how an agent on another host joins the control plane: with a token.
func (f *fleet) joinArgs() []string {
	if f.tokenFile == "" {
		f.tokenFile = filepath.Join(f.t.TempDir(), "token")
		f.waitFor("a join token", 60*time.Second, func() error {
			token, err := f.cli("token", "create")
			if err != nil {
				return err
			}
			return os.WriteFile(f.tokenFile, []byte(token), 0o600)
		})
	}
	return []string{"--server", f.joinURL(), "--token-file", f.tokenFile}
}

// joinURL is the first host's join server, as up records it once it serves.
func (f *fleet) joinURL() string {
	f.t.Helper()
	var url string
	f.waitFor("the first host's join server", 60*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(f.hosts[0].dataDir, "join-url"))
		url = strings.TrimSpace(string(b))
		return err
	})
	return url
}

// store connects this process to the first host's etcd over the switch (the endpoints up
// records are the host's loopback), with its admin certificate.
func (f *fleet) store() *store.Store {
	f.t.Helper()
	conn := connFlags{dataDir: f.hosts[0].dataDir, endpoints: "https://" + f.hosts[0].IP + ":" + etcdPort}
	s, closeFn, err := conn.open()
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(closeFn)
	return s
}

// nodeArgs are the flags that make h a node of its own.
func (f *fleet) nodeArgs(h *fleetHost) []string {
	return []string{"--data-dir", h.dataDir, "--node-name", h.Name, "--advertise-address", h.IP,
		"--containerd-address", h.ctrd.Address, "--containerd-namespace", h.ns}
}

// run starts gitfleet with args on h, its output in the fleet's logs prefixed by h's name.
func (f *fleet) run(h *fleetHost, args ...string) {
	f.t.Helper()
	if h.proc != nil {
		f.t.Fatalf("host %s already runs gitfleet", h.Name)
	}
	fmt.Fprintf(h.out, "=== start gitfleet %s\n", strings.Join(args, " "))
	cmd := h.Command(f.bin, args...)
	cmd.Stdout, cmd.Stderr = h.out, h.out
	if err := cmd.Start(); err != nil {
		f.t.Fatalf("start gitfleet on %s: %v", h.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	h.proc, h.exited = cmd, exited
}

// stop signals h's gitfleet and waits for it to exit (nsenter execs it: the pid is gitfleet's);
// after 30s it kills it and reports that. SIGKILL is the crash of a host's agent.
func (f *fleet) stop(h *fleetHost, sig syscall.Signal) error {
	if h.proc == nil {
		return nil
	}
	defer func() { h.proc = nil }()
	_ = h.proc.Process.Signal(sig)
	select {
	case <-h.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = h.proc.Process.Kill()
		<-h.exited
		return fmt.Errorf("gitfleet did not stop in 30s after %v", sig)
	}
}

// host returns the fleet's host named name.
func (f *fleet) host(name string) *fleetHost {
	for _, h := range f.hosts {
		if h.Name == name {
			return h
		}
	}
	f.t.Fatalf("no host %s", name)
	return nil
}

type fleetNode struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		PodCIDR string `json:"podCIDR"`
	} `json:"spec"`
	Status struct {
		Ready bool `json:"ready"`
	} `json:"status"`
}

func (f *fleet) nodes() ([]fleetNode, error) {
	out, err := f.cli("get", "nodes", "-o", "json")
	if err != nil {
		return nil, err
	}
	var l struct {
		Items []fleetNode `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("decode get nodes: %w: %s", err, out)
	}
	return l.Items, nil
}

// containers counts h's containers and its running tasks, in its agent's namespace and all.
func (h *fleetHost) containers(ctx context.Context) (ctrs, running int, err error) {
	cs, err := h.client.Containers(namespaces.WithNamespace(ctx, h.ns))
	if err != nil {
		return 0, 0, fmt.Errorf("host %s: list containers: %w", h.Name, err)
	}
	running, err = testenv.RunningTasks(ctx, h.client)
	if err != nil {
		return 0, 0, fmt.Errorf("host %s: %w", h.Name, err)
	}
	return len(cs), running, nil
}

// prefixWriter writes each whole line to w behind prefix.
type prefixWriter struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial[:i]); err != nil {
			return 0, err
		}
		p.partial = p.partial[i+1:]
	}
}
