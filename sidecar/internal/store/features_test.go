package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func createWith(t testing.TB, s *Store, sb []byte, data string, o CreateOptions) CreateResult {
	t.Helper()
	if o.TTLMs == 0 {
		o.TTLMs = 60_000
	}
	res, err := s.SessionCreateWith(sb, []byte(data), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func resolveWith(t testing.TB, s *Store, sb, token []byte, o ResolveOptions) ResolveResult {
	t.Helper()
	if o.GraceMs == 0 {
		o.GraceMs = 2000
	}
	res, err := s.SessionResolveWith(sb, token, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBindAddressNormalisation(t *testing.T) {
	same := func(a, b string, subnet bool) bool {
		return bytes.Equal(bindAddress([]byte(a), subnet), bindAddress([]byte(b), subnet))
	}
	cases := []struct {
		a, b   string
		subnet bool
		want   bool
	}{
		{"10.1.2.3", "10.1.2.3", false, true},
		{"10.1.2.3", "10.1.2.4", false, false},
		{"10.1.2.3", "10.1.2.200", true, true},
		{"10.1.2.3", "10.1.3.3", true, false},
		{"::ffff:10.1.2.3", "10.1.2.3", false, true}, // IPv4-mapped IPv6 is the IPv4 address
		{"::ffff:10.1.2.3", "10.1.2.9", true, true},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::7", true, true}, // same /64
		{"2001:db8:1:2::1", "2001:db8:1:3::1", true, false},
		{"2001:db8:1:2::1", "2001:db8:1:2::2", false, false},
		{"fe80::1%eth0", "fe80::1", false, true}, // zones do not count
		{"not an ip", "not an ip", false, true},
		{"", "", true, true},
		{"", "0.0.0.0", false, false},
		{"10.1.2.0", "10.1.2.0", false, true},
	}
	for _, c := range cases {
		if got := same(c.a, c.b, c.subnet); got != c.want {
			t.Errorf("%q vs %q (subnet %v): same = %v", c.a, c.b, c.subnet, got)
		}
	}
	// An exact hash input never equals a subnet one, even for an address that is its own prefix.
	if bytes.Equal(bindAddress([]byte("10.1.2.0"), false), bindAddress([]byte("10.1.2.0"), true)) {
		t.Fatal("exact and subnet forms collide")
	}
}

func TestBindingModesAndActions(t *testing.T) {
	s, _ := newTestStore(t)
	type attempt struct {
		ip, ua string
		want   uint8 // mismatch bits
	}
	modes := []struct {
		name     string
		bind     BindMode
		attempts []attempt
	}{
		{"subnet", BindIPSubnet, []attempt{{"10.0.0.1", "a", 0}, {"10.0.0.77", "b", 0}, {"10.0.1.1", "a", MismatchIP}}},
		{"exact", BindIPExact, []attempt{{"10.0.0.1", "b", 0}, {"10.0.0.2", "a", MismatchIP}}},
		{"agent", BindAgent, []attempt{{"192.168.9.9", "a", 0}, {"10.0.0.1", "a/2", MismatchAgent}}},
		{"exact+agent", BindIPExact | BindAgent, []attempt{{"10.0.0.1", "a", 0}, {"10.0.0.2", "b", MismatchIP | MismatchAgent}}},
		{"none", 0, []attempt{{"1.1.1.1", "z", 0}}},
	}
	for _, m := range modes {
		for _, action := range []MismatchAction{MismatchRevoke, MismatchReject, MismatchLog} {
			for _, a := range m.attempts {
				name := fmt.Sprintf("%s/%s/%s+%s", m.name, action, a.ip, a.ua)
				c := createWith(t, s, sbA, "d", CreateOptions{Bind: m.bind, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
				before := s.mismatches.Load()
				r := resolveWith(t, s, sbA, c.Token[:], ResolveOptions{Rotate: true, CheckBinding: true, OnMismatch: action, IP: []byte(a.ip), UserAgent: []byte(a.ua)})
				if a.want == 0 {
					if r.Status != OK || r.Mismatch != 0 || !r.Rotated {
						t.Fatalf("%s: %+v", name, r)
					}
					continue
				}
				if s.mismatches.Load() != before+1 {
					t.Fatalf("%s: mismatch not counted", name)
				}
				switch action {
				case MismatchRevoke:
					if r.Status != Mismatched || !r.Revoked || r.Mismatch != a.want || r.SessionID != c.SessionID {
						t.Fatalf("%s: %+v", name, r)
					}
					if again := resolve(t, s, sbA, c.Token[:], false, 2000); again.Status != NotFound {
						t.Fatalf("%s: the session survived the revoke action", name)
					}
				case MismatchReject:
					if r.Status != Mismatched || r.Revoked || r.Mismatch != a.want {
						t.Fatalf("%s: %+v", name, r)
					}
					// Refused without rotating; the session is intact for the bound client.
					ok := resolveWith(t, s, sbA, c.Token[:], ResolveOptions{CheckBinding: true, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
					if ok.Status != OK || ok.Token != c.Token {
						t.Fatalf("%s: the bound client lost the session: %+v", name, ok)
					}
				case MismatchLog:
					if r.Status != OK || r.Mismatch != a.want || !r.Rotated {
						t.Fatalf("%s: %+v", name, r)
					}
				}
			}
		}
	}
	// Without CheckBinding nothing is compared (an application-side resolve, not a request).
	c := createWith(t, s, sbA, "d", CreateOptions{Bind: BindIPExact | BindAgent, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
	if r := resolve(t, s, sbA, c.Token[:], false, 2000); r.Status != OK || r.Mismatch != 0 {
		t.Fatalf("unchecked resolve: %+v", r)
	}
	// An in-grace token is checked too.
	rot := resolveWith(t, s, sbA, c.Token[:], ResolveOptions{Rotate: true, CheckBinding: true, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
	if rot.Status != OK || !rot.Rotated {
		t.Fatal(rot)
	}
	if r := resolveWith(t, s, sbA, c.Token[:], ResolveOptions{CheckBinding: true, OnMismatch: MismatchReject, IP: []byte("10.0.0.9"), UserAgent: []byte("a")}); r.Status != Mismatched {
		t.Fatalf("in-grace token with another address: %+v", r)
	}
	if _, err := s.SessionResolveWith(sbA, c.Token[:], ResolveOptions{CheckBinding: true, OnMismatch: 3}, nil); errCode(err) != xerr.BadRequest {
		t.Fatalf("onMismatch 3: %v", err)
	}
	if _, err := s.SessionCreateWith(sbA, nil, CreateOptions{TTLMs: 1, Bind: 3}); errCode(err) != xerr.BadRequest {
		t.Fatalf("bind mode 3: %v", err)
	}
	if _, err := s.SessionCreateWith(sbA, nil, CreateOptions{TTLMs: 1, Bind: 8}); errCode(err) != xerr.BadRequest {
		t.Fatalf("bind mode 8: %v", err)
	}
}

func TestBoundRecordsKeepTheirLayoutThroughUpdateAndRotation(t *testing.T) {
	s, _ := newTestStore(t)
	c := createWith(t, s, sbA, "v1", CreateOptions{UserID: []byte("u"), Meta: []byte("m"), Bind: BindIPSubnet | BindAgent, IP: []byte("10.0.0.1"), UserAgent: []byte("a")})
	check := ResolveOptions{CheckBinding: true, OnMismatch: MismatchReject, IP: []byte("10.0.0.5"), UserAgent: []byte("a")}
	tok := c.Token
	for i := 0; i < 3; i++ {
		if _, ok, err := s.SessionUpdate(sbA, tok[:], []byte(fmt.Sprintf("v%d", i+2))); !ok || err != nil {
			t.Fatal("update", err)
		}
		check.Rotate = true
		r := resolveWith(t, s, sbA, tok[:], check)
		if r.Status != OK || string(r.Data) != fmt.Sprintf("v%d", i+2) {
			t.Fatalf("round %d: %+v", i, r)
		}
		tok = r.Token
	}
	list, _ := s.SessionList(sbA, []byte("u"))
	if len(list) != 1 || string(list[0].Meta) != "m" {
		t.Fatalf("list %+v", list)
	}
	wrong := check
	wrong.UserAgent = []byte("b")
	if r := resolveWith(t, s, sbA, tok[:], wrong); r.Status != Mismatched || r.Mismatch != MismatchAgent {
		t.Fatalf("binding lost by update: %+v", r)
	}
}

func TestCSRFToken(t *testing.T) {
	s, _ := newTestStore(t)
	a := createWith(t, s, sbA, "d", CreateOptions{})
	b := createWith(t, s, sbA, "d", CreateOptions{})
	if a.CSRF == b.CSRF || a.CSRF == a.SessionID {
		t.Fatal("CSRF tokens must differ per session and from the public id")
	}
	tok := a.Token
	for i := 0; i < 3; i++ {
		r := resolveWith(t, s, sbA, tok[:], ResolveOptions{Rotate: true, WantCSRF: true})
		if r.Status != OK || !r.HasCSRF || r.CSRF != a.CSRF {
			t.Fatalf("rotation %d changed the CSRF token", i)
		}
		tok = r.Token
	}
	if r := resolveWith(t, s, sbA, tok[:], ResolveOptions{}); r.HasCSRF {
		t.Fatal("CSRF token computed without being asked for")
	}
	// In grace, the same token as well.
	if r := resolveWith(t, s, sbA, a.Token[:], ResolveOptions{WantCSRF: true, GraceMs: 60_000}); r.Status != OK || r.CSRF != a.CSRF {
		t.Fatalf("in-grace resolve: %+v", r)
	}
	g, err := s.SessionRegenerate(sbA, tok[:], 2000, true, nil)
	if err != nil || g.Status != OK || g.CSRF == a.CSRF {
		t.Fatalf("regenerate must change the CSRF token: %+v %v", g, err)
	}
}

func TestSessionFlags(t *testing.T) {
	s, _ := newTestStore(t)
	for _, c := range []struct {
		o    CreateOptions
		want uint8
	}{
		{CreateOptions{}, 0},
		{CreateOptions{Remember: true}, SessionFlagRemember},
		{CreateOptions{IdleMs: 1000}, SessionFlagIdle},
		{CreateOptions{Remember: true, IdleMs: 1000, UserID: []byte("u"), Bind: BindAgent}, SessionFlagRemember | SessionFlagIdle},
	} {
		res := createWith(t, s, sbA, "d", c.o)
		if r := resolveWith(t, s, sbA, res.Token[:], ResolveOptions{Rotate: true}); r.Flags != c.want {
			t.Fatalf("%+v: flags %d, want %d", c.o, r.Flags, c.want)
		}
	}
}

func TestIdleTimeoutNeverPastAbsolute(t *testing.T) {
	s, clock := newTestStore(t)
	c := createWith(t, s, sbA, "d", CreateOptions{TTLMs: 10_000, IdleMs: 3_000})
	if c.ExpiresAt != clock.NowMs()+3_000 {
		t.Fatalf("expiresAt %d", c.ExpiresAt-clock.NowMs())
	}
	tok := c.Token
	for i := 0; i < 4; i++ {
		clock.Advance(2_000)
		r := resolveWith(t, s, sbA, tok[:], ResolveOptions{Rotate: true})
		if r.Status != OK {
			t.Fatalf("step %d: %v", i, r.Status)
		}
		if want := min(clock.NowMs()+3_000, c.ExpiresAt-3_000+10_000); r.ExpiresAt != want {
			t.Fatalf("step %d: expiresAt %d, want %d", i, r.ExpiresAt, want)
		}
		tok = r.Token
	}
	clock.Advance(2_001) // past the absolute expiry (created + 10 s), though used 2 s ago
	if r := resolveWith(t, s, sbA, tok[:], ResolveOptions{}); r.Status != NotFound {
		t.Fatal("sliding extended the session past its absolute expiry")
	}
	idle := createWith(t, s, sbA, "d", CreateOptions{TTLMs: 10_000, IdleMs: 3_000})
	clock.Advance(3_000)
	if r := resolveWith(t, s, sbA, idle.Token[:], ResolveOptions{}); r.Status != NotFound {
		t.Fatal("an idle session outlived its idle timeout")
	}
}

func TestMaxSessionsPerUser(t *testing.T) {
	s, clock := newTestStore(t)
	user := []byte("max")
	opts := CreateOptions{UserID: user, MaxPerUser: 2, OnLimit: LimitEvictOldest}
	a := createWith(t, s, sbA, "a", opts)
	clock.Advance(1)
	b := createWith(t, s, sbA, "b", opts)
	clock.Advance(1)
	c := createWith(t, s, sbA, "c", opts)
	if len(c.Evicted) != 1 || c.Evicted[0] != a.SessionID {
		t.Fatalf("evicted %v, want the oldest", c.Evicted)
	}
	if r := resolve(t, s, sbA, a.Token[:], false, 2000); r.Status != NotFound {
		t.Fatal("the evicted session still resolves")
	}
	if s.evicted.Load() != 1 || s.revoked.Load() != 0 {
		t.Fatalf("evicted %d revoked %d", s.evicted.Load(), s.revoked.Load())
	}
	// Reject: the third login is refused and nothing changes.
	reject := opts
	reject.OnLimit = LimitReject
	if _, err := s.SessionCreateWith(sbA, []byte("d"), withTTL(reject)); errCode(err) != xerr.LimitReached {
		t.Fatalf("reject: %v", err)
	}
	list, _ := s.SessionList(sbA, user)
	if ids := infoIDs(list); !slices.Equal(ids, []key{b.SessionID, c.SessionID}) {
		t.Fatalf("after reject: %v", ids)
	}
	// An expired session does not count.
	clock.Advance(60_000)
	d := createWith(t, s, sbA, "d", reject)
	if len(d.Evicted) != 0 {
		t.Fatal("expired sessions were evicted rather than expired")
	}
	// maxPerUser 1: a new login ends the previous one.
	one := CreateOptions{UserID: []byte("solo"), MaxPerUser: 1}
	first := createWith(t, s, sbA, "1", one)
	second := createWith(t, s, sbA, "2", one)
	if len(second.Evicted) != 1 || second.Evicted[0] != first.SessionID {
		t.Fatal("max 1 did not end the previous session")
	}
	// Other users and other sandboxes are counted apart.
	createWith(t, s, sbA, "x", CreateOptions{UserID: []byte("other"), MaxPerUser: 1})
	createWith(t, s, sbB, "x", CreateOptions{UserID: []byte("solo"), MaxPerUser: 1})
	if r := resolve(t, s, sbA, second.Token[:], false, 2000); r.Status != OK {
		t.Fatal("another user's or sandbox's login evicted this one")
	}
}

func withTTL(o CreateOptions) CreateOptions {
	if o.TTLMs == 0 {
		o.TTLMs = 60_000
	}
	return o
}

func infoIDs(list []SessionInfo) []key {
	ids := make([]key, len(list))
	for i, it := range list {
		ids[i] = it.SessionID
	}
	return ids
}

func TestMaxSessionsConcurrentLogins(t *testing.T) {
	s, _ := newTestStore(t)
	for _, policy := range []LimitPolicy{LimitEvictOldest, LimitReject} {
		user := []byte(fmt.Sprintf("conc-%d", policy))
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, evicted, refused := 0, 0, 0
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					res, err := s.SessionCreateWith(sbA, []byte("d"), CreateOptions{TTLMs: 60_000, UserID: user, MaxPerUser: 3, OnLimit: policy})
					mu.Lock()
					if errCode(err) == xerr.LimitReached {
						refused++
					} else if err != nil {
						t.Error(err)
					} else {
						created++
						evicted += len(res.Evicted)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		list, _ := s.SessionList(sbA, user)
		if len(list) != 3 {
			t.Fatalf("%v: %d live sessions, want exactly 3", policy, len(list))
		}
		switch policy {
		case LimitEvictOldest:
			if created != 320 || evicted != 317 {
				t.Fatalf("created %d evicted %d", created, evicted)
			}
		case LimitReject:
			if created != 3 || refused != 317 {
				t.Fatalf("created %d refused %d", created, refused)
			}
		}
	}
	checkIndexExact(t, s, sbA)
}

func TestRegenerate(t *testing.T) {
	s, clock := newTestStore(t)
	c := createWith(t, s, sbA, `{"role":"user"}`, CreateOptions{TTLMs: 100_000, IdleMs: 50_000, UserID: []byte("reg"), Meta: []byte("device"), Remember: true,
		Bind: BindAgent, UserAgent: []byte("ua")})
	clock.Advance(1_000)
	r1 := resolve(t, s, sbA, c.Token[:], true, 2000) // c.Token is now in grace
	clock.Advance(500)
	g, err := s.SessionRegenerate(sbA, r1.Token[:], 2000, true, nil)
	if err != nil || g.Status != OK {
		t.Fatal(g, err)
	}
	if g.SessionID == c.SessionID || g.Token == r1.Token || g.OldID != c.SessionID || g.Flags != SessionFlagRemember|SessionFlagIdle {
		t.Fatalf("regenerate result %+v", g)
	}
	for name, tok := range map[string][]byte{"current": r1.Token[:], "in grace": c.Token[:]} {
		if r := resolve(t, s, sbA, tok, false, 60_000); r.Status != NotFound {
			t.Fatalf("the old %s token still resolves: %v", name, r.Status)
		}
	}
	r := resolveWith(t, s, sbA, g.Token[:], ResolveOptions{CheckBinding: true, OnMismatch: MismatchReject, UserAgent: []byte("ua")})
	if r.Status != OK || string(r.Data) != `{"role":"user"}` || r.SessionID != g.SessionID {
		t.Fatalf("new session %+v", r)
	}
	if bad := resolveWith(t, s, sbA, g.Token[:], ResolveOptions{CheckBinding: true, OnMismatch: MismatchReject, UserAgent: []byte("other")}); bad.Status != Mismatched {
		t.Fatal("the binding was not kept")
	}
	list, _ := s.SessionList(sbA, []byte("reg"))
	if len(list) != 1 || list[0].SessionID != g.SessionID || string(list[0].Meta) != "device" || list[0].CreatedAt != c.ExpiresAt-50_000 {
		t.Fatalf("list after regenerate %+v", list)
	}
	// Never outlives the original: absolute expiry is created + 100 s.
	clock.Advance(48_000)
	r = resolve(t, s, sbA, g.Token[:], false, 2000)
	clock.Advance(48_000)
	r = resolve(t, s, sbA, g.Token[:], false, 2000)
	if r.Status != OK || r.ExpiresAt != c.ExpiresAt-50_000+100_000 {
		t.Fatalf("expiry %d, want the original absolute expiry", r.ExpiresAt-(c.ExpiresAt-50_000))
	}
	// Dropping the data.
	h, err := s.SessionRegenerate(sbA, g.Token[:], 2000, false, []byte(`{"role":"admin"}`))
	if err != nil || h.Status != OK {
		t.Fatal(err)
	}
	if r := resolve(t, s, sbA, h.Token[:], false, 2000); string(r.Data) != `{"role":"admin"}` {
		t.Fatalf("data %q", r.Data)
	}
	// Dead, outdated or forged tokens regenerate nothing.
	for name, tok := range map[string][]byte{"dead": g.Token[:], "garbage": []byte("x")} {
		if res, err := s.SessionRegenerate(sbA, tok, 2000, true, nil); err != nil || res.Status != NotFound {
			t.Fatalf("%s: %+v %v", name, res, err)
		}
	}
	if _, err := s.SessionRegenerate(sbA, h.Token[:], 2000, true, []byte("x")); errCode(err) != xerr.BadRequest {
		t.Fatalf("keepData with data: %v", err)
	}
	checkIndexExact(t, s, sbA)
}

func TestUpdateGrace(t *testing.T) {
	s, clock := newTestStore(t)
	c := createWith(t, s, sbA, "d", CreateOptions{})
	resolve(t, s, sbA, c.Token[:], true, 2000)
	clock.Advance(3_000)
	if _, ok, _ := s.SessionUpdateGrace(sbA, c.Token[:], []byte("x"), 2_000); ok {
		t.Fatal("accepted a token superseded 3 s ago with a 2 s grace")
	}
	if _, ok, _ := s.SessionUpdateGrace(sbA, c.Token[:], []byte("x"), 5_000); !ok {
		t.Fatal("refused a token superseded 3 s ago with a 5 s grace")
	}
	if _, _, err := s.SessionUpdateGrace(sbA, c.Token[:], []byte("x"), MaxGraceMs+1); errCode(err) != xerr.BadRequest {
		t.Fatal("grace over the maximum accepted")
	}
}

func TestRevokeAllExceptIDAndReportedIDs(t *testing.T) {
	s, _ := newTestStore(t)
	u := []byte("all")
	a := createWith(t, s, sbA, "a", CreateOptions{UserID: u})
	b := createWith(t, s, sbA, "b", CreateOptions{UserID: u})
	c := createWith(t, s, sbA, "c", CreateOptions{UserID: u})
	ids, err := s.SessionRevokeAllIDs(sbA, u, []byte(crypto.EncodeID(&b.SessionID)))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ids, func(x, y key) int { return bytes.Compare(x[:], y[:]) })
	want := []key{a.SessionID, c.SessionID}
	slices.SortFunc(want, func(x, y key) int { return bytes.Compare(x[:], y[:]) })
	if !slices.Equal(ids, want) {
		t.Fatalf("revoked %v, want %v", ids, want)
	}
	if r := resolve(t, s, sbA, b.Token[:], false, 2000); r.Status != OK {
		t.Fatal("the excepted session was revoked")
	}
	sid, existed, err := s.SessionRevokeToken(sbA, b.Token[:])
	if err != nil || !existed || sid != b.SessionID {
		t.Fatal("SessionRevokeToken does not report the id")
	}
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
	byRead := createWith(t, s, sbA, "r", CreateOptions{TTLMs: 1000})
	bySweep := createWith(t, s, sbB, "s", CreateOptions{TTLMs: 1000})
	byLimit := createWith(t, s, sbA, "l", CreateOptions{TTLMs: 1000, UserID: []byte("u")})
	live := createWith(t, s, sbA, "x", CreateOptions{TTLMs: 100_000})
	clock.Advance(1000)
	resolve(t, s, sbA, byRead.Token[:], false, 2000)
	createWith(t, s, sbA, "l2", CreateOptions{UserID: []byte("u"), MaxPerUser: 1})
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
	if s.expired.Load() != 3 {
		t.Fatalf("expired counter %d", s.expired.Load())
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
	// The clock and the expirer run while the others work.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			clock.Advance(37)
			s.Expire()
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
				u := users[rng.IntN(len(users))]
				switch op := rng.IntN(10); {
				case op < 4:
					o := CreateOptions{TTLMs: uint64(200 + rng.IntN(3000)), UserID: u}
					if rng.IntN(2) == 0 {
						o.MaxPerUser, o.OnLimit = uint32(1+rng.IntN(4)), LimitPolicy(rng.IntN(2))
					}
					if res, err := s.SessionCreateWith(sbA, []byte("d"), o); err == nil {
						mine = append(mine, res.Token)
					} else if errCode(err) != xerr.LimitReached {
						t.Error(err)
						return
					}
				case op < 6 && len(mine) > 0:
					j := rng.IntN(len(mine))
					if _, err := s.SessionRevoke(sbA, mine[j][:]); err != nil {
						t.Error(err)
					}
					mine = slices.Delete(mine, j, j+1)
				case op < 8 && len(mine) > 0:
					j := rng.IntN(len(mine))
					if res, err := s.SessionRegenerate(sbA, mine[j][:], 2000, true, nil); err != nil {
						t.Error(err)
					} else if res.Status == OK {
						mine[j] = res.Token
					}
				case op < 9 && len(mine) > 0:
					j := rng.IntN(len(mine))
					if r, err := s.SessionResolve(sbA, mine[j][:], true, 2000, 0, nil); err != nil {
						t.Error(err)
					} else if r.Status == OK {
						mine[j] = r.Token
					}
				default:
					except := []byte(nil)
					if len(mine) > 0 && rng.IntN(2) == 0 {
						except = mine[rng.IntN(len(mine))][:]
					}
					if _, err := s.SessionRevokeAll(sbA, u, except); err != nil {
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
	if s.evicted.Load() == 0 || s.expired.Load() == 0 || s.revoked.Load() == 0 {
		t.Fatalf("churn did not exercise every path: evicted %d expired %d revoked %d", s.evicted.Load(), s.expired.Load(), s.revoked.Load())
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
