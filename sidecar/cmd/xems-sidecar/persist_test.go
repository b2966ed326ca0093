package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/protocol"
	. "github.com/nestjs-xems/nestjs-xems/sidecar/internal/wiretest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

var (
	vaultSecret = []byte("Vx9#kQ2!mZ7@pL4$wR8^tY1&uI5*oP3(")
	machineID   = []byte("3d1219c7c4c5404aaa1f6d2a48adfda4")
)

// spawnPersist starts the binary and sends CONFIGURE with persistence; it returns the child
// and the CONFIGURE reply.
func spawnPersist(t *testing.T, dir, fsync string, secrets ...[]byte) (*child, Reply) {
	t.Helper()
	ch := spawn(t, false)
	cfg := fmt.Sprintf(`{"persistence":{"path":%q,"fsync":%q}}`, dir, fsync)
	r, err := ch.c.Call(1, protocol.OpConfigure, Configure(1, protocol.Version, cfg, secrets...)...)
	if err != nil {
		t.Fatalf("CONFIGURE: %v", err)
	}
	return ch, r
}

func persistSecrets() [][]byte {
	return [][]byte{[]byte("vaultSecret"), vaultSecret, []byte("machineId"), machineID}
}

func mustPersist(t *testing.T, dir, fsync string) *child {
	t.Helper()
	ch, r := spawnPersist(t, dir, fsync, persistSecrets()...)
	if r.Status != protocol.StatusOK {
		code, msg := r.Err()
		t.Fatalf("CONFIGURE with persistence: %d %s\n%s", code, msg, ch.logs())
	}
	return ch
}

func kvSet(t *testing.T, ch *child, id uint32, key string) {
	t.Helper()
	r, err := ch.c.Call(id, protocol.OpKVSet, Str("sb"), BytesS(key), BytesS("value-"+key), U64(600_000))
	if err != nil || r.Status != protocol.StatusOK {
		t.Fatalf("KV_SET %s: %+v %v", key, r, err)
	}
}

func kvFound(t *testing.T, ch *child, id uint32, key string) bool {
	t.Helper()
	r, err := ch.c.Call(id, protocol.OpKVGet, Str("sb"), BytesS(key))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status == protocol.StatusOK && !bytes.Contains(r.Body, []byte("value-"+key)) {
		t.Fatalf("KV_GET %s: wrong value", key)
	}
	return r.Status == protocol.StatusOK
}

// TestSIGKILLDurabilityPerFsyncMode: acknowledged writes, then SIGKILL (no shutdown, no flush),
// then a new sidecar on the same vault. Every mode writes an entry to the file before it
// acknowledges it, so a killed process loses nothing; the modes differ only when the machine
// itself stops (power loss), which a test cannot cause: "always" is on the disk at the ack,
// "everysec" within a second, "no" when the OS writes back.
func TestSIGKILLDurabilityPerFsyncMode(t *testing.T) {
	const n = 300
	for _, mode := range []string{"always", "everysec", "no"} {
		t.Run(mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vault")
			ch := mustPersist(t, dir, mode)
			for i := 0; i < n; i++ {
				kvSet(t, ch, uint32(10+i), fmt.Sprintf("k%d", i))
			}
			ch.cmd.Process.Signal(syscall.SIGKILL)
			ch.wait(3 * time.Second)
			ch2 := mustPersist(t, dir, mode)
			survived := 0
			for i := 0; i < n; i++ {
				if kvFound(t, ch2, uint32(10+i), fmt.Sprintf("k%d", i)) {
					survived++
				}
			}
			t.Logf("fsync %s: %d of %d acknowledged writes survived SIGKILL", mode, survived, n)
			if survived != n {
				t.Fatalf("fsync %s: %d of %d acknowledged writes survived SIGKILL", mode, survived, n)
			}
		})
	}
}

func fileHashes(t *testing.T, dir string) string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, e := range entries { // xems.lock included: a refused start must not rewrite it
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s %x\n", e.Name(), sha256.Sum256(data))
	}
	return b.String()
}

func TestPersistenceRefusals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	first := mustPersist(t, dir, "everysec")
	kvSet(t, first, 2, "k")

	// A second sidecar on the same vault, while the first runs.
	second, r := spawnPersist(t, dir, "everysec", persistSecrets()...)
	if code, msg := r.Err(); r.Status != protocol.StatusError || code != uint16(xerr.VaultLocked) || !strings.Contains(msg, "in use by another process") {
		t.Fatalf("second sidecar: %d %q", code, msg)
	}
	// A refused CONFIGURE leaves the sidecar unconfigured, and it still answers.
	if r, _ := second.c.Call(3, protocol.OpPing); r.Status != protocol.StatusError {
		t.Fatal("an unconfigured sidecar must refuse PING")
	}
	first.c.Call(9, protocol.OpShutdown)
	first.wait(3 * time.Second)
	before := fileHashes(t, dir)

	cases := []struct {
		name    string
		secrets [][]byte
		code    xerr.Code
		text    string
	}{
		{"wrong secret", [][]byte{[]byte("vaultSecret"), bytes.Repeat([]byte("q"), 32), []byte("machineId"), machineID}, xerr.VaultWrongSecret, "another secret"},
		{"other machine", [][]byte{[]byte("vaultSecret"), vaultSecret, []byte("machineId"), []byte("another-machine")}, xerr.VaultWrongMachine, "another machine identity"},
		{"binding dropped", [][]byte{[]byte("vaultSecret"), vaultSecret}, xerr.VaultWrongMachine, "hardwareBinding is false now"},
		{"31-byte secret", [][]byte{[]byte("vaultSecret"), vaultSecret[:31]}, xerr.BadRequest, "exactly 32 bytes (got 31)"},
		{"33-byte secret", [][]byte{[]byte("vaultSecret"), append(bytes.Clone(vaultSecret), 'x')}, xerr.BadRequest, "exactly 32 bytes (got 33)"},
		{"no secret", nil, xerr.BadRequest, "needs the secret vaultSecret"},
		{"with a masterKey", append(persistSecrets(), []byte("masterKey"), masterKey), xerr.BadRequest, "masterKey cannot be combined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, r := spawnPersist(t, dir, "everysec", tc.secrets...)
			code, msg := r.Err()
			if r.Status != protocol.StatusError || code != uint16(tc.code) || !strings.Contains(msg, tc.text) {
				t.Fatalf("got %d %q, want %v mentioning %q", code, msg, tc.code, tc.text)
			}
			if strings.Contains(ch.logs(), string(vaultSecret)) || strings.Contains(msg, string(machineID)) {
				t.Fatal("a secret or the machine id was echoed")
			}
			if fileHashes(t, dir) != before {
				t.Fatal("a refused start modified the vault")
			}
		})
	}
	// Corruption: one flipped byte in the journal.
	journal := filepath.Join(dir, "xems.journal.0000000000000001")
	data, _ := os.ReadFile(journal)
	data[len(data)-20] ^= 1
	os.WriteFile(journal, data, 0o600)
	corrupted := fileHashes(t, dir)
	_, r = spawnPersist(t, dir, "everysec", persistSecrets()...)
	if code, msg := r.Err(); code != uint16(xerr.VaultCorrupt) || !strings.Contains(msg, "failed authentication") {
		t.Fatalf("corrupted journal: %d %q", code, msg)
	}
	if fileHashes(t, dir) != corrupted {
		t.Fatal("a corrupted vault was modified")
	}
	// A path that is a file.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o600)
	_, r = spawnPersist(t, file, "everysec", persistSecrets()...)
	if code, msg := r.Err(); code != uint16(xerr.VaultIO) || !strings.Contains(msg, "not a directory") {
		t.Fatalf("path is a file: %d %q", code, msg)
	}
	// Bad fsync value.
	ch := spawn(t, false)
	r, _ = ch.c.Call(1, protocol.OpConfigure, Configure(1, protocol.Version, fmt.Sprintf(`{"persistence":{"path":%q,"fsync":"sometimes"}}`, dir), persistSecrets()...)...)
	if code, msg := r.Err(); code != uint16(xerr.BadRequest) || !strings.Contains(msg, "persistence.fsync") {
		t.Fatalf("bad fsync: %d %q", code, msg)
	}
}

func TestEffectiveConfigReportsTheVault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	ch, r := spawnPersist(t, dir, "always", persistSecrets()...)
	var eff struct {
		MasterKey   string `json:"masterKey"`
		Persistence struct {
			Path    string `json:"path"`
			Fsync   string `json:"fsync"`
			Bound   bool   `json:"bound"`
			Created bool   `json:"created"`
		} `json:"persistence"`
	}
	if err := json.Unmarshal(r.D().Str("eff"), &eff); err != nil {
		t.Fatal(err)
	}
	if eff.MasterKey != "vault" || eff.Persistence.Path != dir || eff.Persistence.Fsync != "always" || !eff.Persistence.Bound || !eff.Persistence.Created {
		t.Fatalf("effective config %+v", eff)
	}
	// stderr is read by another goroutine than the reply: give the line a moment to arrive.
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(ch.logs(), `"msg":"vault loaded"`); {
		if time.Now().After(deadline) {
			t.Fatal("no vault loaded log line")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func vaultTool(t *testing.T, cmd string, req map[string]any) (map[string]any, int) {
	t.Helper()
	in, _ := json.Marshal(req)
	c := exec.Command(binary(t), "vault", cmd)
	c.Stdin = bytes.NewReader(in)
	out, err := c.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("vault %s output %q: %v", cmd, out, err)
	}
	return res, code
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestVaultToolVerifyAndRekey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	ch := mustPersist(t, dir, "everysec")
	for i := 0; i < 5; i++ {
		kvSet(t, ch, uint32(2+i), fmt.Sprintf("k%d", i))
	}
	r, _ := ch.c.Call(20, protocol.OpSCreate, Str("sessions"), BytesS("{}"), U64(600_000), U64(0), Str("alice"), BytesS(""))
	if r.Status != protocol.StatusOK {
		t.Fatal("S_CREATE")
	}
	// verify refuses a vault in use.
	res, code := vaultTool(t, "verify", map[string]any{"path": dir, "secret": b64(vaultSecret), "machineId": b64(machineID)})
	if code != 1 || res["kind"] != "locked" {
		t.Fatalf("verify of a running vault: %v", res)
	}
	ch.c.Call(30, protocol.OpShutdown)
	ch.wait(3 * time.Second)
	before := fileHashes(t, dir)
	res, code = vaultTool(t, "verify", map[string]any{"path": dir, "secret": b64(vaultSecret), "machineId": b64(machineID)})
	sb, _ := res["sandboxes"].(map[string]any)
	if code != 0 || res["records"] != 6.0 || sb["sb"].(map[string]any)["kv"] != 5.0 || sb["sessions"].(map[string]any)["sessions"] != 1.0 {
		t.Fatalf("verify: %d %v", code, res)
	}
	if fileHashes(t, dir) != before {
		t.Fatal("verify modified the vault")
	}
	res, code = vaultTool(t, "verify", map[string]any{"path": dir, "secret": b64(bytes.Repeat([]byte("z"), 32)), "machineId": b64(machineID)})
	if code != 1 || res["kind"] != "wrong-secret" {
		t.Fatalf("verify with a wrong secret: %v", res)
	}
	newSecret := []byte("N3w!s3cr3t#f0r$th3%v4ult^r0t4t3&")
	res, code = vaultTool(t, "rekey", map[string]any{"path": dir, "secret": b64(vaultSecret), "machineId": b64(machineID),
		"newSecret": b64(newSecret), "newUnbound": true})
	if code != 0 || res["records"] != 6.0 || res["bound"] != false {
		t.Fatalf("rekey: %v", res)
	}
	if _, r := spawnPersist(t, dir, "everysec", persistSecrets()...); r.Status != protocol.StatusError {
		t.Fatal("the old secret still opens the rekeyed vault")
	}
	ch, r = spawnPersist(t, dir, "everysec", []byte("vaultSecret"), newSecret)
	if r.Status != protocol.StatusOK {
		code, msg := r.Err()
		t.Fatalf("new secret, unbound: %d %s", code, msg)
	}
	if !kvFound(t, ch, 2, "k3") {
		t.Fatal("a record was lost by rekey")
	}
}
