package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// How the Redis store applies the session rules: the round trips of a resolve, the scripts'
// own deadline check, and the header layouts it reads.

// commandLog records the name of every command a client sends (a pipeline counts once).
type commandLog struct {
	mu    sync.Mutex
	names []string
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }
func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.mu.Lock()
		l.names = append(l.names, cmd.Name())
		l.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		l.mu.Lock()
		l.names = append(l.names, "pipeline")
		l.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (l *commandLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := strings.Join(l.names, " ")
	l.names = nil
	return out
}

// TestResolveRoundTrips: on one instance, a resolve whose outcome changes the session (a
// rotation, a first presentation) is one script call, decided on the header this Store wrote
// (recent.go); one that changes nothing (an unclaimed or in-grace predecessor, within the touch
// interval) is one read.
func TestResolveRoundTrips(t *testing.T) {
	clock := newFakeClock()
	s := newRedisStore(t, ConnConfig{URL: standaloneURL(t)}, randomSecret(), nil, testPrefix("rt"), clock)
	if err := s.Check(context.Background()); err != nil { // loads the scripts: no NOSCRIPT retry
		t.Fatal(err)
	}
	c := mustCreate(t, s, sbA, "d", 60_000, 0, "u")
	log := &commandLog{}
	s.rdb.AddHook(log)
	g1 := resolve(t, s, sbA, c.Token[:], true, 2000)
	steps := []struct {
		name, want string
		do         func() session.ResolveResult
	}{
		{"unclaimed predecessor", "hmget", func() session.ResolveResult { return resolve(t, s, sbA, c.Token[:], true, 2000) }},
		{"first presentation without rotation", "evalsha", func() session.ResolveResult { return resolve(t, s, sbA, g1.Token[:], false, 2000) }},
		{"predecessor in grace", "hmget", func() session.ResolveResult { return resolve(t, s, sbA, c.Token[:], true, 2000) }},
		{"rotation", "evalsha", func() session.ResolveResult { return resolve(t, s, sbA, g1.Token[:], true, 2000) }},
	}
	if got := log.take(); got != "evalsha" {
		t.Fatalf("rotation: %q", got)
	}
	for _, st := range steps {
		if r := st.do(); r.Status != session.OK {
			t.Fatalf("%s: %v", st.name, r.Status)
		}
		if got := log.take(); got != st.want {
			t.Fatalf("%s: commands %q, want %q", st.name, got, st.want)
		}
	}
	// Without an idle timeout the writes leave the key's expiry alone: the absolute one.
	sb, _ := s.sandboxFor(sbA)
	if exp, err := s.rdb.PExpireTime(context.Background(), s.sessKey(sb, &c.SessionID)).Result(); err != nil || exp.Milliseconds() != c.ExpiresAt {
		t.Fatalf("key expiry %v %v, want the absolute expiry %d", exp, err, c.ExpiresAt)
	}
}

// TestResolveTouchInterval: a resolve that changes nothing writes the last-seen time only once
// the stored one is the touch interval old (1 % of a 10 s idle timeout: 100 ms), so a refresh
// costs one HMGET (and a write one script call); the expiry it reports is the stored one, and the idle timeout still ends the
// session, within the interval of its exact time.
func TestResolveTouchInterval(t *testing.T) {
	clock := newFakeClock()
	s := newRedisStore(t, ConnConfig{URL: standaloneURL(t)}, randomSecret(), nil, testPrefix("ti"), clock)
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := createWith(t, s, sbA, "d", session.CreateOptions{TTLMs: 600_000, IdleMs: 10_000, UserID: []byte("u")})
	created := clock.NowMs()
	g1 := resolve(t, s, sbA, c.Token[:], false, 2000) // first presentation: written
	log := &commandLog{}
	s.rdb.AddHook(log)
	sb, _ := s.sandboxFor(sbA)
	sessKey := s.sessKey(sb, &c.SessionID)
	// lastSeen is the stored last-seen time and the key's expiry in Redis.
	lastSeen := func() (int64, int64) {
		l, err := s.SessionList(sbA, []byte("u"))
		if err != nil || len(l) != 1 {
			t.Fatalf("list: %v %v", l, err)
		}
		exp, err := s.rdb.PExpireTime(context.Background(), sessKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		log.take()
		return l[0].LastSeenAt, exp.Milliseconds()
	}
	for _, st := range []struct {
		advance int64
		want    string
		seen    int64 // after created
		expires int64 // after created
	}{
		{0, "hmget", 0, 10_000},
		{60, "hmget", 0, 10_000},
		{39, "hmget", 0, 10_000},
		{1, "evalsha", 100, 10_100},
		{99, "hmget", 100, 10_100},
		{1_000, "evalsha", 1_199, 11_199},
	} {
		clock.Advance(st.advance)
		r := resolve(t, s, sbA, g1.Token[:], false, 2000)
		if got := log.take(); r.Status != session.OK || got != st.want {
			t.Fatalf("at +%d: %v, commands %q, want %q", clock.NowMs()-created, r.Status, got, st.want)
		}
		if r.ExpiresAt != created+st.expires {
			t.Fatalf("at +%d: expiresAt +%d, want +%d", clock.NowMs()-created, r.ExpiresAt-created, st.expires)
		}
		if got, exp := lastSeen(); got != created+st.seen || exp != created+st.expires {
			t.Fatalf("at +%d: last seen +%d, key expiry +%d, want +%d, +%d", clock.NowMs()-created, got-created, exp-created, st.seen, st.expires)
		}
	}
	// The last write was at +1199 and the use at +1298 wrote nothing: the session expires at
	// +11199, 99 ms (less than the interval) before the exact rule's +11298.
	clock.Advance(99)
	if r := resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != session.OK || log.take() != "hmget" {
		t.Fatalf("a use within the interval: %v", r.Status)
	}
	clock.Advance(10_000 - 99)
	if r := resolve(t, s, sbA, g1.Token[:], false, 2000); r.Status != session.NotFound {
		t.Fatalf("the session outlived its idle timeout: %v", r.Status)
	}
}

// TestScriptsRefuseAPassedDeadline: every script that writes checks the deadline itself,
// against Redis's clock, before it changes anything: called directly with a deadline in the
// past, each one refuses and the keys are byte for byte what they were.
func TestScriptsRefuseAPassedDeadline(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix("dl")
	url := standaloneURL(t)
	s := newRedisStore(t, ConnConfig{URL: url}, randomSecret(), nil, prefix, newFakeClock())
	c := createWith(t, s, sbA, "d", session.CreateOptions{UserID: []byte("u"), Meta: []byte("m")})
	s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 60_000)
	sb, _ := s.sandboxFor(sbA)
	kv := sb.keys.KVKey([]byte("k"))
	u := sb.keys.UserKey([]byte("u"))
	sess, kvKey, user := s.sessKey(sb, &c.SessionID), s.kvKey(sb, &kv), s.userKey(sb, &u)
	o, _ := redis.ParseURL(url)
	rc := redis.NewClient(o)
	defer rc.Close()
	snapshot := func() string {
		var b strings.Builder
		for _, k := range []string{sess, kvKey, user} {
			v, err := rc.Dump(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(v)
		}
		return b.String()
	}
	before := snapshot()
	h, _ := rc.HGet(ctx, sess, "h").Result()
	id := crypto.EncodeID(&c.SessionID)
	other := s.sessKey(sb, &key{c.SessionID[0], 1, 2, 3})
	for name, call := range map[string]func(dl string) error{
		"commit": func(dl string) error {
			return scriptCommit.Run(ctx, rc, []string{sess}, h, "", "l", "9999999999999", "", "1", dl).Err()
		},
		"resolve": func(dl string) error {
			return scriptResolve.Run(ctx, rc, []string{sess}, h, "h2", "l", "9999999999999", dl).Err()
		},
		"delete": func(dl string) error { return scriptDelete.Run(ctx, rc, []string{sess, user}, id, dl).Err() },
		"revokeAll": func(dl string) error {
			return scriptRevokeAll.Run(ctx, rc, []string{user}, s.bucketPrefix(sb, u[0], "s"), "", dl).Err()
		},
		"regenerate": func(dl string) error {
			return scriptRegenerate.Run(ctx, rc, []string{sess, other, user}, h, "h", "d", "l", "", "9999999999999", id, "new", "1", dl).Err()
		},
		"create": func(dl string) error {
			return scriptCreate.Run(ctx, rc, []string{other, user}, "h", "d", "l", "", "9999999999999", "1", "9999999999999", 1, "0", "new", s.bucketPrefix(sb, u[0], "s"), "1", dl).Err()
		},
		"kvSet": func(dl string) error {
			return scriptKVSet.Run(ctx, rc, []string{kvKey}, "v", "1", "9999999999999", dl).Err()
		},
		"kvTouch": func(dl string) error { return scriptKVTouch.Run(ctx, rc, []string{kvKey}, "1", dl).Err() },
		"kvDel":   func(dl string) error { return scriptKVDel.Run(ctx, rc, []string{kvKey}, dl).Err() },
	} {
		if err := call("1"); err == nil || !isDeadline(err) {
			t.Fatalf("%s with a passed deadline: %v", name, err)
		}
		if snapshot() != before {
			t.Fatalf("%s with a passed deadline changed Redis", name)
		}
	}
	// The control: a deadline ahead lets the script through.
	if err := scriptKVDel.Run(ctx, rc, []string{kvKey}, "9999999999999").Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := rc.Exists(ctx, kvKey).Result(); n != 0 {
		t.Fatal("kvDel with a deadline ahead did not delete")
	}
}

// TestHeaderLayouts: the version 2 header round-trips every field; a version 1 header (written
// before first presentations were kept) reads as a session whose generations were presented
// when issued, with its flags mapped.
func TestHeaderLayouts(t *testing.T) {
	st := session.State{Flags: session.FlagUser | session.FlagBindIP | session.FlagBindSubnet | session.FlagBindUA | session.FlagRemember,
		Gen: 7, Created: 1_700_000_000_000, Issued: 1_700_000_050_000, Presented: 1_700_000_051_000, PrevPresented: 1_700_000_049_000,
		Older: []uint32{40_000, 45_000}, AbsExp: 1_700_100_000_000, IdleMs: 3600, User: key{1}, BoundIP: key{2}, BoundUA: key{3}, Verifier: key{4}}
	b := make([]byte, headerSize(&st))
	encodeHeader(&st, b)
	got, ok := decodeHeader(b)
	if !ok || fmt.Sprint(got) != fmt.Sprint(st) {
		t.Fatalf("round trip:\n%+v\n%+v", got, st)
	}
	for n := 0; n < len(b); n++ {
		if _, ok := decodeHeader(b[:n]); ok {
			t.Fatalf("a header cut at %d bytes decoded", n)
		}
	}
	// Version 1: flags user|ip|subnet|ua|remember (1|2|4|8|16), gen 7, verifier, created,
	// issued, absExp, idle, user, ip, ua, then 3 issue times.
	v1 := []byte{1, 31, 7, 0, 0, 0}
	v1 = append(v1, st.Verifier[:]...)
	for _, x := range []int64{st.Created, st.Issued, st.AbsExp} {
		v1 = append(v1, byte(x), byte(x>>8), byte(x>>16), byte(x>>24), byte(x>>32), byte(x>>40), byte(x>>48), byte(x>>56))
	}
	v1 = append(v1, byte(st.IdleMs), byte(st.IdleMs>>8), 0, 0)
	v1 = append(append(append(v1, st.User[:]...), st.BoundIP[:]...), st.BoundUA[:]...)
	v1 = append(v1, 3)
	for _, x := range []uint32{30_000, 40_000, 45_000} {
		v1 = append(v1, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
	}
	old, ok := decodeHeader(v1)
	want := st
	want.Presented, want.PrevPresented, want.Older = st.Issued, st.Created+45_000, []uint32{30_000, 40_000}
	if !ok || fmt.Sprint(old) != fmt.Sprint(want) {
		t.Fatalf("version 1:\n%+v\nwant\n%+v", old, want)
	}
}
