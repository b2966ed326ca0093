package session

import "testing"

func TestMustWrite(t *testing.T) {
	for _, c := range []struct {
		name     string
		idle     uint32
		changed  bool
		lastSeen int64
		want     bool
	}{
		{"changed state, just seen", 600_000, true, 1000, true},
		{"no idle: 1 s interval, 999 ms old", 0, false, 1, false},
		{"no idle: 1 s old", 0, false, 0, true},
		{"30 min idle: capped at 1 s", 1_800_000, false, 1, false},
		{"10 s idle: 100 ms interval, 99 ms old", 10_000, false, 901, false},
		{"10 s idle: 100 ms old", 10_000, false, 900, true},
		{"50 ms idle: interval 0, always written", 50, false, 1000, true},
		{"last seen ahead (another clock)", 10_000, false, 1500, false},
	} {
		st := State{IdleMs: c.idle}
		o := Outcome{Status: OK, Changed: c.changed}
		if got := o.MustWrite(&st, c.lastSeen, 1000); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
