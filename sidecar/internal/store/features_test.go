package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func createWith(t testing.TB, s *Store, sb []byte, data string, o session.CreateOptions) session.CreateResult {
	t.Helper()
	return storetest.CreateWith(t, s, sb, data, o)
}

// TestMaxSessionsPerUserIgnoresExpired: an expired session does not count towards the limit
// (the rest is storetest.MaxSessionsPerUser).
func TestMaxSessionsPerUserIgnoresExpired(t *testing.T) {
	s, clock := newTestStore(t)
	reject := session.CreateOptions{UserID: []byte("max"), MaxPerUser: 2, OnLimit: session.LimitReject}
	createWith(t, s, sbA, "a", reject)
	createWith(t, s, sbA, "b", reject)
	if _, err := s.SessionCreate(noDL, sbA, []byte("d"), withTTL(reject)); errCode(err) != xerr.LimitReached {
		t.Fatalf("reject: %v", err)
	}
	clock.Advance(60_000)
	d := createWith(t, s, sbA, "d", reject)
	if len(d.Evicted) != 0 {
		t.Fatal("expired sessions were evicted rather than expired")
	}
}

func withTTL(o session.CreateOptions) session.CreateOptions {
	if o.TTLMs == 0 {
		o.TTLMs = 60_000
	}
	return o
}

func TestExpiryIsReported(t *testing.T) {
	m, _ := crypto.NewMaster(nil)
	clock := newFakeClock()
	var mu sync.Mutex
	got := map[string]int{}
	s := New(Options{Master: m, Clock: clock, OnSessionExpired: func(sandbox string, id *crypto.Digest) {
		mu.Lock()
		got[sandbox+"/"+crypto.EncodeID(id)]++
		mu.Unlock()
	}})
	byRead := createWith(t, s, sbA, "r", session.CreateOptions{TTLMs: 1000})
	bySweep := createWith(t, s, sbB, "s", session.CreateOptions{TTLMs: 1000})
	byLimit := createWith(t, s, sbA, "l", session.CreateOptions{TTLMs: 1000, UserID: []byte("u")})
	live := createWith(t, s, sbA, "x", session.CreateOptions{TTLMs: 100_000})
	clock.Advance(1000)
	resolve(t, s, sbA, byRead.Token[:], false, 2000)
	createWith(t, s, sbA, "l2", session.CreateOptions{UserID: []byte("u"), MaxPerUser: 1})
	clock.Advance(1000)
	s.Expire()
	want := map[string]int{
		"sessions/" + crypto.EncodeID(&byRead.SessionID):  1,
		"other/" + crypto.EncodeID(&bySweep.SessionID):    1,
		"sessions/" + crypto.EncodeID(&byLimit.SessionID): 1,
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reported %v, want %v", got, want)
	}
	if _, ok := got["sessions/"+crypto.EncodeID(&live.SessionID)]; ok {
		t.Fatal("a live session was reported")
	}
	if s.m.Expired.Load() != 3 {
		t.Fatalf("expired counter %d", s.m.Expired.Load())
	}
}

// checkIndexExact compares the per-user index of a sandbox with the session records: every
// record of a user is indexed exactly once (no orphan) and every index entry is a record of
// that user (no ghost).
func checkIndexExact(t testing.TB, s *Store, name []byte) {
	t.Helper()
	sb, _ := s.sandboxFor(name, false)
	if sb == nil {
		return
	}
	truth := map[[2]key]bool{}
	for i := range sb.shards {
		sh := &sb.shards[i]
		sh.mu.Lock()
		for k, l := range sh.sess {
			if r := sessRec(sh.mem.rec(l)); r.hasUser() {
				truth[[2]key{r.user(), k}] = true
			}
		}
		sh.mu.Unlock()
	}
	indexed := map[[2]key]bool{}
	for i := range sb.users {
		us := &sb.users[i]
		us.mu.Lock()
		for u, list := range us.m {
			if len(list) == 0 {
				t.Errorf("user entry with an empty list")
			}
			for _, k := range list {
				e := [2]key{u, k}
				if indexed[e] {
					t.Errorf("session %s indexed twice", crypto.EncodeID(&k))
				}
				indexed[e] = true
			}
		}
		us.mu.Unlock()
	}
	for e := range truth {
		if !indexed[e] {
			t.Errorf("orphan: session %s is not in its user's index", crypto.EncodeID(&e[1]))
		}
	}
	for e := range indexed {
		if !truth[e] {
			t.Errorf("ghost: index entry %s has no session of that user", crypto.EncodeID(&e[1]))
		}
	}
}

// TestPerUserIndexChurn runs concurrent logins (with and without a limit), logouts, expiries,
// regenerations and revoke-alls over a few users, then checks the index against the records and
// S_LIST against the live sessions: no orphan, no ghost.
func TestPerUserIndexChurn(t *testing.T) {
	s, clock := newTestStore(t)
	users := [][]byte{[]byte("u0"), []byte("u1"), []byte("u2"), []byte("u3")}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// The expirer runs while the others work. Time moves only with the work (below), so how
	// much of it expires does not depend on how the scheduler shares the CPU.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.Expire()
			runtime.Gosched()
		}
	}()
	var workers sync.WaitGroup
	for g := 0; g < 8; g++ {
		workers.Add(1)
		go func(seed uint64) {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			var mine [][crypto.TokenLength]byte
			for i := 0; i < 400; i++ {
				if i%50 == 0 {
					clock.Advance(150)
					s.Expire()
					// A short session that nothing else touches: the next advance expires it,
					// so expiry takes part in the churn whatever the random operations did.
					if _, err := s.SessionCreate(noDL, sbA, []byte("d"), session.CreateOptions{TTLMs: 100, UserID: []byte("u-expiring")}); err != nil {
						t.Error(err)
					}
				}
				u := users[rng.IntN(len(users))]
				switch op := rng.IntN(10); {
				case op < 4:
					o := session.CreateOptions{TTLMs: uint64(200 + rng.IntN(3000)), UserID: u}
					if rng.IntN(2) == 0 {
						o.MaxPerUser, o.OnLimit = uint32(1+rng.IntN(4)), session.LimitPolicy(rng.IntN(2))
					}
					if res, err := s.SessionCreate(noDL, sbA, []byte("d"), o); err == nil {
						mine = append(mine, res.Token)
					} else if errCode(err) != xerr.LimitReached {
						t.Error(err)
						return
					}
				case op < 6 && len(mine) > 0:
					j := rng.IntN(len(mine))
					if _, err := storetest.SessionRevoke(s, sbA, mine[j][:]); err != nil {
						t.Error(err)
					}
					mine = slices.Delete(mine, j, j+1)
				case op < 8 && len(mine) > 0:
					j := rng.IntN(len(mine))
					if res, err := s.SessionRegenerate(noDL, sbA, mine[j][:], 2000, true, nil, nil); err != nil {
						t.Error(err)
					} else if res.Status == session.OK {
						mine[j] = res.Token
					}
				case op < 9 && len(mine) > 0:
					j := rng.IntN(len(mine))
					if r, err := storetest.SessionResolve(s, sbA, mine[j][:], true, 2000, 0, nil); err != nil {
						t.Error(err)
					} else if r.Status == session.OK {
						mine[j] = r.Token
					}
				default:
					except := []byte(nil)
					if len(mine) > 0 && rng.IntN(2) == 0 {
						except = mine[rng.IntN(len(mine))][:]
					}
					if _, err := storetest.SessionRevokeAll(s, sbA, u, except); err != nil {
						t.Error(err)
					}
				}
			}
		}(uint64(g))
	}
	workers.Wait()
	close(stop)
	wg.Wait()
	if n := indexSize(s, sbA); n == 0 {
		t.Fatal("the churn left no session at all: it tested nothing")
	}
	if s.m.Evicted.Load() == 0 || s.m.Expired.Load() == 0 || s.m.Revoked.Load() == 0 {
		t.Fatalf("churn did not exercise every path: evicted %d expired %d revoked %d", s.m.Evicted.Load(), s.m.Expired.Load(), s.m.Revoked.Load())
	}
	checkIndexExact(t, s, sbA)
	// S_LIST equals the live sessions of each user, and after everything expires, nothing is left.
	now := clock.NowMs()
	for _, u := range users {
		list, err := s.SessionList(sbA, u)
		if err != nil {
			t.Fatal(err)
		}
		sb, _ := s.sandboxFor(sbA, false)
		uk := sb.keys.UserKey(u)
		live := 0
		for i := range sb.shards {
			sh := &sb.shards[i]
			sh.mu.Lock()
			for _, l := range sh.sess {
				if r := sessRec(sh.mem.rec(l)); r.hasUser() && r.user() == uk && r.expiresAt() > now {
					live++
				}
			}
			sh.mu.Unlock()
		}
		if len(list) != live {
			t.Fatalf("S_LIST has %d sessions, the store %d live ones", len(list), live)
		}
	}
	clock.Advance(10_000)
	s.Expire()
	if n := indexSize(s, sbA); n != 0 {
		t.Fatalf("%d index entries left after every session expired", n)
	}
	checkIndexExact(t, s, sbA)
}
