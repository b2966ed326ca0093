package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Redis only: the keys every instance derives, the key check, the key names, the spread of
// sessions over a cluster.

func TestDeriveKeys(t *testing.T) {
	a, b := randomSecret(), randomSecret()
	ka, _ := DeriveKeys(a, []byte("prod"))
	same, _ := DeriveKeys(a, []byte("prod"))
	otherID, _ := DeriveKeys(a, []byte("staging"))
	unbound, _ := DeriveKeys(a, nil)
	otherSecret, _ := DeriveKeys(b, []byte("prod"))
	if !bytes.Equal(ka.Master, same.Master) || ka.KeyCheck != same.KeyCheck {
		t.Fatal("the same inputs must give the same keys on every instance")
	}
	for name, k := range map[string]*Keys{"other id": otherID, "unbound": unbound, "other secret": otherSecret} {
		if bytes.Equal(k.Master, ka.Master) || k.KeyCheck == ka.KeyCheck {
			t.Fatalf("%s: same master or key check", name)
		}
	}
	if otherID.SecretCheck != ka.SecretCheck || otherSecret.SecretCheck == ka.SecretCheck {
		t.Fatal("the secret check must depend on the secret only")
	}
	for _, c := range []struct {
		secret, id []byte
	}{{a[:31], nil}, {append(a, 0), nil}, {a, []byte{}}, {a, make([]byte, MaxIdentity+1)}} {
		if _, err := DeriveKeys(c.secret, c.id); err == nil {
			t.Fatalf("accepted a %d-byte secret with a %d-byte id", len(c.secret), len(c.id))
		}
	}
}

func TestKeyCheck(t *testing.T) {
	conn := ConnConfig{URL: standaloneURL(t)}
	prefix := testPrefix("kc")
	secret := randomSecret()
	first := newRedisStore(t, conn, secret, []byte("prod"), prefix, nil)
	if err := first.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := newRedisStore(t, conn, secret, []byte("prod"), prefix, nil).Check(context.Background()); err != nil {
		t.Fatalf("a second instance with the same secret and id: %v", err)
	}
	for _, c := range []struct {
		name     string
		secret   []byte
		identity []byte
		want     xerr.Code
	}{
		{"another secret", randomSecret(), []byte("prod"), xerr.StoreWrongSecret},
		{"another identity", secret, []byte("staging"), xerr.StoreWrongIdentity},
		{"no identity", secret, nil, xerr.StoreWrongIdentity},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newRedisStore(t, conn, c.secret, c.identity, prefix, nil)
			if err := s.Check(context.Background()); errCode(err) != c.want {
				t.Fatalf("Check: %v, want %v", err, c.want)
			}
			// And every request is refused the same way: it would not read the others' records.
			if _, err := s.KVSet(noDL, sbA, []byte("k"), []byte("v"), 1000); errCode(err) != c.want {
				t.Fatalf("KV_SET: %v", err)
			}
		})
	}
	// Another prefix is another deployment.
	if err := newRedisStore(t, conn, randomSecret(), nil, prefix+"x:", nil).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestKeyPrefixValidation(t *testing.T) {
	keys, _ := DeriveKeys(randomSecret(), nil)
	for _, p := range []string{"{tag}", "a*", "a b", strings.Repeat("x", 65)} {
		if _, err := New(Options{Conn: ConnConfig{URL: "redis://127.0.0.1:1"}, Keys: keys, KeyPrefix: p}); err == nil {
			t.Fatalf("prefix %q accepted", p)
		}
	}
	for _, c := range []ConnConfig{{}, {URL: "http://x:1"}, {URL: "redis://"}, {URL: "redis://a:1", Cluster: []string{"redis://b:1"}},
		{Cluster: []string{"redis://a:1/3"}}, {Cluster: []string{"redis://u:p@a:1", "redis://a:2"}}} {
		_, err := New(Options{Conn: c, Keys: keys})
		if err == nil {
			t.Fatalf("%+v accepted", c)
		}
		if strings.Contains(err.Error(), "u:p") {
			t.Fatalf("an error echoes the URL: %v", err)
		}
	}
}

func TestKeyLayout(t *testing.T) {
	urls := clusterURLs(t)
	prefix := testPrefix("kl")
	s := newRedisStore(t, ConnConfig{Cluster: urls}, randomSecret(), nil, prefix, nil)
	for i := 0; i < 5; i++ {
		createWith(t, s, sbA, "d", session.CreateOptions{UserID: []byte("layout-user")})
	}
	mustCreate(t, s, sbA, "d", 60_000, 0, "")
	s.KVSet(noDL, sbA, []byte("a key name"), []byte("v"), 60_000)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrsOf(urls)})
	defer c.Close()
	var keys []string
	var mu sync.Mutex
	c.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
		ks, err := n.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	})
	q := regexp.QuoteMeta(prefix)
	patterns := map[string]*regexp.Regexp{
		"keycheck": regexp.MustCompile(`^` + q + `keycheck$`),
		"kv":       regexp.MustCompile(`^` + q + `[A-Za-z0-9_-]{16}:k:[A-Za-z0-9_-]{22}$`),
		"session":  regexp.MustCompile(`^` + q + `[A-Za-z0-9_-]{16}:\{[0-9a-f]{2}\}:s:[A-Za-z0-9_-]{22}$`),
		"index":    regexp.MustCompile(`^` + q + `[A-Za-z0-9_-]{16}:\{[0-9a-f]{2}\}:u:[A-Za-z0-9_-]{22}$`),
	}
	count := map[string]int{}
	slots := map[int64]bool{}
	for _, k := range keys {
		matched := ""
		for name, re := range patterns {
			if re.MatchString(k) {
				matched = name
			}
		}
		if matched == "" {
			t.Fatalf("unexpected key %q", k)
		}
		count[matched]++
		if strings.Contains(k, string(sbA)) {
			t.Fatalf("the sandbox name appears in %q", k)
		}
	}
	if count["keycheck"] != 1 || count["kv"] != 1 || count["session"] != 6 || count["index"] != 1 {
		t.Fatalf("keys %v", count)
	}
	// The user's five sessions and index: one slot.
	for _, k := range keys {
		if (patterns["session"].MatchString(k) || patterns["index"].MatchString(k)) && !strings.Contains(k, "}:s:") {
			slots[c.ClusterKeySlot(context.Background(), k).Val()] = true
		}
	}
	list, _ := s.SessionList(sbA, []byte("layout-user"))
	sb, _ := s.sandboxFor(sbA)
	for _, it := range list {
		slots[c.ClusterKeySlot(context.Background(), s.sessKey(sb, &it.SessionID)).Val()] = true
	}
	if len(list) != 5 || len(slots) != 1 {
		t.Fatalf("a user's %d sessions and index span %d slots", len(list), len(slots))
	}
}

func TestSessionsSpreadOverMasters(t *testing.T) {
	urls := clusterURLs(t)
	prefix := testPrefix("sp")
	s := newRedisStore(t, ConnConfig{Cluster: urls}, randomSecret(), nil, prefix, nil)
	for i := 0; i < 60; i++ {
		user := ""
		if i%2 == 0 {
			user = fmt.Sprintf("user-%d", i)
		}
		mustCreate(t, s, sbA, "d", 60_000, 0, user)
	}
	byNode := sessionKeysByNode(t, urls, prefix)
	if len(byNode) != 3 {
		t.Fatalf("sessions on %d masters, want all 3: %v", len(byNode), byNode)
	}
	total := 0
	for _, n := range byNode {
		total += n
	}
	if total != 60 {
		t.Fatalf("%d session keys, want 60", total)
	}
}
