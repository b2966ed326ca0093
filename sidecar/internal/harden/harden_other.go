//go:build !unix

package harden

func apply() []string {
	return []string{"no process hardening on this OS: same-user processes may be able to read memory"}
}
