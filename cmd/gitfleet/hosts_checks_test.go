package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The network and join checks of TestThreeHosts.

// crossNodeHTTP asks a Pod on to for its name over HTTP, from inside the network namespace of
// a Pod on from.
func (f *fleet) crossNodeHTTP(pods []podJSON, nodes map[string]fleetNode, from, to *fleetHost) {
	f.t.Helper()
	src, ok := podOn(pods, from.Name)
	dst, ok2 := podOn(pods, to.Name)
	if !ok || !ok2 {
		f.t.Fatalf("want a pod on %s and one on %s: %v", from.Name, to.Name, perNode(pods))
	}
	// The route comes with the node's range; give the agent a moment.
	if err := routeTo(from, dst.Status.PodIP, 10*time.Second); err != nil {
		f.t.Fatalf("cross-node Pod HTTP: host %s does not route %s's Pod range %s: %v",
			from.Name, to.Name, nodes[to.Name].Spec.PodCIDR, err)
	}
	netns, err := podNetNS(from.dataDir, src)
	if err != nil {
		f.t.Fatal(err)
	}
	url := "http://" + dst.Status.PodIP + ":8080/"
	want := "hello from " + dst.Metadata.Name
	f.waitFor(fmt.Sprintf("pod %s on %s answers pod %s on %s", dst.Metadata.Name, to.Name, src.Metadata.Name, from.Name), 15*time.Second, func() error {
		// No -T: Debian's busybox-static 1.35 wget crashes with it.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "nsenter", "--net="+netns, "--", "busybox", "wget", "-q", "-O", "-", url).CombinedOutput()
		if err != nil {
			return fmt.Errorf("wget %s from %s: %w: %s", url, src.Metadata.Name, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			return fmt.Errorf("wget %s from %s: %q, want %q", url, src.Metadata.Name, got, want)
		}
		return nil
	})
	f.t.Logf("pod %s on %s answered pod %s on %s at %s", dst.Metadata.Name, to.Name, src.Metadata.Name, from.Name, dst.Status.PodIP)
}

// routeTo waits up to wait for h to have a route to ip.
func routeTo(h *fleetHost, ip string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		out, err := h.Command("ip", "route", "get", ip).CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("host %s: ip route get %s: %w: %s", h.Name, ip, err, strings.TrimSpace(string(out)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// podNetNS is the network namespace of pod under an agent's data dir: podnet keeps each Pod's
// in netns/<id>/, with a file "pod" naming the Pod.
func podNetNS(dataDir string, pod podJSON) (string, error) {
	key := pod.Metadata.Namespace + "/" + pod.Metadata.Name
	dirs, err := filepath.Glob(filepath.Join(dataDir, "netns", "*"))
	if err != nil {
		return "", err
	}
	for _, dir := range dirs {
		if b, err := os.ReadFile(filepath.Join(dir, "pod")); err != nil || string(b) != key {
			continue
		}
		ns, err := filepath.Glob(filepath.Join(dir, "cni-*"))
		if err != nil || len(ns) != 1 {
			return "", fmt.Errorf("network namespace of %s in %s: %v %v", key, dir, ns, err)
		}
		return ns[0], nil
	}
	return "", fmt.Errorf("no network namespace of %s under %s", key, dataDir)
}

// wrongTokenRefused runs an agent on the second host with a join token one character off: it
// must exit with an error that names the token, and no node of its name may appear.
func (f *fleet) wrongTokenRefused() {
	f.t.Helper()
	token, err := f.cli("token", "create")
	if err != nil {
		f.t.Fatal(err)
	}
	token = strings.TrimSpace(token)
	wrong := token[:len(token)-1] + string(otherChar(token[len(token)-1]))
	file := filepath.Join(f.t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(wrong+"\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
	b := f.hosts[1]
	cmd := b.Command(f.bin, "agent", "--server", f.joinURL(), "--token-file", file,
		"--data-dir", f.t.TempDir(), "--node-name", "intruder", "--advertise-address", b.IP,
		"--containerd-address", b.ctrd.Address, "--containerd-namespace", b.ns)
	out, err := runFor(cmd, 30*time.Second)
	if err == nil || !strings.Contains(strings.ToLower(out), "token") {
		f.t.Fatalf("agent with a wrong token: %v, want a refusal naming the token:\n%s", err, out)
	}
	nodes, err := f.nodes()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, nd := range nodes {
		if nd.Metadata.Name == "intruder" {
			f.t.Fatalf("an agent with a wrong token registered node intruder: %+v", nd)
		}
	}
	f.t.Logf("a wrong token is refused: %s", lastLine(out))
}

// runFor runs cmd and returns its combined output; a command still running after timeout is
// killed and reported.
func runFor(cmd *exec.Cmd, timeout time.Duration) (string, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("still running after %s", timeout)
	}
}

func otherChar(c byte) byte {
	if c == 'a' {
		return 'b'
	}
	return 'a'
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
