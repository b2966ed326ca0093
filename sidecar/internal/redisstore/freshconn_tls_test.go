//go:build unix

package redisstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"syscall"
	"testing"
	"time"
)

// selfSigned is a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// healthy is go-redis's check (internal/pool/conn_check.go): a non-blocking MSG_PEEK on the
// socket of a connection that is a syscall.Conn; anything read, or the end of the stream,
// makes the connection unhealthy.
func healthy(t *testing.T, cn net.Conn) bool {
	t.Helper()
	sc, ok := cn.(syscall.Conn)
	if !ok {
		return true // not checked at all
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	ok = true
	if err := raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = n < 0 || (n == 0 && err != nil) // EAGAIN: nothing there
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestTLSConnClosedWhileIdleIsUnhealthy: a rediss:// connection the server closed (Redis's
// idle timeout, a proxy's) fails the health check once it is no longer fresh, so go-redis
// replaces it instead of writing the next command to it (a 503 before this check existed);
// an open one passes, and a fresh one is not peeked at.
func TestTLSConnClosedWhileIdleIsUnhealthy(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closeIt := make(chan struct{})
	go func() {
		cn, err := ln.Accept()
		if err != nil {
			return
		}
		b := make([]byte, 16)
		_, _ = cn.Read(b) // the handshake, then PING
		_, _ = cn.Write([]byte("+PONG\r\n"))
		<-closeIt
		cn.Close() // close_notify, then FIN
	}()
	dial := freshDialer((&tls.Dialer{Config: &tls.Config{RootCAs: pool}}).DialContext)
	cn, err := dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	if _, ok := cn.(*checkedTLSConn); !ok {
		t.Fatalf("a TLS connection is not wrapped: %T", cn)
	}
	if _, err := cn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	if n, err := cn.Read(b); err != nil || string(b[:n]) != "+PONG\r\n" {
		t.Fatalf("reply %q %v", b[:n], err)
	}
	close(closeIt)
	time.Sleep(50 * time.Millisecond)
	if !healthy(t, cn) {
		t.Fatal("a fresh connection was peeked at")
	}
	time.Sleep(freshFor)
	if healthy(t, cn) {
		t.Fatal("a connection the server closed passes the health check")
	}
}

// TestTLSConnOpenAndIdleIsHealthy: an idle TLS connection the server keeps open passes.
func TestTLSConnOpenAndIdleIsHealthy(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		cn, err := ln.Accept()
		if err != nil {
			return
		}
		defer cn.Close()
		b := make([]byte, 16)
		_, _ = cn.Read(b)
		_, _ = cn.Write([]byte("+PONG\r\n"))
		<-done
	}()
	cn, err := freshDialer((&tls.Dialer{Config: &tls.Config{RootCAs: pool}}).DialContext)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	if _, err := cn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	if _, err := cn.Read(b); err != nil {
		t.Fatal(err)
	}
	time.Sleep(freshFor + 50*time.Millisecond)
	if !healthy(t, cn) {
		t.Fatal("an open idle connection fails the health check")
	}
}
