package storetest

import (
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
)

// Update: S_UPDATE accepts the tokens S_RESOLVE answers (with the caller's grace), slides the
// idle deadline, keeps the meta, and is not itself a presentation.
func Update(t *testing.T, each Each) {
	each(t, func(t *testing.T, e *Env, s Backend, clock *FakeClock) {
		g0, err := SessionCreate(s, sbA, []byte("v0"), 60_000, 10_000, []byte("u"), []byte("the-meta"))
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(5_000)
		exp, ok, err := SessionUpdate(s, sbA, g0.Token[:], []byte("v1"))
		if err != nil || !ok || exp != clock.NowMs()+10_000 {
			t.Fatalf("update current = %d %v %v (update must slide the idle deadline)", exp, ok, err)
		}
		g1 := Resolve(t, s, sbA, g0.Token[:], true, 2000)
		if string(g1.Data) != "v1" {
			t.Fatalf("data %q", g1.Data)
		}
		if _, ok, _ := SessionUpdate(s, sbA, g0.Token[:], []byte("v2")); !ok {
			t.Fatal("update with the previous token refused")
		}
		clock.Advance(session.DefaultGraceMs)
		// g1 was never presented: g0 is still answered (as S_RESOLVE answers it), and updates.
		if _, ok, _ := SessionUpdate(s, sbA, g0.Token[:], []byte("v3")); !ok {
			t.Fatal("update with a token whose successor was never presented refused")
		}
		if r := Resolve(t, s, sbA, g1.Token[:], false, 2000); string(r.Data) != "v3" {
			t.Fatalf("data %q", r.Data)
		}
		if _, ok, _ := SessionUpdate(s, sbA, g0.Token[:], []byte("v4")); !ok {
			t.Fatal("update with an in-grace token refused")
		}
		clock.Advance(session.DefaultGraceMs)
		if _, ok, _ := SessionUpdate(s, sbA, g0.Token[:], []byte("v5")); ok {
			t.Fatal("update with a token outside grace accepted")
		}
		if r := Resolve(t, s, sbA, g1.Token[:], false, 2000); string(r.Data) != "v4" {
			t.Fatalf("data %q", r.Data)
		}
		list, _ := s.SessionList(sbA, []byte("u"))
		if len(list) != 1 || string(list[0].Meta) != "the-meta" {
			t.Fatal("update lost the meta")
		}
		if _, ok, _ := SessionUpdate(s, sbA, []byte("garbage"), []byte("x")); ok {
			t.Fatal("garbage token updated")
		}
		// Grace is the caller's.
		clock.Advance(1)
		c := MustCreate(t, s, sbA, "d", 60_000, 0, "")
		c1 := Resolve(t, s, sbA, c.Token[:], true, 2000)
		Resolve(t, s, sbA, c1.Token[:], false, 2000)
		clock.Advance(3_000)
		if _, ok, _ := s.SessionUpdate(noDL, sbA, c.Token[:], []byte("x"), 2_000); ok {
			t.Fatal("accepted a token whose successor was presented 3 s ago, with a 2 s grace")
		}
		if _, ok, _ := s.SessionUpdate(noDL, sbA, c.Token[:], []byte("x"), 5_000); !ok {
			t.Fatal("refused a token whose successor was presented 3 s ago, with a 5 s grace")
		}
	})
}
