package store

import (
	"bytes"
	"reflect"
	"testing"
	"unsafe"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/session"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/storetest"
)

type fakeClock = storetest.FakeClock

// noDL is the deadline of the tests' calls: none.
const noDL = session.NoDeadline

func newTestStore(t testing.TB) (*Store, *fakeClock) {
	t.Helper()
	m, err := crypto.NewMaster(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newFakeClock()
	return New(Options{Master: m, Clock: c}), c
}

var (
	sbA = []byte("sessions")
	sbB = []byte("other")
)

var errCode = storetest.ErrCode

func mustCreate(t testing.TB, s *Store, sb []byte, data string, ttl, idle uint64, user string) session.CreateResult {
	t.Helper()
	return storetest.MustCreate(t, s, sb, data, ttl, idle, user)
}

func resolve(t testing.TB, s *Store, sb []byte, token []byte, rotate bool, grace uint64) session.ResolveResult {
	t.Helper()
	return storetest.Resolve(t, s, sb, token, rotate, grace)
}

// indexSize counts the entries of a sandbox's per-user index.
func indexSize(s *Store, name []byte) int {
	sb, _ := s.sandboxFor(name, false)
	if sb == nil {
		return 0
	}
	n := 0
	for i := range sb.users {
		sb.users[i].mu.Lock()
		for _, l := range sb.users[i].m {
			n += len(l)
		}
		sb.users[i].mu.Unlock()
	}
	return n
}

// dumpMemory walks every value reachable from v (pointers, slices up to their capacity, maps,
// arrays, strings, interfaces) and concatenates the raw bytes it finds: a stand-in for a
// memory dump of the store's structures.
func dumpMemory(v any) []byte {
	var out []byte
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Slice:
			if v.IsNil() {
				return
			}
			if v.Type().Elem().Kind() == reflect.Uint8 {
				out = append(out, unsafe.Slice((*byte)(v.UnsafePointer()), v.Cap())...)
				return
			}
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Array:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				for i := 0; i < v.Len(); i++ {
					out = append(out, byte(v.Index(i).Uint()))
				}
				return
			}
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Key())
				walk(it.Value())
			}
		case reflect.String:
			out = append(out, v.String()...)
		}
	}
	walk(reflect.ValueOf(v))
	return out
}

func containsAny(hay []byte, needles ...[]byte) []byte {
	for _, n := range needles {
		if bytes.Contains(hay, n) {
			return n
		}
	}
	return nil
}

func newFakeClock() *fakeClock { return storetest.NewFakeClock(1_700_000_000_000) }
