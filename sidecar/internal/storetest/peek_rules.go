package storetest

import (
	"fmt"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/dbsc/dbsctest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// PeekBinding: S_PEEK with the binding check (session.PeekDecide) refuses a client that does
// not match with the revoke and reject actions alike and never ends the session; the log
// action answers the session with the mismatch bits; every mismatch is counted.
func PeekBinding(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, _ *FakeClock) {
		bound := session.CreateOptions{Bind: session.BindIPExact | session.BindAgent, IP: []byte("10.0.0.1"), UserAgent: []byte("a")}
		match := session.PeekOptions{GraceMs: 2000, CheckBinding: true, IP: []byte("10.0.0.1"), UserAgent: []byte("a")}
		cases := []struct {
			action session.MismatchAction
			ip, ua string
			status session.Status
			bits   uint8
		}{
			{session.MismatchRevoke, "10.0.0.1", "a", session.OK, 0},
			{session.MismatchRevoke, "10.0.0.1", "b", session.Mismatched, session.MismatchAgent},
			{session.MismatchReject, "10.0.0.2", "a", session.Mismatched, session.MismatchIP},
			{session.MismatchLog, "10.0.0.2", "b", session.OK, session.MismatchIP | session.MismatchAgent},
		}
		for _, c := range cases {
			name := fmt.Sprintf("%s/%s+%s", c.action, c.ip, c.ua)
			cr := CreateWith(t, s, sbA, "d", bound)
			before := s.Stats().BindingMismatches
			o := session.PeekOptions{GraceMs: 2000, CheckBinding: true, OnMismatch: c.action, IP: []byte(c.ip), UserAgent: []byte(c.ua)}
			r, err := s.SessionPeek(sbA, cr.Token[:], o, nil)
			if err != nil || r.Status != c.status || r.Mismatch != c.bits || (c.status != session.NotFound && r.SessionID != cr.SessionID) {
				t.Fatalf("%s: %+v %v", name, r, err)
			}
			if c.status == session.OK && string(r.Data) != "d" {
				t.Fatalf("%s: data %q", name, r.Data)
			}
			if got, want := s.Stats().BindingMismatches-before, uint64(min(c.bits, 1)); got != want {
				t.Fatalf("%s: %d mismatches counted, want %d", name, got, want)
			}
			// Whatever the action, the session lives on for its own client, unrotated.
			if ok, err := s.SessionPeek(sbA, cr.Token[:], match, nil); err != nil || ok.Status != session.OK || ok.Mismatch != 0 {
				t.Fatalf("%s: the bound client lost the session: %+v %v", name, ok, err)
			}
			if res := ResolveWith(t, s, sbA, cr.Token[:], session.ResolveOptions{CheckBinding: true, IP: []byte("10.0.0.1"), UserAgent: []byte("a")}); res.Status != session.OK || res.Token != cr.Token {
				t.Fatalf("%s: resolve after the peek: %+v", name, res)
			}
		}
		// Without the check, any client is answered (the handshake of an app without binding).
		cr := CreateWith(t, s, sbA, "d", bound)
		if r, err := s.SessionPeek(sbA, cr.Token[:], session.PeekOptions{GraceMs: 2000}, nil); err != nil || r.Status != session.OK || r.Mismatch != 0 {
			t.Fatalf("peek without the check: %+v %v", r, err)
		}
		// A token that is not accepted is NOT_FOUND before any binding check.
		if r, err := s.SessionPeek(sbA, []byte("garbage"), session.PeekOptions{CheckBinding: true}, nil); err != nil || r.Status != session.NotFound {
			t.Fatalf("garbage token: %+v %v", r, err)
		}
		_, err := s.SessionPeek(sbA, cr.Token[:], session.PeekOptions{CheckBinding: true, OnMismatch: 3}, nil)
		wantCode(t, "onMismatch 3", err, xerr.BadRequest)
	})
}

// PeekDevice: a device-bound session past its proof deadline is refused by S_PEEK and
// S_PEEK_ID alike (DEVICE_PROOF_OVERDUE) and kept; a refresh by the device lets both answer
// again. A peek never moves the deadline.
func PeekDevice(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		dev := dbsctest.New()
		c := CreateWith(t, s, sbA, "d", session.CreateOptions{UserID: []byte("u1"), TTLMs: 3_600_000})
		tok := c.Token[:]
		id := []byte(crypto.EncodeID(&c.SessionID))
		ch := MustChallenge(t, s, sbA, tok)
		if _, err := DeviceOp(s, sbA, tok, session.RegisterRule(dev.Registration(ch), es256Only, deviceLifetime)); err != nil {
			t.Fatal(err)
		}
		byToken := func() (session.PeekResult, error) {
			return e.Open().SessionPeek(sbA, tok, session.PeekOptions{GraceMs: 2000}, nil)
		}
		byID := func() (session.PeekResult, error) { return e.Open().SessionPeekID(sbA, id, nil) }
		deadline := clock.NowMs() + deviceLifetime
		for _, step := range []struct {
			advance int64
			overdue bool
		}{{0, false}, {deviceLifetime - 1, false}, {1, true}, {5_000, true}} {
			clock.Advance(step.advance)
			for name, peek := range map[string]func() (session.PeekResult, error){"token": byToken, "id": byID} {
				r, err := peek()
				if step.overdue {
					wantCode(t, "peek by "+name+" at or past the deadline", err, xerr.DeviceProofOverdue)
					continue
				}
				if err != nil || r.Status != session.OK || r.Flags&session.SessionFlagDeviceBound == 0 || r.DeviceDeadline != deadline {
					t.Fatalf("peek by %s within the deadline: %+v %v", name, r, err)
				}
			}
		}
		if list, _ := s.SessionList(sbA, []byte("u1")); len(list) != 1 {
			t.Fatalf("the overdue session was not kept: %+v", list)
		}
		ch = MustChallenge(t, s, sbA, tok)
		if _, err := DeviceOp(s, sbA, tok, session.RefreshRule(dev.Refresh(ch), deviceLifetime)); err != nil {
			t.Fatal(err)
		}
		for name, peek := range map[string]func() (session.PeekResult, error){"token": byToken, "id": byID} {
			if r, err := peek(); err != nil || r.Status != session.OK || r.DeviceDeadline != clock.NowMs()+deviceLifetime {
				t.Fatalf("peek by %s after the refresh: %+v %v", name, r, err)
			}
		}
	})
}
