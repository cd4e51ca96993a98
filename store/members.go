package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Member is one etcd member of the cluster: a control-plane host.
type Member struct {
	ID uint64
	// Name is the host's node name; empty until the member first starts.
	Name       string
	PeerURLs   []string
	ClientURLs []string
	// Learner means the member receives the log but does not vote yet (it is catching up).
	Learner bool
	// Leader means the member leads the cluster now.
	Leader bool
}

// Started reports whether the member has started and published its name.
func (m Member) Started() bool { return m.Name != "" }

// IDString is the member's ID as etcd prints it, in hex.
func (m Member) IDString() string { return strconv.FormatUint(m.ID, 16) }

// ErrLearnerBehind means a learner cannot be promoted yet: it has not caught up with the
// leader's log. Retry.
var ErrLearnerBehind = errors.New("the new member has not caught up with the leader yet")

// ErrMembersSettling means etcd refused a membership change because a member joined or came
// back within the last few seconds (etcd's strict reconfiguration check). Retry.
var ErrMembersSettling = errors.New("etcd refuses membership changes for a few seconds after one (strict reconfiguration check)")

// Members lists the cluster's members, the leader marked.
func (s *Store) Members(ctx context.Context) ([]Member, error) {
	resp, err := s.c.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list etcd members: %w", err)
	}
	leader := s.leaderID(ctx)
	out := make([]Member, 0, len(resp.Members))
	for _, m := range resp.Members {
		out = append(out, Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs,
			Learner: m.IsLearner, Leader: m.ID == leader})
	}
	return out, nil
}

// leaderID asks a member, over the client's own connection, which member leads; 0 when none
// answers. (Not Client.Status, which dials the endpoint it is given: see status.)
func (s *Store) leaderID(ctx context.Context) uint64 {
	st, err := pb.NewMaintenanceClient(s.c.ActiveConnection()).Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return 0
	}
	return st.Leader
}

// status asks the member at ep for its status. etcd's client (v3.7.3) reads its endpoint list
// without its lock when it dials one endpoint, while its member sync (AutoSyncInterval) sets
// that list under the lock: the race detector saw the two in TestHAControlPlane. Reading the
// list through Endpoints first, under the lock, orders the dial after every sync that ended
// before it; one running during the dial is still unordered, a window of microseconds every
// 30 s, until etcd reads the list under its lock there too.
func (s *Store) status(ctx context.Context, ep string) (*clientv3.StatusResponse, error) {
	_ = s.c.Endpoints()
	return s.c.Status(ctx, ep)
}

// AddLearner adds the host name, whose member will listen at peerURL, as a learner: it catches
// up without voting, so a host that never starts costs the cluster no quorum. Asked again for
// the same peer URL (a join retried after a crash) it adds nothing. It returns etcd's
// --initial-cluster for the new member and the members' client URLs.
func (s *Store) AddLearner(ctx context.Context, name, peerURL string) (cluster string, clientURLs []string, err error) {
	members, err := s.Members(ctx)
	if err != nil {
		return "", nil, err
	}
	var id uint64
	for _, m := range members {
		if !slices.Contains(m.PeerURLs, peerURL) {
			continue
		}
		if m.Started() && m.Name != name {
			return "", nil, fmt.Errorf("add etcd member %s: peer URL %s belongs to member %s", name, peerURL, m.Name)
		}
		if m.Started() && !m.Learner {
			return "", nil, fmt.Errorf("add etcd member %s: it is a member already (to replace it, 'gitfleet member remove %s' first and join with a new data dir)", name, name)
		}
		id = m.ID
	}
	if id == 0 {
		resp, err := s.c.MemberAddAsLearner(ctx, []string{peerURL})
		// Another host's learner still catching up counts too: etcd takes one learner at a time.
		if errors.Is(err, rpctypes.ErrUnhealthy) || errors.Is(err, rpctypes.ErrGRPCUnhealthy) ||
			errors.Is(err, rpctypes.ErrTooManyLearners) || errors.Is(err, rpctypes.ErrGRPCTooManyLearners) {
			return "", nil, fmt.Errorf("add etcd member %s: %w", name, ErrMembersSettling)
		}
		if err != nil {
			return "", nil, fmt.Errorf("add etcd member %s at %s: %w", name, peerURL, err)
		}
		id = resp.Member.ID
		if members, err = s.Members(ctx); err != nil {
			return "", nil, err
		}
	}
	return initialCluster(members, id, name), memberClientURLs(members), nil
}

// initialCluster is etcd's name=peerURL list of members, the new member id named name, as
// etcdctl member add prints it.
func initialCluster(members []Member, id uint64, name string) string {
	var parts []string
	for _, m := range members {
		n := m.Name
		if m.ID == id {
			n = name
		}
		for _, u := range m.PeerURLs {
			parts = append(parts, n+"="+u)
		}
	}
	return strings.Join(parts, ",")
}

func memberClientURLs(members []Member) []string {
	var out []string
	for _, m := range members {
		out = append(out, m.ClientURLs...)
	}
	return out
}

// PromoteMember makes the learner named name (or with that hex ID) a voting member. It fails with ErrLearnerBehind
// until the learner has caught up; a member that votes already is left alone.
func (s *Store) PromoteMember(ctx context.Context, name string) error {
	m, err := s.member(ctx, name)
	if err != nil {
		return err
	}
	if !m.Learner {
		return nil
	}
	_, err = s.c.MemberPromote(ctx, m.ID)
	if errors.Is(err, rpctypes.ErrMemberLearnerNotReady) || errors.Is(err, rpctypes.ErrGRPCLearnerNotReady) {
		return ErrLearnerBehind
	}
	if err != nil {
		return fmt.Errorf("promote etcd member %s: %w", name, err)
	}
	return nil
}

// RemoveMember removes the member named name, or with that hex ID, from the cluster. Unless
// force, it first asks every other member for its status and refuses when too few answer for
// the cluster without it to keep a quorum: etcd's own check counts a member that died in the
// last five seconds as alive.
func (s *Store) RemoveMember(ctx context.Context, name string, force bool) (Member, error) {
	members, err := s.Members(ctx)
	if err != nil {
		return Member{}, err
	}
	m, err := findMember(members, name)
	if err != nil {
		return Member{}, err
	}
	if !force {
		if err := s.checkQuorumWithout(ctx, members, m); err != nil {
			return Member{}, err
		}
	}
	if _, err := s.c.MemberRemove(ctx, m.ID); err != nil {
		return Member{}, fmt.Errorf("remove etcd member %s: %w", name, err)
	}
	return m, nil
}

// checkQuorumWithout fails unless a majority of the voters other than gone answer.
func (s *Store) checkQuorumWithout(ctx context.Context, members []Member, gone Member) error {
	var voters, alive int
	var down []string
	for _, m := range members {
		if m.ID == gone.ID || m.Learner {
			continue
		}
		voters++
		if s.answers(ctx, m) {
			alive++
		} else {
			down = append(down, cmp.Or(m.Name, m.IDString()))
		}
	}
	if need := voters/2 + 1; alive < need {
		return fmt.Errorf("remove etcd member %s: the %d members left would need %d of them up, and these do not answer: %s; the cluster would stop (bring them back first, or pass --force)",
			cmp.Or(gone.Name, gone.IDString()), voters, need, strings.Join(down, ", "))
	}
	return nil
}

// answers reports whether m's etcd answers a status request within two seconds.
func (s *Store) answers(ctx context.Context, m Member) bool {
	for _, u := range m.ClientURLs {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.status(ctx, u)
		cancel()
		if err == nil {
			return true
		}
	}
	return false
}

// member finds the member named name, or with that hex ID.
func (s *Store) member(ctx context.Context, name string) (Member, error) {
	members, err := s.Members(ctx)
	if err != nil {
		return Member{}, err
	}
	return findMember(members, name)
}

func findMember(members []Member, name string) (Member, error) {
	for _, m := range members {
		if m.Name == name || m.IDString() == name {
			return m, nil
		}
	}
	names := make([]string, 0, len(members))
	for _, m := range members {
		names = append(names, cmp.Or(m.Name, "unstarted "+m.IDString()))
	}
	return Member{}, fmt.Errorf("find etcd member %q: %w (members: %s)", name, ErrNotFound, strings.Join(names, ", "))
}
