package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestResolveReplyShapes: a reply of scriptResolve that is not one of its three shapes is an
// error (logged as an unexpected reply), never a panic or a misread field.
func TestResolveReplyShapes(t *testing.T) {
	for _, c := range []struct {
		reply  any
		code   int64
		fields int
		ok     bool
	}{
		{"d", 1, 1, true},
		{"", 1, 1, true},
		{int64(0), 0, 0, true},
		{[]any{"h", "l", "d"}, -1, 3, true},
		{[]any{"h", nil, "d"}, -1, 3, true},
		{nil, 0, 0, false},
		{int64(1), 0, 0, false},
		{int64(-1), 0, 0, false},
		{[]any{"h", "l"}, 0, 0, false},
		{[]any{"h", "l", "d", "x"}, 0, 0, false},
		{[]any{"h", int64(2), "d"}, 0, 0, false},
		{[]any{int64(1), "d"}, 0, 0, false},
		{[]byte("d"), 0, 0, false},
	} {
		code, fields, err := resolveReply(c.reply)
		if (err == nil) != c.ok || (c.ok && (code != c.code || len(fields) != c.fields)) {
			t.Errorf("%#v: code %d fields %v err %v", c.reply, code, fields, err)
		}
	}
}

// TestResolveScript: scriptResolve against a real redis-server, each outcome: at the header it
// writes h and l, slides the expiry only later and replies the data; at another header it
// writes nothing and replies h, l, d; on a missing key it replies 0; with "" as the new header
// it writes l alone.
func TestResolveScript(t *testing.T) {
	testResolveScript(t, scriptResolve)
}

// TestResolveScriptBeforeRedis7: the same on a server that reports a version before 7 (the
// script's view of redis.REDIS_VERSION_NUM shadowed), where the expiry is moved with PTTL and
// PEXPIREAT against Redis's own TIME instead of PEXPIREAT ... GT.
func TestResolveScriptBeforeRedis7(t *testing.T) {
	six := redis.NewScript("local redis = setmetatable({REDIS_VERSION_NUM = 0x060200}, {__index = redis})\n" + luaResolve)
	testResolveScript(t, six)
}

func testResolveScript(t *testing.T, script *redis.Script) {
	ctx := context.Background()
	o, _ := redis.ParseURL(standaloneURL(t))
	rc := redis.NewClient(o)
	defer rc.Close()
	k := fmt.Sprintf("rs%d:{x}:s", prefixSeq.Add(1))
	now := time.Now().UnixMilli()
	if err := rc.HSet(ctx, k, "h", "H1", "l", "L1", "d", "D1").Err(); err != nil {
		t.Fatal(err)
	}
	rc.PExpireAt(ctx, k, time.UnixMilli(now+600_000))
	dl := ms(now + 60_000)
	run := func(h, newH, l, slide string) (int64, []string) {
		t.Helper()
		reply, err := script.Run(ctx, rc, []string{k}, h, newH, l, slide, dl).Result()
		if err != nil {
			t.Fatal(err)
		}
		code, fields, err := resolveReply(reply)
		if err != nil {
			t.Fatal(err)
		}
		return code, fields
	}
	fieldsNow := func() string {
		v, _ := rc.HMGet(ctx, k, "h", "l", "d").Result()
		return fmt.Sprint(v...)
	}
	if code, f := run("H1", "H2", "L2", ms(now+300_000)); code != 1 || f[0] != "D1" || fieldsNow() != "H2L2D1" {
		t.Fatalf("at the header: %d %v, stored %s", code, f, fieldsNow())
	}
	if ttl, _ := rc.PTTL(ctx, k).Result(); ttl < 590*time.Second {
		t.Fatalf("the expiry moved earlier: %v", ttl)
	}
	if code, f := run("H1", "H3", "L3", ""); code != -1 || fmt.Sprint(f) != "[H2 L2 D1]" || fieldsNow() != "H2L2D1" {
		t.Fatalf("at another header: %d %v, stored %s", code, f, fieldsNow())
	}
	if code, f := run("H2", "", "L4", ms(now+100_000)); code != 1 || f[0] != "D1" || fieldsNow() != "H2L4D1" {
		t.Fatalf("header unchanged: %d %v, stored %s", code, f, fieldsNow())
	}
	if ttl, _ := rc.PTTL(ctx, k).Result(); ttl < 590*time.Second {
		t.Fatalf("the expiry moved earlier: %v", ttl)
	}
	if code, f := run("H2", "", "L4", ms(now+900_000)); code != 1 || f[0] != "D1" || fieldsNow() != "H2L4D1" {
		t.Fatalf("header unchanged: %d %v, stored %s", code, f, fieldsNow())
	}
	if ttl, _ := rc.PTTL(ctx, k).Result(); ttl < 890*time.Second {
		t.Fatalf("the expiry did not move later: %v", ttl)
	}
	rc.Del(ctx, k)
	if code, f := run("H2", "H5", "L5", ""); code != 0 || len(f) != 0 {
		t.Fatalf("missing: %d %v", code, f)
	}
	if n, _ := rc.Exists(ctx, k).Result(); n != 0 {
		t.Fatal("the script created the missing session")
	}
}
