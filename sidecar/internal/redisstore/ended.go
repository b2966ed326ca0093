package redisstore

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/endedmsg"
)

// Sessions ended by one sidecar are announced to the others over Redis pub/sub, so that each
// instance can tell the WebSockets it holds for them (issue 15): PUBLISH on the channel
// <prefix>ended, one internal/endedmsg message per end. Nothing secret travels: the sandbox's
// keyed label and the ids already appear in the keys. Delivery is best effort (pub/sub keeps
// nothing for a subscriber that is reconnecting); a socket whose end was missed learns it at
// its next message, whose check reads the session by id.

// endedBus is the store's side of the channel: its instance id and its subscription.
type endedBus struct {
	instance endedmsg.Instance
	log      *slog.Logger
	mu       sync.Mutex
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

func (s *Store) endedChannel() string { return s.prefix + "ended" }

// PublishEnded announces that this sidecar ended the sessions ids of sandbox, in the
// background (the operation that ended them does not wait for it; a failure is only logged).
func (s *Store) PublishEnded(sandboxName []byte, reason uint8, ids []crypto.Digest) {
	if len(ids) == 0 {
		return
	}
	sb, err := s.sandboxFor(sandboxName)
	if err != nil {
		return
	}
	msg := endedmsg.Encode(&endedmsg.Message{From: s.bus.instance, Reason: reason, Label: sb.keys.Label(), IDs: ids})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		if err := s.rdb.Publish(ctx, s.endedChannel(), msg).Err(); err != nil {
			s.bus.log.Warn("could not announce ended sessions to the other instances", "error", err.Error())
		}
	}()
}

// WatchEnded subscribes to the ends other sidecars announce and calls fn for each (from one
// goroutine) with the sandbox's name, for the sandboxes this store has opened (a sandbox it
// never opened holds none of its sockets). It runs until Close; go-redis resubscribes by
// itself after a lost connection.
func (s *Store) WatchEnded(fn func(sandbox string, reason uint8, ids []crypto.Digest)) {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if s.bus.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.bus.stop = cancel
	ps := s.rdb.Subscribe(ctx, s.endedChannel())
	s.bus.wg.Add(1)
	go func() {
		defer s.bus.wg.Done()
		defer ps.Close()
		ch := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-ch:
				if !ok {
					return
				}
				if name, reason, ids, ok := s.parseEnded([]byte(msg.Payload)); ok {
					fn(name, reason, ids)
				}
			}
		}
	}()
}

// parseEnded decodes one message; ok is false for this store's own messages, a sandbox it has
// not opened, and anything malformed.
func (s *Store) parseEnded(b []byte) (sandbox string, reason uint8, ids []crypto.Digest, ok bool) {
	m, ok := endedmsg.Decode(b)
	if !ok || m.From == s.bus.instance {
		return "", 0, nil, false
	}
	for _, sb := range s.sandboxes.All() {
		if sb.keys.Label() == m.Label {
			return sb.name, m.Reason, m.IDs, true
		}
	}
	return "", 0, nil, false
}

// newEndedBus draws the store's instance id.
func newEndedBus(log *slog.Logger) *endedBus {
	b := &endedBus{log: log}
	_, _ = rand.Read(b.instance[:])
	return b
}

// stopWatching ends the subscription (Close).
func (b *endedBus) stopWatching() {
	b.mu.Lock()
	stop := b.stop
	b.mu.Unlock()
	if stop != nil {
		stop()
		b.wg.Wait()
	}
}

// StopWatchingEnded ends WatchEnded's subscription and waits for its last callback.
func (s *Store) StopWatchingEnded() { s.bus.stopWatching() }
