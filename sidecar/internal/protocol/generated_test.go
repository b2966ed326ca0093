package protocol

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesAreFresh fails when a file generated from scripts/protocol-table.js
// (stdio_protocol.gen.go here, xerr's codes.gen.go, the TypeScript client's
// stdio-protocol.gen.ts) differs from what the table gives: the table was edited without
// running "node scripts/generate-protocol.js" (the build runs it), or a generated file was.
func TestGeneratedFilesAreFresh(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the generator cannot run")
	}
	root := filepath.Join("..", "..", "..")
	script := filepath.Join(root, "scripts", "generate-protocol.js")
	// Read the inputs and outputs here too: go test caches a result only against the files
	// the test itself opened, not those of the process it runs.
	for _, f := range []string{"scripts/generate-protocol.js", "scripts/protocol-table.js", "scripts/protocol-layout.js",
		"scripts/protocol-emit-go.js", "scripts/protocol-emit-ts.js", "src/sidecar/stdio-protocol.gen.ts",
		"sidecar/internal/protocol/stdio_protocol.gen.go", "sidecar/internal/xerr/codes.gen.go"} {
		if _, err := os.ReadFile(filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(node, script, "--check").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
