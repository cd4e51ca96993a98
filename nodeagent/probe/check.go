package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/gitfleet/gitfleet/api"
)

// Exec runs cmd in the container and returns its exit code.
type Exec func(ctx context.Context, cmd []string) (int, error)

// Target is what a container's checks reach: its Pod's IP ("" for a hostNetwork Pod, whose
// ports are the node's: the agent reaches them on loopback) and a way to run commands in it.
type Target struct {
	PodIP string
	Exec  Exec
}

// Of returns the probes of c, checking t; none when c has none.
func Of(c *api.Container, t Target) []Probe {
	var out []Probe
	for _, kp := range []struct {
		kind Kind
		p    *api.Probe
	}{{Startup, c.StartupProbe}, {Liveness, c.LivenessProbe}, {Readiness, c.ReadinessProbe}} {
		if kp.p != nil {
			out = append(out, Probe{Kind: kp.kind, Timing: TimingOf(kp.p), Check: checkOf(c, kp.p, t)})
		}
	}
	return out
}

func checkOf(c *api.Container, p *api.Probe, t Target) Check {
	host := t.PodIP
	if host == "" {
		host = "127.0.0.1"
	}
	switch {
	case p.Exec != nil:
		return execCheck(t.Exec, p.Exec.Command)
	case p.HTTPGet != nil:
		return httpCheck(host, c.PortNumber(p.HTTPGet.Port), p.HTTPGet)
	case p.TCPSocket != nil:
		return tcpCheck(host, c.PortNumber(p.TCPSocket.Port))
	}
	return func(context.Context) error { return errors.New("the probe has no handler") }
}

func execCheck(exec Exec, cmd []string) Check {
	return func(ctx context.Context) error {
		if exec == nil {
			return errors.New("the runtime cannot run commands in containers")
		}
		code, err := exec(ctx, cmd)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command exited with code %d", code)
		}
		return nil
	}
}

// httpCheck GETs the action's path with a connection of its own, not following redirects: a
// status from 200 to 399 passes, as in Kubernetes.
func httpCheck(host string, port int32, h *api.HTTPGetAction) Check {
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	path := h.Path
	if path == "" {
		path = "/"
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(int(port))) + path
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("User-Agent", "gitfleet-probe/1")
		for _, hd := range h.HTTPHeaders {
			if http.CanonicalHeaderKey(hd.Name) == "Host" {
				req.Host = hd.Value
				continue
			}
			req.Header.Add(hd.Name, hd.Value)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("get %s: %w", url, err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("get %s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}

func tcpCheck(host string, port int32) Check {
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("dial %s: %w", addr, err)
		}
		return conn.Close()
	}
}
