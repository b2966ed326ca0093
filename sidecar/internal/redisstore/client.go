package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// DefaultKeyPrefix is the default prefix of every key the store writes.
const DefaultKeyPrefix = "xems:"

// keyPrefixPattern: no braces (they would move every key into one Cluster hash slot) and no
// glob characters (the prefix is used in SCAN patterns).
var keyPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{0,64}$`)

// ValidKeyPrefix reports whether p may be used as a key prefix.
func ValidKeyPrefix(p string) bool { return keyPrefixPattern.MatchString(p) }

// ConnConfig says how to reach Redis: one URL (a standalone server, or a primary behind a
// proxy) or the seed URLs of a Redis Cluster.
type ConnConfig struct {
	URL     string   // redis://[user:password@]host:port[/db] or rediss:// (TLS)
	Cluster []string // redis:// or rediss:// URLs of some cluster nodes (no database number)
	// Timeout bounds each store operation (all the Redis round trips it takes) and each
	// connection attempt. Default 1 s.
	Timeout time.Duration
	// PoolSize is the number of connections per node. Default 64.
	PoolSize int
}

// client is the part of go-redis the store uses; a *redis.Client or a *redis.ClusterClient.
type client interface {
	redis.UniversalClient
}

// connect builds the go-redis client. It does not contact Redis: connections are made on
// demand (and remade after failures) by go-redis itself. Errors never echo a URL (it may hold a
// password).
func connect(c ConnConfig) (client, bool, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	pool := c.PoolSize
	if pool <= 0 {
		pool = 64
	}
	noMaint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	switch {
	case c.URL != "" && len(c.Cluster) > 0:
		return nil, false, errors.New("give either url or cluster, not both")
	case c.URL != "":
		o, err := parseURL(c.URL, "url", true)
		if err != nil {
			return nil, false, err
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout = timeout, timeout, timeout
		o.PoolTimeout = timeout
		o.ContextTimeoutEnabled = true
		o.MaxRetries = -1 // a retried write could apply twice: the caller decides (see breaker.go)
		o.DialerRetries = 1
		o.PoolSize = pool
		o.DisableIdentity = true
		o.MaintNotificationsConfig = noMaint
		o.Protocol = 2 // RESP2: no push-notification peek before each reply (nothing here subscribes)
		o.Dialer = freshDialer(redis.NewDialer(o))
		return redis.NewClient(o), false, nil
	case len(c.Cluster) > 0:
		var first *redis.Options
		addrs := make([]string, 0, len(c.Cluster))
		for i, u := range c.Cluster {
			o, err := parseURL(u, "cluster["+strconv.Itoa(i)+"]", false)
			if err != nil {
				return nil, false, err
			}
			if first == nil {
				first = o
			} else if o.Username != first.Username || o.Password != first.Password || (o.TLSConfig == nil) != (first.TLSConfig == nil) {
				return nil, false, errors.New("every cluster URL must use the same scheme, user and password")
			}
			addrs = append(addrs, o.Addr)
		}
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: addrs, Username: first.Username, Password: first.Password, TLSConfig: first.TLSConfig,
			DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, PoolTimeout: timeout,
			ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1, PoolSize: pool,
			DisableIdentity: true, FailingTimeoutSeconds: 1, MaintNotificationsConfig: noMaint, Protocol: 2,
			Dialer: freshDialer(redis.NewDialer(&redis.Options{DialTimeout: timeout, TLSConfig: first.TLSConfig})),
		}), true, nil
	}
	return nil, false, errors.New("give url (one server) or cluster (seed node URLs)")
}

// parseURL parses a redis:// or rediss:// URL without ever putting it in an error message.
func parseURL(raw, field string, dbAllowed bool) (*redis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errors.New(field + " must be a redis://host:port or rediss://host:port URL")
	}
	if !dbAllowed && strings.Trim(u.Path, "/") != "" && strings.Trim(u.Path, "/") != "0" {
		return nil, errors.New(field + ": a Redis Cluster has only database 0")
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, errors.New(field + " is not a valid Redis URL (redis://[user:password@]host:port[/db])")
	}
	return o, nil
}

// Endpoints returns the host:port of each configured server, for log lines (no credentials).
func (c ConnConfig) Endpoints() []string {
	urls := c.Cluster
	if c.URL != "" {
		urls = []string{c.URL}
	}
	var out []string
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil {
			out = append(out, u.Host)
		}
	}
	return out
}

// masters returns a client per master node, in a stable order (by address), for the
// operations that visit every node (SCAN, CLEAR). A standalone client is its own master.
func (s *Store) masters(ctx context.Context) ([]*redis.Client, error) {
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return []*redis.Client{s.rdb.(*redis.Client)}, nil
	}
	var mu sync.Mutex
	var out []*redis.Client
	err := cc.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		out = append(out, c)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Options().Addr < out[j].Options().Addr })
	return out, nil
}

// clientLog routes go-redis's own log lines (dial failures while Redis is down) to the
// sidecar's JSON log at debug level: stderr carries JSON lines only, and the breaker already
// reports outages through the requests' errors.
type clientLog struct{ log *slog.Logger }

func (l clientLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug("redis client", "detail", fmt.Sprintf(format, v...))
}

var setClientLog sync.Once
