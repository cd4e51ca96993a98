package containerd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
)

// Defaults of the log rotation.
const (
	defaultLogMaxBytes      = 10 << 20
	defaultLogCheckInterval = 10 * time.Second
)

// housekeep, every LogCheckInterval until ctx ends, rotates each container log of the node that
// grew past LogMaxBytes, so that a chatty container cannot fill the data dir etcd shares, and
// removes unused pulled images when the snapshots' disk is full (collectImages), and ends the
// shims left without their container (collectShims).
func (c *Runtime) housekeep(ctx context.Context) {
	tick := time.NewTicker(c.cfg.LogCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.rotateOnce()
			if _, err := c.collectImages(ctx); err != nil {
				c.log.Warn("image garbage collection failed", "err", err)
			}
			if err := c.collectShims(ctx); err != nil {
				c.log.Warn("cannot end the shims left without containers", "err", err)
			}
		}
	}
}

// rotateOnce rotates each log over the limit; failures are logged, and retried at the next tick.
func (c *Runtime) rotateOnce() {
	paths, err := filepath.Glob(filepath.Join(logs.Dir(c.cfg.DataDir), "*.log"))
	if err != nil {
		c.log.Warn("list container logs", "err", err)
		return
	}
	for _, p := range paths {
		rotated, err := logs.Rotate(p, c.cfg.LogMaxBytes)
		if err != nil {
			c.log.Warn("rotate container log", "path", p, "err", err)
		} else if rotated {
			c.log.Debug("rotated container log", "path", p)
		}
	}
}

// removeLogs removes the logs of every container of the Pod, listed or not (one removed by an
// earlier, interrupted attempt): the files named <namespace>_<pod>_*. Neither names nor
// container names hold "_", so no other Pod's logs match.
func (c *Runtime) removeLogs(key api.PodKey) error {
	prefix := strings.TrimSuffix(logs.Path(c.cfg.DataDir, key, ""), ".log")
	paths, err := filepath.Glob(prefix + "*.log")
	if err != nil {
		return fmt.Errorf("remove logs: %w", err)
	}
	var errs []error
	for _, p := range paths {
		errs = append(errs, logs.Remove(p))
	}
	return errors.Join(errs...)
}
