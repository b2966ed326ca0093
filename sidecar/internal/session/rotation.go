package session

import (
	"math"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
)

// The rotation rule (docs/security-model.md, "Rotation and theft detection"). A token is
// presented to S_RESOLVE; rotation hands out the successor of the current generation. What
// tells an honest client from a thief is whether the successor of a presented token has itself
// been presented: a client that never received its successor (a lost or late answer) keeps
// presenting the old token, and is served the current one however late; a presentation of an
// old token after someone presented its successor, beyond the grace window for requests that
// were already under way, means two parties hold the session: it is revoked.

// HistoryCap is how many superseded generations a session answers for: a token more than
// HistoryCap generations behind the current one is reuse, whatever the time.
const HistoryCap = 32

// MaxOlder bounds State.Older: generations Gen-1 and Gen-2 are answered by Presented and
// PrevPresented, Gen-3 .. Gen-HistoryCap by Older.
const MaxOlder = HistoryCap - 2

// Verdict classifies a presented token against its session.
type Verdict uint8

const (
	// Invalid: it does not verify, or claims a generation not issued yet (NOT_FOUND).
	Invalid Verdict = iota
	// Current: the current generation, verified.
	Current
	// Unclaimed: the previous generation, whose successor (the current one) has never been
	// presented: its holder never received the successor. Verified by walking it forward.
	Unclaimed
	// InGrace: a superseded generation whose successor was first presented less than graceMs
	// ago: a request sent before its client had the successor. Verified by walking it forward.
	InGrace
	// Reuse: a superseded generation whose successor was first presented graceMs or more ago,
	// or one the session no longer remembers. Not verified: its sid (128 secret random bits
	// that only ever left the sidecar inside this session's tokens) proves its holder had one.
	Reuse
)

// Accepted reports whether the verdict lets the token act on its session (resolve, update,
// regenerate): the current token, or one the current token is handed back for.
func (v Verdict) Accepted() bool { return v == Current || v == Unclaimed || v == InGrace }

// Classify decides what the presented token t is at time now. When it is Unclaimed or InGrace,
// t has been walked forward and holds the current token.
func Classify(keys *crypto.SandboxKeys, st *State, t *crypto.Token, graceMs uint64, now int64) Verdict {
	switch {
	case t.Gen > st.Gen:
		return Invalid
	case t.Gen == st.Gen:
		if verifies(keys, st, t) {
			return Current
		}
		return Invalid
	case st.Gen-t.Gen > HistoryCap:
		return Reuse
	}
	v := Unclaimed
	if at, presented, known := st.successorPresented(t.Gen); presented {
		if !known || at <= now-int64(graceMs) {
			return Reuse
		}
		v = InGrace
	}
	for t.Gen < st.Gen {
		keys.Advance(t)
	}
	if verifies(keys, st, t) {
		return v
	}
	return Invalid
}

func verifies(keys *crypto.SandboxKeys, st *State, t *crypto.Token) bool {
	v := keys.Verifier(t)
	return crypto.VerifierEqual(&v, &st.Verifier)
}

// successorPresented tells when the successor of generation g (< Gen, at most HistoryCap
// back) was first presented. presented is false only for g = Gen-1 while the current
// generation never was; known is false when the session has forgotten (the presentation was
// more than MaxGraceMs ago).
func (st *State) successorPresented(g uint32) (at int64, presented, known bool) {
	switch d := st.Gen - g; d {
	case 1:
		return st.Presented, st.Presented != 0, true
	case 2:
		return st.PrevPresented, true, true
	default:
		i := len(st.Older) - int(d-2)
		if i < 0 {
			return 0, true, false
		}
		return st.Created + int64(st.Older[i]), true, true
	}
}

// present records that the current generation is being presented at time now; changed
// reports whether that is its first presentation.
func (st *State) present(now int64) (changed bool) {
	if st.Presented != 0 {
		return false
	}
	st.Presented = now
	return true
}

// rotates reports whether presenting the current token at time now rotates it.
func (st *State) rotates(o *ResolveOptions, now int64) bool {
	return o.Rotate && st.Gen < math.MaxUint32 && now >= st.Issued && uint64(now-st.Issued) >= o.MinRotateMs
}

// rotate moves the session to its next generation at time now, after its current one has been
// presented; t (the current token) is advanced to the new one. The new generation starts
// unpresented; the first presentations of the previous ones shift down the history, which
// keeps only what a grace window may still need: entries over MaxGraceMs old are dropped, and
// at most MaxOlder are kept.
func (st *State) rotate(keys *crypto.SandboxKeys, t *crypto.Token, now int64) {
	if st.Gen >= 2 && st.PrevPresented > now-MaxGraceMs {
		older := st.recentOlder(now)
		if len(older) >= MaxOlder {
			older = older[len(older)-(MaxOlder-1):]
		}
		st.Older = append(older, uint32(st.PrevPresented-st.Created))
	} else {
		// Gen-2 and older were first presented before Gen-1 was: over MaxGraceMs ago too.
		st.Older = nil
	}
	st.PrevPresented, st.Presented = st.Presented, 0
	keys.Advance(t)
	st.Verifier = keys.Verifier(t)
	st.Gen = t.Gen
	st.Issued = now
}

// recentOlder is Older without the entries at least MaxGraceMs old at time now (they are the
// first ones: first presentations follow the generations' order).
func (st *State) recentOlder(now int64) []uint32 {
	i := 0
	for i < len(st.Older) && st.Created+int64(st.Older[i]) <= now-MaxGraceMs {
		i++
	}
	return st.Older[i:]
}

// PruneOlder drops the history entries no grace window can need any more at time now (a
// backend's periodic clean-up; rotations prune as they go).
func (st *State) PruneOlder(now int64) { st.Older = st.recentOlder(now) }
