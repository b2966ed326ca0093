package redisstore

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Real redis-server processes for the tests, on free 127.0.0.1 ports, without persistence
// (unless a test asks for it). XEMS_TEST_REDIS_URL (redis://127.0.0.1:P) and
// XEMS_TEST_REDIS_CLUSTER (comma-separated redis:// URLs of cluster nodes) make the tests use
// servers started by CI instead; tests that restart a server always start their own.
// test/support/redis-servers.ts does the same for the TypeScript tests.

type redisServer struct {
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

func (r *redisServer) url() string  { return fmt.Sprintf("redis://127.0.0.1:%d", r.port) }
func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func redisBinary() (string, error) {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server not found: install it (apt-get install redis-server) or set XEMS_TEST_REDIS_URL")
	}
	return p, nil
}

// startRedis starts a redis-server on a free port; extra are more config arguments.
func startRedis(extra ...string) (*redisServer, error) {
	bin, err := redisBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "xems-redis-")
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		r := &redisServer{port: port, dir: dir, args: append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no", "--loglevel", "warning"}, extra...)}
		if err := r.run(bin); err == nil {
			return r, nil
		}
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("could not start redis-server")
}

func (r *redisServer) run(bin string) error {
	cmd := exec.Command(bin, r.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: r.addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("redis-server exited at start")
		default:
		}
		if c.Ping(context.Background()).Err() == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.kill()
	return fmt.Errorf("redis-server did not answer PING")
}

// kill stops the server at once (SIGKILL): what it had not written to disk is lost.
func (r *redisServer) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		<-r.done
	}
}

// restart starts the server again on the same port and directory.
func (r *redisServer) restart() error {
	bin, err := redisBinary()
	if err != nil {
		return err
	}
	return r.run(bin)
}

func (r *redisServer) stop() {
	r.kill()
	os.RemoveAll(r.dir)
}

// startCluster starts three masters and joins them into a cluster with redis-cli.
func startCluster() ([]*redisServer, error) {
	var nodes []*redisServer
	fail := func(err error) ([]*redisServer, error) {
		for _, n := range nodes {
			n.stop()
		}
		return nil, err
	}
	for i := 0; i < 3; i++ {
		// nodes.conf is relative to the server's own --dir.
		n, err := startRedis("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		if err != nil {
			return fail(err)
		}
		nodes = append(nodes, n)
	}
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("redis-cli --cluster create: %v: %s", err, out))
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.addr()})
		for {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				return fail(fmt.Errorf("cluster did not become ok"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return nodes, nil
}

// Shared servers: started on first use, stopped by TestMain.
var shared struct {
	once, clusterOnce sync.Once
	standalone        *redisServer
	cluster           []*redisServer
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
		shared.standalone, shared.err = startRedis()
		if shared.err == nil {
			shared.url = shared.standalone.url()
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
		shared.cluster, shared.clusterErr = startCluster()
		for _, n := range shared.cluster {
			shared.clusterURLs = append(shared.clusterURLs, n.url())
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
		shared.standalone.stop()
	}
	for _, n := range shared.cluster {
		n.stop()
	}
}
