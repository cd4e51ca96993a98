package podnet

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// TestOrphans lists the network directories no container uses, leaving out the used ones and
// one a Setup may still be making, and removing one an agent killed before its rename left.
func TestOrphans(t *testing.T) {
	var warnings countHandler
	n, err := New(Config{}, t.TempDir(), slog.New(&warnings))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		key := api.PodKey{Namespace: "default", Name: name}
		if err := n.prepareDir(filepath.Join(n.dir, "default_"+name), key, nil); err != nil {
			t.Fatal(err)
		}
	}
	young, err := os.MkdirTemp(n.dir, tempPrefix)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := os.MkdirTemp(n.dir, tempPrefix)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * unfinishedAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	got, err := n.Orphans(map[string]bool{"default_b": true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []api.PodKey{{Namespace: "default", Name: "a"}}; !slices.Equal(got, want) {
		t.Errorf("orphans %v, want %v", got, want)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a directory a Setup may be making is gone: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("an unfinished directory %v old is kept: %v", 2*unfinishedAge, err)
	}
	if warnings.n.Load() != 0 {
		t.Errorf("%d warnings", warnings.n.Load())
	}
}

// TestOrphansDuringSetup lists the directories while new ones are made and others removed:
// every directory it finds names its Pod (before, one was listed between its mkdir and its
// key's write, or between its key's removal and its own, and logged as naming no Pod).
func TestOrphansDuringSetup(t *testing.T) {
	var warnings countHandler
	n, err := New(Config{}, t.TempDir(), slog.New(&warnings))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			keys, err := n.Orphans(nil)
			if err != nil {
				t.Error(err)
				return
			}
			for _, k := range keys {
				if k.Namespace != "default" {
					t.Errorf("listed %v", k)
				}
			}
		}
	})
	for i := range 300 {
		key := api.PodKey{Namespace: "default", Name: fmt.Sprintf("p-%d", i)}
		dir := filepath.Join(n.dir, "default_"+key.Name)
		if err := n.prepareDir(dir, key, nil); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			if err := n.removeDir(dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	cancel()
	wg.Wait()
	if warnings.n.Load() != 0 {
		t.Errorf("%d warnings while directories were made", warnings.n.Load())
	}
}

// countHandler counts the records of level Warn and above.
type countHandler struct{ n atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.n.Add(1)
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }
