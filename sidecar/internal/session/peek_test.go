package session

import (
	"reflect"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func TestPeekDecide(t *testing.T) {
	keys := testKeys(t)
	deadline := t0 + 60_000
	// bound: a session bound to 10.0.0.1 exactly and user agent "a"; device: also bound to a
	// device whose proof deadline is t0+60 s.
	bound := func() State {
		st := State{Created: t0, AbsExp: t0 + MaxTTLMs}
		st.bind(keys, BindIPExact|BindAgent, []byte("10.0.0.1"), []byte("a"))
		return st
	}
	device := func() State {
		st := bound()
		st.Device = &Device{Key: []byte("k"), Deadline: deadline}
		return st
	}
	peek := func(action MismatchAction, ip, ua string) *PeekOptions {
		return &PeekOptions{CheckBinding: true, OnMismatch: action, IP: []byte(ip), UserAgent: []byte(ua)}
	}
	cases := []struct {
		name string
		st   func() State
		o    *PeekOptions
		now  int64
		want Outcome
	}{
		{"no check", bound, &PeekOptions{}, t0, Outcome{Status: OK}},
		{"no check, another client", bound, &PeekOptions{IP: []byte("10.9.9.9")}, t0, Outcome{Status: OK}},
		{"matching client", bound, peek(MismatchRevoke, "10.0.0.1", "a"), t0, Outcome{Status: OK}},
		{"revoke: refused, not removed", bound, peek(MismatchRevoke, "10.0.0.2", "a"), t0, Outcome{Status: Mismatched, Mismatch: MismatchIP}},
		{"reject", bound, peek(MismatchReject, "10.0.0.1", "b"), t0, Outcome{Status: Mismatched, Mismatch: MismatchAgent}},
		{"log: served with the bits", bound, peek(MismatchLog, "10.0.0.2", "b"), t0, Outcome{Status: OK, Mismatch: MismatchIP | MismatchAgent}},
		{"device within the deadline", device, &PeekOptions{}, deadline - 1, Outcome{Status: OK}},
		{"device at the deadline", device, &PeekOptions{}, deadline, Outcome{Status: DeviceOverdue}},
		{"device past the deadline, matching client", device, peek(MismatchReject, "10.0.0.1", "a"), deadline + 1, Outcome{Status: DeviceOverdue}},
		{"binding before the device", device, peek(MismatchReject, "10.0.0.2", "a"), deadline + 1, Outcome{Status: Mismatched, Mismatch: MismatchIP}},
		{"log mismatch, device overdue", device, peek(MismatchLog, "10.0.0.2", "a"), deadline, Outcome{Status: DeviceOverdue}},
		{"challenge only (not bound)", func() State { st := bound(); st.Device = &Device{}; return st }, &PeekOptions{}, deadline + 1, Outcome{Status: OK}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := c.st()
			before := st
			if got := PeekDecide(keys, &st, c.o, c.now); got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if !reflect.DeepEqual(st, before) {
				t.Fatal("a peek changed the state")
			}
		})
	}
}

func TestPeekOptions(t *testing.T) {
	cases := []struct {
		o      PeekOptions
		code   xerr.Code
		action MismatchAction
	}{
		{PeekOptions{GraceMs: MaxGraceMs}, 0, MismatchReject}, // revoke (0) acts as reject
		{PeekOptions{GraceMs: MaxGraceMs + 1}, xerr.BadRequest, MismatchReject},
		{PeekOptions{CheckBinding: true, OnMismatch: MismatchLog}, 0, MismatchLog},
		{PeekOptions{CheckBinding: true, OnMismatch: MismatchReject}, 0, MismatchReject},
		{PeekOptions{CheckBinding: true, OnMismatch: 3}, xerr.BadRequest, 3},
	}
	for _, c := range cases {
		err := c.o.Check()
		var code xerr.Code
		if e, ok := err.(*xerr.Error); ok {
			code = e.Code
		} else if err != nil {
			t.Fatalf("%+v: %v", c.o, err)
		}
		if code != c.code || c.o.PeekAction() != c.action {
			t.Fatalf("%+v: code %v action %v", c.o, code, c.o.PeekAction())
		}
	}
}
