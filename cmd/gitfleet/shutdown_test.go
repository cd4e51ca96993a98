package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// upRoleNames are the roles `up` runs without a webhook, sorted.
var upRoleNames = []string{"agent", "controller", "endpoints", "nodeipam", "noderights", "scheduler", "services", "workloads"}

// TestUpStopsQuietly stops up while its Pods run, once with SIGINT (Ctrl-C) and, after a restart
// that adopts them, once with SIGTERM: each time it exits 0 and logs only one line per role and
// its final line. TestEndToEnd checks the same for a SIGTERM after its Pods are gone.
func TestUpStopsQuietly(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	c, _ := newCluster(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		c.start()
		// The Pods' status from before a restart is in etcd already: wait for this run's roles.
		c.waitFor("every role started", 60*time.Second, func() error {
			if got := roles(lastRun(c.logs.String()), "started"); !slices.Equal(got, upRoleNames) {
				return fmt.Errorf("roles started %v", got)
			}
			return nil
		})
		c.waitFor("2 pods running", 90*time.Second, func() error {
			_, err := c.runningPods(2)
			return err
		})
		c.stopQuietly(sig)
	}
}

// roleLine matches the "role started" and "role stopped" lines of runRoles.
var roleLine = regexp.MustCompile(`level=INFO msg="role (started|stopped)" role=(\S+)`)

// stopQuietly stops up with sig and fails the test unless up exits 0 and logs, after the signal,
// exactly one "role stopped" line for each role it started and "gitfleet stopped" last, and only
// INFO lines: no warning or error, no stack trace, nothing that bypassed gitfleet's logger.
func (c *cluster) stopQuietly(sig syscall.Signal) {
	c.t.Helper()
	before := c.logs.String()
	if err := c.stop(sig); err != nil {
		c.t.Fatalf("up after %v: %v\n%s", sig, err, tail(c.logs.String(), 30))
	}
	after := strings.TrimSuffix(c.logs.String()[len(before):], "\n")
	if err := checkQuietStop(lastRun(before), after); err != nil {
		c.t.Fatalf("up after %v: %v\n--- log after the signal:\n%s", sig, err, after)
	}
	c.t.Logf("up after %v:\n%s", sig, after)
}

// lastRun is the log of the latest start of up.
func lastRun(logs string) string {
	if i := strings.LastIndex(logs, "=== start "); i >= 0 {
		return logs[i:]
	}
	return logs
}

// checkQuietStop checks the log written after the signal against the roles run started.
func checkQuietStop(run, after string) error {
	started := roles(run, "started")
	if !slices.Equal(started, upRoleNames) {
		return fmt.Errorf("roles started %v, want %v", started, upRoleNames)
	}
	lines := strings.Split(after, "\n")
	for _, l := range lines {
		if slowMachine(l) {
			continue
		}
		if !strings.HasPrefix(l, "time=") || !strings.Contains(l, " level=INFO ") {
			return fmt.Errorf("a line that is not an INFO line of gitfleet's log: %q", l)
		}
	}
	if stopped := roles(after, "stopped"); !slices.Equal(stopped, started) {
		return fmt.Errorf("roles stopped %v, want each of %v once", stopped, started)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, `msg="gitfleet stopped;`) {
		return fmt.Errorf("last line %q, want gitfleet stopped", last)
	}
	return nil
}

// slowMachine says whether l is etcd's warning that the machine was slow (a loaded CI host),
// not a fault of the shutdown.
func slowMachine(l string) bool {
	if !strings.Contains(l, " level=WARN ") || !strings.Contains(l, " component=etcd") {
		return false
	}
	for _, msg := range []string{`msg="apply request took too long"`, `msg="slow fdatasync"`,
		`msg="leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk"`} {
		if strings.Contains(l, msg) {
			return true
		}
	}
	return false
}

// roles lists, sorted, the roles of the "role started" or "role stopped" lines in logs.
func roles(logs, what string) []string {
	var out []string
	for _, m := range roleLine.FindAllStringSubmatch(logs, -1) {
		if m[1] == what {
			out = append(out, m[2])
		}
	}
	slices.Sort(out)
	return out
}
