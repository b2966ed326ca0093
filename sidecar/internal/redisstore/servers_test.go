package redisstore

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/redistest"
)

// The tests' Redis servers (internal/redistest), started on first use and stopped by TestMain.
// XEMS_TEST_REDIS_URL (redis://127.0.0.1:P) and XEMS_TEST_REDIS_CLUSTER (comma-separated
// redis:// URLs of cluster nodes) make the tests use servers started by CI instead; tests that
// stop or restart a server always start their own.

// Shared servers: started on first use, stopped by TestMain.
var shared struct {
	once, clusterOnce sync.Once
	standalone        *redistest.Server
	cluster           []*redistest.Server
	url               string
	clusterURLs       []string
	err, clusterErr   error
}

func standaloneURL(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		if u := os.Getenv("XEMS_TEST_REDIS_URL"); u != "" {
			shared.url = u
			return
		}
		shared.standalone, shared.err = redistest.Start()
		if shared.err == nil {
			shared.url = shared.standalone.URL()
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.url
}

func clusterURLs(t testing.TB) []string {
	t.Helper()
	shared.clusterOnce.Do(func() {
		if u := os.Getenv("XEMS_TEST_REDIS_CLUSTER"); u != "" {
			shared.clusterURLs = strings.Split(u, ",")
			return
		}
		shared.cluster, shared.clusterErr = redistest.StartCluster()
		for _, n := range shared.cluster {
			shared.clusterURLs = append(shared.clusterURLs, n.URL())
		}
	})
	if shared.clusterErr != nil {
		t.Fatal(shared.clusterErr)
	}
	return shared.clusterURLs
}

// allNodeAddrs lists the host:port of every server the tests used, for the final scan.
func allNodeAddrs() []string {
	var out []string
	for _, u := range append([]string{shared.url}, shared.clusterURLs...) {
		if u == "" {
			continue
		}
		if o, err := redis.ParseURL(u); err == nil {
			out = append(out, o.Addr)
		}
	}
	return out
}

func stopShared() {
	if shared.standalone != nil {
		shared.standalone.Stop()
	}
	for _, n := range shared.cluster {
		n.Stop()
	}
}
