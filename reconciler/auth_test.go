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

// pushedRemote is a bare repository whose main holds deploy/web.yaml.
func pushedRemote(t *testing.T) (*gittest.Remote, string) {
	t.Helper()
	r := gittest.NewRemote(t)
	r.Write("deploy/web.yaml", "a: 1\n")
	return r, r.CommitAndPush("one")
}

// assertNoSecrets fails when s holds any of the test's secrets, raw or URL-escaped.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testToken, testPass, "wrong-" + testToken} {
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			if strings.Contains(s, form) {
				t.Fatalf("%s contains a secret: %s", what, s)
			}
		}
	}
}

func TestControllerNeverRecordsToken(t *testing.T) {
	r, _ := pushedRemote(t)
	repoURL, ca := gittest.ServeHTTP(t, r.URL(), testToken)
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
		assertNoSecrets(t, "sync error", err.Error())
		assertNoSecrets(t, "status message", status.Message)
		assertNoSecrets(t, "logs", logs.String())
	}
}
