package vault

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateWriteReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	v, m, st := start(t, dir)
	if !st.Created {
		t.Fatal("a new vault should be created in an empty directory")
	}
	for i := 0; i < 100; i++ {
		m.put(t, v, "sessions", 2, i, fmt.Sprintf("session record %d", i))
		m.put(t, v, "otp", 1, i, fmt.Sprintf("value %d", i))
	}
	for i := 0; i < 100; i += 3 {
		m.del(t, v, "otp", 1, i)
	}
	m.put(t, v, "sessions", 2, 5, "replaced")
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	got, st, err := reload(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Created || st.JournalEntries != 100*2+34+1 || st.TornBytes != 0 {
		t.Fatalf("unexpected load stats %+v", st)
	}
	if !m.equal(got) {
		t.Fatal("reloaded records differ from what was journaled")
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("vault directory mode %v, want 0700", info.Mode().Perm())
	}
	for name := range hashes(t, dir) {
		fi, _ := os.Stat(filepath.Join(dir, name))
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestClearEntry(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "a", 1, 1, "x")
	m.put(t, v, "b", 1, 1, "y")
	if err := v.Clear("a"); err != nil {
		t.Fatal(err)
	}
	m.RestoreClear([]byte("a"))
	m.put(t, v, "a", 1, 2, "after clear")
	v.Close()
	got, _, err := reload(t, dir)
	if err != nil || !m.equal(got) || len(got.recs) != 2 {
		t.Fatalf("after CLEAR: err %v, %d records", err, len(got.recs))
	}
}

func TestNothingInPlaintext(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "marker-sandbox", 2, 1, "PLANTED-MARKER-IN-RECORD")
	v.Compact(m)
	m.put(t, v, "marker-sandbox", 2, 2, "PLANTED-MARKER-IN-RECORD")
	v.Close()
	for name := range hashes(t, dir) {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		for _, marker := range []string{"PLANTED-MARKER", "marker-sandbox", "key-0000", string(testSecret), string(machineA.Identity)} {
			if bytes.Contains(b, []byte(marker)) {
				t.Fatalf("%s contains %q in plaintext", name, marker)
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 2, 1, "record")
	v.Close()
	before := hashes(t, dir)

	cases := []struct {
		name string
		opts []opts
		kind Kind
		text string
	}{
		{"wrong secret", []opts{withSecret(otherSecret)}, WrongSecret, "another secret"},
		{"wrong secret on another machine", []opts{withSecret(otherSecret), withBinding(machineB)}, WrongSecret, "another secret"},
		{"other machine", []opts{withBinding(machineB)}, WrongMachine, "another machine identity"},
		{"binding turned off", []opts{withBinding(Binding{})}, WrongMachine, "hardwareBinding is false now"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := reload(t, dir, tc.opts...)
			if kindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want kind %s mentioning %q", err, tc.kind, tc.text)
			}
			if !sameFiles(before, hashes(t, dir)) {
				t.Fatal("a refused vault was modified")
			}
		})
	}

	// An unbound vault opened with a binding says so.
	dir2 := t.TempDir()
	v2, _, _ := start(t, dir2, withBinding(Binding{}))
	v2.Close()
	_, _, err := reload(t, dir2)
	if kindOf(err) != WrongMachine || !strings.Contains(err.Error(), "without hardware binding") {
		t.Fatalf("got %v", err)
	}
}

func TestLockedBySecondOpener(t *testing.T) {
	dir := t.TempDir()
	v, _, _ := start(t, dir)
	_, err := open(dir)
	if kindOf(err) != Locked || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second open: %v", err)
	}
	if _, err := open(dir, readOnly()); kindOf(err) != Locked {
		t.Fatalf("read-only open of a vault in use: %v", err)
	}
	v.Close()
	v2, err := open(dir)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	v2.Close()
}

func TestSnapshotWithoutJournalsAndJournalsWithoutSnapshot(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 1, 1, "a")
	v.Close()
	// Journals without a snapshot: refused, nothing created.
	os.Rename(filepath.Join(dir, snapshotName), filepath.Join(t.TempDir(), "moved"))
	before := hashes(t, dir)
	if _, _, err := reload(t, dir); kindOf(err) != Corrupt || !strings.Contains(err.Error(), "no snapshot") {
		t.Fatalf("got %v", err)
	}
	if !sameFiles(before, hashes(t, dir)) {
		t.Fatal("modified")
	}
}

func TestReadOnlyVerifyChangesNothing(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	m.put(t, v, "s", 1, 1, "a")
	m.put(t, v, "s", 1, 2, "b")
	v.Close()
	jf := journalFiles(t, dir)[0]
	b, _ := os.ReadFile(jf)
	os.WriteFile(jf, b[:len(b)-3], 0o600) // torn tail
	before := hashes(t, dir)
	v, err := open(dir, readOnly())
	if err != nil {
		t.Fatal(err)
	}
	got := newModel()
	st, err := v.Load(got)
	v.Close()
	if err != nil || st.TornBytes == 0 || len(got.recs) != 1 {
		t.Fatalf("verify: %v %+v", err, st)
	}
	if !sameFiles(before, hashes(t, dir)) {
		t.Fatal("read-only load modified the vault")
	}
	if _, err := open(t.TempDir(), readOnly()); kindOf(err) != IO {
		t.Fatalf("verify of an empty directory: %v", err)
	}
}

func TestRekey(t *testing.T) {
	dir := t.TempDir()
	v, m, _ := start(t, dir)
	for i := 0; i < 20; i++ {
		m.put(t, v, "s", 2, i, fmt.Sprintf("r%d", i))
	}
	v.Close()
	v, err := open(dir)
	if err != nil {
		t.Fatal(err)
	}
	loaded := newModel()
	if _, err := v.Load(loaded); err != nil {
		t.Fatal(err)
	}
	if err := v.Rekey(otherSecret, machineB, loaded); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if _, _, err := reload(t, dir); kindOf(err) != WrongSecret {
		t.Fatalf("old secret after rekey: %v", err)
	}
	got, _, err := reload(t, dir, withSecret(otherSecret), withBinding(machineB))
	if err != nil || !m.equal(got) {
		t.Fatalf("new secret after rekey: %v", err)
	}
	// A crash right after the new snapshot replaced the old one (before its journal existed):
	// the next load starts an empty journal.
	for _, f := range journalFiles(t, dir) {
		os.Remove(f)
	}
	got, _, err = reload(t, dir, withSecret(otherSecret), withBinding(machineB))
	if err != nil || !m.equal(got) || len(journalFiles(t, dir)) != 1 {
		t.Fatalf("missing journal: %v", err)
	}
}
