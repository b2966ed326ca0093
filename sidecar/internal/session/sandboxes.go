package session

import (
	"sync"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

// Sandboxes are a backend's sandboxes by name, each made once, with its keys derived from the
// master key the first time it is needed. T is the backend's own sandbox.
type Sandboxes[T any] struct {
	master *crypto.Master
	make   func(name string, keys *crypto.SandboxKeys) *T
	mu     sync.RWMutex
	m      map[string]*T
}

// NewSandboxes returns an empty set whose sandboxes make builds.
func NewSandboxes[T any](master *crypto.Master, make func(name string, keys *crypto.SandboxKeys) *T) *Sandboxes[T] {
	return &Sandboxes[T]{master: master, make: make, m: map[string]*T{}}
}

// Get returns the sandbox named name, making it when create is set: a read of a sandbox never
// written returns nil and makes nothing. A name that is not a valid sandbox name is
// INVALID_SANDBOX.
func (s *Sandboxes[T]) Get(name []byte, create bool) (*T, error) {
	if !ValidSandboxName(name) {
		return nil, ErrSandbox()
	}
	s.mu.RLock()
	sb := s.m[string(name)]
	s.mu.RUnlock()
	if sb != nil || !create {
		return sb, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb = s.m[string(name)]; sb != nil {
		return sb, nil
	}
	keys, err := s.master.Derive(string(name))
	if err != nil {
		return nil, xerr.New(xerr.Internal, "key derivation failed")
	}
	sb = s.make(string(name), keys)
	s.m[string(name)] = sb
	return sb, nil
}

// All returns every sandbox made so far.
func (s *Sandboxes[T]) All() []*T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*T, 0, len(s.m))
	for _, sb := range s.m {
		out = append(out, sb)
	}
	return out
}

// Locked runs fn while no sandbox can be made, with every sandbox made so far.
func (s *Sandboxes[T]) Locked(fn func(all map[string]*T)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.m)
}
