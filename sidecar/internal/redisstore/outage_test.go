package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/redistest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Redis only: Redis's own expiry, a server killed and restarted, a hung server.

func TestRedisExpiresKeysItself(t *testing.T) {
	conn := ConnConfig{URL: standaloneURL(t)}
	prefix := testPrefix("ex")
	s := newRedisStore(t, conn, randomSecret(), nil, prefix, nil)
	rdb := redis.NewClient(&redis.Options{Addr: addrsOf([]string{conn.URL})[0]})
	defer rdb.Close()
	ctx := context.Background()
	// The idle timeout leaves the calls between the create and the use (and between the use and
	// the PTTL read) 500 ms on a loaded machine running the race detector.
	idle := createWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 60_000, IdleMs: 1000, UserID: []byte("exp")})
	short := createWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 1200, UserID: []byte("exp")})
	s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 1000)
	count := func() int64 { return int64(len(rdb.Keys(ctx, prefix+"*").Val())) }
	if n := count(); n != 5 { // keycheck, two sessions, the index, the KV record
		t.Fatalf("%d keys", n)
	}
	// Using the idle session slides its Redis expiry: without the slide, its PTTL would now be
	// under 500 ms.
	time.Sleep(500 * time.Millisecond)
	if r := resolve(t, s, sbA, idle.Token[:], false, 2000); r.Status != session.OK {
		t.Fatal("idle session gone too early")
	}
	sb, _ := s.sandboxFor(sbA)
	if pttl := rdb.PTTL(ctx, s.sessKey(sb, &idle.SessionID)).Val(); pttl <= 500*time.Millisecond {
		t.Fatalf("idle session's PTTL after use: %v", pttl)
	}
	time.Sleep(1300 * time.Millisecond)
	// The idle session, the short one and the KV record are gone from Redis; the index lives
	// until the idle session's absolute expiry (60 s).
	if n := count(); n != 2 {
		t.Fatalf("%d keys left, want 2 (keycheck, index)", n)
	}
	if l, _ := s.SessionList(sbA, []byte("exp")); len(l) != 0 {
		t.Fatal("expired sessions listed")
	}
	_ = short
}

// TestOutageAndRecovery: a killed server is UNAVAILABLE, and after the restart (which loses
// the loaded scripts) the first script call loads them again.
func TestOutageAndRecovery(t *testing.T) {
	srv, err := redistest.Start("--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	secret := randomSecret()
	// The session is made through a store with a generous timeout (an fsync per write on a
	// loaded machine can take longer than 300 ms); the outage is observed through a second
	// store on the same Redis, prefix and secret with the short timeout under test.
	setup := newRedisStore(t, ConnConfig{URL: srv.URL(), Timeout: 5 * time.Second}, secret, nil, "out:", nil)
	res := mustCreate(t, setup, sbA, "survives", 60_000, 0, "u")
	tok := resolve(t, setup, sbA, res.Token[:], true, 2000).Token
	s := newRedisStore(t, ConnConfig{URL: srv.URL(), Timeout: 300 * time.Millisecond}, secret, nil, "out:", nil)

	srv.Kill()
	var worst time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		r, err := storetest.SessionResolve(s, sbA, tok[:], true, 2000, 0, nil)
		if d := time.Since(start); d > worst {
			worst = d
		}
		if errCode(err) != xerr.Unavailable || r.Status == session.OK {
			t.Fatalf("request %d during the outage: %v %v", i, r.Status, err)
		}
	}
	if worst > time.Second {
		t.Fatalf("a request took %v during the outage", worst)
	}
	if !strings.Contains(fmt.Sprint(s.wrap(unavailable("x"))), "x") || s.Available() {
		t.Fatal("the breaker is not open after repeated failures")
	}
	start := time.Now()
	// Refused without waiting for the 300 ms timeout (the bound leaves room for a loaded machine).
	if _, err := s.KVHas(sbA, []byte("k")); errCode(err) != xerr.Unavailable || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("open breaker: %v after %v", err, time.Since(start))
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var r session.ResolveResult
	for {
		r, err = storetest.SessionResolve(s, sbA, tok[:], false, 2000, 0, nil)
		if err == nil {
			break
		}
		if errCode(err) != xerr.Unavailable || time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.Status != session.OK || string(r.Data) != "survives" || r.Token != tok {
		t.Fatalf("after the restart: %+v", r)
	}
	if r, err := storetest.SessionResolve(s, sbA, tok[:], true, 2000, 0, nil); err != nil || !r.Rotated {
		t.Fatalf("a rotation after the restart (scripts reloaded): %+v %v", r, err)
	}
}

// TestHungServer: a stopped server: each caller gives up at its own timeout.
func TestHungServer(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	s := newRedisStore(t, ConnConfig{URL: srv.URL(), Timeout: 200 * time.Millisecond}, randomSecret(), nil, "hang:", nil)
	res := mustCreate(t, s, sbA, "d", 60_000, 0, "")
	srv.Cmd.Process.Signal(syscall.SIGSTOP)
	defer srv.Cmd.Process.Signal(syscall.SIGCONT)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var worst time.Duration
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := storetest.SessionResolve(s, sbA, res.Token[:], false, 2000, 0, nil)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if d > worst {
				worst = d
			}
			if errCode(err) != xerr.Unavailable {
				t.Errorf("hung server: %v", err)
			}
		}()
	}
	wg.Wait()
	if worst > 700*time.Millisecond {
		t.Fatalf("a request waited %v for a hung server (timeout 200 ms)", worst)
	}
	srv.Cmd.Process.Signal(syscall.SIGCONT)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := storetest.SessionResolve(s, sbA, res.Token[:], false, 2000, 0, nil)
		if err == nil && r.Status == session.OK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after SIGCONT: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
