package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

// These benchmarks back the "why binary" section of docs/protocol.md: the same S_RESOLVE
// request decoded, and its reply encoded, in the binary layout and as JSON.

var (
	benchToken = strings.Repeat("A", 70)
	benchData  = []byte(`{"userId":"u-123456","roles":["admin","editor"],"cart":[1,2,3],"csrf":"` + strings.Repeat("x", 150) + `"}`)
)

type jsonResolveReq struct {
	ID          uint32 `json:"id"`
	Op          string `json:"op"`
	Sandbox     string `json:"sandbox"`
	Token       string `json:"token"`
	Rotate      bool   `json:"rotate"`
	GraceMs     uint64 `json:"graceMs"`
	MinRotateMs uint64 `json:"minRotateIntervalMs"`
}

type jsonResolveReply struct {
	ID        uint32          `json:"id"`
	Status    string          `json:"status"`
	Token     string          `json:"token"`
	Rotated   bool            `json:"rotated"`
	ExpiresAt int64           `json:"expiresAt"`
	SessionID string          `json:"sessionId"`
	Data      json.RawMessage `json:"data"`
}

func binaryResolveReq() []byte {
	return req(7, OpSResolve, str("sessions"), str(benchToken), u8(1), u64(2000), u64(0))
}

func BenchmarkResolveRequestBinary(b *testing.B) {
	p := binaryResolveReq()
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := DecodeRequest(p, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveRequestJSON(b *testing.B) {
	p, _ := json.Marshal(jsonResolveReq{ID: 7, Op: "S_RESOLVE", Sandbox: "sessions", Token: benchToken, Rotate: true, GraceMs: 2000})
	var r jsonResolveReq
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := json.Unmarshal(p, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveReplyBinary(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		x := BeginReply(buf[:0], 7, StatusOK)
		x = AppendStr(x, benchToken)
		x = AppendU8(x, 1)
		x = AppendI64(x, 1_700_000_000_000)
		x = AppendStr(x, "abcdefghijklmnopqrstuv")
		x = AppendBytes(x, benchData)
		FinishFrame(x, 0)
	}
	b.SetBytes(int64(len(FinishFrame(AppendBytes(AppendStr(AppendI64(AppendU8(AppendStr(BeginReply(nil, 7, StatusOK), benchToken), 1), 1), "abcdefghijklmnopqrstuv"), benchData), 0))))
}

func BenchmarkResolveReplyJSON(b *testing.B) {
	r := jsonResolveReply{ID: 7, Status: "OK", Token: benchToken, Rotated: true, ExpiresAt: 1_700_000_000_000, SessionID: "abcdefghijklmnopqrstuv", Data: benchData}
	out, _ := json.Marshal(r)
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := json.Marshal(r); err != nil {
			b.Fatal(err)
		}
	}
}
