package reconciler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/source"
)

// largeRepo pushes files*perFile Deployments, perFile to a file, and returns the remote.
func largeRepo(b *testing.B, files, perFile int) *gittest.Remote {
	b.Helper()
	r := gittest.NewRemote(b)
	for f := 0; f < files; f++ {
		r.Write(fmt.Sprintf("deploy/f%03d.yaml", f), manyDeployments(f, perFile, "busybox:1"))
	}
	r.CommitAndPush(fmt.Sprintf("%d objects", files*perFile))
	return r
}

func manyDeployments(file, n int, image string) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteString("---\n")
		sb.WriteString(fixture.DeploymentYAML(fmt.Sprintf("d%03d-%03d", file, i), 1, image))
	}
	return sb.String()
}

func benchController(b *testing.B, r *gittest.Remote) *Controller {
	b.Helper()
	src, err := source.New(source.Config{URL: r.URL(), Path: "deploy", CacheDir: filepath.Join(b.TempDir(), "cache")})
	if err != nil {
		b.Fatal(err)
	}
	return New(etcdtest.Start(b), src, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
}

// BenchmarkSyncLarge measures a sync of a repository of 10,000 Deployments (100 files of 100):
// "full" is the first sync into an empty etcd (fetch, load, validate, diff, one transaction);
// "one-file" is the sync of a commit that changes one of the 100 files, by a controller that
// synced the commit before it. Both report objects/s as the repository's objects, all of which
// every pass diffs, per second.
//
//	go test -run '^$' -bench BenchmarkSyncLarge -benchtime 3x ./reconciler/
func BenchmarkSyncLarge(b *testing.B) {
	const files, perFile = 100, 100
	r := largeRepo(b, files, perFile)
	b.Run("full", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ctl := benchController(b, r)
			b.StartTimer()
			st, err := ctl.SyncOnce(context.Background())
			if err != nil || st.Changes.Created != files*perFile {
				b.Fatalf("sync: %+v, %v", st.Changes, err)
			}
		}
		b.ReportMetric(float64(files*perFile*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	version := 1 // counts across runs: the benchmark function runs more than once
	b.Run("one-file", func(b *testing.B) {
		ctl := benchController(b, r)
		if _, err := ctl.SyncOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			version++
			r.Write("deploy/f042.yaml", manyDeployments(42, perFile, fmt.Sprintf("busybox:%d", version)))
			r.CommitAndPush(fmt.Sprintf("change one file %d", i))
			b.StartTimer()
			st, err := ctl.SyncOnce(context.Background())
			if err != nil || st.Changes.Updated != perFile {
				b.Fatalf("sync: %+v, %v", st.Changes, err)
			}
		}
		b.ReportMetric(float64(files*perFile*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}
