package vault

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTornTailAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	for i := 0; i < 5; i++ {
		m.put(t, v, "s", 2, i, fmt.Sprintf("record %d", i))
	}
	v.Close()
	want := newModel()
	for k, b := range m.recs {
		want.recs[k] = b
	}
	jf := journalFiles(t, dir)[0]
	full, _ := os.ReadFile(jf)
	// Find where the last entry starts: the length of the journal before the fifth Put.
	lastStart := entryStarts(t, full)[4]
	delete(want.recs, mkey([]byte("s"), 2, ptr(keyOf(4))))
	for cut := lastStart; cut < len(full); cut++ {
		work := filepath.Join(t.TempDir(), "v")
		copyDir(t, dir, work)
		os.WriteFile(filepath.Join(work, filepath.Base(jf)), full[:cut], 0o600)
		var logs bytes.Buffer
		got, st, err := reload(t, work, withLog(slog.New(slog.NewJSONHandler(&logs, nil))))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if !want.equal(got) {
			t.Fatalf("cut at %d: loaded records are not the valid prefix", cut)
		}
		if wantTorn := int64(cut - lastStart); st.TornBytes != wantTorn {
			t.Fatalf("cut at %d: torn %d, want %d", cut, st.TornBytes, wantTorn)
		}
		if cut > lastStart {
			if n := strings.Count(logs.String(), "torn tail"); n != 1 || !strings.Contains(logs.String(), fmt.Sprintf(`"bytes":%d`, cut-lastStart)) {
				t.Fatalf("cut at %d: want one warning with the byte count, got %s", cut, logs.String())
			}
		}
		if b, _ := os.ReadFile(filepath.Join(work, filepath.Base(jf))); len(b) != lastStart {
			t.Fatalf("cut at %d: the tail was not cut back to %d (file is %d)", cut, lastStart, len(b))
		}
		// The cut journal loads cleanly and takes new entries.
		v, m2, st := start(t, work)
		if st.TornBytes != 0 {
			t.Fatal("tail still torn")
		}
		m2.put(t, v, "s", 2, 99, "after the cut")
		v.Close()
		if got, _, err := reload(t, work); err != nil || !m2.equal(got) {
			t.Fatalf("cut at %d: write after cut: %v", cut, err)
		}
	}
	// Zero bytes after the last entry (space allocated, never written) are a torn tail too.
	work := filepath.Join(t.TempDir(), "z")
	copyDir(t, dir, work)
	os.WriteFile(filepath.Join(work, filepath.Base(jf)), append(bytes.Clone(full), make([]byte, 100)...), 0o600)
	if got, st, err := reload(t, work); err != nil || st.TornBytes != 100 || !m.equal(got) {
		t.Fatalf("zero tail: %v %+v", err, st)
	}
}

func ptr(k [16]byte) *[16]byte { return &k }

// entryStarts returns the offsets of the entries of a journal file.
func entryStarts(t testing.TB, b []byte) []int {
	var out []int
	for off := journalHeaderSize; off < len(b); {
		out = append(out, off)
		n := int(uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24)
		off += frameSize + n
	}
	return out
}

func TestFlipEveryByteIsRefused(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 2, 1, "in the snapshot")
	v.Compact(m)
	m.put(t, v, "s", 2, 2, "in the journal")
	m.put(t, v, "s", 1, 3, "last entry")
	v.Close()
	for _, name := range []string{snapshotName, filepath.Base(journalFiles(t, dir)[0])} {
		orig, _ := os.ReadFile(filepath.Join(dir, name))
		for i := range orig {
			work := filepath.Join(t.TempDir(), "v")
			copyDir(t, dir, work)
			flipped := bytes.Clone(orig)
			flipped[i] ^= 0x20
			os.WriteFile(filepath.Join(work, name), flipped, 0o600)
			before := hashes(t, work)
			_, _, err := reload(t, work)
			if kindOf(err) != Corrupt {
				t.Fatalf("%s byte %d flipped: got %v, want a corrupt refusal", name, i, err)
			}
			if !sameFiles(before, hashes(t, work)) {
				t.Fatalf("%s byte %d flipped: the refused vault was modified", name, i)
			}
		}
	}
}
