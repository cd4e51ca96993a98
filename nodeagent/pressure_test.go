package nodeagent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestMemoryPressure(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "meminfo")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if msg, err := memoryPressure(write("MemTotal: 1000000 kB\nMemAvailable: 600000 kB\n")); msg != "" || err != nil {
		t.Fatalf("plenty: %q, %v", msg, err)
	}
	if msg, err := memoryPressure(write("MemTotal: 1000000 kB\nMemAvailable: 40000 kB\n")); !strings.Contains(msg, "39 MiB of 976 MiB") || err != nil {
		t.Fatalf("low: %q, %v", msg, err)
	}
	if _, err := memoryPressure(write("nothing\n")); err == nil {
		t.Fatal("no MemTotal accepted")
	}
	conds := pressureConditions(filepath.Join(dir, "missing"), dir)
	if conds[0].Type != api.NodeMemoryPressure || conds[0].Status != api.ConditionUnknown || conds[1].Type != api.NodeDiskPressure {
		t.Fatalf("conditions = %+v", conds)
	}
}
