package nodeagent

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/gitfleet/gitfleet/api"
)

// Pressure thresholds, as the kubelet's hard eviction defaults: less memory available than
// this share of the total, or less free disk than this share of the data dir's filesystem.
const (
	memoryPressureShare = 0.05
	diskPressureShare   = 0.05
)

// pressureConditions reads the host's memory (meminfo) and the free space of dir's filesystem
// and returns the MemoryPressure and DiskPressure conditions. A reading that fails says so in
// an Unknown condition rather than failing the report.
func pressureConditions(meminfo, dir string) []api.NodeCondition {
	memMsg, memErr := memoryPressure(meminfo)
	diskMsg, diskErr := diskPressure(dir)
	return []api.NodeCondition{
		condition(api.NodeMemoryPressure, memMsg, memErr),
		condition(api.NodeDiskPressure, diskMsg, diskErr),
	}
}

// condition is a pressure condition: True with the message when msg is set, Unknown when err.
func condition(t string, msg string, err error) api.NodeCondition {
	switch {
	case err != nil:
		return api.NodeCondition{Type: t, Status: api.ConditionUnknown, Reason: "ReadFailed", Message: err.Error()}
	case msg != "":
		return api.NodeCondition{Type: t, Status: api.ConditionTrue, Reason: "Low", Message: msg}
	}
	return api.NodeCondition{Type: t, Status: api.ConditionFalse, Reason: api.ReasonAgentReported}
}

// memoryPressure says why memory is low, or "".
func memoryPressure(meminfo string) (string, error) {
	f, err := os.Open(meminfo)
	if err != nil {
		return "", fmt.Errorf("read memory: %w", err)
	}
	defer f.Close()
	kb := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 {
			kb[strings.TrimSuffix(fields[0], ":")], _ = strconv.ParseInt(fields[1], 10, 64)
		}
	}
	total, avail := kb["MemTotal"], kb["MemAvailable"]
	if total == 0 {
		return "", fmt.Errorf("read memory: no MemTotal in %s", meminfo)
	}
	if float64(avail) < memoryPressureShare*float64(total) {
		return fmt.Sprintf("%d MiB of %d MiB available", avail>>10, total>>10), nil
	}
	return "", nil
}

// diskPressure says why the filesystem of dir is nearly full, or "".
func diskPressure(dir string) (string, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return "", fmt.Errorf("read free disk of %s: %w", dir, err)
	}
	total, free := fs.Blocks*uint64(fs.Bsize), fs.Bavail*uint64(fs.Bsize)
	if float64(free) < diskPressureShare*float64(total) {
		return fmt.Sprintf("%d MiB of %d MiB free on %s", free>>20, total>>20, dir), nil
	}
	return "", nil
}
