// Package logging sets up the sidecar's only log output: one JSON object per line on stderr.
// Callers never pass tokens, key names, values, user ids or secrets as attributes.
package logging

import (
	"fmt"
	"io"
	"log/slog"
)

// New returns a JSON logger writing to w at the level held by level.
func New(w io.Writer, level *slog.LevelVar) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// ParseLevel maps the CONFIGURE logLevel names to slog levels.
func ParseLevel(name string) (slog.Level, error) {
	switch name {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logLevel must be one of debug, info, warn, error")
}

// LevelName is the CONFIGURE name of a level.
func LevelName(l slog.Level) string {
	switch {
	case l <= slog.LevelDebug:
		return "debug"
	case l <= slog.LevelInfo:
		return "info"
	case l <= slog.LevelWarn:
		return "warn"
	}
	return "error"
}
