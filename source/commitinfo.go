package source

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/go-git/go-git/v5/plumbing"
)

// Commit describes a fetched commit: its author, the first line of its message and its commit
// time, as status and history show them.
func (s *Git) Commit(ctx context.Context, hash string) (api.CommitInfo, error) {
	if err := ctx.Err(); err != nil {
		return api.CommitInfo{}, err
	}
	if !plumbing.IsHash(hash) {
		return api.CommitInfo{}, fmt.Errorf("describe commit %q: not a commit hash", hash)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		return api.CommitInfo{}, fmt.Errorf("describe commit %s: %w", api.ShortHash(hash), err)
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return api.CommitInfo{
		Hash:    c.Hash.String(),
		Author:  c.Author.Name,
		Message: strings.TrimSpace(msg),
		Time:    c.Committer.When.UTC().Format(time.RFC3339),
	}, nil
}
