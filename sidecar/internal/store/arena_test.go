package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

// TestArenaChurn runs a random mix of sets, overwrites with other sizes, deletes, session
// updates and revocations against a model, checking every record after each round and that
// dead space stays bounded (compaction runs and moves records correctly).
func TestArenaChurn(t *testing.T) {
	s, clock := newTestStore(t)
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string][]byte{}
	type sess struct {
		token [70]byte
		data  []byte
	}
	sessions := map[int]*sess{}
	value := func() []byte {
		n := rng.IntN(600)
		if rng.IntN(50) == 0 {
			n = maxPacked + rng.IntN(10_000) // a dedicated chunk now and then
		}
		return bytes.Repeat([]byte{byte(rng.Uint32())}, n)
	}
	for round := 0; round < 30; round++ {
		for i := 0; i < 1500; i++ {
			name := fmt.Sprint("k", rng.IntN(800))
			switch op := rng.IntN(10); {
			case op < 5:
				v := value()
				if _, err := s.KVSet(noDL, sbA, []byte(name), v, session.MaxTTLMs); err != nil {
					t.Fatal(err)
				}
				model[name] = v
			case op < 7:
				existed, _ := s.KVDel(noDL, sbA, []byte(name))
				if _, ok := model[name]; ok != existed {
					t.Fatalf("del %s: existed %v, model %v", name, existed, ok)
				}
				delete(model, name)
			case op < 8:
				id := rng.IntN(300)
				if ss := sessions[id]; ss != nil {
					ss.data = value()
					if _, ok, err := storetest.SessionUpdate(s, sbA, ss.token[:], ss.data); !ok || err != nil {
						t.Fatalf("update: %v %v", ok, err)
					}
				} else {
					d := value()
					res, err := storetest.SessionCreate(s, sbA, d, session.MaxTTLMs, 0, []byte(fmt.Sprint("u", id%7)), []byte("m"))
					if err != nil {
						t.Fatal(err)
					}
					sessions[id] = &sess{token: res.Token, data: d}
				}
			case op < 9:
				id := rng.IntN(300)
				if ss := sessions[id]; ss != nil {
					r := resolve(t, s, sbA, ss.token[:], true, 2000)
					ss.token = r.Token
				}
			default:
				id := rng.IntN(300)
				if ss := sessions[id]; ss != nil {
					if ok, _ := storetest.SessionRevoke(s, sbA, ss.token[:]); !ok {
						t.Fatal("revoke failed")
					}
					delete(sessions, id)
				}
			}
		}
		clock.Advance(1000)
		s.Expire() // runs compaction where due
		for name, want := range model {
			got, _, found, err := s.KVGet(sbA, []byte(name), nil)
			if err != nil || !found || !bytes.Equal(got, want) {
				t.Fatalf("round %d: %s = %d bytes found=%v err=%v, want %d bytes", round, name, len(got), found, err, len(want))
			}
		}
		for id, ss := range sessions {
			r := resolve(t, s, sbA, ss.token[:], false, 2000)
			if r.Status != session.OK || !bytes.Equal(r.Data, ss.data) {
				t.Fatalf("round %d: session %d status %v", round, id, r.Status)
			}
		}
		sb, _ := s.sandboxFor(sbA, false)
		var size, wasted int64
		for i := range sb.shards {
			size += sb.shards[i].mem.size
			wasted += sb.shards[i].mem.wasted()
		}
		if wasted > size/4+nShards*minChunk {
			t.Fatalf("round %d: %d of %d arena bytes are dead records", round, wasted, size)
		}
	}
	if indexSize(s, sbA) != len(sessions) {
		t.Fatalf("index %d, sessions %d", indexSize(s, sbA), len(sessions))
	}
}

func TestArenaCompactionMovesRecords(t *testing.T) {
	a := newArena()
	live := map[key]uint64{}
	var keys []key
	for i := 0; i < 2000; i++ {
		var k key
		k[0], k[1] = byte(i), byte(i>>8)
		l, r := a.alloc(recHdr+100, kindKV, &k)
		r[recHdr] = byte(i)
		live[k] = l
		keys = append(keys, k)
	}
	for i, k := range keys {
		if i%3 != 0 {
			a.release(live[k])
			delete(live, k)
		}
	}
	if !a.needsCompaction() {
		t.Fatal("two thirds dead and no compaction due")
	}
	a.compact(func(kind uint8, k *key, l uint64) bool { return live[*k] == l },
		func(kind uint8, k *key, l uint64) { live[*k] = l })
	if a.needsCompaction() {
		t.Fatalf("still due after compaction: size %d wasted %d", a.size, a.wasted())
	}
	for k, l := range live {
		r := a.rec(l)
		if recKeyOf(r) != k || r[recHdr] != k[0] {
			t.Fatal("a record moved wrongly")
		}
	}
	for _, l := range live {
		a.release(l)
	}
	a.dropIdleCur()
	if a.size != 0 || a.live != 0 {
		t.Fatalf("empty arena holds %d bytes (%d live)", a.size, a.live)
	}
}
