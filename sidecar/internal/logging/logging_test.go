package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestLevels(t *testing.T) {
	for _, name := range []string{"debug", "info", "warn", "error"} {
		l, err := ParseLevel(name)
		if err != nil || LevelName(l) != name {
			t.Fatalf("%s: %v %v", name, l, err)
		}
	}
	if _, err := ParseLevel("verbose"); err == nil {
		t.Fatal("unknown level accepted")
	}
}

func TestJSONLinesAtTheSetLevel(t *testing.T) {
	var buf bytes.Buffer
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	log := New(&buf, level)
	log.Info("hidden")
	log.Warn("shown", "n", 1)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m["msg"] != "shown" || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("%q", buf.String())
	}
}
