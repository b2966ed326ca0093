package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// model is a Restorer and Source that keeps records in a map: the vault's contract is that
// what was journaled comes back, in order, whatever the record bytes are.
type model struct {
	mu     sync.Mutex
	recs   map[string][]byte // "sandbox|kind|hexkey" -> blob
	failOn string            // RestorePut fails for this sandbox
}

func newModel() *model { return &model{recs: map[string][]byte{}} }

func mkey(sandbox []byte, kind uint8, key *[16]byte) string {
	return fmt.Sprintf("%s|%d|%x", sandbox, kind, key[:])
}

// RestorePut reports a blob starting with "expired" as expired (and removes the key).
func (m *model) RestorePut(sandbox []byte, kind uint8, key *[16]byte, blob []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if string(sandbox) == m.failOn {
		return false, fmt.Errorf("refused")
	}
	k := mkey(sandbox, kind, key)
	if bytes.HasPrefix(blob, []byte("expired")) {
		delete(m.recs, k)
		return true, nil
	}
	m.recs[k] = bytes.Clone(blob)
	return false, nil
}

func (m *model) RestoreDelete(sandbox []byte, kind uint8, key *[16]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, mkey(sandbox, kind, key))
	return nil
}

func (m *model) RestoreClear(sandbox []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.recs {
		if strings.HasPrefix(k, string(sandbox)+"|") {
			delete(m.recs, k)
		}
	}
	return nil
}

func (m *model) Dump(fn func(sandbox string, kind uint8, key *[16]byte, blob []byte) error) error {
	m.mu.Lock()
	keys := make([]string, 0, len(m.recs))
	for k := range m.recs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type rec struct {
		sb   string
		kind uint8
		key  [16]byte
		blob []byte
	}
	var recs []rec
	for _, k := range keys {
		parts := strings.Split(k, "|")
		var r rec
		r.sb = parts[0]
		fmt.Sscan(parts[1], &r.kind)
		kb, _ := hex.DecodeString(parts[2])
		copy(r.key[:], kb)
		r.blob = m.recs[k]
		recs = append(recs, r)
	}
	m.mu.Unlock()
	for _, r := range recs {
		if err := fn(r.sb, r.kind, &r.key, r.blob); err != nil {
			return err
		}
	}
	return nil
}

// put applies a change to the model and journals it, like the store: the change is made
// and journaled under one lock, so a concurrent Dump (compaction) sees it only with its entry.
func (m *model) put(t testing.TB, v *Vault, sandbox string, kind uint8, id int, blob string) {
	t.Helper()
	key := keyOf(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[mkey([]byte(sandbox), kind, &key)] = []byte(blob)
	if err := v.Put(sandbox, kind, &key, []byte(blob), true); err != nil {
		t.Errorf("Put: %v", err)
	}
}

func (m *model) del(t testing.TB, v *Vault, sandbox string, kind uint8, id int) {
	t.Helper()
	key := keyOf(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, mkey([]byte(sandbox), kind, &key))
	if err := v.Delete(sandbox, kind, &key); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

func (m *model) equal(o *model) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) != len(o.recs) {
		return false
	}
	for k, v := range m.recs {
		if !bytes.Equal(o.recs[k], v) {
			return false
		}
	}
	return true
}

func keyOf(id int) [16]byte {
	var k [16]byte
	copy(k[:], fmt.Sprintf("key-%011d", id))
	return k
}

var (
	testSecret  = []byte("0123456789abcdef0123456789ABCDEF")
	otherSecret = []byte("fedcba9876543210FEDCBA9876543210")
	machineA    = Binding{Bound: true, Identity: []byte("3d1219c7c4c5404aaa1f6d2a48adfda4")}
	machineB    = Binding{Bound: true, Identity: []byte("00000000000000000000000000000001")}
)

type opts func(*Options)

func withSecret(s []byte) opts    { return func(o *Options) { o.Secret = s } }
func withBinding(b Binding) opts  { return func(o *Options) { o.Binding = b } }
func withFsync(f Fsync) opts      { return func(o *Options) { o.Fsync = f } }
func readOnly() opts              { return func(o *Options) { o.ReadOnly = true } }
func withLog(l *slog.Logger) opts { return func(o *Options) { o.Logger = l } }
func withCompactMin(n int64) opts { return func(o *Options) { o.CompactMinBytes = n } }
func withWrap(f func(journalFile) journalFile) opts {
	return func(o *Options) { o.wrapJournal = f }
}

func open(dir string, os ...opts) (*Vault, error) {
	o := Options{Dir: dir, Secret: testSecret, Binding: machineA}
	for _, f := range os {
		f(&o)
	}
	return Open(o)
}

// start opens, loads into a fresh model and starts the writer.
func start(t testing.TB, dir string, os ...opts) (*Vault, *model, LoadStats) {
	t.Helper()
	v, err := open(dir, os...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	m := newModel()
	st, err := v.Load(m)
	if err != nil {
		v.Close()
		t.Fatalf("Load: %v", err)
	}
	v.Start(m)
	return v, m, st
}

// reload opens read-write, loads into a fresh model and closes.
func reload(t testing.TB, dir string, os ...opts) (*model, LoadStats, error) {
	t.Helper()
	v, err := open(dir, os...)
	if err != nil {
		return nil, LoadStats{}, err
	}
	defer v.Close()
	m := newModel()
	st, err := v.Load(m)
	return m, st, err
}

// hashes returns the SHA-256 of every vault file (snapshot and journals) in dir.
func hashes(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == lockName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func kindOf(err error) Kind {
	var ve *Error
	if e, ok := err.(*Error); ok {
		ve = e
	}
	if ve == nil {
		return ""
	}
	return ve.Kind
}

func journalFiles(t testing.TB, dir string) []string {
	t.Helper()
	epochs, _, err := journalEpochs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range epochs {
		out = append(out, filepath.Join(dir, journalName(e)))
	}
	return out
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

var _ = slices.Sort[[]int]
