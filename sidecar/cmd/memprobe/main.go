// Command memprobe measures the resident memory of a real xems-sidecar process holding N
// sessions, and of a redis-server holding N values of the same size, for docs/protocol.md.
//
//	go build -o /tmp/xems-sidecar ./cmd/xems-sidecar
//	go run ./cmd/memprobe -sidecar /tmp/xems-sidecar -n 1000000 -size 256 [-redis redis-server]
//
// The sidecar is driven over its real protocol (CONFIGURE, then pipelined S_CREATE), exactly as
// the NestJS module drives it. Redis gets SET key value PX ttl over RESP from a tiny client on
// 127.0.0.1 (random port, no persistence). Both figures are VmRSS from /proc/<pid>/status after
// loading, read on Linux.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func main() {
	sidecar := flag.String("sidecar", "", "path to the xems-sidecar binary to measure")
	redis := flag.String("redis", "", "path to redis-server to measure for comparison (optional)")
	n := flag.Int("n", 1_000_000, "number of sessions / values")
	size := flag.Int("size", 256, "bytes of session data / value")
	rotate := flag.Bool("rotate", true, "also resolve-with-rotate every session once and measure again")
	flag.Parse()
	if *sidecar == "" && *redis == "" {
		fmt.Fprintln(os.Stderr, "memprobe: give -sidecar and/or -redis")
		os.Exit(2)
	}
	if *sidecar != "" {
		if err := probeSidecar(*sidecar, *n, *size, *rotate); err != nil {
			fmt.Fprintln(os.Stderr, "memprobe: sidecar:", err)
			os.Exit(1)
		}
	}
	if *redis != "" {
		for _, px := range []bool{false, true} {
			if err := probeRedis(*redis, *n, *size, px); err != nil {
				fmt.Fprintln(os.Stderr, "memprobe: redis:", err)
				os.Exit(1)
			}
		}
	}
}

// rss returns VmRSS and VmHWM of a process in bytes.
func rss(pid int) (cur, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = v * 1024
		case "VmHWM:":
			peak = v * 1024
		}
	}
	return cur, peak
}

// cpuTime returns the user+system CPU time a process has used (Linux, /proc/<pid>/stat).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command name (which is in parentheses and may contain spaces).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// --- sidecar ---------------------------------------------------------------------------------

type conn struct {
	w *bufio.Writer
	r *bufio.Reader
}

func (c *conn) send(id uint32, op byte, fields ...[]byte) {
	n := 5
	for _, f := range fields {
		n += len(f)
	}
	var hdr [9]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(n))
	binary.LittleEndian.PutUint32(hdr[4:], id)
	hdr[8] = op
	c.w.Write(hdr[:])
	for _, f := range fields {
		c.w.Write(f)
	}
}

func (c *conn) read() (id uint32, status byte, body []byte, err error) {
	var hdr [4]byte
	if _, err = io.ReadFull(c.r, hdr[:]); err != nil {
		return
	}
	p := make([]byte, binary.LittleEndian.Uint32(hdr[:]))
	if _, err = io.ReadFull(c.r, p); err != nil {
		return
	}
	return binary.LittleEndian.Uint32(p), p[4], p[5:], nil
}

func str(s []byte) []byte { return append(binary.LittleEndian.AppendUint16(nil, uint16(len(s))), s...) }
func byts(b []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func probeSidecar(path string, n, size int, rotate bool) error {
	cmd := exec.Command(path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	defer stdin.Close()
	c := &conn{w: bufio.NewWriterSize(stdin, 1<<20), r: bufio.NewReaderSize(stdout, 1<<20)}
	if _, _, _, err := c.read(); err != nil { // HELLO
		return err
	}
	c.send(1, 0x01, binary.LittleEndian.AppendUint16(nil, 1), byts([]byte("{}")), binary.LittleEndian.AppendUint16(nil, 0))
	c.w.Flush()
	if _, st, _, err := c.read(); err != nil || st != 0 {
		return fmt.Errorf("CONFIGURE failed: %v", err)
	}
	base, _ := rss(cmd.Process.Pid)
	fmt.Printf("sidecar: RSS after start: %s\n", mb(base))

	data := bytes.Repeat([]byte("x"), size)
	sb := str([]byte("sessions"))
	tokens := make([][]byte, 0, n)
	begin := time.Now()
	cpu0 := cpuTime(cmd.Process.Pid)
	// Pipelined in windows, as a busy client would.
	const window = 2048
	sent, got := 0, 0
	for got < n {
		for sent < n && sent-got < window {
			c.send(uint32(sent+2), 0x20, sb, byts(data), u64(3_600_000), u64(0), str(nil), byts(nil))
			sent++
		}
		c.w.Flush()
		for got < sent {
			_, st, body, err := c.read()
			if err != nil || st != 0 {
				return fmt.Errorf("S_CREATE %d failed (status %d): %v", got, st, err)
			}
			if rotate {
				tokens = append(tokens, append([]byte(nil), body[2:72]...))
			}
			got++
			if sent < n && sent-got < window/2 {
				break
			}
		}
	}
	elapsed := time.Since(begin)
	cpu := cpuTime(cmd.Process.Pid) - cpu0
	time.Sleep(2 * time.Second) // let a GC cycle and the scavenger settle
	cur, peak := rss(cmd.Process.Pid)
	fmt.Printf("sidecar: %d sessions of %d bytes created in %v (%.0f/s over the pipe), sidecar CPU %.2f µs per S_CREATE\n",
		n, size, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(cpu.Microseconds())/float64(n))
	fmt.Printf("sidecar: RSS %s (peak %s), %.0f bytes per session\n", mb(cur), mb(peak), float64(cur-base)/float64(n))
	if rotate {
		begin = time.Now()
		cpu0 = cpuTime(cmd.Process.Pid)
		sent, got = 0, 0
		for got < n {
			for sent < n && sent-got < window {
				c.send(uint32(sent+2), 0x21, sb, str(tokens[sent]), []byte{1}, u64(2000), u64(0))
				sent++
			}
			c.w.Flush()
			for got < sent {
				_, st, _, err := c.read()
				if err != nil || st != 0 {
					return fmt.Errorf("S_RESOLVE %d failed (status %d): %v", got, st, err)
				}
				got++
				if sent < n && sent-got < window/2 {
					break
				}
			}
		}
		elapsed = time.Since(begin)
		cpu = cpuTime(cmd.Process.Pid) - cpu0
		time.Sleep(2 * time.Second)
		cur, peak = rss(cmd.Process.Pid)
		fmt.Printf("sidecar: %d S_RESOLVE with rotate in %v (%.0f/s over the pipe), sidecar CPU %.2f µs per call (frame I/O, decode, store, reply); RSS %s (peak %s)\n",
			n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(cpu.Microseconds())/float64(n), mb(cur), mb(peak))
	}
	c.send(uint32(n+10), 0x04)
	c.w.Flush()
	if _, _, body, err := c.read(); err == nil {
		var st map[string]any
		json.Unmarshal(body[4:], &st)
		fmt.Printf("sidecar: STATS sandboxes %v\n", st["sandboxes"])
	}
	return nil
}

// --- redis -----------------------------------------------------------------------------------

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func probeRedis(path string, n, size int, px bool) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes")
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var nc net.Conn
	for i := 0; i < 100; i++ {
		if nc, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	defer nc.Close()
	w := bufio.NewWriterSize(nc, 1<<20)
	r := bufio.NewReaderSize(nc, 1<<20)
	base, _ := rss(cmd.Process.Pid)
	value := bytes.Repeat([]byte("x"), size)
	id := make([]byte, 16)
	const window = 2048
	sent, got := 0, 0
	for got < n {
		for sent < n && sent-got < window {
			rand.Read(id)
			key := "sess:" + base64.RawURLEncoding.EncodeToString(id)
			if px {
				fmt.Fprintf(w, "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", len(key), key, len(value))
				w.Write(value)
				w.WriteString("\r\n$2\r\nPX\r\n$7\r\n3600000\r\n")
			} else {
				fmt.Fprintf(w, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", len(key), key, len(value))
				w.Write(value)
				w.WriteString("\r\n")
			}
			sent++
		}
		w.Flush()
		for got < sent {
			line, err := r.ReadString('\n')
			if err != nil || line != "+OK\r\n" {
				return fmt.Errorf("SET reply %q: %v", line, err)
			}
			got++
		}
	}
	time.Sleep(time.Second)
	cur, peak := rss(cmd.Process.Pid)
	fmt.Fprintf(w, "*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n")
	w.Flush()
	hdr, _ := r.ReadString('\n')
	blen, _ := strconv.Atoi(strings.TrimSpace(hdr[1:]))
	info := make([]byte, blen+2)
	io.ReadFull(r, info)
	used := ""
	for _, l := range strings.Split(string(info), "\r\n") {
		if strings.HasPrefix(l, "used_memory_rss:") || strings.HasPrefix(l, "used_memory:") {
			used += " " + l
		}
	}
	mode := "SET key value"
	if px {
		mode = "SET key value PX 3600000"
	}
	fmt.Printf("redis (%s): %d values of %d bytes: RSS %s (peak %s), %.0f bytes per value;%s\n",
		mode, n, size, mb(cur), mb(peak), float64(cur-base)/float64(n), used)
	return nil
}
