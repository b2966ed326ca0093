package redisstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestBreakerLogsOutageOnce: an outage writes one warning when the breaker opens (with its
// cause) and one line when Redis answers again, however many requests and probes fail between.
func TestBreakerLogsOutageOnce(t *testing.T) {
	var buf bytes.Buffer
	b := newBreaker(slog.New(slog.NewTextHandler(&buf, nil)))
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	down := fmt.Errorf("dial: %w", context.DeadlineExceeded)

	b.done(false, nil)
	for i := 0; i < tripAfter; i++ {
		b.done(false, down)
	}
	if !b.isOpen() {
		t.Fatal("not open after tripAfter failures")
	}
	for i := 0; i < 5; i++ { // failed probes keep it open without more lines
		now = now.Add(maxOpen)
		probe, err := b.allow()
		if !probe || err != nil {
			t.Fatalf("probe %d not allowed: %v", i, err)
		}
		b.done(true, down)
	}
	now = now.Add(maxOpen)
	probe, _ := b.allow()
	b.done(probe, nil)
	if b.isOpen() {
		t.Fatal("still open after a successful probe")
	}
	logs := buf.String()
	if n := strings.Count(logs, "Redis is not answering"); n != 1 {
		t.Fatalf("%d opening lines:\n%s", n, logs)
	}
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "cause=\"timed out\"") {
		t.Fatalf("opening line without level or cause:\n%s", logs)
	}
	if n := strings.Count(logs, "Redis answers again"); n != 1 || !strings.Contains(logs, "downMs=12000") {
		t.Fatalf("closing line missing or wrong (%d):\n%s", n, logs)
	}
}

// redisErr is an error reply of the server (go-redis's proto.RedisError).
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (redisErr) RedisError()     {}

// TestAvailabilityFailureNamesTheCause: a TLS server whose certificate is not trusted, and a
// server that refuses writes (maxmemory, a failed snapshot, an ACL), are outages (503, logged
// once) whose cause says what to fix, never an INTERNAL "bug in the sidecar" (a 500).
func TestAvailabilityFailureNamesTheCause(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"unknown authority", fmt.Errorf("dial: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), "TLS certificate not trusted: x509: certificate signed by unknown authority"},
		{"timeout", context.DeadlineExceeded, "timed out"},
		{"maxmemory", redisErr("OOM command not allowed when used memory > 'maxmemory'. script: 0, on @user_script:24."), "OOM: Redis reached its maxmemory"},
		{"failed snapshot", redisErr("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."), "MISCONF"},
		{"acl", redisErr("NOPERM User xems has no permissions to run the 'evalsha' command"), "NOPERM"},
		{"loading", redisErr("LOADING Redis is loading the dataset in memory"), "LOADING"},
	}
	for _, c := range cases {
		cause, down := availabilityFailure(c.err)
		if !down || !strings.HasPrefix(cause, c.want) {
			t.Errorf("%s: cause %q down %v, want prefix %q", c.name, cause, down, c.want)
		}
	}
	if cause, _ := availabilityFailure(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}); !strings.Contains(cause, "SSL_CERT_FILE") {
		t.Errorf("no hint in %q", cause)
	}
	if _, down := availabilityFailure(redisErr("ERR Error running script: attempt to compare nil")); down {
		t.Error("a script error is not an outage")
	}
}
