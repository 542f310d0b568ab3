package manifest_test

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/leakgate/leakgate/restore/manifest"
)

func TestParseMetadata(t *testing.T) {
	ee := func(first, last uint64, h string) manifest.EpochEndingBackupMeta {
		return manifest.EpochEndingBackupMeta{FirstEpoch: first, LastEpoch: last, FirstVersion: first * 1000, LastVersion: last*1000 + 999, Manifest: h}
	}
	line09 := `{"EpochEndingBackup":{"first_epoch":0,"last_epoch":9,"first_version":0,"last_version":9999,"manifest":"e.1/epoch_ending.manifest"}}`
	tests := []struct {
		name     string
		in       string
		want     []manifest.EpochEndingBackupMeta
		wantErr  error
		wantLine int
		wantMsg  string
	}{
		{name: "empty file", in: ""},
		{name: "one line", in: line09 + "\n", want: []manifest.EpochEndingBackupMeta{ee(0, 9, "e.1/epoch_ending.manifest")}},
		{name: "no final newline", in: line09, want: []manifest.EpochEndingBackupMeta{ee(0, 9, "e.1/epoch_ending.manifest")}},
		{name: "CRLF and blank lines", in: "\r\n" + line09 + "\r\n\n   \n", want: []manifest.EpochEndingBackupMeta{ee(0, 9, "e.1/epoch_ending.manifest")}},
		{name: "other kinds skipped", in: strings.Join([]string{
			`{"StateSnapshotBackup":{"epoch":9,"version":9999,"manifest":"s.1/state.manifest"}}`,
			`{"TransactionBackup":{"first_version":0,"last_version":9999,"manifest":"t.1/transaction.manifest"}}`,
			`{"Identity":{"id":"5c5d","ts":1}}`,
			`{"CompactionTimestamps":{"file_compacted_at":{},"compaction_timestamps":{}}}`,
			`{"SomethingNew":[1,2,3]}`,
			`{"EpochEndingBackup":{"first_epoch":10,"last_epoch":19,"first_version":10000,"last_version":19999,"manifest":"e.2/m","extra":true}}`,
			line09,
		}, "\n"), want: []manifest.EpochEndingBackupMeta{ee(10, 19, "e.2/m"), ee(0, 9, "e.1/epoch_ending.manifest")}},
		{name: "not JSON", in: line09 + "\n\nnot json\n", wantErr: manifest.ErrInvalidJSON, wantLine: 3,
			wantMsg: "meta/x.meta:3: invalid JSON: invalid character 'o' in literal null (expecting 'u')"},
		{name: "truncated line", in: line09[:40] + "\n", wantErr: manifest.ErrInvalidJSON, wantLine: 1},
		{name: "two objects on a line", in: line09 + line09, wantErr: manifest.ErrInvalidJSON, wantLine: 1, wantMsg: "data after the object"},
		{name: "bare string", in: `"Identity"`, wantErr: manifest.ErrInvalidJSON, wantLine: 1, wantMsg: `want an object, got "Identity"`},
		{name: "array", in: `[1]`, wantErr: manifest.ErrInvalidJSON, wantLine: 1},
		{name: "two keys", in: `{"EpochEndingBackup":{},"TransactionBackup":{}}`, wantErr: manifest.ErrInvalidJSON, wantLine: 1,
			wantMsg: "meta/x.meta:1: invalid JSON: want an object with exactly one key (the metadata kind), got 2 keys"},
		{name: "no keys", in: `{}`, wantErr: manifest.ErrInvalidJSON, wantLine: 1, wantMsg: "got 0 keys"},
		{name: "entry not an object", in: `{"EpochEndingBackup":[0,9]}`, wantErr: manifest.ErrInvalidJSON, wantLine: 1,
			wantMsg: "meta/x.meta:1: EpochEndingBackup: invalid JSON: want an object, got '['"},
		{name: "missing manifest", in: line09 + "\n" + `{"EpochEndingBackup":{"first_epoch":0,"last_epoch":9,"first_version":0,"last_version":9999}}`,
			wantErr: manifest.ErrMissingField, wantLine: 2, wantMsg: "meta/x.meta:2: EpochEndingBackup.manifest: missing field"},
		{name: "missing last_version", in: `{"EpochEndingBackup":{"first_epoch":0,"last_epoch":9,"first_version":0,"manifest":"m"}}`,
			wantErr: manifest.ErrMissingField, wantLine: 1, wantMsg: "EpochEndingBackup.last_version: missing field"},
		{name: "string epoch", in: `{"EpochEndingBackup":{"first_epoch":"0","last_epoch":9,"first_version":0,"last_version":9,"manifest":"m"}}`,
			wantErr: manifest.ErrInvalidJSON, wantLine: 1, wantMsg: `EpochEndingBackup.first_epoch: invalid JSON: want an unsigned 64-bit integer, got "0"`},
		{name: "numeric manifest", in: `{"EpochEndingBackup":{"first_epoch":0,"last_epoch":9,"first_version":0,"last_version":9,"manifest":7}}`,
			wantErr: manifest.ErrInvalidJSON, wantLine: 1, wantMsg: "EpochEndingBackup.manifest: invalid JSON: want a string, got 7"},
		{name: "reversed epochs", in: `{"EpochEndingBackup":{"first_epoch":9,"last_epoch":0,"first_version":0,"last_version":9,"manifest":"m"}}`,
			wantErr: manifest.ErrInvalidRange, wantLine: 1, wantMsg: "meta/x.meta:1: EpochEndingBackup: invalid range: epochs 9..0 (last before first)"},
		{name: "reversed versions", in: `{"EpochEndingBackup":{"first_epoch":0,"last_epoch":0,"first_version":9,"last_version":0,"manifest":"m"}}`,
			wantErr: manifest.ErrInvalidRange, wantLine: 1, wantMsg: "versions 9..0"},
		{name: "garbage in a skipped kind still must be JSON", in: `{"TransactionBackup":{"first_version":}}`, wantErr: manifest.ErrInvalidJSON, wantLine: 1},
		{name: "line too long", in: line09 + "\n" + strings.Repeat(" ", 2<<20), wantErr: nil, wantLine: 2, wantMsg: "meta/x.meta:2: bufio.Scanner: token too long (limit 1048576 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := manifest.ParseMetadata(iotest.HalfReader(strings.NewReader(tt.in)), "meta/x.meta")
			if tt.wantLine == 0 {
				if err != nil {
					t.Fatalf("ParseMetadata: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("ParseMetadata = %+v, want %+v", got, tt.want)
				}
				return
			}
			if got != nil || err == nil {
				t.Fatalf("ParseMetadata = %+v, %v; want an error", got, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want errors.Is %v", err, tt.wantErr)
			}
			var le *manifest.LineError
			if !errors.As(err, &le) || le.Source != "meta/x.meta" || le.Line != tt.wantLine {
				t.Errorf("error = %v, want a *LineError for meta/x.meta:%d", err, tt.wantLine)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error text = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParseMetadataReadError(t *testing.T) {
	boom := errors.New("pipe broke")
	_, err := manifest.ParseMetadata(io.MultiReader(strings.NewReader("{\"X\":1}\n"), iotest.ErrReader(boom)), "src")
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "src:2: ") {
		t.Errorf("error = %v, want src:2: pipe broke", err)
	}
}

func TestMetadataLine(t *testing.T) {
	m := manifest.EpochEndingBackupMeta{FirstEpoch: 0, LastEpoch: 9, FirstVersion: 0, LastVersion: 9999, Manifest: "e.1a2b/epoch_ending.manifest"}
	line, err := manifest.MetadataLine(m)
	want := `{"EpochEndingBackup":{"first_epoch":0,"last_epoch":9,"first_version":0,"last_version":9999,"manifest":"e.1a2b/epoch_ending.manifest"}}` + "\n"
	if err != nil || string(line) != want {
		t.Fatalf("MetadataLine = %q, %v; want %q", line, err, want)
	}
	back, err := manifest.ParseMetadata(strings.NewReader(string(line)), "x")
	if err != nil || len(back) != 1 || back[0] != m {
		t.Errorf("ParseMetadata(MetadataLine(m)) = %+v, %v; want [%+v]", back, err, m)
	}
	if got := m.Name(); got != "epoch_ending_0-9.meta" {
		t.Errorf("Name() = %q, want epoch_ending_0-9.meta", got)
	}
	m.LastEpoch = 0
	m.FirstEpoch = 1
	if _, err := manifest.MetadataLine(m); !errors.Is(err, manifest.ErrInvalidRange) {
		t.Errorf("MetadataLine(reversed) error = %v, want ErrInvalidRange", err)
	}
}

// TestHandlesWithoutControlCharacters: a manifest or chunk handle with a
// control character (an escape sequence, a newline) is refused, and the
// error shows it quoted, never raw.
func TestHandlesWithoutControlCharacters(t *testing.T) {
	line := `{"EpochEndingBackup":{"first_epoch":0,"last_epoch":0,"first_version":0,"last_version":0,"manifest":"a\u001b[2Jb"}}`
	_, err := manifest.ParseMetadata(strings.NewReader(line), "m.meta")
	if err == nil || !strings.Contains(err.Error(), `"a\x1b[2Jb"`) || strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("ParseMetadata = %v; want an error quoting the handle", err)
	}
	m := `{"first_epoch":0,"last_epoch":0,"waypoints":["0:` + strings.Repeat("0", 64) + `"],"chunks":[{"first_epoch":0,"last_epoch":0,"ledger_infos":"x\ny"}]}`
	_, err = manifest.ParseEpochEnding([]byte(m), "h")
	if err == nil || !strings.Contains(err.Error(), `"x\ny"`) || strings.ContainsRune(err.Error(), '\n') {
		t.Errorf("ParseEpochEnding = %v; want an error quoting the chunk handle", err)
	}
}
