package redisstore

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// go-redis checks every pooled connection each time it takes one from its pool: a
// non-blocking recvfrom(MSG_PEEK) that finds a connection the server closed (a restart, a
// CLIENT KILL, an idle timeout) before a command is written to it. Under load a connection goes
// back to the pool and out again within microseconds, and that system call was about 6 % of the
// sidecar's CPU per request on Redis (pprof under HTTP load, bench/FINDINGS.md). A reply read
// on the connection a moment ago already proves the server had not closed it then, so the
// dialer below wraps each plain TCP connection to skip the check for freshFor after its last
// read. A connection closed within that moment costs the one command written to it an error
// (UNAVAILABLE), exactly as a close between the check and the write does today.
const freshFor = 100 * time.Millisecond

// epoch is the origin of the monotonic read times kept by freshConn.
var epoch = time.Now()

// freshConn is a TCP connection that remembers when it last read data.
type freshConn struct {
	*net.TCPConn
	lastRead atomic.Int64 // time.Since(epoch) at the last read that returned data
}

func (c *freshConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	if n > 0 {
		c.lastRead.Store(int64(time.Since(epoch)))
	}
	return n, err
}

// SyscallConn is what go-redis's health check uses; see freshRawConn.
func (c *freshConn) SyscallConn() (syscall.RawConn, error) {
	raw, err := c.TCPConn.SyscallConn()
	if err != nil {
		return nil, err
	}
	return freshRawConn{RawConn: raw, c: c}, nil
}

// fresh reports whether the connection read a reply within freshFor.
func (c *freshConn) fresh() bool {
	last := c.lastRead.Load()
	return last != 0 && time.Duration(int64(time.Since(epoch))-last) < freshFor
}

// freshRawConn skips the health check's peek on a fresh connection: Read without calling f
// leaves the check's result at "healthy", as a peek that finds no data would.
type freshRawConn struct {
	syscall.RawConn
	c *freshConn
}

func (r freshRawConn) Read(f func(fd uintptr) bool) error {
	if r.c.fresh() {
		return nil
	}
	return r.RawConn.Read(f)
}

// checkedTLSConn is a TLS connection that go-redis's health check can see. go-redis checks
// only connections that are a syscall.Conn, which *tls.Conn is not: without this, a rediss://
// connection the server closed while idle (Redis's `timeout`, a proxy's or load balancer's
// idle timeout) was handed to the next command, whose request got a 503 (found by a user
// audit). The check peeks at the TCP socket under the TLS layer: Redis sends nothing
// unrequested on these connections, so a byte there is its close_notify and an empty read its
// FIN, and either way go-redis replaces the connection (with RESP2, as connect sets, go-redis
// never tries to read such a byte as a push notification, the hang its own comment warns
// of). As for plain TCP, a connection that read a reply within freshFor skips the peek.
type checkedTLSConn struct {
	*tls.Conn
	tcp      syscall.Conn
	lastRead atomic.Int64 // time.Since(epoch) at the last read that returned data
}

func (c *checkedTLSConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.lastRead.Store(int64(time.Since(epoch)))
	}
	return n, err
}

// SyscallConn is what go-redis's health check uses: the TCP socket's, skipped while fresh.
func (c *checkedTLSConn) SyscallConn() (syscall.RawConn, error) {
	raw, err := c.tcp.SyscallConn()
	if err != nil {
		return nil, err
	}
	return freshTLSRawConn{RawConn: raw, c: c}, nil
}

type freshTLSRawConn struct {
	syscall.RawConn
	c *checkedTLSConn
}

func (r freshTLSRawConn) Read(f func(fd uintptr) bool) error {
	last := r.c.lastRead.Load()
	if last != 0 && time.Duration(int64(time.Since(epoch))-last) < freshFor {
		return nil
	}
	return r.RawConn.Read(f)
}

// freshDialer wraps the plain TCP connections base dials in freshConn, and the TLS ones in
// checkedTLSConn.
func freshDialer(base func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		cn, err := base(ctx, network, addr)
		if err != nil {
			return cn, err
		}
		switch c := cn.(type) {
		case *net.TCPConn:
			return &freshConn{TCPConn: c}, nil
		case *tls.Conn:
			if tcp, ok := c.NetConn().(syscall.Conn); ok {
				return &checkedTLSConn{Conn: c, tcp: tcp}, nil
			}
		}
		return cn, nil
	}
}
