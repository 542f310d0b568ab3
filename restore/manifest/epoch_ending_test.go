package manifest_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/manifest"
)

// waypoints returns n valid waypoints for epochs first, first+1, ….
func waypoints(first uint64, n int) []string {
	wps := make([]string, n)
	for i := range wps {
		wps[i] = ledger.Synthetic(first+uint64(i), 0).Waypoint().String()
	}
	return wps
}

func chunk(first, last uint64) manifest.EpochEndingChunk {
	return manifest.EpochEndingChunk{FirstEpoch: first, LastEpoch: last, LedgerInfos: fmt.Sprintf("b.1a2b/%d-.chunk", first)}
}

func valid() *manifest.EpochEndingManifest {
	return &manifest.EpochEndingManifest{
		FirstEpoch: 0, LastEpoch: 9, Waypoints: waypoints(0, 10),
		Chunks: []manifest.EpochEndingChunk{chunk(0, 3), chunk(4, 8), chunk(9, 9)},
	}
}

func TestVerify(t *testing.T) {
	wp := waypoints(0, 1)[0]
	tests := []struct {
		name    string
		edit    func(m *manifest.EpochEndingManifest)
		wantErr error // nil: valid
		wantMsg string
	}{
		{name: "valid", edit: func(m *manifest.EpochEndingManifest) {}},
		{name: "one chunk", edit: func(m *manifest.EpochEndingManifest) { m.Chunks = m.Chunks[:1]; m.Chunks[0].LastEpoch = 9 }},
		{name: "one epoch", edit: func(m *manifest.EpochEndingManifest) {
			*m = manifest.EpochEndingManifest{FirstEpoch: 5, LastEpoch: 5, Waypoints: []string{wp}, Chunks: []manifest.EpochEndingChunk{chunk(5, 5)}}
		}},
		{name: "bad waypoint", edit: func(m *manifest.EpochEndingManifest) { m.Waypoints[3] = "3:xyz" },
			wantErr: ledger.ErrBadWaypoint, wantMsg: `waypoints[3]: invalid waypoint "3:xyz": hash: want 64 lowercase hex digits, got "xyz"`},
		{name: "bad waypoint before count", edit: func(m *manifest.EpochEndingManifest) { m.Waypoints = []string{"nope"} },
			wantErr: ledger.ErrBadWaypoint},
		{name: "too few waypoints", edit: func(m *manifest.EpochEndingManifest) { m.Waypoints = m.Waypoints[:9] },
			wantErr: manifest.ErrWaypointCount, wantMsg: "number of waypoints (9) does not match epoch range 0..9 (10 epochs)"},
		{name: "too many waypoints", edit: func(m *manifest.EpochEndingManifest) { m.Waypoints = append(m.Waypoints, wp) },
			wantErr: manifest.ErrWaypointCount, wantMsg: "number of waypoints (11) does not match epoch range 0..9 (10 epochs)"},
		{name: "no waypoints", edit: func(m *manifest.EpochEndingManifest) { m.Waypoints = nil },
			wantErr: manifest.ErrWaypointCount},
		{name: "first after last", edit: func(m *manifest.EpochEndingManifest) { m.FirstEpoch = 10 },
			wantErr: manifest.ErrWaypointCount, wantMsg: "number of waypoints (10) does not match epoch range 10..9 (first epoch after last)"},
		{name: "whole u64 range", edit: func(m *manifest.EpochEndingManifest) { m.LastEpoch = 1<<64 - 1 },
			wantErr: manifest.ErrWaypointCount, wantMsg: "number of waypoints (10) does not match epoch range 0..18446744073709551615 (18446744073709551616 epochs)"},
		{name: "count before chunks", edit: func(m *manifest.EpochEndingManifest) { m.Waypoints = m.Waypoints[:1]; m.Chunks = nil },
			wantErr: manifest.ErrWaypointCount},
		{name: "no chunks", edit: func(m *manifest.EpochEndingManifest) { m.Chunks = nil },
			wantErr: manifest.ErrNoChunks, wantMsg: "no chunks"},
		{name: "first chunk late", edit: func(m *manifest.EpochEndingManifest) { m.Chunks[0].FirstEpoch = 1 },
			wantErr: manifest.ErrNotContinuous, wantMsg: "chunks[0] (epochs 1..3): chunk ranges not continuous: expected first epoch 0, got 1"},
		{name: "gap between chunks", edit: func(m *manifest.EpochEndingManifest) { m.Chunks[1].FirstEpoch = 5 },
			wantErr: manifest.ErrNotContinuous, wantMsg: "chunks[1] (epochs 5..8): chunk ranges not continuous: expected first epoch 4, got 5"},
		{name: "overlapping chunks", edit: func(m *manifest.EpochEndingManifest) { m.Chunks[2].FirstEpoch = 8 },
			wantErr: manifest.ErrNotContinuous, wantMsg: "expected first epoch 9, got 8"},
		{name: "continuity before range", edit: func(m *manifest.EpochEndingManifest) { m.Chunks[1] = chunk(5, 2) },
			wantErr: manifest.ErrNotContinuous},
		{name: "reversed chunk", edit: func(m *manifest.EpochEndingManifest) { m.Chunks[1].LastEpoch = 3 },
			wantErr: manifest.ErrChunkRange, wantMsg: "chunks[1]: chunk range invalid: 4..3 (first epoch after last)"},
		{name: "chunks end early", edit: func(m *manifest.EpochEndingManifest) { m.Chunks = m.Chunks[:2] },
			wantErr: manifest.ErrLastEpoch, wantMsg: "last epoch in chunks (8) does not match manifest last epoch (9)"},
		{name: "chunks end late", edit: func(m *manifest.EpochEndingManifest) { m.Chunks[2].LastEpoch = 10 },
			wantErr: manifest.ErrLastEpoch, wantMsg: "last epoch in chunks (10) does not match manifest last epoch (9)"},
		{name: "chunk after the last u64 epoch", edit: func(m *manifest.EpochEndingManifest) {
			*m = manifest.EpochEndingManifest{FirstEpoch: 1<<64 - 1, LastEpoch: 1<<64 - 1, Waypoints: []string{wp},
				Chunks: []manifest.EpochEndingChunk{chunk(1<<64-1, 1<<64-1), chunk(0, 0)}}
		}, wantErr: manifest.ErrNotContinuous, wantMsg: "expected no chunk after epoch 18446744073709551615"},
		{name: "last u64 epoch", edit: func(m *manifest.EpochEndingManifest) {
			*m = manifest.EpochEndingManifest{FirstEpoch: 1<<64 - 2, LastEpoch: 1<<64 - 1, Waypoints: []string{wp, wp},
				Chunks: []manifest.EpochEndingChunk{chunk(1<<64-2, 1<<64-1)}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.edit(m)
			err := m.Verify()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() = %v, want errors.Is %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.HasSuffix(err.Error(), tt.wantMsg) {
				t.Errorf("error text = %q, want it to end in %q", err, tt.wantMsg)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	m := valid()
	m.Chunks[0].LedgerInfos = "b<&>/0-.chunk"
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), `{"first_epoch":0,"last_epoch":9,"waypoints":["`) || !strings.Contains(string(data), `"ledger_infos":"b<&>/0-.chunk"`) {
		t.Errorf("JSON() = %s, want compact serde-style JSON", data)
	}
	got, err := manifest.ParseEpochEnding(data, "h")
	if err != nil {
		t.Fatalf("ParseEpochEnding(JSON()): %v", err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip = %+v, want %+v", got, m)
	}

	empty, err := (&manifest.EpochEndingManifest{}).JSON()
	if want := `{"first_epoch":0,"last_epoch":0,"waypoints":[],"chunks":[]}`; err != nil || string(empty) != want {
		t.Errorf("empty JSON() = %s, %v; want %s", empty, err, want)
	}
}

func TestParsedWaypoints(t *testing.T) {
	m := valid()
	wps, err := m.ParsedWaypoints()
	if err != nil || len(wps) != 10 {
		t.Fatalf("ParsedWaypoints() = %d waypoints, %v", len(wps), err)
	}
	if want := ledger.Synthetic(4, 0).Waypoint(); wps[4] != want {
		t.Errorf("waypoint 4 = %v, want %v", wps[4], want)
	}
}

func TestParseEpochEnding(t *testing.T) {
	wps := waypoints(0, 2)
	wpJSON := fmt.Sprintf("[%q,%q]", wps[0], wps[1])
	good := fmt.Sprintf(`{"first_epoch":0,"last_epoch":1,"waypoints":%s,"chunks":[{"first_epoch":0,"last_epoch":1,"ledger_infos":"b.1/0-.chunk"}]}`, wpJSON)
	tests := []struct {
		name    string
		data    string
		wantErr error
		wantMsg string
	}{
		{name: "valid", data: good},
		{name: "unknown fields ignored", data: fmt.Sprintf(`{"extra":{"x":[1]},"first_epoch":0,"last_epoch":1,"waypoints":%s,"chunks":[{"first_epoch":0,"last_epoch":1,"ledger_infos":"h","more":null}]}`, wpJSON)},
		{name: "whitespace", data: "\n  " + good + " \n"},
		{name: "not JSON", data: "hello", wantErr: manifest.ErrInvalidJSON, wantMsg: "manifest m.json: invalid JSON: invalid character 'h' looking for beginning of value"},
		{name: "empty", data: "", wantErr: manifest.ErrInvalidJSON, wantMsg: "manifest m.json: invalid JSON: want an object, got nothing"},
		{name: "array", data: "[]", wantErr: manifest.ErrInvalidJSON, wantMsg: "want an object, got '['"},
		{name: "truncated", data: good[:len(good)-3], wantErr: manifest.ErrInvalidJSON},
		{name: "trailing data", data: good + "{}", wantErr: manifest.ErrInvalidJSON, wantMsg: "invalid JSON: data after the object"},
		{name: "missing first_epoch", data: `{"last_epoch":1,"waypoints":[],"chunks":[]}`, wantErr: manifest.ErrMissingField,
			wantMsg: "manifest m.json: first_epoch: missing field"},
		{name: "missing chunks", data: fmt.Sprintf(`{"first_epoch":0,"last_epoch":1,"waypoints":%s}`, wpJSON), wantErr: manifest.ErrMissingField,
			wantMsg: "chunks: missing field"},
		{name: "missing ledger_infos", data: fmt.Sprintf(`{"first_epoch":0,"last_epoch":1,"waypoints":%s,"chunks":[{"first_epoch":0,"last_epoch":1}]}`, wpJSON),
			wantErr: manifest.ErrMissingField, wantMsg: "chunks[0].ledger_infos: missing field"},
		{name: "string epoch", data: `{"first_epoch":"0","last_epoch":1,"waypoints":[],"chunks":[]}`, wantErr: manifest.ErrInvalidJSON,
			wantMsg: `first_epoch: invalid JSON: want an unsigned 64-bit integer, got "0"`},
		{name: "null epoch", data: `{"first_epoch":null,"last_epoch":1,"waypoints":[],"chunks":[]}`, wantErr: manifest.ErrInvalidJSON,
			wantMsg: "want an unsigned 64-bit integer, got null"},
		{name: "negative epoch", data: `{"first_epoch":-1,"last_epoch":1,"waypoints":[],"chunks":[]}`, wantErr: manifest.ErrInvalidJSON},
		{name: "fractional epoch", data: `{"first_epoch":0.0,"last_epoch":1,"waypoints":[],"chunks":[]}`, wantErr: manifest.ErrInvalidJSON},
		{name: "epoch over u64", data: `{"first_epoch":18446744073709551616,"last_epoch":1,"waypoints":[],"chunks":[]}`, wantErr: manifest.ErrInvalidJSON},
		{name: "waypoints not an array", data: `{"first_epoch":0,"last_epoch":1,"waypoints":"x","chunks":[]}`, wantErr: manifest.ErrInvalidJSON,
			wantMsg: `waypoints: invalid JSON: want an array, got "x"`},
		{name: "waypoint not a string", data: `{"first_epoch":0,"last_epoch":1,"waypoints":[5],"chunks":[]}`, wantErr: manifest.ErrInvalidJSON,
			wantMsg: "waypoints[0]: invalid JSON: want a string, got 5"},
		{name: "chunk not an object", data: fmt.Sprintf(`{"first_epoch":0,"last_epoch":1,"waypoints":%s,"chunks":[7]}`, wpJSON), wantErr: manifest.ErrInvalidJSON,
			wantMsg: "chunks[0]: invalid JSON: want an object, got 7"},
		{name: "duplicate field", data: `{"first_epoch":0,"first_epoch":0,"last_epoch":1,"waypoints":[],"chunks":[]}`, wantErr: manifest.ErrInvalidJSON,
			wantMsg: "first_epoch: invalid JSON: duplicate field"},
		{name: "bad waypoint", data: `{"first_epoch":0,"last_epoch":0,"waypoints":["0:00"],"chunks":[{"first_epoch":0,"last_epoch":0,"ledger_infos":"h"}]}`,
			wantErr: ledger.ErrBadWaypoint, wantMsg: `manifest m.json: waypoints[0]: invalid waypoint "0:00"`},
		{name: "verify runs", data: fmt.Sprintf(`{"first_epoch":0,"last_epoch":2,"waypoints":%s,"chunks":[]}`, wpJSON), wantErr: manifest.ErrWaypointCount,
			wantMsg: "manifest m.json: number of waypoints (2) does not match epoch range 0..2 (3 epochs)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.ParseEpochEnding([]byte(tt.data), "m.json")
			if tt.wantErr == nil {
				if err != nil || m == nil {
					t.Fatalf("ParseEpochEnding = %v, %v", m, err)
				}
				return
			}
			if m != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseEpochEnding = %v, %v; want nil, %v", m, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "manifest m.json: ") {
				t.Errorf("error %q does not name the handle", err)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error text = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}
