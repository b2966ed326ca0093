package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/dbsc/dbsctest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// memJournal records what the store journals, and refuses on demand (a full disk).
type memJournal struct {
	mu      sync.Mutex
	entries []journaled
	fail    bool
	lazy    int
}

type journaled struct {
	op      byte // 'P', 'D', 'C'
	sandbox string
	kind    uint8
	key     [16]byte
	blob    []byte
}

var errDiskFull = fmt.Errorf("no space left on device")

func (j *memJournal) add(e journaled, wait bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail {
		if !wait {
			j.lazy++
			return nil
		}
		return errDiskFull
	}
	j.entries = append(j.entries, e)
	return nil
}

func (j *memJournal) Put(sandbox string, kind uint8, key *[16]byte, blob []byte, wait bool) error {
	return j.add(journaled{'P', sandbox, kind, *key, bytes.Clone(blob)}, wait)
}

func (j *memJournal) Delete(sandbox string, kind uint8, key *[16]byte) error {
	return j.add(journaled{'D', sandbox, kind, *key, nil}, true)
}

func (j *memJournal) Clear(sandbox string) error {
	return j.add(journaled{'C', sandbox, 0, [16]byte{}, nil}, true)
}

func (j *memJournal) setFail(on bool) {
	j.mu.Lock()
	j.fail = on
	j.mu.Unlock()
}

var persistKey = bytes.Repeat([]byte{7}, 32)

func newPersistStore(t testing.TB, c *fakeClock) *Store {
	t.Helper()
	m, err := crypto.NewMaster(persistKey)
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Master: m, Clock: c})
}

// replay rebuilds a store from journaled entries, as a vault load does.

func replay(t testing.TB, c *fakeClock, entries []journaled) *Store {
	t.Helper()
	s := newPersistStore(t, c)
	for _, e := range entries {
		var err error
		switch e.op {
		case 'P':
			_, err = s.RestorePut([]byte(e.sandbox), e.kind, &e.key, e.blob)
		case 'D':
			err = s.RestoreDelete([]byte(e.sandbox), e.kind, &e.key)
		case 'C':
			err = s.RestoreClear([]byte(e.sandbox))
		}
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	return s
}

// dump returns every record as sandbox|kind|key -> blob, with the fields that are not state

// zeroed: the expiry-heap second (recomputed on load) and, when lastSeen is set, the

// last-seen time of sessions without an idle timeout (journaled lazily, see persist.go).

func dump(t testing.TB, s *Store, lastSeen bool) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := s.Dump(func(sandbox string, kind uint8, key *[16]byte, blob []byte) error {
		b := bytes.Clone(blob)
		if kind == kindKV {
			binary.LittleEndian.PutUint32(b[kvSched-recHdr:], 0)
		} else {
			binary.LittleEndian.PutUint32(b[sSched-recHdr:], 0)
			if lastSeen && binary.LittleEndian.Uint32(b[sIdle-recHdr:]) == 0 {
				binary.LittleEndian.PutUint32(b[sLastSeen-recHdr:], 0)
			}
		}
		out[fmt.Sprintf("%s|%d|%x", sandbox, kind, key[:])] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameDump(a, b map[string][]byte) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d records vs %d", len(a), len(b))
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !bytes.Equal(a[k], b[k]) {
			return "record " + k + " differs"
		}
	}
	return ""
}

// TestJournalReplayEqualsState runs a random workload of every mutating operation, and checks

// that replaying what was journaled rebuilds the same records: no mutation escapes the hook.

func TestJournalReplayEqualsState(t *testing.T) {
	c := newFakeClock()
	s := newPersistStore(t, c)
	j := &memJournal{}
	s.SetJournal(j)
	rng := rand.New(rand.NewPCG(1, 2))
	var tokens [][]byte
	var ids [][]byte
	sbs := [][]byte{[]byte("sessions"), []byte("otp")}
	pick := func() []byte { return sbs[rng.IntN(len(sbs))] }
	users := []string{"", "alice", "bob"}
	device := dbsctest.New()
	for i := 0; i < 4000; i++ {
		sb := pick()
		name := []byte(fmt.Sprintf("k%d", rng.IntN(60)))
		switch op := rng.IntN(19); op {
		case 0, 1:
			s.KVSet(noDL, sb, name, []byte(fmt.Sprintf("v%d", i)), uint64(1+rng.IntN(60_000)))
		case 2:
			s.KVDel(noDL, sb, name)
		case 3:
			s.KVTouch(noDL, sb, name, uint64(1+rng.IntN(90_000)))
		case 4, 5:
			var auth *session.Auth
			if rng.IntN(2) == 0 {
				auth = &session.Auth{At: c.NowMs(), Methods: uint32(rng.IntN(8))}
			}
			res, err := s.SessionCreate(noDL, sb, []byte(fmt.Sprintf("d%d", i)), session.CreateOptions{TTLMs: uint64(1000 + rng.IntN(120_000)),
				IdleMs: uint64(rng.IntN(2) * 30_000), UserID: []byte(users[rng.IntN(3)]), Meta: []byte("m"),
				MaxPerUser: uint32(rng.IntN(2) * 3), Auth: auth})
			if err == nil {
				tokens = append(tokens, append([]byte(nil), res.Token[:]...))
				ids = append(ids, []byte(crypto.EncodeID(&res.SessionID)))
			}
		case 6, 7, 8:
			if len(tokens) > 0 {
				k := rng.IntN(len(tokens))
				res, _ := storetest.SessionResolve(s, sb, tokens[k], rng.IntN(2) == 0, uint64(rng.IntN(3000)), 0, nil)
				if res.Status == session.OK {
					tokens[k] = append([]byte(nil), res.Token[:]...)
				}
			}
		case 9:
			if len(tokens) > 0 {
				storetest.SessionUpdate(s, sb, tokens[rng.IntN(len(tokens))], []byte(fmt.Sprintf("u%d", i)))
			}
		case 10:
			if len(tokens) > 0 {
				storetest.SessionRevoke(s, sb, tokens[rng.IntN(len(tokens))])
			}
		case 11:
			if len(ids) > 0 {
				s.SessionRevokeID(noDL, sb, ids[rng.IntN(len(ids))])
			}
		case 12:
			storetest.SessionRevokeAll(s, sb, []byte(users[1+rng.IntN(2)]), nil)
		case 13:
			if len(tokens) > 0 {
				k := rng.IntN(len(tokens))
				var auth *session.Auth
				if rng.IntN(2) == 0 {
					auth = &session.Auth{At: c.NowMs(), Methods: uint32(rng.IntN(8))}
				}
				res, _ := s.SessionRegenerate(noDL, sb, tokens[k], 2000, rng.IntN(2) == 0, nil, auth)
				if res.Status == session.OK {
					tokens[k] = append([]byte(nil), res.Token[:]...)
				}
			}
		case 16:
			if len(tokens) > 0 {
				s.SessionRevokeOthers(noDL, sb, tokens[rng.IntN(len(tokens))])
			}
		case 17:
			if rng.IntN(30) == 0 {
				s.SessionRevokeSandbox(noDL, sb)
			}
		case 14:
			c.Advance(int64(rng.IntN(5000)))
			s.Expire()
		case 15:
			if rng.IntN(20) == 0 {
				s.Clear(noDL, sb)
			}
		case 18: // device binding: a challenge, then a registration or a refresh answering it
			if len(tokens) > 0 {
				tok := tokens[rng.IntN(len(tokens))]
				r, _ := storetest.DeviceOp(s, sb, tok, session.ChallengeRule())
				if r.Status == session.OK && !r.Bound {
					storetest.DeviceOp(s, sb, tok, session.RegisterRule(device.Registration(r.Challenge), 1, 20_000))
				} else if r.Status == session.OK {
					storetest.DeviceOp(s, sb, tok, session.RefreshRule(device.Refresh(r.Challenge), 20_000))
				}
			}
		}
	}
	got := replay(t, c, j.entries)
	if diff := sameDump(dump(t, s, true), dump(t, got, true)); diff != "" {
		t.Fatalf("replayed journal differs from the store: %s", diff)
	}
	if len(dump(t, s, true)) == 0 {
		t.Fatal("the workload left nothing to compare")
	}
	// The per-user index and the rotation state are rebuilt: every token resolves alike.
	for _, tok := range tokens {
		for _, sb := range sbs {
			a, _ := storetest.SessionResolve(s, sb, tok, false, 2000, 0, nil)
			b, _ := storetest.SessionResolve(got, sb, tok, false, 2000, 0, nil)
			if a.Status != b.Status || a.ExpiresAt != b.ExpiresAt || !bytes.Equal(a.Data, b.Data) || a.Auth != b.Auth {
				t.Fatalf("a token resolves differently after replay: %v vs %v", a.Status, b.Status)
			}
		}
	}
	for _, u := range users[1:] {
		a, _ := s.SessionList(sbs[0], []byte(u))
		b, _ := got.SessionList(sbs[0], []byte(u))
		if len(a) != len(b) {
			t.Fatalf("user %s: %d sessions listed vs %d after replay", u, len(a), len(b))
		}
		for i := range a {
			if a[i].Device != b[i].Device {
				t.Fatalf("user %s: device binding differs after replay", u)
			}
		}
	}
}

// TestFailedJournalUndoesEveryMutation: with the journal refusing, every mutating operation

// fails with PERSIST_FAILED and leaves the store exactly as it was.

func TestFailedJournalUndoesEveryMutation(t *testing.T) {
	c := newFakeClock()
	s := newPersistStore(t, c)
	j := &memJournal{}
	s.SetJournal(j)
	sb := []byte("sessions")
	s.KVSet(noDL, sb, []byte("key"), []byte("value"), 60_000)
	cr, err := storetest.SessionCreate(s, sb, []byte("data"), 600_000, 0, []byte("alice"), []byte("meta"))
	if err != nil {
		t.Fatal(err)
	}
	tok := cr.Token[:]
	// Two quick rotations give the session a rotation history.
	for i := 0; i < 2; i++ {
		c.Advance(10)
		res, _ := storetest.SessionResolve(s, sb, tok, true, 2000, 0, nil)
		tok = append([]byte(nil), res.Token[:]...)
	}
	other, _ := storetest.SessionCreate(s, sb, []byte("other"), 600_000, 0, []byte("alice"), nil)
	// The first session is device-bound with a challenge outstanding; the other has one too.
	device := dbsctest.New()
	ch := storetest.MustChallenge(t, s, sb, tok)
	if _, err := storetest.DeviceOp(s, sb, tok, session.RegisterRule(device.Registration(ch), 1, 600_000)); err != nil {
		t.Fatal(err)
	}
	ch = storetest.MustChallenge(t, s, sb, tok)
	chOther := storetest.MustChallenge(t, s, sb, other.Token[:])
	before := dump(t, s, false)
	beforeStats := s.Stats()
	j.setFail(true)
	id := []byte(crypto.EncodeID(&cr.SessionID))
	ops := map[string]func() error{
		"KV_SET new":     func() error { _, err := s.KVSet(noDL, sb, []byte("new"), []byte("v"), 1000); return err },
		"KV_SET replace": func() error { _, err := s.KVSet(noDL, sb, []byte("key"), []byte("v2"), 1000); return err },
		"KV_DEL":         func() error { _, err := s.KVDel(noDL, sb, []byte("key")); return err },
		"KV_TOUCH":       func() error { _, _, err := s.KVTouch(noDL, sb, []byte("key"), 5); return err },
		"CLEAR":          func() error { _, err := s.Clear(noDL, sb); return err },
		"S_CREATE": func() error {
			_, err := storetest.SessionCreate(s, sb, []byte("d"), 1000, 0, []byte("alice"), nil)
			return err
		},
		"S_RESOLVE+rotate": func() error {
			_, err := storetest.SessionResolve(s, sb, tok, true, 2000, 0, nil)
			return err
		},
		"S_RESOLVE reuse": func() error { _, err := storetest.SessionResolve(s, sb, cr.Token[:], true, 0, 0, nil); return err },
		"S_UPDATE":        func() error { _, _, err := storetest.SessionUpdate(s, sb, tok, []byte("new data")); return err },
		"S_REVOKE":        func() error { _, err := storetest.SessionRevoke(s, sb, tok); return err },
		"S_REVOKE_ID":     func() error { _, err := s.SessionRevokeID(noDL, sb, id); return err },
		"S_REVOKE_ALL":    func() error { _, err := storetest.SessionRevokeAll(s, sb, []byte("alice"), nil); return err },
		"S_REGENERATE": func() error {
			_, err := s.SessionRegenerate(noDL, sb, other.Token[:], 2000, true, nil, nil)
			return err
		},
		"S_REGENERATE reauthentication": func() error {
			_, err := s.SessionRegenerate(noDL, sb, other.Token[:], 2000, true, nil, &session.Auth{At: c.NowMs(), Methods: 1})
			return err
		},
		"S_REVOKE_OTHERS":  func() error { _, err := s.SessionRevokeOthers(noDL, sb, other.Token[:]); return err },
		"S_REVOKE_SANDBOX": func() error { _, err := s.SessionRevokeSandbox(noDL, sb); return err },
		"DEVICE_CHALLENGE": func() error {
			_, err := storetest.DeviceOp(s, sb, tok, session.ChallengeRule())
			return err
		},
		"DEVICE_REFRESH": func() error {
			_, err := storetest.DeviceOp(s, sb, tok, session.RefreshRule(device.Refresh(ch), 600_000))
			return err
		},
		"DEVICE_REGISTER": func() error {
			_, err := storetest.DeviceOp(s, sb, other.Token[:], session.RegisterRule(device.Registration(chOther), 1, 600_000))
			return err
		},
	}
	for name, op := range ops {
		c.Advance(5)
		err := op()
		if errCode(err) != xerr.PersistFailed {
			t.Fatalf("%s with a failing journal: %v, want PERSIST_FAILED", name, err)
		}
		if diff := sameDump(before, dump(t, s, false)); diff != "" {
			t.Fatalf("%s: the store changed although the journal refused: %s", name, diff)
		}
	}
	after := s.Stats()
	if after.Sandboxes["sessions"] != beforeStats.Sandboxes["sessions"] {
		t.Fatalf("stats changed: %+v vs %+v", after.Sandboxes, beforeStats.Sandboxes)
	}
	// Writes work again once the journal does, and the undone records still expire normally.
	j.setFail(false)
	if _, err := storetest.SessionResolve(s, sb, tok, true, 2000, 0, nil); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.SessionList(sb, []byte("alice")); len(list) != 2 {
		t.Fatalf("per-user index after undo: %d sessions", len(list))
	}
	c.Advance(700_000)
	s.Expire()
	if st := s.Stats().Sandboxes["sessions"]; st.KV != 0 || st.Sessions != 0 {
		t.Fatalf("records left after expiry: %+v", st)
	}
}

// TestRestoreKeepsRotationStateAndDropsExpired: a token in its grace window resolves the same

// after a reload; expired records are not brought back.

// TestRestoreKeepsPresentations: what the rule needs survives a reload: a token whose

// successor was never presented (a lost answer) is still answered, a successor's first

// presentation still starts the grace window, and reuse after it is still found.

// TestRestoreLegacyBlobs: a vault written before first presentations were kept (blobs without

// blobLayout: no presented fields, a history of issue times) loads, and its sessions answer

// under the rule they were written with: each generation presented when it was issued.
