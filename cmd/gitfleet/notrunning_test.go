package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// closedURL is the URL of a loopback port that nothing listens on any more, as after a
// `gitfleet up` killed with SIGKILL.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// answersFast runs the built binary and fails t unless it exits with code within 5s, printing
// one line to stderr that starts with prefix and contains each of want. The promise is 2s; 5s
// leaves room on a loaded machine and still fails the 10s wait this guards against.
func answersFast(t *testing.T, bin string, args []string, code int, prefix string, want ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != code {
		t.Fatalf("%v: %v after %s, want exit %d\n%s", args, err, took, code, stderr.String())
	}
	if took > 5*time.Second {
		t.Errorf("%v: answered after %s, want within 2s", args, took)
	}
	line := strings.TrimSuffix(stderr.String(), "\n")
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, prefix) {
		t.Errorf("%v: stderr = %q, want one line starting %q", args, stderr.String(), prefix)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("%v: stderr = %q, want it to say %q", args, line, w)
		}
	}
	t.Logf("%v: exit %d after %s: %s", args, code, took.Round(time.Millisecond), line)
}

// TestCLINotRunning: with DATA_DIR/endpoints left by a killed up, every command says gitfleet is
// not running, at once; sync keeps its exit 2 for the push hook. Endpoints given by flag are
// named as etcd's instead.
func TestCLINotRunning(t *testing.T) {
	bin := buildBinary(t)
	t.Run("stale endpoints file", func(t *testing.T) {
		dataDir := t.TempDir()
		url := closedURL(t)
		if err := os.WriteFile(endpointsFile(dataDir), []byte(url+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		notRunning := []string{"gitfleet is not running at " + url, endpointsFile(dataDir), "--etcd-endpoints"}
		for _, args := range [][]string{{"status"}, {"get", "pods"}, {"history"}} {
			answersFast(t, bin, append(args, "--data-dir", dataDir), 1, "gitfleet: gitfleet is not running at ", notRunning...)
		}
		answersFast(t, bin, []string{"sync", "--wait", "--data-dir", dataDir}, 2, "gitfleet: not reachable: ", notRunning...)
	})
	t.Run("etcd-endpoints", func(t *testing.T) {
		a, b := closedURL(t), strings.TrimPrefix(closedURL(t), "http://")
		eps := a + "," + b
		answersFast(t, bin, []string{"status", "--etcd-endpoints", eps}, 1, "gitfleet: etcd is not reachable at "+eps+": ",
			strings.TrimPrefix(a, "http://"), b)
		answersFast(t, bin, []string{"sync", "--etcd-endpoints", eps}, 2, "gitfleet: not reachable: etcd is not reachable at "+eps)
	})
}

func TestEndpointAddr(t *testing.T) {
	for _, tc := range []struct{ endpoint, network, addr string }{
		{"http://127.0.0.1:2379", "tcp", "127.0.0.1:2379"},
		{"https://etcd.example:2379", "tcp", "etcd.example:2379"},
		{"127.0.0.1:2379", "tcp", "127.0.0.1:2379"},
		{"localhost:2379", "tcp", "localhost:2379"},
		{"unix:///run/etcd.sock", "unix", "/run/etcd.sock"},
		{"unix://etcd.sock", "unix", "etcd.sock"},
	} {
		network, addr := endpointAddr(tc.endpoint)
		if network != tc.network || addr != tc.addr {
			t.Errorf("endpointAddr(%q) = %s %s, want %s %s", tc.endpoint, network, addr, tc.network, tc.addr)
		}
	}
}
