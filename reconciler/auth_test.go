package reconciler

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/source"
)

const (
	testToken = "tok-3f9a1c77e2"
	testPass  = "pa:ss/w@rd-91"
)

func TestControllerNeverRecordsToken(t *testing.T) {
	r := gittest.NewRemote(t)
	r.Write("deploy/web.yaml", "a: 1\n")
	r.CommitAndPush("one")
	repoURL, ca := gittest.ServeHTTP(t, r.URL(), testToken)
	secrets := []string{testToken, testPass, "wrong-" + testToken}
	st := etcdtest.Start(t)
	badURL := strings.Replace(repoURL, "https://", "https://alice:"+url.QueryEscape(testPass)+"@", 1)
	for _, cfg := range []source.Config{
		{URL: repoURL, Auth: source.Auth{Token: "wrong-" + testToken, CAFile: ca}},
		{URL: repoURL, Auth: source.Auth{Token: testToken}}, // no CA: TLS fails
		{URL: badURL, Auth: source.Auth{CAFile: ca}},
	} {
		cfg.CacheDir = filepath.Join(t.TempDir(), "cache")
		src, err := source.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		ctrl := New(st, src, slog.New(slog.NewTextHandler(&logs, nil)), Options{Now: fixedNow})
		_, err = ctrl.SyncOnce(context.Background())
		if err == nil {
			t.Fatal("sync with bad credentials succeeded")
		}
		status, gerr := st.GetSync(context.Background(), "default")
		if gerr != nil {
			t.Fatal(gerr)
		}
		if !strings.Contains(status.Message, "fetch failed") {
			t.Fatalf("status message = %q", status.Message)
		}
		gittest.AssertNoSecret(t, "sync error", err.Error(), secrets...)
		gittest.AssertNoSecret(t, "status message", status.Message, secrets...)
		gittest.AssertNoSecret(t, "logs", logs.String(), secrets...)
	}
}
