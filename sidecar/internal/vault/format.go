package vault

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

// On-disk format, version 1 (docs/vault-format.md is the reference; keep both in step).

const formatVersion = 1

var (
	snapshotMagic = [8]byte{'X', 'E', 'M', 'S', 0, 'V', 'L', 'T'}
	journalMagic  = [8]byte{'X', 'E', 'M', 'S', 0, 'J', 'N', 'L'}
)

const (
	saltSize = 32

	// Snapshot header: magic 8 | version u16 | flags u16 | salt 32 | secretCheck 16 |
	// keyCheck 16 | epoch u64 | crc32c u32 (of the 84 bytes before it).
	snapshotHeaderSize = 8 + 2 + 2 + saltSize + checkSize + checkSize + 8 + 4
	headerFlagBound    = 1

	// Journal header: magic 8 | version u16 | flags u16 | epoch u64 | mac 16 (HMAC-SHA256 under
	// the journal MAC key of the 20 bytes before it, truncated).
	journalHeaderSize = 8 + 2 + 2 + 8 + 16

	// Block framing: u32 n | u32 crc32c(n) | sealed[n], sealed = nonce 12 | ciphertext | tag 16.
	frameSize = 8
	nonceSize = 12
	tagSize   = 16
	minSealed = nonceSize + 1 + tagSize
	// maxSealed bounds one block: a session record holds data and meta of up to maxValueSize
	// (at most 64 MiB each) plus headers.
	maxSealed = 256 << 20

	fileSnapshot byte = 'S'
	fileJournal  byte = 'J'
)

// Snapshot block types (first plaintext byte).
const (
	blockMeta    byte = 'M'
	blockRecords byte = 'R'
	blockEnd     byte = 'E'
)

// Journal entry ops (first plaintext byte).
const (
	OpPut   byte = 'P'
	OpDel   byte = 'D'
	OpClear byte = 'C'
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func lenCheck(n uint32) uint32 {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], n)
	return crc32.Checksum(b[:], crcTable)
}

// header is the snapshot header.
type header struct {
	version     uint16
	flags       uint16
	salt        [saltSize]byte
	secretCheck [checkSize]byte
	keyCheck    [checkSize]byte
	epoch       uint64
}

func (h *header) encode() []byte {
	b := make([]byte, 0, snapshotHeaderSize)
	b = append(b, snapshotMagic[:]...)
	b = binary.LittleEndian.AppendUint16(b, h.version)
	b = binary.LittleEndian.AppendUint16(b, h.flags)
	b = append(b, h.salt[:]...)
	b = append(b, h.secretCheck[:]...)
	b = append(b, h.keyCheck[:]...)
	b = binary.LittleEndian.AppendUint64(b, h.epoch)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func decodeHeader(b []byte) (header, error) {
	var h header
	if len(b) < snapshotHeaderSize {
		return h, corrupt("the snapshot is %d bytes, shorter than its %d-byte header", len(b), snapshotHeaderSize)
	}
	b = b[:snapshotHeaderSize]
	if !bytes.Equal(b[:8], snapshotMagic[:]) {
		return h, corrupt("the snapshot does not start with the xems vault magic bytes (not a vault, or damaged)")
	}
	if crc32.Checksum(b[:snapshotHeaderSize-4], crcTable) != binary.LittleEndian.Uint32(b[snapshotHeaderSize-4:]) {
		return h, corrupt("the snapshot header checksum does not match (damaged header)")
	}
	h.version = binary.LittleEndian.Uint16(b[8:])
	if h.version != formatVersion {
		return h, corrupt("the snapshot has format version %d; this sidecar reads version %d (use the nestjs-xems version that wrote it)", h.version, formatVersion)
	}
	h.flags = binary.LittleEndian.Uint16(b[10:])
	if h.flags&^headerFlagBound != 0 {
		return h, corrupt("the snapshot header has unknown flags 0x%04x", h.flags)
	}
	off := 12
	off += copy(h.salt[:], b[off:])
	off += copy(h.secretCheck[:], b[off:])
	off += copy(h.keyCheck[:], b[off:])
	h.epoch = binary.LittleEndian.Uint64(b[off:])
	return h, nil
}

func encodeJournalHeader(kr *keyring, epoch uint64) []byte {
	b := make([]byte, 0, journalHeaderSize)
	b = append(b, journalMagic[:]...)
	b = binary.LittleEndian.AppendUint16(b, formatVersion)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint64(b, epoch)
	return append(b, mac(kr.journalMAC, b)[:16]...)
}

func checkJournalHeader(kr *keyring, b []byte, epoch uint64) error {
	if len(b) < journalHeaderSize {
		return corrupt("journal %d is %d bytes, shorter than its %d-byte header", epoch, len(b), journalHeaderSize)
	}
	b = b[:journalHeaderSize]
	if !bytes.Equal(b[:8], journalMagic[:]) {
		return corrupt("journal %d does not start with the xems journal magic bytes", epoch)
	}
	if !hmac.Equal(mac(kr.journalMAC, b[:journalHeaderSize-16])[:16], b[journalHeaderSize-16:]) {
		return corrupt("journal %d: header authentication failed (damaged, or from another vault)", epoch)
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != formatVersion {
		return corrupt("journal %d has format version %d; this sidecar reads version %d", epoch, v, formatVersion)
	}
	if got := binary.LittleEndian.Uint64(b[12:]); got != epoch {
		return corrupt("journal file of epoch %d says it is epoch %d (renamed file?)", epoch, got)
	}
	return nil
}

// aad binds a block to its file kind, epoch, position and length; the snapshot's first block
// also binds the whole header.
func appendAAD(dst []byte, file byte, epoch, seq uint64, n uint32, hdr []byte) []byte {
	dst = append(dst, "xems/vault/v1"...)
	dst = append(dst, file)
	dst = binary.LittleEndian.AppendUint64(dst, epoch)
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	dst = binary.LittleEndian.AppendUint32(dst, n)
	return append(dst, hdr...)
}

// sealer seals blocks of one file.
type sealer struct {
	aead  cipher.AEAD
	file  byte
	epoch uint64
	aad   []byte
}

// appendBlock appends the framed, sealed block of plaintext pt with sequence number seq.
func (s *sealer) appendBlock(dst, pt []byte, seq uint64, hdr []byte) ([]byte, error) {
	n := uint32(nonceSize + len(pt) + tagSize)
	dst = binary.LittleEndian.AppendUint32(dst, n)
	dst = binary.LittleEndian.AppendUint32(dst, lenCheck(n))
	start := len(dst)
	dst = append(dst, make([]byte, nonceSize)...)
	if _, err := rand.Read(dst[start:]); err != nil {
		return nil, err
	}
	s.aad = appendAAD(s.aad[:0], s.file, s.epoch, seq, n, hdr)
	return s.aead.Seal(dst, dst[start:start+nonceSize], pt, s.aad), nil
}

// blockReader reads the framed blocks of one file in order and opens them.
type blockReader struct {
	r     *bufio.Reader
	aead  cipher.AEAD
	file  byte
	epoch uint64
	name  string // for messages: "the snapshot", "journal 3"
	seq   uint64
	off   int64 // offset of the next block
	size  int64 // file size
	buf   []byte
	pt    []byte
	aad   []byte
	// allowTorn: a short last block (a torn tail) ends the file instead of being corruption.
	allowTorn bool
	torn      int64 // bytes of a torn tail, once found
}

var errEnd = errors.New("end of file")

// next returns the plaintext of the next block (valid until the following call), errEnd at
// the end of the file (or at a torn tail when allowed), or a Corrupt error.
func (br *blockReader) next(hdr []byte) ([]byte, error) {
	rest := br.size - br.off
	if rest == 0 {
		return nil, errEnd
	}
	if rest < frameSize {
		return br.tornOrCorrupt(rest, "a partial block header")
	}
	var fr [frameSize]byte
	if _, err := io.ReadFull(br.r, fr[:]); err != nil {
		return nil, newErr(IO, err, "reading %s failed", br.name)
	}
	n := binary.LittleEndian.Uint32(fr[:])
	if lenCheck(n) != binary.LittleEndian.Uint32(fr[4:]) {
		if zeros, err := br.restIsZero(fr[:], rest); err != nil {
			return nil, err
		} else if zeros {
			return br.tornOrCorrupt(rest, "zero bytes")
		}
		return nil, corrupt("%s: the length of block %d at byte %d is damaged", br.name, br.seq, br.off)
	}
	if n < minSealed || n > maxSealed {
		return nil, corrupt("%s: block %d at byte %d has an impossible length %d", br.name, br.seq, br.off, n)
	}
	if int64(n) > rest-frameSize {
		return br.tornOrCorrupt(rest, "a partial block")
	}
	if cap(br.buf) < int(n) {
		br.buf = make([]byte, n)
	}
	sealed := br.buf[:n]
	if _, err := io.ReadFull(br.r, sealed); err != nil {
		return nil, newErr(IO, err, "reading %s failed", br.name)
	}
	br.aad = appendAAD(br.aad[:0], br.file, br.epoch, br.seq, n, hdr)
	pt, err := br.aead.Open(br.pt[:0], sealed[:nonceSize], sealed[nonceSize:], br.aad)
	if err != nil {
		return nil, corrupt("%s: block %d at byte %d failed authentication (damaged or tampered)", br.name, br.seq, br.off)
	}
	br.pt = pt
	br.seq++
	br.off += frameSize + int64(n)
	return pt, nil
}

// tornOrCorrupt handles a last block that ends early: a torn tail of the journal being written
// when the process died, or, where no tail may be torn, corruption.
func (br *blockReader) tornOrCorrupt(rest int64, what string) ([]byte, error) {
	if !br.allowTorn {
		return nil, corrupt("%s ends with %s (%d bytes at byte %d)", br.name, what, rest, br.off)
	}
	br.torn = rest
	return nil, errEnd
}

// restIsZero reports whether the rest of the file (whose first bytes are already read into
// first) is all zero bytes: space a file system allocated but the crash left unwritten.
func (br *blockReader) restIsZero(first []byte, rest int64) (bool, error) {
	for _, c := range first {
		if c != 0 {
			return false, nil
		}
	}
	var chunk [4096]byte
	for left := rest - int64(len(first)); left > 0; {
		n := int(min(left, int64(len(chunk))))
		if _, err := io.ReadFull(br.r, chunk[:n]); err != nil {
			return false, newErr(IO, err, "reading %s failed", br.name)
		}
		for _, c := range chunk[:n] {
			if c != 0 {
				return false, nil
			}
		}
		left -= int64(n)
	}
	return true, nil
}

// Plaintext field readers: every length is checked; a short or inconsistent plaintext is a
// Corrupt error (it authenticated, so only a bug or a future format can produce one).
type fields struct {
	b   []byte
	bad bool
}

func (f *fields) u8() byte {
	if len(f.b) < 1 {
		f.bad = true
		return 0
	}
	v := f.b[0]
	f.b = f.b[1:]
	return v
}

func (f *fields) u32() uint32 {
	if len(f.b) < 4 {
		f.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint32(f.b)
	f.b = f.b[4:]
	return v
}

func (f *fields) u64() uint64 {
	if len(f.b) < 8 {
		f.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint64(f.b)
	f.b = f.b[8:]
	return v
}

func (f *fields) take(n int) []byte {
	if n < 0 || len(f.b) < n {
		f.bad = true
		return nil
	}
	v := f.b[:n:n]
	f.b = f.b[n:]
	return v
}

// Entry is one decoded journal entry or snapshot record.
type Entry struct {
	Op      byte // OpPut, OpDel, OpClear
	Sandbox []byte
	Kind    uint8
	Key     [16]byte
	Blob    []byte // OpPut only; aliases the block buffer
}

// appendEntry encodes a journal entry: op u8 | kind u8 | u8 len(sandbox) | sandbox | key 16 | blob.
func appendEntry(dst []byte, op byte, sandbox string, kind uint8, key *[16]byte, blob []byte) []byte {
	dst = append(dst, op, kind, byte(len(sandbox)))
	dst = append(dst, sandbox...)
	dst = append(dst, key[:]...)
	return append(dst, blob...)
}

func decodeEntry(pt []byte, e *Entry) bool {
	f := fields{b: pt}
	e.Op = f.u8()
	e.Kind = f.u8()
	e.Sandbox = f.take(int(f.u8()))
	copy(e.Key[:], f.take(16))
	e.Blob = f.b
	if f.bad || len(e.Sandbox) == 0 {
		return false
	}
	switch e.Op {
	case OpPut:
		return e.Kind != 0
	case OpDel:
		return e.Kind != 0 && len(e.Blob) == 0
	case OpClear:
		return e.Kind == 0 && e.Key == [16]byte{} && len(e.Blob) == 0
	}
	return false
}
