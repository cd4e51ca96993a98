// Package netnstest runs a test inside a network namespace of its own, so that the bridges,
// iptables rules and Pod IPs it creates never touch the machine's network.
package netnstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvVar names the network namespace a re-executed test runs in; Run sets it for the child.
const EnvVar = "GITFLEET_IN_TEST_NETNS"

// Run makes the rest of the calling test run in a fresh network namespace and reports whether the
// caller is that run. Use it first thing in a test:
//
//	if !netnstest.Run(t) {
//		return
//	}
//
// In the parent process Run creates a namespace gft-<random> with lo up, re-executes the test
// binary for just this test inside it (nsenter --net: only the network namespace changes, so
// containerd still sees the child's mounts), relays the child's output, passes, fails or skips t
// as the child did, deletes the namespace and returns false. In the child it checks that the
// process really is in that namespace and returns true. Without root it skips t.
func Run(t *testing.T) bool {
	t.Helper()
	name, inside := enter(t)
	if inside {
		return true
	}
	args := []string{"-test.run", "^" + regexp.QuoteMeta(t.Name()) + "$", "-test.v=true", "-test.count=1"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	out, err := runChild(name, args, testing.Verbose())
	judge(t, err, out)
	return false
}

// RunB is Run for a benchmark: the child runs just this benchmark with the same -benchtime, its
// output (the results) is always relayed, and the parent then skips b so that it does not run
// the benchmark again itself.
func RunB(b *testing.B) bool {
	b.Helper()
	name, inside := enter(b)
	if inside {
		return true
	}
	args := []string{"-test.run", "^$", "-test.bench", benchPattern(b.Name(), flagValue("test.bench")),
		"-test.count=1", "-test.benchmem=" + flagValue("test.benchmem")}
	if bt := flagValue("test.benchtime"); bt != "" {
		args = append(args, "-test.benchtime="+bt)
	}
	out, err := runChild(name, args, true)
	if err != nil {
		b.Fatalf("benchmark in its network namespace failed: %v\n%s", err, tail(out, 60))
	}
	b.Skipf("ran in network namespace %s; results above", name)
	return false
}

// benchPattern is the -test.bench of the child that runs benchmark name: that benchmark alone,
// and of its sub-benchmarks those that the parent's pattern (-test.bench) names past its first
// "/", so that -bench 'BenchmarkX/case' runs only that case.
func benchPattern(name, parent string) string {
	pat := "^" + regexp.QuoteMeta(name) + "$"
	if _, sub, ok := strings.Cut(parent, "/"); ok {
		pat += "/" + sub
	}
	return pat
}

// enter reports whether this process is the child inside the test's namespace; in the parent it
// creates the namespace, removed when tb ends, and returns its name.
func enter(tb testing.TB) (string, bool) {
	tb.Helper()
	if name := os.Getenv(EnvVar); name != "" {
		assertInside(tb, name)
		return name, true
	}
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create a network namespace")
	}
	name := "gft-" + randomHex(4)
	ipCmd(tb, "netns", "add", name)
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ipCmd(tb, "-n", name, "link", "set", "lo", "up")
	return name, false
}

func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// assertInside fails t unless the process's network namespace is /run/netns/name: an inherited
// or mistyped env var must never let such a test loose on the machine's network.
func assertInside(t testing.TB, name string) {
	t.Helper()
	var self, want syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &self); err != nil {
		t.Fatalf("stat own network namespace: %v", err)
	}
	if err := syscall.Stat("/run/netns/"+name, &want); err != nil {
		t.Fatalf("%s=%s but the namespace is missing: %v", EnvVar, name, err)
	}
	if self.Ino != want.Ino || self.Dev != want.Dev {
		t.Fatalf("%s=%s but this process is not in that network namespace", EnvVar, name)
	}
}

// runChild re-executes the test binary with testArgs inside the namespace and returns its output.
func runChild(name string, testArgs []string, verbose bool) (string, error) {
	args := append([]string{"--net=/run/netns/" + name, "--", os.Args[0]}, testArgs...)
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.Command("nsenter", args...)
	cmd.Env = append(os.Environ(), EnvVar+"="+name)
	out := &relay{verbose: verbose, prefix: "netns " + name + "| "}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	out.flush()
	return out.String(), err
}

// judge passes, skips or fails t by the child's exit status and its -test.v markers.
func judge(t *testing.T, err error, out string) {
	t.Helper()
	base := t.Name()
	switch {
	case err != nil:
		t.Fatalf("test in its network namespace failed: %v\n%s%s\n--- its last lines:\n%s", err, testLines(out), raceReport(out), tail(out, 60))
	case strings.Contains(out, "--- PASS: "+base+" "):
		return
	case strings.Contains(out, "--- SKIP: "+base+" "):
		t.Skipf("skipped in its network namespace:\n%s", tail(out, 10))
	default:
		t.Fatalf("test did not run in its network namespace:\n%s", tail(out, 20))
	}
}

// testLines are the child's own log lines (file_test.go:N: ...), which a long dump of
// process logs at the end would push out of the tail: the failure is among them.
func testLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "_test.go:"); i >= 0 && i < 40 {
			out = append(out, l)
		}
	}
	if len(out) > 40 {
		out = out[len(out)-40:]
	}
	return strings.Join(out, "\n")
}

// raceReport is the race detector's first report in s, whole (its stacks are not test lines,
// and the dump of process logs that follows would push it out of the tail), or "".
func raceReport(s string) string {
	const start, sep = "WARNING: DATA RACE", "=================="
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	report := s[i:]
	if j := strings.Index(report, sep); j >= 0 {
		report = report[:j]
	}
	return "\n--- the race detector's first report:\n" + tail(report, 80)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// relay keeps the child's output and, under -v, copies each line to stdout with a prefix (the
// prefix keeps go test -json from taking the child's markers for the parent's).
type relay struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	verbose bool
	prefix  string
}

func (r *relay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all.Write(p)
	if !r.verbose {
		return len(p), nil
	}
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		fmt.Fprintf(os.Stdout, "%s%s\n", r.prefix, r.partial[:i])
		r.partial = r.partial[i+1:]
	}
}

func (r *relay) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verbose && len(r.partial) > 0 {
		fmt.Fprintf(os.Stdout, "%s%s\n", r.prefix, r.partial)
		r.partial = nil
	}
}

func (r *relay) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all.String()
}

// Exec runs a command in the current network namespace and returns its combined output; it fails
// t when the command fails.
func Exec(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Get makes one HTTP GET from the current network namespace (inside Run's child, the whole
// process is in the test's namespace) and returns the body of a 200 response.
func Get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", url, err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("get %s: status %s", url, resp.Status)
	}
	return string(body), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
