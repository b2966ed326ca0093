package server

import (
	"bufio"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
)

// BenchmarkServerResolveRotate measures the whole request path in process over OS pipes:
// frame read, decode, store resolve with rotation, reply encode, single writer. Requests are
// pipelined 512 at a time, as a busy client would send them.
func BenchmarkServerResolveRotate(b *testing.B) {
	inR, inW, _ := os.Pipe()
	outR, outW, _ := os.Pipe()
	srv := New(Options{In: inR, Out: outW, Logger: slog.New(slog.DiscardHandler), BuildVersion: "bench"})
	done := make(chan int)
	go func() { done <- srv.Run() }()
	c := NewClient(inW, outR)
	c.Read() // HELLO
	if r, _ := c.Call(1, protocol.OpConfigure, Configure(1, protocol.Version, "{}")...); r.Status != protocol.StatusOK {
		b.Fatal("configure failed")
	}
	const sessions = 100_352 // a multiple of the window
	tokens := make([]string, sessions)
	w := bufio.NewWriterSize(inW, 1<<20)
	const window = 512 // requests in flight: the client reads replies before writing more
	for i := 0; i < sessions; i += window {
		for j := i; j < i+window; j++ {
			w.Write(Frame(Payload(uint32(j+10), protocol.OpSCreate, Str("s"), Bytes(make([]byte, 256)), U64(3_600_000), U64(0), Str(""), BytesS(""))))
		}
		w.Flush()
		for j := 0; j < window; j++ {
			r, err := c.Read()
			if err != nil || r.Status != protocol.StatusOK {
				b.Fatal("create failed")
			}
			tokens[r.ID-10] = string(r.D().Str("token"))
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%window == 0 {
			for j := 0; j < window; j++ {
				k := (i + j) % sessions
				w.Write(Frame(Payload(uint32(k+10), protocol.OpSResolve, Str("s"), Str(tokens[k]), U8(1), U64(2000), U64(0))))
			}
			w.Flush()
			for j := 0; j < window; j++ {
				r, err := c.Read()
				if err != nil || r.Status != protocol.StatusOK {
					b.Fatal("resolve failed")
				}
				tokens[r.ID-10] = string(r.D().Str("token"))
			}
		}
		i++
	}
	inW.Close()
	go io.Copy(io.Discard, outR)
	<-done
}
