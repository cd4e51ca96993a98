// Package webhook receives push webhooks from GitHub, Gitea and GitLab, checks their signature
// and turns a push of the followed branch into a sync request (through an injected Request:
// /gitfleet/syncrequest/<source> in the wiring). It reads and writes nothing else.
package webhook
