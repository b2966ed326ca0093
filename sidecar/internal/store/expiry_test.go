package store

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

func TestKVExpiry(t *testing.T) {
	s, clock := newTestStore(t)
	exp, _ := s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 1000)
	clock.Advance(999)
	if _, _, found, _ := s.KVGet(sbA, []byte("k"), nil); !found {
		t.Fatal("expired 1 ms early")
	}
	clock.Advance(1)
	if clock.NowMs() != exp {
		t.Fatal("test arithmetic")
	}
	for name, check := range map[string]func() bool{
		"get": func() bool { _, _, f, _ := s.KVGet(sbA, []byte("k"), nil); return f },
		"has": func() bool { f, _ := s.KVHas(sbA, []byte("k")); return f },
		"ttl": func() bool { _, f, _ := s.KVTTL(sbA, []byte("k")); return f },
	} {
		if check() {
			t.Fatalf("%s returned an expired record", name)
		}
	}
	if st := s.Stats(); st.Expired != 1 || st.Sandboxes[string(sbA)].KV != 0 {
		t.Fatalf("expired record not removed on read: %+v", st)
	}
	// Touch of an expired record fails; del reports it absent.
	s.KVSet(noDL, sbA, []byte("k2"), []byte("v"), 10)
	clock.Advance(10)
	if _, found, _ := s.KVTouch(noDL, sbA, []byte("k2"), 1000); found {
		t.Fatal("touch revived an expired record")
	}
}

func TestFiveDayCap(t *testing.T) {
	s, clock := newTestStore(t)
	t0 := clock.NowMs()
	t.Run("KV touch never passes creation + 5 days", func(t *testing.T) {
		s.KVSet(noDL, sbA, []byte("k"), []byte("v"), session.MaxTTLMs)
		clock.Advance(session.MaxTTLMs - 1000)
		exp, found, _ := s.KVTouch(noDL, sbA, []byte("k"), session.MaxTTLMs)
		if !found || exp != t0+session.MaxTTLMs {
			t.Fatalf("touch set expiry %d, cap is %d", exp, t0+session.MaxTTLMs)
		}
		clock.Advance(1000)
		if _, _, found, _ := s.KVGet(sbA, []byte("k"), nil); found {
			t.Fatal("record outlived the 5-day cap")
		}
	})
	t.Run("idle sliding, rotation and update never pass the absolute expiry", func(t *testing.T) {
		s, clock := newTestStore(t)
		t0 := clock.NowMs()
		res := mustCreate(t, s, sbA, "d", session.MaxTTLMs, 3_600_000, "u")
		if res.ExpiresAt != t0+3_600_000 {
			t.Fatalf("initial expiry %d (idle deadline first)", res.ExpiresAt-t0)
		}
		tok := res.Token
		// Active every 30 minutes for 5 days: idle never triggers, the cap does.
		for clock.NowMs()+1_800_000 < t0+session.MaxTTLMs {
			clock.Advance(1_800_000)
			r := resolve(t, s, sbA, tok[:], true, 2000)
			if r.Status != session.OK {
				t.Fatalf("expired early at +%d ms", clock.NowMs()-t0)
			}
			if r.ExpiresAt > t0+session.MaxTTLMs {
				t.Fatalf("expiry %d past the cap", r.ExpiresAt-t0)
			}
			tok = r.Token
			if exp, _, _ := storetest.SessionUpdate(s, sbA, tok[:], []byte("x")); exp > t0+session.MaxTTLMs {
				t.Fatal("update pushed past the cap")
			}
		}
		clock.Advance(t0 + session.MaxTTLMs - clock.NowMs())
		if r := resolve(t, s, sbA, tok[:], false, 2000); r.Status != session.NotFound {
			t.Fatal("session outlived the 5-day cap")
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	s, clock := newTestStore(t)
	res := mustCreate(t, s, sbA, "d", 600_000, 10_000, "u")
	clock.Advance(9_999)
	r := resolve(t, s, sbA, res.Token[:], false, 2000)
	if r.Status != session.OK || r.ExpiresAt != clock.NowMs()+10_000 {
		t.Fatalf("resolve did not slide the idle deadline: %+v", r)
	}
	clock.Advance(9_999)
	if r := resolve(t, s, sbA, res.Token[:], false, 2000); r.Status != session.OK {
		t.Fatal("expired before the slid deadline")
	}
	clock.Advance(10_000)
	if r := resolve(t, s, sbA, res.Token[:], false, 2000); r.Status != session.NotFound {
		t.Fatal("resolved after the idle timeout")
	}
	if indexSize(s, sbA) != 0 || s.Stats().Expired != 1 {
		t.Fatal("idle expiry did not clean the index or count")
	}
}

func TestExpirerRemovesAndReschedules(t *testing.T) {
	s, clock := newTestStore(t)
	for i := 0; i < 100; i++ {
		s.KVSet(noDL, sbA, []byte(fmt.Sprint("short", i)), []byte("v"), 1000)
		s.KVSet(noDL, sbA, []byte(fmt.Sprint("long", i)), []byte("v"), 5000)
		mustCreate(t, s, sbA, "d", 1000, 0, fmt.Sprint("user", i%7))
	}
	idle := mustCreate(t, s, sbA, "d", 100_000, 2000, "idle-user")
	clock.Advance(1500)
	resolve(t, s, sbA, idle.Token[:], false, 0) // slides to +3500
	if n := s.Expire(); n != 200 {
		t.Fatalf("expired %d, want 200", n)
	}
	st := s.Stats().Sandboxes[string(sbA)]
	if st.KV != 100 || st.Sessions != 1 || indexSize(s, sbA) != 1 {
		t.Fatalf("after first sweep: %+v index %d", st, indexSize(s, sbA))
	}
	clock.Advance(2000) // +3500: the idle session's slid deadline
	if n := s.Expire(); n != 1 {
		t.Fatalf("expired %d, want the idle session", n)
	}
	clock.Advance(1500)
	if n := s.Expire(); n != 100 {
		t.Fatalf("expired %d, want 100 long keys", n)
	}
	if st := s.Stats(); st.Expired != 301 || st.Sandboxes[string(sbA)].Bytes != 0 || indexSize(s, sbA) != 0 {
		t.Fatalf("after all expired: %+v", st)
	}
	// A record re-set with a shorter TTL expires at the shorter time.
	s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 100_000)
	s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 10)
	clock.Advance(10)
	if _, _, found, _ := s.KVGet(sbA, []byte("k"), nil); found {
		t.Fatal("read an expired record")
	}
	s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 100_000)
	s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 10)
	clock.Advance(1010) // the expirer works in whole seconds
	if n := s.Expire(); n != 1 {
		t.Fatalf("shortened record: expired %d", n)
	}
}

func TestStaleHeapEntriesAreBounded(t *testing.T) {
	s, _ := newTestStore(t)
	// Create and delete many long-lived records: their heap entries must not pile up.
	for i := 0; i < 20_000; i++ {
		name := []byte(fmt.Sprint("k", i))
		s.KVSet(noDL, sbA, name, nil, session.MaxTTLMs)
		s.KVDel(noDL, sbA, name)
		res := mustCreate(t, s, sbA, "", session.MaxTTLMs, 0, "")
		storetest.SessionRevoke(s, sbA, res.Token[:])
	}
	s.Expire()
	sb, _ := s.sandboxFor(sbA, false)
	total := 0
	for i := range sb.shards {
		total += len(sb.shards[i].exp)
	}
	if total > nShards*shrinkFloor*2 {
		t.Fatalf("%d heap entries for 0 records", total)
	}
}

func heapInuse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestMemoryReleasedAfterMassExpiry: heap in use goes back down after every record expires.
func TestMemoryReleasedAfterMassExpiry(t *testing.T) {
	s, clock := newTestStore(t)
	before := heapInuse()
	const n = 60_000
	data := make([]byte, 256)
	for i := 0; i < n; i++ {
		if _, err := storetest.SessionCreate(s, sbA, data, 60_000, 0, nil, nil); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			s.KVSet(noDL, sbA, []byte(fmt.Sprint("key", i)), data, 60_000)
		}
	}
	peak := heapInuse()
	grown := peak - before
	if grown < n*300 {
		t.Fatalf("heap grew by only %d bytes for %d records: measurement broken", grown, n)
	}
	clock.Advance(60_000)
	if got := s.Expire(); got != n+n/2 {
		t.Fatalf("expired %d", got)
	}
	after := heapInuse()
	t.Logf("heap in use: before %d MB, peak %d MB, after mass expiry %d MB", before>>20, peak>>20, after>>20)
	if after > before+grown/10 {
		t.Fatalf("after expiry the heap holds %d of the %d bytes it grew by", after-before, grown)
	}
	runtime.KeepAlive(s)
}

// TestExpirerWithinTheSameSecond: records expiring a few ms after "now", inside the same whole
// second, are neither removed early nor spun on (an entry due but not expired must not be
// re-pushed for a second that is already due).
func TestExpirerWithinTheSameSecond(t *testing.T) {
	s, clock := newTestStore(t)
	clock.Advance(1500)
	s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 300) // expires at +1800
	res := mustCreate(t, s, sbA, "d", 600_000, 1000, "")
	clock.Advance(400)                         // +1900: the key has expired, the session (idle until +2500) has not
	resolve(t, s, sbA, res.Token[:], false, 0) // slides the idle deadline to +2900
	clock.Advance(500)                         // +2400
	done := make(chan int)
	go func() { done <- s.Expire() }()
	select {
	case n := <-done:
		if n != 1 {
			t.Fatalf("expired %d, want the key only", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Expire does not return: it spins on entries that are due but not expired")
	}
	if r := resolve(t, s, sbA, res.Token[:], false, 0); r.Status != session.OK {
		t.Fatal("session removed early")
	}
	for i := 0; i < 30; i++ { // step through several seconds at odd offsets
		clock.Advance(333)
		s.Expire()
	}
	if st := s.Stats().Sandboxes[string(sbA)]; st.Sessions != 0 || st.KV != 0 {
		t.Fatalf("left %+v", st)
	}
}
