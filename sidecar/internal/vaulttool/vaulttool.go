// Package vaulttool is the sidecar binary's "vault" mode, behind `npx nestjs-xems vault verify`
// and `vault rekey`: `xems-sidecar vault verify|rekey` reads one JSON request on stdin (secrets
// included, never in argv or the environment) and writes one JSON result on stdout.
package vaulttool

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/crypto"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/store"
	"github.com/nestjs-xems/nestjs-xems/sidecar/internal/vault"
)

// Request is the JSON read on stdin. Secrets and identities are base64 (standard alphabet).
type Request struct {
	Path      string  `json:"path"`
	Secret    string  `json:"secret"`
	MachineID *string `json:"machineId"` // absent: the vault is not bound
	// rekey only: absent fields keep the current secret / binding.
	NewSecret    *string `json:"newSecret"`
	NewMachineID *string `json:"newMachineId"`
	NewUnbound   bool    `json:"newUnbound"`
}

// SandboxCount is one sandbox's live records.
type SandboxCount struct {
	KV       int `json:"kv"`
	Sessions int `json:"sessions"`
}

// Result is the JSON written on stdout.
type Result struct {
	OK              bool                    `json:"ok"`
	Kind            string                  `json:"kind,omitempty"`
	Message         string                  `json:"message,omitempty"`
	Path            string                  `json:"path,omitempty"`
	Bound           bool                    `json:"bound"`
	Epoch           uint64                  `json:"epoch,omitempty"`
	Sandboxes       map[string]SandboxCount `json:"sandboxes,omitempty"`
	Records         int                     `json:"records"`
	SnapshotRecords int                     `json:"snapshotRecords"`
	Journals        int                     `json:"journals"`
	JournalEntries  int                     `json:"journalEntries"`
	Expired         int                     `json:"expired"`
	TornBytes       int64                   `json:"tornBytes"`
	Bytes           int64                   `json:"bytes"`
	Ms              int64                   `json:"ms"`
}

// Main runs `vault <verify|rekey>` and returns the exit code: 0 done, 1 refused (the result
// says why), 2 usage.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	if len(args) != 1 || (args[0] != "verify" && args[0] != "rekey") {
		fmt.Fprintln(errOut, "usage: xems-sidecar vault verify|rekey (a JSON request on stdin; use `npx nestjs-xems vault ...`)")
		return 2
	}
	var req Request
	dec := json.NewDecoder(io.LimitReader(in, 1<<16))
	dec.DisallowUnknownFields()
	res := Result{}
	if err := dec.Decode(&req); err != nil {
		res = Result{Kind: "usage", Message: "the request on stdin is not valid JSON of known fields"}
	} else if args[0] == "verify" {
		res = verify(&req)
	} else {
		res = rekey(&req)
	}
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	if res.OK {
		return 0
	}
	return 1
}

func decode(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64", field)
	}
	return b, nil
}

func options(req *Request, readOnly bool) (vault.Options, error) {
	o := vault.Options{Dir: req.Path, ReadOnly: readOnly, Fsync: vault.FsyncAlways,
		Logger: slog.New(slog.DiscardHandler)}
	if req.Path == "" {
		return o, fmt.Errorf("path is required")
	}
	var err error
	if o.Secret, err = decode("secret", req.Secret); err != nil {
		return o, err
	}
	if req.MachineID != nil {
		id, err := decode("machineId", *req.MachineID)
		if err != nil {
			return o, err
		}
		o.Binding = vault.Binding{Bound: true, Identity: id}
	}
	return o, nil
}

func failure(err error) Result {
	if ve, ok := err.(*vault.Error); ok {
		return Result{Kind: string(ve.Kind), Message: ve.Msg}
	}
	return Result{Kind: "usage", Message: err.Error()}
}

// load opens the vault and loads every record into a store (which checks each one's structure
// and skips expired ones), so the counts are those a sidecar would serve.
func load(o vault.Options) (*vault.Vault, *store.Store, vault.LoadStats, error) {
	v, err := vault.Open(o)
	if err != nil {
		return nil, nil, vault.LoadStats{}, err
	}
	master, err := crypto.NewMaster(v.DataKey())
	if err != nil {
		v.Close()
		return nil, nil, vault.LoadStats{}, err
	}
	st := store.New(store.Options{Master: master})
	ls, err := v.Load(st)
	if err != nil {
		v.Close()
		st.Close()
		return nil, nil, ls, err
	}
	return v, st, ls, nil
}

func summary(v *vault.Vault, st *store.Store, ls vault.LoadStats, start time.Time) Result {
	res := Result{OK: true, Path: v.Dir(), Bound: v.Bound(), Epoch: ls.Epoch, Sandboxes: map[string]SandboxCount{},
		SnapshotRecords: ls.SnapshotRecords, Journals: ls.Journals, JournalEntries: ls.JournalEntries,
		Expired: ls.Expired, TornBytes: ls.TornBytes, Bytes: ls.Bytes, Ms: time.Since(start).Milliseconds()}
	for name, s := range st.Stats().Sandboxes {
		if s.KV+s.Sessions == 0 {
			continue
		}
		res.Sandboxes[name] = SandboxCount{KV: s.KV, Sessions: s.Sessions}
		res.Records += s.KV + s.Sessions
	}
	return res
}

func verify(req *Request) Result {
	start := time.Now()
	o, err := options(req, true)
	if err != nil {
		return failure(err)
	}
	v, st, ls, err := load(o)
	if err != nil {
		return failure(err)
	}
	defer st.Close()
	defer v.Close()
	return summary(v, st, ls, start)
}

func rekey(req *Request) Result {
	start := time.Now()
	o, err := options(req, false)
	if err != nil {
		return failure(err)
	}
	newSecret := o.Secret
	if req.NewSecret != nil {
		if newSecret, err = decode("newSecret", *req.NewSecret); err != nil {
			return failure(err)
		}
	}
	nb := o.Binding
	switch {
	case req.NewUnbound:
		nb = vault.Binding{}
	case req.NewMachineID != nil:
		id, err := decode("newMachineId", *req.NewMachineID)
		if err != nil {
			return failure(err)
		}
		nb = vault.Binding{Bound: true, Identity: id}
	}
	v, st, ls, err := load(o)
	if err != nil {
		return failure(err)
	}
	defer st.Close()
	if err := v.Rekey(newSecret, nb, st); err != nil {
		v.Close()
		return failure(err)
	}
	res := summary(v, st, ls, start)
	if err := v.Close(); err != nil {
		return failure(err)
	}
	return res
}
