package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func IdleTimeoutNeverPastAbsolute(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 10_000, IdleMs: 3_000})
		if c.ExpiresAt != clock.NowMs()+3_000 {
			t.Fatalf("expiresAt %d", c.ExpiresAt-clock.NowMs())
		}
		tok := c.Token
		for i := 0; i < 4; i++ {
			clock.Advance(2_000)
			r := ResolveWith(t, s, sbA, tok[:], session.ResolveOptions{Rotate: true})
			if r.Status != session.OK {
				t.Fatalf("step %d: %v", i, r.Status)
			}
			if want := min(clock.NowMs()+3_000, c.ExpiresAt-3_000+10_000); r.ExpiresAt != want {
				t.Fatalf("step %d: expiresAt %d, want %d", i, r.ExpiresAt, want)
			}
			tok = r.Token
		}
		clock.Advance(2_001)
		if r := ResolveWith(t, s, sbA, tok[:], session.ResolveOptions{}); r.Status != session.NotFound {
			t.Fatal("sliding extended the session past its absolute expiry")
		}
		idle := CreateWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 10_000, IdleMs: 3_000})
		clock.Advance(3_000)
		if r := ResolveWith(t, s, sbA, idle.Token[:], session.ResolveOptions{}); r.Status != session.NotFound {
			t.Fatal("an idle session outlived its idle timeout")
		}
	})
}

// IdleExpiryWithinTouchInterval: a backend may skip writing the last-seen time of a resolve
// that changes nothing while the stored one is less than the touch interval old
// (session.State.TouchIntervalMs, 100 ms for a 10 s idle timeout), so after a use at U the
// session is alive until at least U + idle - interval, and gone at U + idle, in every backend.
func IdleExpiryWithinTouchInterval(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 60_000, IdleMs: 10_000})
		clock.Advance(99)
		if r := ResolveWith(t, s, sbA, c.Token[:], session.ResolveOptions{}); r.Status != session.OK {
			t.Fatalf("use: %v", r.Status)
		}
		clock.Advance(10_000 - 100)
		if r, err := s.SessionPeek(sbA, c.Token[:], session.PeekOptions{}, nil); err != nil || r.Status != session.OK {
			t.Fatalf("expired before use + idle - interval: %v %v", r.Status, err)
		}
		clock.Advance(100)
		if r := ResolveWith(t, s, sbA, c.Token[:], session.ResolveOptions{}); r.Status != session.NotFound {
			t.Fatalf("alive at use + idle: %v", r.Status)
		}
	})
}

func MaxSessionsPerUser(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		user := []byte("max")
		opts := session.CreateOptions{UserID: user, MaxPerUser: 2, OnLimit: session.LimitEvictOldest}
		a := CreateWith(t, s, sbA, "a", opts)
		clock.Advance(1)
		b := CreateWith(t, s, sbA, "b", opts)
		clock.Advance(1)
		c := CreateWith(t, s, sbA, "c", opts)
		if len(c.Evicted) != 1 || c.Evicted[0] != a.SessionID {
			t.Fatalf("evicted %v, want the oldest", c.Evicted)
		}
		if r := Resolve(t, s, sbA, a.Token[:], false, 2000); r.Status != session.NotFound {
			t.Fatal("the evicted session still resolves")
		}
		if st := s.Stats(); st.Evicted != 1 || st.Revoked != 0 {
			t.Fatalf("evicted %d revoked %d", st.Evicted, st.Revoked)
		}
		reject := opts
		reject.OnLimit = session.LimitReject
		reject.TTLMs = 60_000
		if _, err := s.SessionCreate(noDL, sbA, []byte("d"), reject); ErrCode(err) != xerr.LimitReached {
			t.Fatalf("reject: %v", err)
		}
		list, _ := s.SessionList(sbA, user)
		if len(list) != 2 || list[0].SessionID != b.SessionID || list[1].SessionID != c.SessionID {
			t.Fatalf("after reject: %+v", list)
		}
		one := session.CreateOptions{UserID: []byte("solo"), MaxPerUser: 1}
		first := CreateWith(t, s, sbA, "1", one)
		second := CreateWith(t, s, sbA, "2", one)
		if len(second.Evicted) != 1 || second.Evicted[0] != first.SessionID {
			t.Fatal("max 1 did not end the previous session")
		}
		CreateWith(t, s, sbA, "x", session.CreateOptions{UserID: []byte("other"), MaxPerUser: 1})
		CreateWith(t, s, sbB, "x", session.CreateOptions{UserID: []byte("solo"), MaxPerUser: 1})
		if r := Resolve(t, s, sbA, second.Token[:], false, 2000); r.Status != session.OK {
			t.Fatal("another user's or sandbox's login evicted this one")
		}
	})
}

// MaxSessionsConcurrentLogins: concurrent logins of one user (for Redis, through two
// instances) never leave more than the limit.
func MaxSessionsConcurrentLogins(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		instances := []Backend{s, e.Open()}
		for _, policy := range []session.LimitPolicy{session.LimitEvictOldest, session.LimitReject} {
			user := []byte(fmt.Sprintf("conc-%d", policy))
			var wg sync.WaitGroup
			var mu sync.Mutex
			created, evicted, refused := 0, 0, 0
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < 20; i++ {
						res, err := instances[g%2].SessionCreate(noDL, sbA, []byte("d"), session.CreateOptions{TTLMs: 60_000, UserID: user, MaxPerUser: 3, OnLimit: policy})
						mu.Lock()
						if ErrCode(err) == xerr.LimitReached {
							refused++
						} else if err != nil {
							t.Error(err)
						} else {
							created++
							evicted += len(res.Evicted)
						}
						mu.Unlock()
					}
				}(g)
			}
			wg.Wait()
			list, _ := s.SessionList(sbA, user)
			if len(list) != 3 {
				t.Fatalf("%v: %d live sessions, want exactly 3", policy, len(list))
			}
			switch policy {
			case session.LimitEvictOldest:
				if created != 320 || evicted != 317 {
					t.Fatalf("created %d evicted %d", created, evicted)
				}
			case session.LimitReject:
				if created != 3 || refused != 317 {
					t.Fatalf("created %d refused %d", created, refused)
				}
			}
		}
		if e.CheckIndex != nil {
			e.CheckIndex(t, sbA)
		}
	})
}
