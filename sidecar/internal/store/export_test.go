package store

import "testing"

// For the storetest scenarios run from package store_test (conformance_test.go).

func IndexSize(s *Store, sandbox []byte) int { return indexSize(s, sandbox) }

func CheckIndexExact(t testing.TB, s *Store, sandbox []byte) { checkIndexExact(t, s, sandbox) }
