package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// The circuit breaker keeps a Redis outage from turning into a pile of requests each waiting
// for its own timeout. Closed: every request goes to Redis. After tripAfter consecutive
// failures that mean "Redis cannot answer" it opens: requests fail at once with UNAVAILABLE for
// a cooling period (minOpen, doubling up to maxOpen while Redis stays down). When the period
// ends, one request goes through as a probe: success closes the breaker, failure opens it again.
// go-redis redials by itself, so the probe is an ordinary request on a fresh connection.
// Opening and closing each write one log line (never one per request): without them an
// operator sees only 503s and cannot tell a Redis outage from a sidecar one.
const (
	tripAfter = 3
	minOpen   = 100 * time.Millisecond
	maxOpen   = 2 * time.Second
)

type breaker struct {
	mu        sync.Mutex
	failures  int       // consecutive availability failures
	openUntil time.Time // zero: closed
	backoff   time.Duration
	probing   bool
	lastCause string // why it opened, for the error message (no secrets: an address at most)
	openedAt  time.Time
	now       func() time.Time
	log       *slog.Logger
}

func newBreaker(log *slog.Logger) *breaker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &breaker{now: time.Now, log: log}
}

// allow says whether a request may go to Redis; probe is true for the one request that tests
// an open breaker.
func (b *breaker) allow() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return false, nil
	}
	if b.now().Before(b.openUntil) || b.probing {
		return false, unavailable("Redis is not answering (" + b.lastCause + "); retrying in the background")
	}
	b.probing = true
	return true, nil
}

// done records the outcome of an allowed request. Only availability failures count; any other
// outcome (success, NOT_FOUND, a refused argument) proves Redis answers.
func (b *breaker) done(probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	cause, down := availabilityFailure(err)
	if !down {
		if !b.openUntil.IsZero() {
			b.log.Info("Redis answers again: requests are served", "downMs", b.now().Sub(b.openedAt).Milliseconds())
		}
		b.failures, b.openUntil, b.backoff = 0, time.Time{}, 0
		return
	}
	b.failures++
	if !probe && b.failures < tripAfter && b.openUntil.IsZero() {
		return
	}
	if b.openUntil.IsZero() {
		b.openedAt = b.now()
		b.log.Warn("Redis is not answering: requests answer UNAVAILABLE (503) until it does; retrying in the background", "cause", cause)
	}
	if b.backoff == 0 {
		b.backoff = minOpen
	} else if probe {
		b.backoff = min(2*b.backoff, maxOpen)
	}
	b.openUntil = b.now().Add(b.backoff)
	b.lastCause = cause
}

// isOpen reports whether requests are being refused (for stats and tests).
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero()
}

// refusingServer: error prefixes of a Redis that answers but refuses the work, and the cause
// the log and the error say (no value, no key).
var refusingServer = map[string]string{
	"OOM ":    "OOM: Redis reached its maxmemory and refuses writes",
	"MISCONF": "MISCONF: Redis refuses writes after a failed snapshot (stop-writes-on-bgsave-error)",
	"NOPERM":  "NOPERM: the Redis user lacks a permission the store needs (its commands, the keys under the prefix, PUBLISH/SUBSCRIBE)",
}

func unavailable(msg string) error { return xerr.New(xerr.Unavailable, "%s", msg) }

// unavailableErr is the error of failed store work, whatever caused it.
type unavailableErr struct{ cause string }

func (e *unavailableErr) Error() string { return "redis unavailable: " + e.cause }

// availabilityFailure classifies an error: down is true when it means Redis cannot answer now
// (connection refused or reset, a timeout, a server loading its data, a cluster failing over).
// cause is a short description for messages: it names an address at most, never a value.
func availabilityFailure(err error) (cause string, down bool) {
	if err == nil || errors.Is(err, redis.Nil) {
		return "", false
	}
	var ue *unavailableErr
	if errors.As(err, &ue) {
		return ue.cause, true
	}
	var xe *xerr.Error
	if errors.As(err, &xe) {
		return "", xe.Code == xerr.Unavailable
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		// The server is up but its certificate is not trusted: retrying will not help, so the
		// cause says what will (the sidecar trusts the system's roots, or SSL_CERT_FILE's).
		return "TLS certificate not trusted: " + cve.Err.Error() + "; for a private CA set SSL_CERT_FILE to its PEM file in the app's environment", true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timed out", true
	}
	if errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) {
		return "no connection available", true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed", true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		var op *net.OpError
		if errors.As(err, &op) && op.Addr != nil {
			return op.Op + " " + op.Addr.String() + " failed", true
		}
		return "network error", true
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "NOREPLICAS", "BUSY", "NOAUTH", "WRONGPASS"} {
			if strings.HasPrefix(msg, p) {
				return p, true
			}
		}
		// Redis refuses writes until an operator acts: an outage to answer 503 and log, not a
		// reply the sidecar does not understand (INTERNAL, a 500 that says "report a bug").
		for p, cause := range refusingServer {
			if strings.HasPrefix(msg, p) {
				return cause, true
			}
		}
		return "", false
	}
	// Anything else from the client (a closed pool, a broken connection it could not name)
	// is treated as an outage: refusing is safe, passing is not.
	return "connection error", true
}
