package containerd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/store"
)

var (
	// 10 by default, so that every run of the suite kills some agents; issue 11 asks for 50,
	// which take about 45 s here
	kill9Rounds = flag.Int("kill9-rounds", 10, "agents TestAgentKill9 kills with SIGKILL during a converge (issue 11 asks for 50); 0 skips it")
	kill9Seed   = flag.Uint64("kill9-seed", 0, "seed of TestAgentKill9's choices; 0 picks one (logged, to replay a failure)")
)

// kill9FlagsEnv carries -kill9-rounds and -kill9-seed into the test's network namespace.
const kill9FlagsEnv = "GITFLEET_KILL9_FLAGS"

// kill9Env carries the configuration of TestKill9Child, the agent process TestAgentKill9 kills.
const kill9Env = "GITFLEET_KILL9_AGENT"

type kill9Config struct {
	Endpoints                   []string
	Address, Namespace, DataDir string
}

// kill9Names are the Pods TestAgentKill9 wants a random few of in each round.
const kill9Names = 12

// TestAgentKill9 runs the agent as a process of its own and kills it with SIGKILL at a random
// moment of a converge, -kill9-rounds times: before each round the wanted Pods change (3 to 12
// of 12, some replaced by a new spec), so the kills land in creates, starts, stops and
// removals. An agent then converges undisturbed, and the node must hold exactly the wanted
// Pods: one running container each, of the wanted spec, none duplicated, no task left CREATED,
// one shim per container, one network namespace and one IP per Pod, and no lease: that agent
// deletes those of creates cut short at its start, as `gitfleet agent` does.
//
// Kills leave shims behind (shims.go): a stale task, which containerd reports as "already
// exists" to every new task of the container, and shims that outlive their container. The
// test logs how often the killed agents met each.
func TestAgentKill9(t *testing.T) {
	if *kill9Rounds == 0 && os.Getenv(kill9FlagsEnv) == "" {
		t.Skip("-kill9-rounds=0; issue 11's loop: go test -run TestAgentKill9 ./nodeagent/containerd/ -kill9-rounds=50 (the flag after the package: before it, go test takes 50 for a package)")
	}
	if os.Getenv(netnstest.EnvVar) == "" { // the flags reach the test's child process this way
		t.Setenv(kill9FlagsEnv, fmt.Sprintf("%d %d", *kill9Rounds, *kill9Seed))
	}
	if !netnstest.Run(t) {
		return
	}
	if _, err := fmt.Sscan(os.Getenv(kill9FlagsEnv), kill9Rounds, kill9Seed); err != nil {
		t.Fatalf("read %s: %v", kill9FlagsEnv, err)
	}
	addr := testenv.RequireContainerd(t)
	st, eps := etcdtest.StartWithEndpoints(t)
	cfg := kill9Config{Endpoints: eps, Address: addr, Namespace: testenv.Namespace(t, addr),
		DataDir: filepath.Join(t.TempDir(), "data")}
	rtCfg := Config{Address: addr, Namespace: cfg.Namespace, NodeName: "node-a", DataDir: cfg.DataDir, StopTimeout: time.Second}
	rt := newTestRuntime(t, rtCfg)
	first := rt // closed after the cleanup, unlike the runtime of the converge after the kills
	t.Cleanup(func() { removeAll(t, first) })
	if _, err := rt.ImportArchive(t.Context(), testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatalf("import: %v", err)
	}
	seed := *kill9Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (-kill9-seed to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	wanted := map[string]*api.Pod{}
	logs := filepath.Join(t.TempDir(), "agents.log")
	for round := range *kill9Rounds {
		changeWanted(t, st, rng, wanted)
		after := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
		if err := runAndKill(cfg, logs, after); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	t.Logf("%d agents killed with SIGKILL; %d pods wanted at the end", *kill9Rounds, len(wanted))
	logShimRemedies(t, logs)
	rt = newTestRuntime(t, rtCfg) // the agent's after the kills, as a restarted one's
	dropped, err := rt.DropCreateLeases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the agent after the kills deleted %d leases of creates cut short", dropped)
	runAgent(t, st, rt)
	waitFor(t, 3*time.Minute, "converged", func() error { return converged(t, rt, wanted) })
	checkLeftovers(t, rt, cfg, len(wanted))
	// the agent removes them all at once, each on its worker, before the runtime's cleanup
	for name, p := range wanted {
		if err := st.DeletePod(t.Context(), p.Metadata.Namespace, name, 0); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 3*time.Minute, "all removed", func() error { return converged(t, rt, nil) })
}

// changeWanted makes a random 3 to 12 of the Pods wanted, deleting the others, and gives some
// of those kept a new spec (a Pod replaced under its name).
func changeWanted(t *testing.T, st *store.Store, rng *rand.Rand, wanted map[string]*api.Pod) {
	ctx := t.Context()
	n := 3 + rng.IntN(kill9Names-2)
	keep := map[string]bool{}
	for _, i := range rng.Perm(kill9Names)[:n] {
		keep[fmt.Sprintf("p-%02d", i)] = true
	}
	for name, p := range wanted {
		if keep[name] && rng.IntN(5) != 0 {
			continue
		}
		if err := st.DeletePod(ctx, p.Metadata.Namespace, name, 0); err != nil {
			t.Fatal(err)
		}
		delete(wanted, name)
	}
	for name := range keep {
		if wanted[name] != nil {
			continue
		}
		p := testPod(name, api.RestartAlways, "main")
		p.Spec.NodeName = "node-a"
		p.Spec.Containers[0].Args = []string{"sleep", fmt.Sprint(1000 + rng.IntN(3))}
		if err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
		wanted[name] = p
	}
}

// runAndKill starts an agent process (this test binary, as TestKill9Child) and kills it with
// SIGKILL after the given time; its output goes to logs.
func runAndKill(cfg kill9Config, logs string, after time.Duration) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	out, err := os.OpenFile(logs, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open agent log: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestKill9Child$", "-test.count=1", "-test.v=true")
	cmd.Env = append(os.Environ(), kill9Env+"="+string(b))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	time.Sleep(after)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill agent: %w", err)
	}
	_ = cmd.Wait() // killed: its error says so
	return nil
}

// TestKill9Child is the agent process of TestAgentKill9; it skips unless run as that.
func TestKill9Child(t *testing.T) {
	raw := os.Getenv(kill9Env)
	if raw == "" {
		t.Skip("the agent process of TestAgentKill9")
	}
	if !netnstest.Run(t) { // inherited: asserts this process is in the test's namespace
		return
	}
	var cfg kill9Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	cl, err := store.Connect(cfg.Endpoints)
	if err != nil {
		t.Fatal(err)
	}
	// the parent kills it long before; the bound only keeps a lost child from living on
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rt, err := New(ctx, Config{Address: cfg.Address, Namespace: cfg.Namespace, NodeName: "node-a",
		DataDir: cfg.DataDir, StopTimeout: time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.DropCreateLeases(ctx); err != nil { // as `gitfleet agent` does
		t.Fatal(err)
	}
	a := nodeagent.NewAgent(store.New(cl), rt, log, nodeagent.AgentOptions{Node: nodeagent.NodeConfig{Name: "node-a"}, Resync: 200 * time.Millisecond})
	a.Run(ctx)
}

// converged fails unless the runtime lists exactly the wanted Pods, each one running container
// of its wanted spec.
func converged(t *testing.T, rt *Runtime, wanted map[string]*api.Pod) error {
	sbs, err := rt.List(t.Context())
	if err != nil {
		return err
	}
	var got []string
	for _, sb := range sbs {
		p := wanted[sb.Key.Name]
		switch {
		case p == nil:
			return fmt.Errorf("pod %s is not wanted", sb.Key)
		case sb.SpecHash != nodeagent.SpecHash(p):
			return fmt.Errorf("pod %s runs another spec", sb.Key)
		case len(sb.Containers) != 1 || sb.Containers[0].State != nodeagent.StateRunning:
			return fmt.Errorf("pod %s: containers %+v", sb.Key, sb.Containers)
		}
		got = append(got, sb.Key.Name)
	}
	if len(got) != len(wanted) {
		return fmt.Errorf("pods %v, want %d", got, len(wanted))
	}
	return nil
}

// checkLeftovers looks past the runtime's own list: containerd's containers, tasks and leases
// of the namespace, the shims serving it, and the node's network namespaces and IPs.
func checkLeftovers(t *testing.T, rt *Runtime, cfg kill9Config, pods int) {
	ctx := rt.ns(t.Context())
	ctrs, err := rt.client.Containers(ctx)
	if err != nil || len(ctrs) != pods {
		t.Fatalf("%d containers in the namespace (%v), want %d", len(ctrs), err, pods)
	}
	for _, ctr := range ctrs {
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			t.Fatalf("container %s: %v", ctr.ID(), err)
		}
		if st, err := task.Status(ctx); err != nil || st.Status != client.Running {
			t.Fatalf("task of %s: %v, %v; want running", ctr.ID(), st.Status, err)
		}
	}
	if shims := countShims(t, cfg.Namespace); shims != pods {
		t.Errorf("%d shims serve the namespace, want %d", shims, pods)
	}
	ls, err := rt.client.LeasesService().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		t.Errorf("lease %s left (labels %v)", l.ID, l.Labels)
	}
	netns, err := podNetworks(filepath.Join(cfg.DataDir, "netns"))
	if err != nil || netns != pods {
		t.Errorf("%d network namespaces (%v), want %d", netns, err, pods)
	}
	if ips := countIPs(t, filepath.Join(cfg.DataDir, "cni", "gitfleet")); ips != pods {
		t.Errorf("%d IPs allocated, want %d", ips, pods)
	}
	t.Logf("after the kills: %d containers running, %d shims, %d netns, %d leases",
		len(ctrs), countShims(t, cfg.Namespace), netns, len(ls))
}

// podNetworks counts the Pod network directories in dir; not one still under its temporary
// name, which a kill before its rename leaves with no namespace (the agent removes it after a
// minute).
func podNetworks(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n, err
}

// countShims counts the containerd shims whose command line names namespace ns.
func countShims(t *testing.T, ns string) int {
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // ended meanwhile
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 0 && strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			if i := slices.Index(args, "-namespace"); i >= 0 && i+1 < len(args) && args[i+1] == ns {
				n++
			}
		}
	}
	return n
}

// countIPs counts the addresses host-local records in dir, one file each.
func countIPs(t *testing.T, dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := netip.ParseAddr(e.Name()); err == nil {
			n++
		}
	}
	return n
}

// logShimRemedies logs how often the killed agents deleted a stale task, ended a shim left
// without its container and deleted a lease of a create cut short.
func logShimRemedies(t *testing.T, logs string) {
	b, err := os.ReadFile(logs)
	if err != nil {
		t.Fatal(err)
	}
	leases := 0
	for _, m := range dropLeasesLog.FindAllSubmatch(b, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		leases += n
	}
	t.Logf("the killed agents deleted %d stale tasks, ended %d shims left without their container and deleted %d leases of creates cut short",
		strings.Count(string(b), "deleting the stale one"), strings.Count(string(b), "ending a shim left without its container"), leases)
}

// dropLeasesLog matches DropCreateLeases' log line and its count.
var dropLeasesLog = regexp.MustCompile(`creates a killed agent cut short" .*leases=(\d+)`)
