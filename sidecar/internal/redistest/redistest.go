// Package redistest starts real redis-server processes for tests (standalone servers and a
// three-master cluster) on free 127.0.0.1 ports, without persistence unless asked. It is
// imported only by tests. test/support/redis-servers.ts does the same for the TypeScript tests.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process started by a test.
type Server struct {
	port int
	dir  string
	args []string
	Cmd  *exec.Cmd
	done chan struct{}
}

// URL is redis://127.0.0.1:<port>.
func (r *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d", r.port) }

// Addr is 127.0.0.1:<port>.
func (r *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Binary is the path of redis-server.
func Binary() (string, error) {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server not found: install it (apt-get install redis-server) or set XEMS_TEST_REDIS_URL")
	}
	return p, nil
}

// Start starts a redis-server on a free port; extra are more config arguments.
func Start(extra ...string) (*Server, error) {
	bin, err := Binary()
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
		r := &Server{port: port, dir: dir, args: append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no", "--loglevel", "warning"}, extra...)}
		if err := r.run(bin); err == nil {
			return r, nil
		}
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("could not start redis-server")
}

func (r *Server) run(bin string) error {
	cmd := exec.Command(bin, r.args...)
	cmd.SysProcAttr = dieWithParent()
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return err
	}
	r.Cmd, r.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
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
	r.Kill()
	return fmt.Errorf("redis-server did not answer PING")
}

// Kill stops the server at once (SIGKILL): what it had not written to disk is lost.
func (r *Server) Kill() {
	if r.Cmd != nil && r.Cmd.Process != nil {
		r.Cmd.Process.Kill()
		<-r.done
	}
}

// Restart starts the server again on the same port and directory.
func (r *Server) Restart() error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	return r.run(bin)
}

// Stop kills the server and removes its directory.
func (r *Server) Stop() {
	r.Kill()
	os.RemoveAll(r.dir)
}

// StartCluster starts three masters and joins them into a cluster with redis-cli.
func StartCluster() ([]*Server, error) {
	var nodes []*Server
	fail := func(err error) ([]*Server, error) {
		for _, n := range nodes {
			n.Stop()
		}
		return nil, err
	}
	for i := 0; i < 3; i++ {
		// nodes.conf is relative to the server's own --dir.
		n, err := Start("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		if err != nil {
			return fail(err)
		}
		nodes = append(nodes, n)
	}
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("redis-cli --cluster create: %v: %s", err, out))
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr()})
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
