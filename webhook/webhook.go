package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gitfleet/gitfleet/api"
)

// MaxWebhookBody is the largest payload the webhook reads from any provider: the largest of
// maxBody.
const MaxWebhookBody = 25 << 20

// maxBody is the largest payload the webhook reads from each provider: what the provider
// itself sends at most, so that no push it delivers is refused, while a sender that is none of
// them gets nothing read. GitHub documents a 25 MB cap on webhook payloads; GitLab does not
// send one over 25 MB (since 13.3); Gitea documents none and gets GitHub's.
var maxBody = map[string]int64{
	"github": 25 << 20,
	"gitlab": 25 << 20,
	"gitea":  25 << 20,
}

// zeroCommit is the "after" of a push that deletes the branch.
const zeroCommit = "0000000000000000000000000000000000000000"

// webhook serves the push events of GitHub, Gitea and GitLab.
type webhook struct {
	secret  []byte
	ref     string
	request Request
	log     *slog.Logger
}

// hookEvent is what the webhook needs of a request: the provider, its event and whether the
// request proves it knows the secret.
type hookEvent struct {
	provider string
	event    string
	// push reports whether event is a push; ping whether it is GitHub's hello.
	push, ping bool
	// verify reports whether the body was signed with (or the token is) the secret.
	verify func(secret, body []byte) bool
}

// Request asks the controller for a sync of commit, the head of the followed branch, and
// returns the request's ID (request.Send, in the wiring).
type Request func(ctx context.Context, commit string) (id string, err error)

// Handler returns the handler of push webhooks: a POST from GitHub (X-Hub-Signature-256:
// sha256=<hex HMAC-SHA256 of the body>), Gitea (X-Gitea-Signature: <hex HMAC-SHA256>) or GitLab
// (X-Gitlab-Token: the secret). It answers 405 to other methods, 401 to a missing signature,
// 413 to a body over the provider's limit (at most MaxWebhookBody), 401 to a wrong
// signature, 200 to GitHub's ping, 202 without acting to other events and to pushes of another
// branch than branch, and for a push of branch calls request for the pushed commit and answers
// 202 with "sync requested <id>", or 503 when request fails. Secrets are compared in constant time; an
// empty secret accepts nothing. log nil discards.
func Handler(secret []byte, branch string, request Request, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if branch == "" {
		branch = "main"
	}
	return &webhook{secret: secret, ref: "refs/heads/" + branch, request: request, log: log.With("component", "webhook")}
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}
	// The provider first: a request that names none is refused before its body is read.
	ev, ok := eventOf(r.Header)
	if !ok {
		reply(w, http.StatusUnauthorized, "missing signature: want X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token")
		return
	}
	limit := maxBody[ev.provider]
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("payload larger than %d bytes, the most %s sends", limit, ev.provider))
		return
	case err != nil:
		reply(w, http.StatusBadRequest, "read payload: "+err.Error())
		return
	}
	log := h.log.With("provider", ev.provider, "event", ev.event, "remote", r.RemoteAddr)
	if len(h.secret) == 0 || !ev.verify(h.secret, body) {
		log.Warn("webhook rejected: bad signature")
		reply(w, http.StatusUnauthorized, "bad signature")
		return
	}
	switch {
	case ev.ping:
		reply(w, http.StatusOK, "pong")
	case !ev.push:
		reply(w, http.StatusAccepted, fmt.Sprintf("ignored: %s event %q is not a push", ev.provider, ev.event))
	default:
		h.push(r.Context(), w, log, body)
	}
}

// push handles a verified push payload.
func (h *webhook) push(ctx context.Context, w http.ResponseWriter, log *slog.Logger, body []byte) {
	var p struct {
		Ref   string `json:"ref"`
		After string `json:"after"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		reply(w, http.StatusBadRequest, "decode push payload: "+err.Error())
		return
	}
	switch {
	case p.Ref != h.ref:
		reply(w, http.StatusAccepted, fmt.Sprintf("ignored: push to %s, following %s", p.Ref, h.ref))
		return
	case p.After == zeroCommit:
		reply(w, http.StatusAccepted, "ignored: the push deletes "+p.Ref)
		return
	}
	id, err := h.request(ctx, p.After)
	if err != nil {
		log.Error("webhook: request sync", "err", err)
		reply(w, http.StatusServiceUnavailable, "request sync: "+err.Error())
		return
	}
	log.Info("webhook: sync requested", "id", id, "commit", api.ShortHash(p.After))
	reply(w, http.StatusAccepted, "sync requested "+id)
}

// eventOf recognizes the provider of a webhook request by its headers.
func eventOf(hdr http.Header) (hookEvent, bool) {
	switch {
	case hdr.Get("X-Hub-Signature-256") != "":
		sig := hdr.Get("X-Hub-Signature-256")
		ev := hdr.Get("X-GitHub-Event")
		return hookEvent{provider: "github", event: ev, push: ev == "push", ping: ev == "ping",
			verify: func(secret, body []byte) bool {
				hexSig, ok := strings.CutPrefix(sig, "sha256=")
				return ok && validHMAC(secret, body, hexSig)
			}}, true
	case hdr.Get("X-Gitea-Signature") != "":
		sig := hdr.Get("X-Gitea-Signature")
		ev := hdr.Get("X-Gitea-Event")
		return hookEvent{provider: "gitea", event: ev, push: ev == "push",
			verify: func(secret, body []byte) bool { return validHMAC(secret, body, sig) }}, true
	case hdr.Get("X-Gitlab-Token") != "":
		token := hdr.Get("X-Gitlab-Token")
		ev := hdr.Get("X-Gitlab-Event")
		return hookEvent{provider: "gitlab", event: ev, push: ev == "Push Hook",
			verify: func(secret, _ []byte) bool { return hmac.Equal([]byte(token), secret) }}, true
	}
	return hookEvent{}, false
}

// validHMAC reports whether hexSig is the hex HMAC-SHA256 of body under secret.
func validHMAC(secret, body []byte, hexSig string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(hexSig))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func reply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
