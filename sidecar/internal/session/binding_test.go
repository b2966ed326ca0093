package session

import (
	"bytes"
	"testing"
)

func TestBindAddressNormalisation(t *testing.T) {
	same := func(a, b string, subnet bool) bool {
		return bytes.Equal(BindAddress([]byte(a), subnet), BindAddress([]byte(b), subnet))
	}
	cases := []struct {
		a, b   string
		subnet bool
		want   bool
	}{
		{"10.1.2.3", "10.1.2.3", false, true},
		{"10.1.2.3", "10.1.2.4", false, false},
		{"10.1.2.3", "10.1.2.200", true, true},
		{"10.1.2.3", "10.1.3.3", true, false},
		{"::ffff:10.1.2.3", "10.1.2.3", false, true}, // IPv4-mapped IPv6 is the IPv4 address
		{"::ffff:10.1.2.3", "10.1.2.9", true, true},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::7", true, true}, // same /64
		{"2001:db8:1:2::1", "2001:db8:1:3::1", true, false},
		{"2001:db8:1:2::1", "2001:db8:1:2::2", false, false},
		{"fe80::1%eth0", "fe80::1", false, true}, // zones do not count
		{"not an ip", "not an ip", false, true},
		{"", "", true, true},
		{"", "0.0.0.0", false, false},
		{"10.1.2.0", "10.1.2.0", false, true},
	}
	for _, c := range cases {
		if got := same(c.a, c.b, c.subnet); got != c.want {
			t.Errorf("%q vs %q (subnet %v): same = %v", c.a, c.b, c.subnet, got)
		}
	}
	// An exact hash input never equals a subnet one, even for an address that is its own prefix.
	if bytes.Equal(BindAddress([]byte("10.1.2.0"), false), BindAddress([]byte("10.1.2.0"), true)) {
		t.Fatal("exact and subnet forms collide")
	}
}
