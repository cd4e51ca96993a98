package workload

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// sim holds a Deployment's Pods as the engine sees them, and applies its steps: removed Pods
// are gone at once, created Pods start not ready.
type sim struct {
	spec RolloutSpec
	pods []RolloutPod
	rev  int64
	now  time.Time
}

// newSim starts with n available Pods of template "old".
func newSim(spec RolloutSpec, n int) *sim {
	s := &sim{spec: spec, now: t0}
	for range n {
		s.add("old", true)
	}
	return s
}

func (s *sim) add(hash string, ready bool) {
	s.rev++
	name := fmt.Sprintf("default/%s-%d", hash, s.rev)
	s.pods = append(s.pods, RolloutPod{Item: store.Item[api.Pod]{Name: name, ModRevision: s.rev}, Hash: hash, Ready: ready})
}

// step plans and applies one step and renders it: what it removed of each template, what it
// made, and the Pods of each template after.
func (s *sim) step() (Step, string) {
	st := PlanRollout(s.spec, s.pods, s.now)
	gone := map[string]bool{}
	for _, r := range st.Remove {
		gone[r.Name] = true
	}
	rmOld, rmNew := 0, 0
	s.pods = slices.DeleteFunc(s.pods, func(p RolloutPod) bool {
		if gone[p.Item.Name] {
			if p.Hash == s.spec.Hash {
				rmNew++
			} else {
				rmOld++
			}
		}
		return gone[p.Item.Name]
	})
	for range st.Create {
		s.add(st.CreateHash, false)
	}
	old, cur := s.counts()
	return st, fmt.Sprintf("-%d old -%d new +%d %s: %d old, %d new", rmOld, rmNew, st.Create, st.CreateHash, old, cur)
}

func (s *sim) counts() (old, cur int) {
	for _, p := range s.pods {
		if p.Hash == s.spec.Hash {
			cur++
		} else {
			old++
		}
	}
	return old, cur
}

// readyAll makes every Pod ready, since now.
func (s *sim) readyAll() {
	for i := range s.pods {
		if !s.pods[i].Ready {
			s.pods[i].Ready, s.pods[i].ReadySince = true, s.now
		}
	}
}

func (s *sim) available() int {
	return countIf(s.pods, func(p RolloutPod) bool { return p.available(s.spec.MinReady, s.now) })
}

// TestPlanRolloutSteps: golden steps of rollouts in which every Pod made becomes ready before
// the next step.
func TestPlanRolloutSteps(t *testing.T) {
	rolling := func(want, surge, unavailable int) RolloutSpec {
		return RolloutSpec{Want: want, Surge: surge, Unavailable: unavailable, Hash: "new"}
	}
	for _, tt := range []struct {
		name  string
		spec  RolloutSpec
		start int
		steps []string
	}{
		{"100 replicas, 25 %/25 %", rolling(100, 25, 25), 100, []string{
			"-25 old -0 new +50 new: 75 old, 50 new",
			"-50 old -0 new +50 new: 25 old, 100 new",
			"-25 old -0 new +0 : 0 old, 100 new",
		}},
		{"surge 0", rolling(100, 0, 25), 100, []string{
			"-25 old -0 new +25 new: 75 old, 25 new",
			"-25 old -0 new +25 new: 50 old, 50 new",
			"-25 old -0 new +25 new: 25 old, 75 new",
			"-25 old -0 new +25 new: 0 old, 100 new",
		}},
		{"unavailable 0", rolling(100, 25, 0), 100, []string{
			"-0 old -0 new +25 new: 100 old, 25 new",
			"-25 old -0 new +25 new: 75 old, 50 new",
			"-25 old -0 new +25 new: 50 old, 75 new",
			"-25 old -0 new +25 new: 25 old, 100 new",
			"-25 old -0 new +0 : 0 old, 100 new",
		}},
		{"percentages 30 %/20 % of 10: surge 3, unavailable 2", rolling(10, 3, 2), 10, []string{
			"-2 old -0 new +5 new: 8 old, 5 new",
			"-5 old -0 new +5 new: 3 old, 10 new",
			"-3 old -0 new +0 : 0 old, 10 new",
		}},
		{"scale up from nothing", rolling(10, 3, 2), 0, []string{
			"-0 old -0 new +10 new: 0 old, 10 new",
		}},
		{"recreate", RolloutSpec{Want: 4, Unavailable: 4, Recreate: true, Hash: "new"}, 4, []string{
			"-4 old -0 new +0 : 0 old, 0 new",
			"-0 old -0 new +4 new: 0 old, 4 new",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(tt.spec, tt.start)
			var got []string
			for range 20 {
				st, line := s.step()
				if st.Create == 0 && len(st.Remove) == 0 {
					break
				}
				got = append(got, line)
				s.readyAll()
			}
			if strings.Join(got, "\n") != strings.Join(tt.steps, "\n") {
				t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.steps, "\n"))
			}
		})
	}
}

// Scaling while a rollout is under way: up, the surge grows with it; down, surplus new Pods
// that are not ready go first and old ones only as far as availability allows.
func TestPlanRolloutScaleDuringRollout(t *testing.T) {
	s := newSim(RolloutSpec{Want: 100, Surge: 25, Unavailable: 25, Hash: "new"}, 100)
	if _, line := s.step(); line != "-25 old -0 new +50 new: 75 old, 50 new" {
		t.Fatalf("first step: %s", line)
	}
	up := *s
	up.pods = slices.Clone(s.pods)
	up.spec.Want, up.spec.Surge, up.spec.Unavailable = 200, 50, 50
	if _, line := up.step(); line != "-0 old -0 new +125 new: 75 old, 175 new" {
		t.Errorf("scaled to 200: %s", line)
	}
	s.spec.Want, s.spec.Surge, s.spec.Unavailable = 20, 5, 5
	if _, line := s.step(); line != "-60 old -30 new +0 : 15 old, 20 new" {
		t.Errorf("scaled to 20: %s", line)
	}
	s.readyAll()
	if _, line := s.step(); line != "-15 old -0 new +0 : 0 old, 20 new" {
		t.Errorf("scaled to 20, new ready: %s", line)
	}
}

// A Pod ready for less than minReadySeconds is not available: old Pods wait for it, and the
// step says when to look again.
func TestPlanRolloutMinReadySeconds(t *testing.T) {
	s := newSim(RolloutSpec{Want: 4, Surge: 1, Unavailable: 0, MinReady: 10 * time.Second, Hash: "new"}, 4)
	if _, line := s.step(); line != "-0 old -0 new +1 new: 4 old, 1 new" {
		t.Fatalf("first step: %s", line)
	}
	s.readyAll() // ready at t0
	s.now = t0.Add(5 * time.Second)
	st, line := s.step()
	if line != "-0 old -0 new +0 : 4 old, 1 new" || !st.Wake.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("5 s after ready: %s, wake %v", line, st.Wake)
	}
	s.now = t0.Add(10 * time.Second)
	if _, line := s.step(); line != "-1 old -0 new +1 new: 3 old, 2 new" {
		t.Fatalf("10 s after ready: %s", line)
	}
}

// Old Pods that are not ready go first and at once; available ones only within maxUnavailable.
func TestPlanRolloutOldNotReadyFirst(t *testing.T) {
	s := newSim(RolloutSpec{Want: 10, Surge: 0, Unavailable: 1, Hash: "new"}, 8)
	for range 2 {
		s.add("old", false)
	}
	// 8 available: the 2 not ready go, and 8-9 < 0 available ones may; 2 made in their place.
	if _, line := s.step(); line != "-2 old -0 new +2 new: 8 old, 2 new" {
		t.Errorf("step: %s", line)
	}
	s.readyAll()
	if _, line := s.step(); line != "-1 old -0 new +1 new: 7 old, 3 new" {
		t.Errorf("step: %s", line)
	}
}

// A paused Deployment takes no rollout step; scaling adds to its newest template with Pods
// and takes from its oldest.
func TestPlanRolloutPaused(t *testing.T) {
	revs := map[string]int64{"old": 1, "mid": 2, "new": 3}
	s := newSim(RolloutSpec{Want: 4, Surge: 1, Unavailable: 1, Paused: true, Hash: "new", Revisions: revs}, 2)
	s.add("mid", true)
	// "old" counts every Pod not of the current template: 2 of template old, 2 of mid.
	if _, line := s.step(); line != "-0 old -0 new +1 mid: 4 old, 0 new" {
		t.Errorf("paused, scaled up: %s", line)
	}
	s.spec.Want = 2
	if _, line := s.step(); line != "-2 old -0 new +0 : 2 old, 0 new" {
		t.Errorf("paused, scaled down: %s", line)
	}
	if n := countIf(s.pods, func(p RolloutPod) bool { return p.Hash == "mid" }); n != 2 {
		t.Errorf("paused scale down took from the newest template: %d mid left", n)
	}
	// Resumed: the mid Pod not ready goes, the other serves; 2 new within a surge of 1.
	s.spec.Paused = false
	if _, line := s.step(); line != "-1 old -0 new +2 new: 1 old, 2 new" {
		t.Errorf("resumed: %s", line)
	}
}

// Property: for random replicas, maxSurge and maxUnavailable, with Pods becoming ready at
// random, a rollout never has more than replicas+surge Pods nor fewer than
// replicas-unavailable available, and it always ends with replicas Pods of the new template.
func TestPlanRolloutProperty(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	for i := range 500 {
		want, surge, unavailable := rnd.IntN(60), rnd.IntN(20), rnd.IntN(20)
		if surge == 0 && unavailable == 0 {
			unavailable = 1 // as api.RollingBounds resolves it
		}
		unavailable = min(unavailable, want)
		spec := RolloutSpec{Want: want, Surge: surge, Unavailable: unavailable, Hash: "new"}
		if want > 0 && surge == 0 && unavailable == 0 {
			continue
		}
		s := newSim(spec, want)
		done := false
		for step := 0; step < 1000 && !done; step++ {
			st, line := s.step()
			if n := len(s.pods); n > want+surge {
				t.Fatalf("case %d (%d, %d, %d) step %d: %d Pods (%s)", i, want, surge, unavailable, step, n, line)
			}
			if a := s.available(); a < want-unavailable {
				t.Fatalf("case %d (%d, %d, %d) step %d: %d available (%s)", i, want, surge, unavailable, step, a, line)
			}
			old, cur := s.counts()
			done = st.Create == 0 && len(st.Remove) == 0 && old == 0 && cur == want && s.available() == want
			for j := range s.pods {
				if !s.pods[j].Ready && rnd.IntN(2) == 0 {
					s.pods[j].Ready = true
				}
			}
		}
		if !done {
			old, cur := s.counts()
			t.Fatalf("case %d (%d, %d, %d): not done after 1000 steps: %d old, %d new", i, want, surge, unavailable, old, cur)
		}
	}
}
