package dbsc

import (
	"errors"
	"testing"
)

func TestChallenges(t *testing.T) {
	const ttl = 60_000
	var c Challenges
	a := c.Issue(1000)
	if len(a) != 22 || !c.Outstanding(1000, ttl) {
		t.Fatalf("challenge %q", a)
	}
	b := c.Issue(2000)
	steps := []struct {
		name string
		jti  string
		now  int64
		want error
	}{
		{"the older outstanding challenge", a, 3000, nil},
		{"replayed", a, 3000, ErrChallenge},
		{"unknown", "BBBBBBBBBBBBBBBBBBBBBB", 3000, ErrChallenge},
		{"not base64url", "!!!!!!!!!!!!!!!!!!!!!!", 3000, ErrChallenge},
		{"too short", b[:21], 3000, ErrChallenge},
		{"expired", b, 2000 + ttl, ErrChallenge},
		{"the newest, in time", b, 2000 + ttl - 1, nil},
		{"the newest, replayed", b, 2000 + ttl - 1, ErrChallenge},
		{"the zero challenge of an empty slot", "AAAAAAAAAAAAAAAAAAAAAA", 3000, ErrChallenge},
	}
	for _, s := range steps {
		if err := c.Consume(s.jti, s.now, ttl); !errors.Is(err, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		}
	}
	// A third challenge pushes out the first: only two are ever outstanding.
	var d Challenges
	x := d.Issue(1)
	d.Issue(2)
	d.Issue(3)
	if err := d.Consume(x, 4, ttl); !errors.Is(err, ErrChallenge) {
		t.Fatalf("third-oldest accepted: %v", err)
	}
	// A challenge from the future (clock went back) is refused.
	var f Challenges
	y := f.Issue(5000)
	if err := f.Consume(y, 4000, ttl); !errors.Is(err, ErrChallenge) {
		t.Fatalf("future challenge accepted: %v", err)
	}
}
