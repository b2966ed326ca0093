package redisstore

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"
)

// TestFreshConnSkipsPeekOnlyRightAfterARead: the health check's peek runs on a connection
// that has not read yet and on one idle for freshFor, and is skipped right after a read.
func TestFreshConnSkipsPeekOnlyRightAfterARead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		cn, err := ln.Accept()
		if err == nil {
			_, _ = cn.Write([]byte("+OK\r\n"))
			defer cn.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	dial := freshDialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	})
	cn, err := dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	fc, ok := cn.(*freshConn)
	if !ok {
		t.Fatalf("a TCP connection is not wrapped: %T", cn)
	}
	peeked := func() bool {
		raw, err := fc.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		called := false
		if err := raw.Read(func(uintptr) bool { called = true; return true }); err != nil {
			t.Fatal(err)
		}
		return called
	}
	if !peeked() {
		t.Fatal("no peek on a connection that never read")
	}
	buf := make([]byte, 16)
	if n, err := fc.Read(buf); err != nil || n == 0 {
		t.Fatalf("read: %d %v", n, err)
	}
	if peeked() {
		t.Fatal("peek right after a read")
	}
	time.Sleep(freshFor + 20*time.Millisecond)
	if !peeked() {
		t.Fatalf("no peek after %v idle", freshFor)
	}
}

// TestStaleConnectionStillChecked: a pooled connection the server closed while it was idle
// (CLIENT KILL) is found by go-redis's check and replaced: the next command succeeds.
func TestStaleConnectionStillChecked(t *testing.T) {
	rdb, _, err := connect(ConnConfig{URL: standaloneURL(t), PoolSize: 1, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	id, err := rdb.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := connect(ConnConfig{URL: standaloneURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(freshFor + 50*time.Millisecond)
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("the killed connection was used: %v", err)
	}
	if id2, err := rdb.ClientID(ctx).Result(); err != nil || id2 == id {
		t.Fatalf("still connection %d (%d, %v)", id, id2, err)
	}
}
