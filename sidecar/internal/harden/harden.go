// Package harden applies process-level protections for a process that holds key material.
package harden

// Apply hardens the current process as far as the OS allows and returns what it could not do
// (for a log line); it never fails the start.
func Apply() []string { return apply() }
