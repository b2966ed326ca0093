package session

import (
	"bytes"
	"testing"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/dbsc/dbsctest"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"
)

func code(err error) xerr.Code {
	if xe, ok := err.(*xerr.Error); ok {
		return xe.Code
	}
	return 0
}

// The device rule on a State, step by step: the deadline moves only with a verified proof, and
// resolve refuses a bound session at its deadline without changing anything.
func TestDeviceRule(t *testing.T) {
	dev := dbsctest.New()
	var st State
	if st.Bound() || st.deviceOverdue(1<<40) {
		t.Fatal("a fresh state is bound")
	}
	steps := []struct {
		name string
		run  func() error
		want xerr.Code
	}{
		{"lifetime too short", func() error { return st.Register("x", 1, 999, 0) }, xerr.BadRequest},
		{"lifetime too long", func() error { return st.Register("x", 1, MaxDeviceLifetimeMs+1, 0) }, xerr.BadRequest},
		{"refresh before registration", func() error { return st.Refresh("x", 5000, 0) }, xerr.DeviceNotBound},
		{"registration without a challenge", func() error { return st.Register(string(dev.Registration("AAAAAAAAAAAAAAAAAAAAAA")), 1, 5000, 0) }, xerr.DeviceProofRefused},
		{"registration", func() error { return st.Register(string(dev.Registration(st.IssueChallenge(1000))), 1, 5000, 1000) }, 0},
		{"second registration", func() error { return st.Register(string(dev.Registration(st.IssueChallenge(1000))), 1, 5000, 1000) }, xerr.DeviceAlreadyBound},
		{"refresh with a used challenge", func() error { return st.Refresh(string(dev.Refresh("x")), 5000, 2000) }, xerr.DeviceProofRefused},
	}
	for _, s := range steps {
		if got := code(s.run()); got != s.want {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
	if !st.Bound() || st.Device.Deadline != 6000 || st.ReplyFlags()&SessionFlagDeviceBound == 0 {
		t.Fatalf("after registration: %+v", st.Device)
	}
	if st.deviceOverdue(5999) || !st.deviceOverdue(6000) {
		t.Fatal("the deadline is not exactly registration + lifetime")
	}
	c := st.IssueChallenge(7000)
	if err := st.Refresh(string(dev.Refresh(c)), 5000, 7000); err != nil || st.Device.Deadline != 12000 {
		t.Fatalf("refresh: %v, deadline %d", err, st.Device.Deadline)
	}
}

func TestDeviceEncoding(t *testing.T) {
	var st State
	st.IssueChallenge(5)
	st.IssueChallenge(6)
	st.Device.Key, st.Device.Deadline = []byte{1, 2, 3}, 99
	b := AppendDevice(nil, st.Device)
	if len(b) != DeviceSize(st.Device) {
		t.Fatal("DeviceSize")
	}
	d, ok := DecodeDevice(b)
	if !ok || !bytes.Equal(d.Key, st.Device.Key) || d.Deadline != 99 || d.Challenges != st.Device.Challenges {
		t.Fatalf("round trip: %+v", d)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(bytes.Clone(b), 0), append([]byte{2}, b[1:]...)} {
		if _, ok := DecodeDevice(bad); ok {
			t.Fatalf("decoded %x", bad)
		}
	}
}

// FuzzDecodeDevice: any bytes decode or are refused, and what decodes encodes back the same.
func FuzzDecodeDevice(f *testing.F) {
	f.Add(AppendDevice(nil, &Device{Key: []byte{1}, Deadline: 7}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, ok := DecodeDevice(b)
		if ok && !bytes.Equal(AppendDevice(nil, d), b) {
			t.Fatal("re-encoding differs")
		}
	})
}
