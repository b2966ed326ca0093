package store

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

func TestSessionCreateAndResolve(t *testing.T) {
	s, clock := newTestStore(t)
	res, err := s.SessionCreate(sbA, []byte(`{"cart":[1,2]}`), 60_000, 0, []byte("alice"), []byte("meta"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExpiresAt != clock.NowMs()+60_000 {
		t.Fatalf("expiresAt %d", res.ExpiresAt)
	}
	if _, ok := crypto.ParseToken(res.Token[:]); !ok {
		t.Fatalf("token %q does not parse", res.Token)
	}
	r := resolve(t, s, sbA, res.Token[:], false, 2000)
	if r.Status != OK || string(r.Data) != `{"cart":[1,2]}` || r.Rotated || r.Token != res.Token || r.SessionID != res.SessionID || r.ExpiresAt != res.ExpiresAt {
		t.Fatalf("resolve = %+v", r)
	}
	// Data is appended to the caller's buffer.
	r2, _ := s.SessionResolve(sbA, res.Token[:], false, 2000, 0, []byte("head"))
	if string(r2.Out) != `head{"cart":[1,2]}` {
		t.Fatalf("Out = %q", r2.Out)
	}
	// Two sessions never share a token or an id.
	other := mustCreate(t, s, sbA, "x", 60_000, 0, "")
	if other.Token == res.Token || other.SessionID == res.SessionID {
		t.Fatal("two sessions share a token or id")
	}
}

func TestResolveMalformedTokensAreNotFound(t *testing.T) {
	s, _ := newTestStore(t)
	res := mustCreate(t, s, sbA, "d", 60_000, 0, "")
	tok := string(res.Token[:])
	flipped := []byte(tok)
	flipped[40] ^= 1 // same sid, wrong secret
	wrongSid := []byte(tok)
	wrongSid[3] ^= 1
	for name, token := range map[string]string{
		"empty": "", "short": tok[:69], "long": tok + "A", "bad alphabet": "*" + tok[1:],
		"wrong secret": string(flipped), "unknown sid": string(wrongSid), "spaces": strings.Repeat(" ", 70),
	} {
		r, err := s.SessionResolve(sbA, []byte(token), true, 2000, 0, nil)
		if err != nil || r.Status != NotFound {
			t.Errorf("%s: status %v err %v", name, r.Status, err)
		}
	}
	// And none of them rotated or revoked the session.
	if r := resolve(t, s, sbA, res.Token[:], false, 2000); r.Status != OK || r.Token != res.Token {
		t.Fatal("session disturbed by malformed tokens")
	}
}

// TestConcurrentRotation: 1,000 goroutines resolve the same token with rotate: exactly one
// successor is issued, exactly one call reports rotated, and every call returns it.
func TestConcurrentRotation(t *testing.T) {
	s, _ := newTestStore(t)
	res := mustCreate(t, s, sbA, "data", 60_000, 0, "")
	const n = 1000
	results := make([]ResolveResult, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r, err := s.SessionResolve(sbA, res.Token[:], true, 2000, 0, nil)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}(i)
	}
	close(start)
	wg.Wait()
	rotated := 0
	for _, r := range results {
		if r.Status != OK || string(r.Data) != "data" {
			t.Fatalf("a resolve failed: %+v", r)
		}
		if r.Token != results[0].Token {
			t.Fatal("two different successors")
		}
		if r.Rotated {
			rotated++
		}
	}
	if rotated != 1 || results[0].Token == res.Token {
		t.Fatalf("rotated %d times", rotated)
	}
	if got := s.Stats().Rotations; got != 1 {
		t.Fatalf("stats rotations = %d", got)
	}
	tk, _ := crypto.ParseToken(results[0].Token[:])
	if tk.Gen != 1 {
		t.Fatalf("successor gen %d", tk.Gen)
	}
}

func TestGraceWindowEdges(t *testing.T) {
	const grace = 2000
	for _, c := range []struct {
		name  string
		after int64
		want  Status
	}{
		{"grace-1 ms", grace - 1, OK},
		{"exactly grace", grace, Reused},
		{"grace+1 ms", grace + 1, Reused},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, clock := newTestStore(t)
			res := mustCreate(t, s, sbA, "d", 60_000, 0, "bob")
			r1 := resolve(t, s, sbA, res.Token[:], true, grace)
			if !r1.Rotated {
				t.Fatal("did not rotate")
			}
			clock.Advance(c.after)
			r := resolve(t, s, sbA, res.Token[:], true, grace)
			if r.Status != c.want {
				t.Fatalf("status %v, want %v", r.Status, c.want)
			}
			if c.want == OK {
				if r.Token != r1.Token || r.Rotated || string(r.Data) != "d" {
					t.Fatalf("in grace: got %+v", r)
				}
				// The current token still works and the session was not rotated again.
				if r := resolve(t, s, sbA, r1.Token[:], false, grace); r.Status != OK || r.Token != r1.Token {
					t.Fatal("current token broken by a grace resolve")
				}
				return
			}
			// Reuse: the whole session is gone, the reply names it, stats count it.
			if r.SessionID != res.SessionID {
				t.Fatal("REUSED does not name the session")
			}
			if r := resolve(t, s, sbA, r1.Token[:], false, grace); r.Status != NotFound {
				t.Fatal("current token survived reuse detection")
			}
			if s.Stats().ReuseDetected != 1 || indexSize(s, sbA) != 0 {
				t.Fatal("reuse not counted or index not cleaned")
			}
		})
	}
}

func TestGrandparent(t *testing.T) {
	const grace = 2000
	setup := func(t *testing.T) (*Store, *fakeClock, CreateResult, ResolveResult) {
		s, clock := newTestStore(t)
		g0 := mustCreate(t, s, sbA, "d", 60_000, 0, "")
		g1 := resolve(t, s, sbA, g0.Token[:], true, grace) // gen 0 superseded at t0
		clock.Advance(500)
		g2 := resolve(t, s, sbA, g1.Token[:], true, grace) // gen 1 superseded at t0+500
		if !g1.Rotated || !g2.Rotated {
			t.Fatal("setup did not rotate twice")
		}
		return s, clock, g0, g2
	}
	t.Run("inside grace returns the current token", func(t *testing.T) {
		s, clock, g0, g2 := setup(t)
		clock.Advance(grace - 500 - 1) // t0 + grace - 1
		r := resolve(t, s, sbA, g0.Token[:], true, grace)
		if r.Status != OK || r.Token != g2.Token || r.Rotated {
			t.Fatalf("grandparent in grace: %+v", r)
		}
	})
	t.Run("outside grace is reuse even if its child is in grace", func(t *testing.T) {
		s, clock, g0, g2 := setup(t)
		clock.Advance(grace - 500 + 1) // t0 + grace + 1: gen 1 still in grace, gen 0 not
		if r := resolve(t, s, sbA, g0.Token[:], true, grace); r.Status != Reused {
			t.Fatalf("status %v", r.Status)
		}
		if r := resolve(t, s, sbA, g2.Token[:], true, grace); r.Status != NotFound {
			t.Fatal("session survived")
		}
	})
}

func TestGraceListCap(t *testing.T) {
	s, _ := newTestStore(t)
	first := mustCreate(t, s, sbA, "d", 60_000, 0, "")
	tok := first.Token
	tokens := [][crypto.TokenLength]byte{tok}
	for i := 0; i < graceCap+1; i++ {
		r := resolve(t, s, sbA, tok[:], true, 2000)
		tok = r.Token
		tokens = append(tokens, tok)
	}
	// The generation just inside the cap still resolves; the one pushed out is reuse.
	if r := resolve(t, s, sbA, tokens[1][:], false, 2000); r.Status != OK || r.Token != tok {
		t.Fatalf("gen 1 (in the list) = %v", r.Status)
	}
	if r := resolve(t, s, sbA, tokens[0][:], false, 2000); r.Status != Reused {
		t.Fatalf("gen 0 (pushed out) = %v", r.Status)
	}
}

func TestForgedGraceTokenIsNotFound(t *testing.T) {
	s, _ := newTestStore(t)
	g0 := mustCreate(t, s, sbA, "d", 60_000, 0, "")
	g1 := resolve(t, s, sbA, g0.Token[:], true, 2000)
	forged, _ := crypto.ParseToken(g0.Token[:])
	forged.Secret[0] ^= 1
	enc := forged.AppendEncoded(nil)
	if r := resolve(t, s, sbA, enc, false, 2000); r.Status != NotFound {
		t.Fatalf("forged in-grace token: %v", r.Status)
	}
	future, _ := crypto.ParseToken(g1.Token[:])
	future.Gen++
	if r := resolve(t, s, sbA, future.AppendEncoded(nil), false, 2000); r.Status != NotFound {
		t.Fatalf("future generation: %v", r.Status)
	}
	if r := resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != OK {
		t.Fatal("session disturbed")
	}
}

func TestMinRotateInterval(t *testing.T) {
	s, clock := newTestStore(t)
	res := mustCreate(t, s, sbA, "d", 600_000, 0, "")
	r, _ := s.SessionResolve(sbA, res.Token[:], true, 2000, 10_000, nil)
	if r.Rotated || r.Token != res.Token {
		t.Fatal("rotated a token younger than minRotateIntervalMs")
	}
	clock.Advance(9_999)
	if r, _ := s.SessionResolve(sbA, res.Token[:], true, 2000, 10_000, nil); r.Rotated {
		t.Fatal("rotated 1 ms early")
	}
	clock.Advance(1)
	r, _ = s.SessionResolve(sbA, res.Token[:], true, 2000, 10_000, nil)
	if !r.Rotated {
		t.Fatal("did not rotate at minRotateIntervalMs")
	}
	// The new token is young again.
	if r2, _ := s.SessionResolve(sbA, r.Token[:], true, 2000, 10_000, nil); r2.Rotated {
		t.Fatal("rotated the fresh token")
	}
	// rotate=false never rotates.
	clock.Advance(20_000)
	if r2, _ := s.SessionResolve(sbA, r.Token[:], false, 2000, 0, nil); r2.Rotated || r2.Token != r.Token {
		t.Fatal("rotated without the flag")
	}
}

func TestRevoke(t *testing.T) {
	t.Run("revoke kills tokens in grace", func(t *testing.T) {
		s, _ := newTestStore(t)
		g0 := mustCreate(t, s, sbA, "d", 60_000, 0, "u")
		g1 := resolve(t, s, sbA, g0.Token[:], true, 2000)
		if ok, _ := s.SessionRevoke(sbA, g1.Token[:]); !ok {
			t.Fatal("revoke = false")
		}
		if r := resolve(t, s, sbA, g0.Token[:], false, 2000); r.Status != NotFound {
			t.Fatalf("grace token after revoke: %v", r.Status)
		}
		if ok, _ := s.SessionRevoke(sbA, g1.Token[:]); ok {
			t.Fatal("second revoke = true")
		}
		if st := s.Stats(); st.Revoked != 1 || indexSize(s, sbA) != 0 {
			t.Fatalf("revoked %d, index %d", st.Revoked, indexSize(s, sbA))
		}
	})
	for _, which := range []string{"grace generation", "older generation"} {
		t.Run("revoke by "+which, func(t *testing.T) {
			s, clock := newTestStore(t)
			g0 := mustCreate(t, s, sbA, "d", 600_000, 0, "")
			g1 := resolve(t, s, sbA, g0.Token[:], true, 2000)
			if which == "older generation" {
				clock.Advance(MaxGraceMs + 1)
			}
			if ok, _ := s.SessionRevoke(sbA, g0.Token[:]); !ok {
				t.Fatal("revoke = false")
			}
			if r := resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != NotFound {
				t.Fatal("session survived")
			}
		})
	}
	t.Run("forged token does not revoke", func(t *testing.T) {
		s, _ := newTestStore(t)
		g0 := mustCreate(t, s, sbA, "d", 60_000, 0, "")
		forged := []byte(string(g0.Token[:]))
		forged[50] ^= 1
		if ok, _ := s.SessionRevoke(sbA, forged); ok {
			t.Fatal("forged current token revoked")
		}
		if ok, _ := s.SessionRevoke(sbA, []byte("nonsense")); ok {
			t.Fatal("nonsense revoked")
		}
	})
}

func TestUpdate(t *testing.T) {
	s, clock := newTestStore(t)
	g0, err := s.SessionCreate(sbA, []byte("v0"), 60_000, 10_000, []byte("u"), []byte("the-meta"))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(5_000)
	exp, ok, err := s.SessionUpdate(sbA, g0.Token[:], []byte("v1"))
	if err != nil || !ok || exp != clock.NowMs()+10_000 {
		t.Fatalf("update current = %d %v %v (update must slide the idle deadline)", exp, ok, err)
	}
	g1 := resolve(t, s, sbA, g0.Token[:], true, 2000)
	if string(g1.Data) != "v1" {
		t.Fatalf("data %q", g1.Data)
	}
	if _, ok, _ := s.SessionUpdate(sbA, g0.Token[:], []byte("v2")); !ok {
		t.Fatal("update with an in-grace token refused")
	}
	clock.Advance(DefaultGraceMs)
	if _, ok, _ := s.SessionUpdate(sbA, g0.Token[:], []byte("v3")); ok {
		t.Fatal("update with a token outside grace accepted")
	}
	r := resolve(t, s, sbA, g1.Token[:], false, 2000)
	if string(r.Data) != "v2" {
		t.Fatalf("data %q", r.Data)
	}
	list, _ := s.SessionList(sbA, []byte("u"))
	if len(list) != 1 || string(list[0].Meta) != "the-meta" {
		t.Fatal("update lost the meta")
	}
	if _, ok, _ := s.SessionUpdate(sbA, []byte("garbage"), []byte("x")); ok {
		t.Fatal("garbage token updated")
	}
	// Update can grow and shrink the data; stats bytes follow.
	s.SessionUpdate(sbA, g1.Token[:], make([]byte, 1000))
	if st := s.Stats().Sandboxes[string(sbA)]; st.Bytes != int64(1000+len("the-meta")+4+28) {
		t.Fatalf("bytes %d", st.Bytes)
	}
}

func TestListRevokeAllRevokeID(t *testing.T) {
	s, clock := newTestStore(t)
	var alice []CreateResult
	for i := 0; i < 3; i++ {
		res, err := s.SessionCreate(sbA, []byte("d"), 60_000, 0, []byte("alice"), []byte{'m', byte('0' + i)})
		if err != nil {
			t.Fatal(err)
		}
		alice = append(alice, res)
		clock.Advance(1)
	}
	bob := mustCreate(t, s, sbA, "d", 60_000, 0, "bob")
	mustCreate(t, s, sbA, "d", 60_000, 0, "") // no user

	list, err := s.SessionList(sbA, []byte("alice"))
	if err != nil || len(list) != 3 {
		t.Fatalf("list = %d %v", len(list), err)
	}
	for i, it := range list {
		if it.SessionID != alice[i].SessionID || string(it.Meta) != string([]byte{'m', byte('0' + i)}) || it.ExpiresAt != alice[i].ExpiresAt {
			t.Fatalf("entry %d = %+v", i, it)
		}
	}
	if l, _ := s.SessionList(sbA, []byte("nobody")); len(l) != 0 {
		t.Fatal("list of an unknown user not empty")
	}
	if l, _ := s.SessionList(sbB, []byte("alice")); len(l) != 0 {
		t.Fatal("list crosses sandboxes")
	}
	// lastSeenAt follows resolves.
	clock.Advance(100)
	resolve(t, s, sbA, alice[0].Token[:], false, 2000)
	if l, _ := s.SessionList(sbA, []byte("alice")); l[0].LastSeenAt != clock.NowMs() {
		t.Fatal("lastSeenAt not updated")
	}

	// Keep alice[1], presented by a superseded generation still in grace.
	cur := resolve(t, s, sbA, alice[1].Token[:], true, 2000)
	n, err := s.SessionRevokeAll(sbA, []byte("alice"), alice[1].Token[:])
	if err != nil || n != 2 {
		t.Fatalf("revokeAll = %d %v", n, err)
	}
	if r := resolve(t, s, sbA, cur.Token[:], false, 2000); r.Status != OK {
		t.Fatal("the excepted session was revoked")
	}
	if r := resolve(t, s, sbA, alice[0].Token[:], false, 2000); r.Status != NotFound {
		t.Fatal("a revoked session resolves")
	}
	if r := resolve(t, s, sbA, bob.Token[:], false, 2000); r.Status != OK {
		t.Fatal("another user's session was revoked")
	}
	// An except token of another user's session protects nothing of alice's.
	if n, _ := s.SessionRevokeAll(sbA, []byte("alice"), bob.Token[:]); n != 1 {
		t.Fatalf("revokeAll with a foreign except token revoked %d", n)
	}
	if indexSize(s, sbA) != 1 {
		t.Fatalf("index size %d, want 1 (bob)", indexSize(s, sbA))
	}
	// Revoke by id.
	id := crypto.AppendID(nil, &bob.SessionID)
	if ok, _ := s.SessionRevokeID(sbB, id); ok {
		t.Fatal("revoke by id crossed sandboxes")
	}
	if ok, _ := s.SessionRevokeID(sbA, id); !ok {
		t.Fatal("revoke by id = false")
	}
	if ok, _ := s.SessionRevokeID(sbA, id); ok {
		t.Fatal("second revoke by id = true")
	}
	if ok, _ := s.SessionRevokeID(sbA, []byte("not-an-id")); ok {
		t.Fatal("malformed id revoked something")
	}
	if indexSize(s, sbA) != 0 {
		t.Fatal("index not empty")
	}
	if st := s.Stats(); st.Revoked != 4 {
		t.Fatalf("revoked counter %d", st.Revoked)
	}
}

func TestTokensDoNotCrossSandboxes(t *testing.T) {
	s, _ := newTestStore(t)
	res := mustCreate(t, s, sbA, "d", 60_000, 0, "u")
	mustCreate(t, s, sbB, "d", 60_000, 0, "u")
	if r := resolve(t, s, sbB, res.Token[:], true, 2000); r.Status != NotFound {
		t.Fatal("token of A resolved in B")
	}
	if ok, _ := s.SessionRevoke(sbB, res.Token[:]); ok {
		t.Fatal("token of A revoked in B")
	}
	if r := resolve(t, s, sbA, res.Token[:], false, 2000); r.Status != OK {
		t.Fatal("session in A disturbed")
	}
	// The session id (a keyed hash) differs between sandboxes for the same sid.
	sbx, _ := s.sandboxFor(sbB, false)
	tk, _ := crypto.ParseToken(res.Token[:])
	if sbx.keys.SIDKey(&tk.SID) == res.SessionID {
		t.Fatal("session ids are not sandbox-specific")
	}
}

func TestSealedRecordsFailWhenTamperedOrMoved(t *testing.T) {
	s, _ := newTestStore(t)
	s.KVSet(sbA, []byte("one"), []byte("value one"), 60_000)
	s.KVSet(sbA, []byte("two"), []byte("value two"), 60_000)
	s.KVSet(sbB, []byte("one"), []byte("value bbb"), 60_000)
	a, _ := s.sandboxFor(sbA, false)
	b, _ := s.sandboxFor(sbB, false)
	sealedOf := func(sb *sandbox, name string) []byte {
		k := sb.keys.KVKey([]byte(name))
		sh := sb.shard(&k)
		return kvRec(sh.mem.rec(sh.kv[k])).sealed()
	}
	one, two, bOne := sealedOf(a, "one"), sealedOf(a, "two"), sealedOf(b, "one")
	orig := bytes.Clone(one)
	for i := range orig {
		one[i] ^= 0x01
		if _, _, found, err := s.KVGet(sbA, []byte("one"), nil); found || err == nil {
			t.Fatalf("flipping byte %d: found=%v err=%v", i, found, err)
		}
		one[i] ^= 0x01
	}
	if v, _, _, _ := s.KVGet(sbA, []byte("one"), nil); string(v) != "value one" {
		t.Fatal("restored record does not open")
	}
	// Swap ciphertexts (same sizes) between keys of a sandbox, and between sandboxes.
	swap := func(x, y []byte) {
		tmp := bytes.Clone(x)
		copy(x, y)
		copy(y, tmp)
	}
	swap(one, two)
	if _, _, found, _ := s.KVGet(sbA, []byte("one"), nil); found {
		t.Fatal("a ciphertext moved to another key opened")
	}
	swap(one, two)
	if len(one) != len(bOne) {
		t.Fatal("test setup: sizes differ")
	}
	swap(one, bOne)
	if _, _, found, _ := s.KVGet(sbA, []byte("one"), nil); found {
		t.Fatal("a ciphertext moved to another sandbox opened")
	}
	if _, _, found, _ := s.KVGet(sbB, []byte("one"), nil); found {
		t.Fatal("a ciphertext moved to another sandbox opened")
	}
	swap(one, bOne)
	// A session record's ciphertext moved into a KV record (another kind) does not open either.
	sess := mustCreate(t, s, sbA, "0123456789", 60_000, 0, "") // same plaintext size as KV "two"
	sh := a.shard(&sess.SessionID)
	ssealed := sessRec(sh.mem.rec(sh.sess[sess.SessionID])).sealed()
	if len(ssealed) == len(two) {
		swap(two, ssealed)
		if _, _, found, _ := s.KVGet(sbA, []byte("two"), nil); found {
			t.Fatal("a session ciphertext opened as a KV record")
		}
		swap(two, ssealed)
	} else {
		t.Fatalf("test setup: session sealed %d bytes, kv %d", len(ssealed), len(two))
	}
	// Tampering a session record: resolve fails with an error, never returns data.
	ssealed[len(ssealed)-1] ^= 0x80
	if r, err := s.SessionResolve(sbA, sess.Token[:], false, 2000, 0, nil); err == nil || r.Status == OK {
		t.Fatal("a tampered session resolved")
	}
}

// TestNoPlaintextInMemory plants a marker in every input the store receives and searches the
// store's structures, byte by byte, for it and for the tokens it issued.
func TestNoPlaintextInMemory(t *testing.T) {
	s, _ := newTestStore(t)
	marker := []byte("MARKER-7f3a9c1e-")
	withMarker := func(what string) []byte { return append(append([]byte{}, marker...), what...) }
	var tokens [][]byte
	for i := 0; i < 50; i++ {
		s.KVSet(sbA, withMarker("key"), withMarker("value"), 60_000)
		s.KVSet(sbA, append(withMarker("key-"), byte(i)), withMarker("value"), 60_000)
		res, err := s.SessionCreate(sbA, withMarker("data"), 60_000, 1000, withMarker("user"), withMarker("meta"))
		if err != nil {
			t.Fatal(err)
		}
		r := resolve(t, s, sbA, res.Token[:], true, 2000) // a rotation leaves a grace entry
		s.SessionUpdate(sbA, r.Token[:], withMarker("updated"))
		s.SessionList(sbA, withMarker("user"))
		// Bound sessions keep only keyed hashes of the client's address and user agent; the
		// CSRF token is derived, never stored; a regenerated session leaves nothing behind.
		bound, err := s.SessionCreateWith(sbA, withMarker("data"), CreateOptions{TTLMs: 60_000, UserID: withMarker("user"),
			Bind: BindIPExact | BindAgent, IP: withMarker("ip"), UserAgent: withMarker("agent")})
		if err != nil {
			t.Fatal(err)
		}
		s.SessionResolveWith(sbA, bound.Token[:], ResolveOptions{WantCSRF: true, CheckBinding: true, OnMismatch: MismatchLog, IP: withMarker("ip2"), UserAgent: withMarker("agent2")}, nil)
		g, _ := s.SessionRegenerate(sbA, bound.Token[:], 2000, true, nil)
		tokens = append(tokens, bound.CSRF[:], g.CSRF[:])
		for _, tok := range [][]byte{res.Token[:], r.Token[:], bound.Token[:], g.Token[:]} {
			raw, _ := crypto.ParseToken(tok)
			tokens = append(tokens, bytes.Clone(tok), raw.SID[:], raw.Secret[:])
		}
	}
	s.KVScan(sbA, marker, nil, 1000)
	dump := dumpMemory(s)
	if len(dump) < 50*300 {
		t.Fatalf("the walker saw only %d bytes: it is not reaching the records", len(dump))
	}
	if found := containsAny(dump, append([][]byte{marker, []byte("7f3a9c1e")}, tokens...)...); found != nil {
		t.Fatalf("found %q in the store's memory", found)
	}
	// Self-check of the walker: a marker placed in a record blob is found.
	a, _ := s.sandboxFor(sbA, false)
	for i := range a.shards {
		for _, l := range a.shards[i].kv {
			copy(kvRec(a.shards[i].mem.rec(l)).sealed(), marker)
			if !bytes.Contains(dumpMemory(s), marker) {
				t.Fatal("the walker does not see record blobs")
			}
			return
		}
	}
}
