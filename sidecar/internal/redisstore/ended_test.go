package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
)

type endedMsg struct {
	sandbox string
	reason  uint8
	ids     []crypto.Digest
}

// TestEndedAnnouncements: an end published by one store reaches the others' WatchEnded with
// the sandbox's name, never the publisher itself, and only for sandboxes the watcher opened.
func TestEndedAnnouncements(t *testing.T) {
	eachRedis(t, func(t *testing.T, e *env, clock *fakeClock) {
		a := e.open().(tracked).backend.(*Store)
		b := e.open().(tracked).backend.(*Store)
		got := map[string]chan endedMsg{"a": make(chan endedMsg, 8), "b": make(chan endedMsg, 8)}
		a.WatchEnded(func(sb string, r uint8, ids []crypto.Digest) { got["a"] <- endedMsg{sb, r, ids} })
		b.WatchEnded(func(sb string, r uint8, ids []crypto.Digest) { got["b"] <- endedMsg{sb, r, ids} })
		s1 := mustCreate(t, a, sbA, "x", 60_000, 0, "")
		s2 := mustCreate(t, a, sbA, "y", 60_000, 0, "")
		if _, err := b.sandboxFor(sbA); err != nil { // b opens the sandbox (a socket's handshake does)
			t.Fatal(err)
		}
		waitSubscribers(t, e.urls, a.endedChannel(), 2) // a message published before is lost
		cases := []struct {
			name    string
			sandbox []byte
			reason  uint8
			ids     []crypto.Digest
			want    bool
		}{
			{"revoked", sbA, protocol.EndedRevoked, []crypto.Digest{s1.SessionID}, true},
			{"several", sbA, protocol.EndedEvicted, []crypto.Digest{s1.SessionID, s2.SessionID}, true},
			{"a sandbox b never opened", []byte("unseen"), protocol.EndedReused, []crypto.Digest{s1.SessionID}, false},
			{"nothing", sbA, protocol.EndedRevoked, nil, false},
		}
		for _, c := range cases {
			a.PublishEnded(c.sandbox, c.reason, c.ids)
			select {
			case m := <-got["b"]:
				if !c.want {
					t.Fatalf("%s: b got %+v", c.name, m)
				}
				if m.sandbox != string(c.sandbox) || m.reason != c.reason || len(m.ids) != len(c.ids) || m.ids[0] != c.ids[0] {
					t.Fatalf("%s: b got %+v", c.name, m)
				}
			case <-time.After(2 * time.Second):
				if c.want {
					t.Fatalf("%s: b got nothing", c.name)
				}
			}
		}
		select {
		case m := <-got["a"]:
			t.Fatalf("the publisher got its own announcement %+v", m)
		default:
		}
		for _, bad := range [][]byte{nil, make([]byte, 10), make([]byte, 16+1+16+15)} {
			if _, _, _, ok := b.parseEnded(bad); ok {
				t.Fatalf("malformed message of %d bytes accepted", len(bad))
			}
		}
	})
}

// waitSubscribers waits (bounded) until channel has n subscribers over the servers at urls
// (PUBSUB NUMSUB counts a node's own subscribers; a cluster's PUBLISH reaches every node):
// pub/sub keeps nothing for a subscription that is not in place yet.
func waitSubscribers(t *testing.T, urls []string, channel string, n int64) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var total int64
		for _, addr := range addrsOf(urls) {
			c := redis.NewClient(&redis.Options{Addr: addr})
			counts, err := c.PubSubNumSub(ctx, channel).Result()
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			total += counts[channel]
		}
		if total >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscribers on %s after 10 s", total, n, channel)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
