package session

// The last-seen time a backend keeps beside a session's State slides its idle timeout and is
// what SessionList reports. Writing it on every resolve costs a shared store (Redis) a script
// call even when the outcome changes nothing else (a refresh, a token in grace, a client
// without rotation); the rule below lets such a resolve skip the write while the stored time
// is recent, which bounds how much earlier than exact a session may expire: by less than
// TouchIntervalMs (a session idle for IdleMs - TouchIntervalMs after a use whose write was
// skipped expires, where the exact rule would give it TouchIntervalMs more).

// MaxTouchIntervalMs bounds TouchIntervalMs: a session without an idle timeout reports its
// last use at most this stale.
const MaxTouchIntervalMs = 1000

// TouchIntervalMs is how stale the stored last-seen time of st may be before a use must write
// it: 1 % of the idle timeout, at most MaxTouchIntervalMs (so a 30-minute idle timeout is
// exact within 1 s, a 10-second one within 100 ms).
func (st *State) TouchIntervalMs() int64 {
	if st.IdleMs > 0 && int64(st.IdleMs)/100 < MaxTouchIntervalMs {
		return int64(st.IdleMs) / 100
	}
	return MaxTouchIntervalMs
}

// MustWrite reports whether applying an S_RESOLVE outcome at time now must write the session:
// its State changed, or the stored last-seen time lastSeen is TouchIntervalMs old or more.
// Otherwise (including a lastSeen ahead of now, written by an instance whose clock is ahead)
// the backend may leave the session as it is; its expiry stays st.ExpiresAt(lastSeen), which
// is what it reports.
func (o *Outcome) MustWrite(st *State, lastSeen, now int64) bool {
	return o.Changed || now-lastSeen >= st.TouchIntervalMs()
}
