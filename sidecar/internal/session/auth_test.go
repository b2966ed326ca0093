package session

import "testing"

// TestAuthRecord: the encoding round-trips, a short one is refused, CheckAuth accepts none or a
// positive time, and SetAuth sets the flag only for a record.
func TestAuthRecord(t *testing.T) {
	for _, a := range []Auth{{At: 1, Methods: 0}, {At: 1_700_000_000_000, Methods: 1<<21 | 1}, {At: 1<<62 + 5, Methods: ^uint32(0)}} {
		b := AppendAuth(nil, a)
		if len(b) != AuthSize {
			t.Fatalf("%+v encodes to %d bytes", a, len(b))
		}
		got, ok := DecodeAuth(b)
		if !ok || got != a {
			t.Fatalf("decoded %+v %v, want %+v", got, ok, a)
		}
		if _, ok := DecodeAuth(b[:AuthSize-1]); ok {
			t.Fatal("a short record decoded")
		}
	}
	for _, c := range []struct {
		a  *Auth
		ok bool
	}{{nil, true}, {&Auth{At: 1}, true}, {&Auth{At: 0}, false}, {&Auth{At: -5, Methods: 1}, false}} {
		if err := CheckAuth(c.a); (err == nil) != c.ok {
			t.Fatalf("CheckAuth(%+v) = %v", c.a, err)
		}
	}
	var st State
	st.SetAuth(nil)
	if st.Flags&FlagAuth != 0 {
		t.Fatal("SetAuth(nil) set the flag")
	}
	st.SetAuth(&Auth{At: 9, Methods: 2})
	if st.Flags&FlagAuth == 0 || st.Auth != (Auth{At: 9, Methods: 2}) {
		t.Fatalf("SetAuth: %+v", st)
	}
	if FlagAuth&(FlagUser|FlagBindIP|FlagBindUA|FlagBindSubnet|FlagRemember|2) != 0 {
		t.Fatal("FlagAuth collides with another flag bit")
	}
}
