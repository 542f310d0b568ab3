package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/leakgate/leakgate/restore/ledger"
)

// EpochEndingManifest is an epoch-ending backup's manifest: the epochs
// FirstEpoch..LastEpoch (inclusive), one waypoint per epoch in String form
// ("<version>:<64 lowercase hex>"), and the chunk files holding the ledger
// infos.
//
//	m, err := manifest.ParseEpochEnding(data, handle)
//	for _, c := range m.Chunks { open(c.LedgerInfos) }
type EpochEndingManifest struct {
	FirstEpoch uint64             `json:"first_epoch"`
	LastEpoch  uint64             `json:"last_epoch"`
	Waypoints  []string           `json:"waypoints"`
	Chunks     []EpochEndingChunk `json:"chunks"`
}

// EpochEndingChunk is one chunk file of a manifest: the ledger infos of
// epochs FirstEpoch..LastEpoch (inclusive), in the file whose handle is
// LedgerInfos.
type EpochEndingChunk struct {
	FirstEpoch  uint64 `json:"first_epoch"`
	LastEpoch   uint64 `json:"last_epoch"`
	LedgerInfos string `json:"ledger_infos"` // a file handle, opaque
}

// Sentinel errors of Verify, one per check, for errors.Is. A failing
// waypoint matches ledger.ErrBadWaypoint instead.
var (
	ErrWaypointCount = errors.New("number of waypoints does not match epoch range")
	ErrNoChunks      = errors.New("no chunks")
	ErrNotContinuous = errors.New("chunk ranges not continuous")
	ErrChunkRange    = errors.New("chunk range invalid")
	ErrLastEpoch     = errors.New("last epoch in chunks does not match manifest")
)

// checkError is a Verify failure: its own message, matching one sentinel.
type checkError struct {
	check error
	msg   string
}

func (e *checkError) Error() string { return e.msg }
func (e *checkError) Unwrap() error { return e.check }

func failf(check error, format string, args ...any) error {
	return &checkError{check: check, msg: fmt.Sprintf(format, args...)}
}

// ParseEpochEnding decodes a manifest's JSON and verifies it. Decoding
// follows serde's defaults: unknown fields are ignored; a missing field, a
// value of the wrong type (null included), a duplicate field or data after
// the object is an error. Every error names the handle:
// `manifest b.1a2b/epoch_ending.manifest: chunks[1].ledger_infos: missing field`.
//
//	m, err := manifest.ParseEpochEnding(data, "b.1a2b/epoch_ending.manifest")
func ParseEpochEnding(data []byte, handle string) (*EpochEndingManifest, error) {
	m, err := decodeEpochEnding(data)
	if err == nil {
		err = m.Verify()
	}
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", handle, err)
	}
	return m, nil
}

func decodeEpochEnding(data []byte) (*EpochEndingManifest, error) {
	top, err := parseObject(data, "")
	if err != nil {
		return nil, err
	}
	var m EpochEndingManifest
	if m.FirstEpoch, err = top.u64("first_epoch"); err != nil {
		return nil, err
	}
	if m.LastEpoch, err = top.u64("last_epoch"); err != nil {
		return nil, err
	}
	wps, err := top.array("waypoints")
	if err != nil {
		return nil, err
	}
	m.Waypoints = make([]string, len(wps))
	for i, raw := range wps {
		el := fields{members: map[string]json.RawMessage{"": raw}, path: "waypoints[" + strconv.Itoa(i) + "]"}
		if m.Waypoints[i], err = el.str(""); err != nil {
			return nil, err
		}
	}
	chunks, err := top.array("chunks")
	if err != nil {
		return nil, err
	}
	m.Chunks = make([]EpochEndingChunk, len(chunks))
	for i, raw := range chunks {
		c, err := parseObject(raw, "chunks["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		ch := &m.Chunks[i]
		if ch.FirstEpoch, err = c.u64("first_epoch"); err != nil {
			return nil, err
		}
		if ch.LastEpoch, err = c.u64("last_epoch"); err != nil {
			return nil, err
		}
		if ch.LedgerInfos, err = c.handle("ledger_infos"); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// Verify checks the manifest the way backup-cli does, in this order, and
// returns the first failure: every waypoint parses (ledger.ParseWaypoint;
// backup-cli checks this while deserializing, so it comes first); the
// number of waypoints is LastEpoch − FirstEpoch + 1 (ErrWaypointCount, also
// when FirstEpoch > LastEpoch); there is at least one chunk (ErrNoChunks);
// chunk ranges are continuous from FirstEpoch (ErrNotContinuous); each
// chunk's range is valid, first ≤ last (ErrChunkRange); the last chunk ends
// at LastEpoch (ErrLastEpoch). Chunk indexes in messages are 0-based:
//
//	err := m.Verify() // "number of waypoints (9) does not match epoch range 0..9 (10 epochs)"
func (m *EpochEndingManifest) Verify() error {
	if _, err := m.ParsedWaypoints(); err != nil {
		return err
	}

	first, last, n := m.FirstEpoch, m.LastEpoch, len(m.Waypoints)
	if first > last {
		return failf(ErrWaypointCount, "number of waypoints (%d) does not match epoch range %d..%d (first epoch after last)", n, first, last)
	}
	if n == 0 || uint64(n-1) != last-first {
		return failf(ErrWaypointCount, "number of waypoints (%d) does not match epoch range %d..%d (%s epochs)", n, first, last, epochCount(first, last))
	}

	if len(m.Chunks) == 0 {
		return failf(ErrNoChunks, "no chunks")
	}
	next, ended := first, false // ended: a chunk reached math.MaxUint64, so no epoch can follow
	for i, c := range m.Chunks {
		switch {
		case ended:
			return failf(ErrNotContinuous, "chunks[%d] (epochs %d..%d): chunk ranges not continuous: expected no chunk after epoch %d",
				i, c.FirstEpoch, c.LastEpoch, uint64(math.MaxUint64))
		case c.FirstEpoch != next:
			return failf(ErrNotContinuous, "chunks[%d] (epochs %d..%d): chunk ranges not continuous: expected first epoch %d, got %d",
				i, c.FirstEpoch, c.LastEpoch, next, c.FirstEpoch)
		case c.LastEpoch < c.FirstEpoch:
			return failf(ErrChunkRange, "chunks[%d]: chunk range invalid: %d..%d (first epoch after last)", i, c.FirstEpoch, c.LastEpoch)
		}
		if c.LastEpoch == math.MaxUint64 {
			ended = true
		} else {
			next = c.LastEpoch + 1
		}
	}

	if lastChunk := m.Chunks[len(m.Chunks)-1].LastEpoch; lastChunk != last {
		return failf(ErrLastEpoch, "last epoch in chunks (%d) does not match manifest last epoch (%d)", lastChunk, last)
	}
	return nil
}

// epochCount is last−first+1 in decimal, exact even for 2^64 epochs.
func epochCount(first, last uint64) string {
	if d := last - first; d < math.MaxUint64 {
		return strconv.FormatUint(d+1, 10)
	}
	return "18446744073709551616"
}

// ParsedWaypoints parses the manifest's waypoints in order. An error names
// the 0-based index and matches ledger.ErrBadWaypoint.
//
//	wps, err := m.ParsedWaypoints()
//	if ledger.WaypointOf(li.Info.Version, rec) != wps[li.Info.Epoch-m.FirstEpoch] { … }
func (m *EpochEndingManifest) ParsedWaypoints() ([]ledger.Waypoint, error) {
	wps := make([]ledger.Waypoint, len(m.Waypoints))
	for i, s := range m.Waypoints {
		wp, err := ledger.ParseWaypoint(s)
		if err != nil {
			return nil, fmt.Errorf("waypoints[%d]: %w", i, err)
		}
		wps[i] = wp
	}
	return wps, nil
}

// JSON encodes the manifest as backup-cli writes it: compact JSON with
// fields first_epoch, last_epoch, waypoints, chunks (nil slices as []). It
// does not Verify, so tests can write broken manifests on purpose.
//
//	data, err := m.JSON()
func (m *EpochEndingManifest) JSON() ([]byte, error) {
	out := *m
	if out.Waypoints == nil {
		out.Waypoints = []string{}
	}
	if out.Chunks == nil {
		out.Chunks = []EpochEndingChunk{}
	}
	data, err := marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return bytes.TrimSuffix(data, []byte("\n")), nil
}
