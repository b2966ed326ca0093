package vault

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzVault is a small real vault (a snapshot with records and a journal) whose files seed the
// fuzzer, and whose keys decode what the fuzzer makes of them.
type fuzzVault struct {
	snapshot, journal []byte
	kr                *keyring
}

func makeFuzzVault(f *testing.F) fuzzVault {
	dir := f.TempDir()
	v, m, _ := start(f, dir)
	m.put(f, v, "sessions", 2, 1, "a session record")
	m.put(f, v, "otp", 1, 2, "a value")
	if err := v.Compact(m); err != nil {
		f.Fatal(err)
	}
	m.put(f, v, "sessions", 2, 3, "in the journal")
	m.del(f, v, "otp", 1, 2)
	if err := v.Clear("otp"); err != nil {
		f.Fatal(err)
	}
	v.Close()
	var fv fuzzVault
	fv.snapshot, _ = os.ReadFile(filepath.Join(dir, snapshotName))
	fv.journal, _ = os.ReadFile(journalFiles(f, dir)[0])
	h, err := decodeHeader(fv.snapshot)
	if err != nil {
		f.Fatal(err)
	}
	if fv.kr, err = deriveKeys(testSecret, h.salt[:], machineA); err != nil {
		f.Fatal(err)
	}
	return fv
}

// FuzzVaultDecoder feeds arbitrary bytes to every decoder of the vault: a whole snapshot file, a
// whole journal file (with and without torn tails allowed), and the plaintext parsers behind
// the authentication (journal entries, records blocks, the data-key block), which random
// ciphertext would never reach. None may panic; every refusal is a *vault.Error.
func FuzzVaultDecoder(f *testing.F) {
	fv := makeFuzzVault(f)
	f.Add(uint8(0), fv.snapshot)
	f.Add(uint8(1), fv.journal)
	f.Add(uint8(2), fv.journal[:len(fv.journal)-5])
	f.Add(uint8(3), appendEntry(nil, OpPut, "s", 2, &[16]byte{1}, []byte("blob")))
	f.Add(uint8(3), appendEntry(nil, OpClear, "s", 0, &[16]byte{}, nil))
	rec := []byte{blockRecords, 1, 's', 2}
	rec = append(rec, make([]byte, 16)...)
	rec = binary.LittleEndian.AppendUint32(rec, 3)
	rec = append(rec, "abc"...)
	f.Add(uint8(4), rec)
	f.Add(uint8(5), append([]byte{blockMeta, 32}, make([]byte, 48)...))
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		m := newModel()
		var st LoadStats
		var err error
		switch mode % 6 {
		case 0:
			rd := bufio.NewReader(bytes.NewReader(data))
			var h snapshotHead
			h, err = readSnapshotHead(rd, int64(len(data)), func(hd *header) (*keyring, error) {
				kr, err := deriveKeys(testSecret, hd.salt[:], machineA)
				if err != nil || !bytes.Equal(kr.secretCheck[:], hd.secretCheck[:]) {
					return nil, newErr(WrongSecret, nil, "wrong secret")
				}
				return kr, nil
			})
			if err == nil {
				err = readSnapshotBody(h.br, m, &st)
			}
		case 1, 2:
			_, _, err = readJournal(fv.kr, bufio.NewReader(bytes.NewReader(data)), int64(len(data)), 2, mode%6 == 2, m, &st)
		case 3:
			var e Entry
			if decodeEntry(data, &e) {
				err = applyEntry(m, &e, &st)
			}
		case 4:
			if len(data) > 0 && data[0] == blockRecords {
				_, err = restoreRecords(data, m, &st)
			}
		case 5:
			_, err = decodeMeta(data)
		}
		var ve *Error
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("mode %d: a refusal that is not a *vault.Error: %v", mode%6, err)
		}
	})
}
