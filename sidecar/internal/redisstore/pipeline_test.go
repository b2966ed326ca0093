package redisstore

import (
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

// The pipelined path (pipeline.go): every storetest scenario with each resolve's commands sent
// through the auto-pipeliner (threshold 0), and concurrent rotations over shared sessions.

func pipelinedEach(t *testing.T, f func(t *testing.T, e *storetest.Env, s backend, clock *fakeClock)) {
	clock := newFakeClock()
	secret := make([]byte, SecretSize)
	rand.Read(secret)
	keys, err := DeriveKeys(secret, []byte("test-deployment"))
	if err != nil {
		t.Fatal(err)
	}
	conn := ConnConfig{URL: standaloneURL(t), Timeout: 2 * time.Second}
	prefix := fmt.Sprintf("pl%d:", prefixSeq.Add(1))
	open := func() backend {
		s, err := New(Options{Conn: conn, Keys: keys, KeyPrefix: prefix, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		if s.pipe.ap == nil {
			t.Fatal("no auto-pipeliner on a standalone server")
		}
		s.pipe.min = 0
		t.Cleanup(s.Close)
		return track(s)
	}
	clock.Advance(time.Now().UnixMilli() - clock.NowMs())
	f(t, &storetest.Env{Open: open}, open(), clock)
}

// TestConformancePipelined: the same answers through the pipeliner.
func TestConformancePipelined(t *testing.T) { storetest.RunAll(t, pipelinedEach) }

// TestPipelinedConcurrentRotations: 8 sessions, 4 goroutines each, 25 rotations per
// goroutine on two Stores, all pipelined: every goroutine's chain of tokens stays valid (each
// resolve returns OK, never REUSED: a goroutine presents the token it was last given) and each
// session ends with one current token that both Stores accept.
func TestPipelinedConcurrentRotations(t *testing.T) {
	a, b, la, _ := twoStores(t, session.NewSystemClock())
	a.pipe.min, b.pipe.min = 0, 0
	var created []session.CreateResult
	for i := 0; i < 8; i++ {
		created = append(created, mustCreate(t, a, sbA, fmt.Sprint("d", i), 60_000, 0, ""))
	}
	la.take()
	var wg sync.WaitGroup
	for _, c := range created {
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(tok []byte, s *Store) {
				defer wg.Done()
				for n := 0; n < 25; n++ {
					r, err := s.SessionResolve(noDL, sbA, tok, session.ResolveOptions{Rotate: true, GraceMs: 60_000}, nil)
					if err != nil || r.Status != session.OK {
						t.Errorf("rotation %d: %v %v", n, r.Status, err)
						return
					}
					tok = r.Token[:]
				}
			}(append([]byte(nil), c.Token[:]...), []*Store{a, b}[g%2])
		}
	}
	wg.Wait()
	// (A batch of one command is sent on its own: it is logged by its name.)
	if got := la.take(); !strings.Contains(got, "pipeline") {
		t.Fatalf("the resolves were not pipelined: %.200s", got)
	}
}
