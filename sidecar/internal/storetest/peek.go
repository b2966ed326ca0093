package storetest

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Peek: S_PEEK answers for the tokens S_RESOLVE accepts and S_PEEK_ID for a live session's
// public id, and neither changes anything: no presentation (a predecessor stays unclaimed),
// no idle slide, and a token that would be reuse is NOT_FOUND with the session left alive.
func Peek(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		g0 := MustCreate(t, s, sbA, "d0", 60_000, 0, "")
		id := []byte(crypto.EncodeID(&g0.SessionID))
		g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000) // rotated; g1 never presented
		steps := []struct {
			name   string
			token  []byte // nil: peek by id
			id     []byte
			sb     []byte
			status session.Status
		}{
			{"current token", g1.Token[:], nil, sbA, session.OK},
			{"unclaimed predecessor", g0.Token[:], nil, sbA, session.OK},
			{"by id", nil, id, sbA, session.OK},
			{"garbage token", []byte("garbage"), nil, sbA, session.NotFound},
			{"garbage id", nil, []byte("not-an-id"), sbA, session.NotFound},
			{"id in another sandbox", nil, id, sbB, session.NotFound},
			{"token in another sandbox", g1.Token[:], nil, sbB, session.NotFound},
		}
		for _, st := range steps {
			res := peek(t, s, st.sb, st.token, st.id, 2000)
			if res.Status != st.status {
				t.Fatalf("%s: status %d, want %d", st.name, res.Status, st.status)
			}
			if st.status == session.OK && (res.SessionID != g0.SessionID || string(res.Data) != "d0" || res.ExpiresAt != g0.ExpiresAt) {
				t.Fatalf("%s: got %v %q %d", st.name, res.SessionID == g0.SessionID, res.Data, res.ExpiresAt)
			}
		}
		// The peeks of g1 were no presentation: long after, g0 is still answered, not reuse.
		clock.Advance(30_000)
		if r := Resolve(t, s, sbA, g0.Token[:], false, 2000); r.Status != session.OK {
			t.Fatalf("peek counted as a presentation: resolve of the predecessor = %d", r.Status)
		}
		// g1 is now presented (by that resolve's answer being presented here); g0 past grace
		// would be reuse: a peek says NOT_FOUND and the session lives on.
		Resolve(t, s, sbA, g1.Token[:], false, 2000)
		clock.Advance(2_001)
		if r := peek(t, s, sbA, g0.Token[:], nil, 2000); r.Status != session.NotFound {
			t.Fatalf("peek of a token past grace = %d, want NOT_FOUND", r.Status)
		}
		if r := peek(t, s, sbA, nil, id, 0); r.Status != session.OK {
			t.Fatal("a peek of a stale token ended the session")
		}
		if _, err := s.SessionPeek(sbA, g1.Token[:], session.PeekOptions{GraceMs: 60_001}, nil); ErrCode(err) != xerr.BadRequest {
			t.Fatalf("grace over the limit: %v", err)
		}

		// No idle slide: a session with a 10 s idle timeout expires 10 s after its last
		// request however often it is peeked.
		c := MustCreate(t, s, sbA, "c", 60_000, 10_000, "")
		cid := []byte(crypto.EncodeID(&c.SessionID))
		for range 3 {
			clock.Advance(3_000)
			if r := peek(t, s, sbA, nil, cid, 0); r.Status != session.OK || r.ExpiresAt != c.ExpiresAt {
				t.Fatalf("peek of an idle session: %d, expiry %d (want %d)", r.Status, r.ExpiresAt, c.ExpiresAt)
			}
		}
		clock.Advance(1_001)
		if r := peek(t, s, sbA, c.Token[:], nil, 2000); r.Status != session.NotFound {
			t.Fatal("peeks slid the idle deadline")
		}
		if r := peek(t, s, sbA, nil, cid, 0); r.Status != session.NotFound {
			t.Fatal("an expired session answers by id")
		}

		// Ended sessions: revoked, and revoked by id.
		if _, err := SessionRevoke(s, sbA, g1.Token[:]); err != nil {
			t.Fatal(err)
		}
		if r := peek(t, s, sbA, nil, id, 0); r.Status != session.NotFound {
			t.Fatal("a revoked session answers by id")
		}
		if r := peek(t, s, sbA, g1.Token[:], nil, 2000); r.Status != session.NotFound {
			t.Fatal("a revoked session answers by token")
		}
	})
}

// peek is S_PEEK of token, or S_PEEK_ID of id when token is nil.
func peek(t testing.TB, s Backend, sb, token, id []byte, graceMs uint64) session.PeekResult {
	t.Helper()
	var res session.PeekResult
	var err error
	if token != nil {
		res, err = s.SessionPeek(sb, token, session.PeekOptions{GraceMs: graceMs}, nil)
	} else {
		res, err = s.SessionPeekID(sb, id, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}
