package protocol

import "sync"

// Buffer pools for frames: a request payload or reply frame is taken from a pool and given
// back once written or handled, so the steady state allocates nothing per request (less work
// for the collector, which matters at the low GC percent the sidecar runs with).
// The pools hold pointers to arrays, so putting a buffer back allocates nothing.
var (
	pool512 = sync.Pool{New: func() any { return new([512]byte) }}
	pool4K  = sync.Pool{New: func() any { return new([4 << 10]byte) }}
	pool64K = sync.Pool{New: func() any { return new([64 << 10]byte) }}
)

// GetBuf returns an empty buffer with capacity at least n.
func GetBuf(n int) []byte {
	switch {
	case n <= 512:
		return pool512.Get().(*[512]byte)[:0]
	case n <= 4<<10:
		return pool4K.Get().(*[4 << 10]byte)[:0]
	case n <= 64<<10:
		return pool64K.Get().(*[64 << 10]byte)[:0]
	}
	return make([]byte, 0, n)
}

// PutBuf gives a buffer back. The caller must not use it afterwards. Buffers not from GetBuf
// (their capacity is not a class size) are left to the collector.
func PutBuf(b []byte) {
	switch cap(b) {
	case 512:
		pool512.Put((*[512]byte)(b[:512]))
	case 4 << 10:
		pool4K.Put((*[4 << 10]byte)(b[:4<<10]))
	case 64 << 10:
		pool64K.Put((*[64 << 10]byte)(b[:64<<10]))
	}
}
