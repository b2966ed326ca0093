package server

import (
	"sync"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
)

// expiredFlushInterval bounds how long an expiry waits before it is reported; expiredBatch is
// the backlog that triggers an early report.
const (
	expiredFlushInterval = 250 * time.Millisecond
	expiredBatch         = 1024
)

// expiredReporter collects the ids of sessions removed because they expired and sends them to
// the client in EXPIRED frames (id 0), in batches. The store calls note with a shard lock held,
// so note only appends to a buffer; a goroutine sends.
type expiredReporter struct {
	send     func([]byte)
	maxFrame uint32

	mu      sync.Mutex
	pending map[string][]byte // sandbox -> encoded ids back to back
	n       int
	closed  bool
	// sendMu orders "take the backlog and queue its frames" against close, so no EXPIRED
	// frame is queued after the final flush (SHUTDOWN's reply must be the last frame).
	sendMu sync.Mutex

	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
}

func newExpiredReporter(send func([]byte), maxFrame uint32) *expiredReporter {
	e := &expiredReporter{send: send, maxFrame: maxFrame, pending: map[string][]byte{},
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	go e.loop()
	return e
}

// note records one expired session (store callback: quick, no store calls).
func (e *expiredReporter) note(sandbox string, id *crypto.Digest) {
	e.mu.Lock()
	if !e.closed {
		e.pending[sandbox] = crypto.AppendID(e.pending[sandbox], id)
		e.n++
		if e.n == expiredBatch {
			select {
			case e.kick <- struct{}{}:
			default:
			}
		}
	}
	e.mu.Unlock()
}

func (e *expiredReporter) loop() {
	t := time.NewTicker(expiredFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		case <-e.kick:
		}
		e.flush(false)
	}
}

// flush queues the backlog as EXPIRED frames, each within maxFrame. final: no frame is queued
// after this one (shutdown).
func (e *expiredReporter) flush(final bool) {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	backlog := e.pending
	e.pending, e.n = map[string][]byte{}, 0
	e.closed = final
	e.mu.Unlock()
	for sandbox, ids := range backlog {
		// Frame: u32 length, u32 id 0, u8 kind, str sandbox, u32 n, n x (u16 + id).
		room := int(e.maxFrame) - 5 - 2 - len(sandbox) - 4
		per := max(1, room/(2+crypto.IDLength)) * crypto.IDLength
		for len(ids) > 0 {
			chunk := ids[:min(per, len(ids))]
			e.send(protocol.ExpiredFrame(sandbox, chunk, crypto.IDLength))
			ids = ids[len(chunk):]
		}
	}
}

// shutdown sends the backlog one last time and stops the reporter (SHUTDOWN, before its reply).
func (e *expiredReporter) shutdown() {
	e.flush(true)
	e.stopOnce.Do(func() { close(e.stop) })
}

// abort stops the reporter without sending anything more and without waiting: at exit the
// writer may be gone, and a send could block forever.
func (e *expiredReporter) abort() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.stopOnce.Do(func() { close(e.stop) })
}
