package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"sync"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

// Sessions ended by one sidecar are announced to the others over Redis pub/sub, so that each
// instance can tell the WebSockets it holds for them (issue 15): PUBLISH on the channel
// <prefix>ended, one message per end:
//
//	16 bytes  the publishing store's random instance id (a store skips its own messages)
//	1 byte    the reason (protocol.Ended*)
//	16 bytes  the sandbox's keyed label (never the sandbox name: as in the keys)
//	n x 16    the ended sessions' ids
//
// Nothing secret travels: the label and the ids already appear in the keys. Delivery is best
// effort (pub/sub keeps nothing for a subscriber that is reconnecting); a socket whose end was
// missed learns it at its next message, whose check reads the session by id.
const endedLabelLen = 16

// endedBus is the store's side of the channel: its instance id and its subscription.
type endedBus struct {
	instance [16]byte
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
	label := sb.keys.Label()
	msg := make([]byte, 0, 16+1+endedLabelLen+len(ids)*len(ids[0]))
	msg = append(msg, s.bus.instance[:]...)
	msg = append(msg, reason)
	msg = append(msg, label[:endedLabelLen]...)
	for i := range ids {
		msg = append(msg, ids[i][:]...)
	}
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
func (s *Store) parseEnded(msg []byte) (sandbox string, reason uint8, ids []crypto.Digest, ok bool) {
	const head = 16 + 1 + endedLabelLen
	var d crypto.Digest
	if len(msg) < head+len(d) || (len(msg)-head)%len(d) != 0 || bytes.Equal(msg[:16], s.bus.instance[:]) {
		return "", 0, nil, false
	}
	label := msg[17:head]
	for _, sb := range s.sandboxes.All() {
		l := sb.keys.Label()
		if bytes.Equal(l[:endedLabelLen], label) {
			sandbox = sb.name
			break
		}
	}
	if sandbox == "" {
		return "", 0, nil, false
	}
	for rest := msg[head:]; len(rest) > 0; rest = rest[len(d):] {
		copy(d[:], rest)
		ids = append(ids, d)
	}
	return sandbox, msg[16], ids, true
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
