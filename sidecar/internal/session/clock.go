package session

import (
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Clock tells the time in Unix milliseconds. Tests inject a fake one.
type Clock interface{ NowMs() int64 }

// SystemClock is Unix time in milliseconds that never goes backwards: the wall clock read once
// at start, advanced by the monotonic clock, so a wall-clock step cannot expire or revive records.
type SystemClock struct{ start time.Time }

// NewSystemClock returns a SystemClock starting now.
func NewSystemClock() SystemClock { return SystemClock{start: time.Now()} }

// NowMs returns the current time in Unix milliseconds.
func (c SystemClock) NowMs() int64 {
	if c.start.IsZero() {
		return time.Now().UnixMilli()
	}
	return c.start.UnixMilli() + time.Since(c.start).Milliseconds()
}

// Deadline is when the caller of a request gives up waiting for it (Unix ms, the request
// header's deadline); NoDeadline waits forever. Every operation that changes a record takes
// one, and a backend applies nothing once it has passed: the memory store checks it under the
// record's lock right before applying, the Redis store inside the script that applies (against
// Redis's own TIME). The caller has answered its client without the result by then, so a change
// made anyway (a rotation, say) would be one nobody knows about.
type Deadline int64

// NoDeadline is the deadline of a request that carries none.
const NoDeadline Deadline = 0

// Passed reports whether the deadline has come at time now (Unix ms).
func (d Deadline) Passed(now int64) bool { return d != NoDeadline && now >= int64(d) }

// ErrDeadline is the error of an operation refused, unapplied, because its deadline had passed.
func ErrDeadline() error {
	return xerr.New(xerr.DeadlineExceeded, "the request's deadline passed before it was applied; nothing was changed")
}
