package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const (
	hookSecret = "s3cret"
	headCommit = "0123456789abcdef0123456789abcdef01234567"
)

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

func pushBody(ref, after string) string {
	return `{"ref":"` + ref + `","before":"` + strings.Repeat("1", 40) + `","after":"` + after + `","repository":{"name":"r"}}`
}

// recorder records the commits the handler asks a sync of; fail makes the requests fail.
type recorder struct {
	mu      sync.Mutex
	commits []string
	fail    error
}

func (r *recorder) request(_ context.Context, commit string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return "", r.fail
	}
	r.commits = append(r.commits, commit)
	return fmt.Sprintf("req%d", len(r.commits)), nil
}

func TestWebhook(t *testing.T) {
	good := pushBody("refs/heads/main", headCommit)
	other := pushBody("refs/heads/dev", headCommit)
	deleted := pushBody("refs/heads/main", zeroCommit)
	gh := func(event, sig string) map[string]string {
		return map[string]string{"X-GitHub-Event": event, "X-Hub-Signature-256": sig}
	}
	tests := []struct {
		name    string
		method  string
		body    string
		headers map[string]string
		fail    error
		code    int
		reply   string // a prefix of the reply
		synced  bool
	}{
		{"github push", "POST", good, gh("push", "sha256="+sign(hookSecret, good)), nil, 202, "sync requested ", true},
		{"github ping", "POST", `{"zen":"hi"}`, gh("ping", "sha256="+sign(hookSecret, `{"zen":"hi"}`)), nil, 200, "pong", false},
		{"github other event", "POST", `{}`, gh("issues", "sha256="+sign(hookSecret, `{}`)), nil, 202, `ignored: github event "issues"`, false},
		{"github wrong secret", "POST", good, gh("push", "sha256="+sign("guess", good)), nil, 401, "bad signature", false},
		{"github body changed", "POST", other, gh("push", "sha256="+sign(hookSecret, good)), nil, 401, "bad signature", false},
		{"github no sha256 prefix", "POST", good, gh("push", sign(hookSecret, good)), nil, 401, "bad signature", false},
		{"github not hex", "POST", good, gh("push", "sha256=zz"), nil, 401, "bad signature", false},
		{"no signature", "POST", good, map[string]string{"X-GitHub-Event": "push"}, nil, 401, "missing signature", false},
		{"other branch", "POST", other, gh("push", "sha256="+sign(hookSecret, other)), nil, 202, "ignored: push to refs/heads/dev", false},
		{"branch deleted", "POST", deleted, gh("push", "sha256="+sign(hookSecret, deleted)), nil, 202, "ignored: the push deletes", false},
		{"bad json", "POST", "{", gh("push", "sha256="+sign(hookSecret, "{")), nil, 400, "decode push payload", false},
		{"request fails", "POST", good, gh("push", "sha256="+sign(hookSecret, good)), errors.New("etcd down"), 503, "request sync: etcd down", false},
		{"gitea push", "POST", good, map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": sign(hookSecret, good)}, nil, 202, "sync requested ", true},
		{"gitea wrong", "POST", good, map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": sign("x", good)}, nil, 401, "bad signature", false},
		{"gitlab push", "POST", good, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookSecret}, nil, 202, "sync requested ", true},
		{"gitlab wrong token", "POST", good, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookSecret + "x"}, nil, 401, "bad signature", false},
		{"gitlab tag push", "POST", good, map[string]string{"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": hookSecret}, nil, 202, "ignored", false},
		{"GET", "GET", "", nil, nil, 405, "method not allowed", false},
		{"too big", "POST", strings.Repeat("x", MaxWebhookBody+1), gh("push", "sha256=00"), nil, 413, "payload larger", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{fail: tt.fail}
			srv := httptest.NewServer(Handler([]byte(hookSecret), "main", rec.request, nil))
			defer srv.Close()
			req, err := http.NewRequest(tt.method, srv.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || !strings.HasPrefix(string(b), tt.reply) {
				t.Fatalf("got %d %q, want %d %q...", resp.StatusCode, b, tt.code, tt.reply)
			}
			if got := len(rec.commits); got != map[bool]int{true: 1}[tt.synced] {
				t.Fatalf("%d sync requests, want synced=%t", got, tt.synced)
			}
			if tt.synced {
				if c := rec.commits[0]; c != headCommit || strings.TrimSpace(string(b)) != "sync requested req1" {
					t.Fatalf("requested %s, reply %q", c, b)
				}
			}
		})
	}
}

func TestWebhookEmptySecretAcceptsNothing(t *testing.T) {
	rec := &recorder{}
	h := Handler(nil, "main", rec.request, nil)
	body := pushBody("refs/heads/main", headCommit)
	for _, hdr := range []map[string]string{
		{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign("", body)},
		{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": ""},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized || len(rec.commits) != 0 {
			t.Fatalf("empty secret: %d, %d requests; want 401 and none", w.Code, len(rec.commits))
		}
	}
}

// TestWebhookBodyLimitPerProvider sends each provider a payload of its limit, which is read
// (and, unsigned, refused as such), and one byte more, which is refused as too large.
func TestWebhookBodyLimitPerProvider(t *testing.T) {
	headers := map[string]map[string]string{
		"github": {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=00"},
		"gitea":  {"X-Gitea-Event": "push", "X-Gitea-Signature": "00"},
		"gitlab": {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong"},
	}
	srv := httptest.NewServer(Handler([]byte(hookSecret), "main", (&recorder{}).request, nil))
	defer srv.Close()
	for provider, limit := range maxBody {
		if limit > MaxWebhookBody {
			t.Errorf("%s: limit %d is over MaxWebhookBody %d", provider, limit, MaxWebhookBody)
		}
		for _, tt := range []struct {
			size int64
			code int
		}{{limit, 401}, {limit + 1, 413}} {
			req, err := http.NewRequest("POST", srv.URL+"/", strings.NewReader(strings.Repeat("x", int(tt.size))))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range headers[provider] {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("%s, %d bytes: got %d %q, want %d", provider, tt.size, resp.StatusCode, b, tt.code)
			}
		}
	}
}
