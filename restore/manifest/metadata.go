package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// EpochEndingBackupMeta is the metadata line of one epoch-ending backup:
// the epochs and versions it covers (inclusive) and its manifest's file
// handle. The invariant FirstEpoch ≤ LastEpoch and FirstVersion ≤
// LastVersion holds for every value ParseMetadata returns.
//
//	line, err := manifest.MetadataLine(manifest.EpochEndingBackupMeta{FirstEpoch: 0, LastEpoch: 9, FirstVersion: 0, LastVersion: 9999, Manifest: h})
type EpochEndingBackupMeta struct {
	FirstEpoch   uint64 `json:"first_epoch"`
	LastEpoch    uint64 `json:"last_epoch"`
	FirstVersion uint64 `json:"first_version"`
	LastVersion  uint64 `json:"last_version"`
	Manifest     string `json:"manifest"` // file handle of the epoch-ending manifest
}

// Name returns the metadata file name backup-cli gives this backup:
// "epoch_ending_<first>-<last>.meta".
//
//	name := meta.Name() // "epoch_ending_0-9.meta"
func (m EpochEndingBackupMeta) Name() string {
	return fmt.Sprintf("epoch_ending_%d-%d.meta", m.FirstEpoch, m.LastEpoch)
}

// KindEpochEnding is the external tag of an epoch-ending backup's metadata
// line. Lines of every other kind (StateSnapshotBackup, TransactionBackup,
// Identity, CompactionTimestamps, or any other name) are skipped.
const KindEpochEnding = "EpochEndingBackup"

// ErrInvalidRange means a metadata entry whose last epoch (or version) is
// before its first.
var ErrInvalidRange = errors.New("invalid range")

// LineError is an error in a metadata file: where (Source, e.g. the file
// name or handle, and the 1-based Line) and what (Err).
//
//	var le *manifest.LineError
//	if errors.As(err, &le) { log.Printf("bad line %d of %s", le.Line, le.Source) }
type LineError struct {
	Source string
	Line   int
	Err    error
}

// Error says "metadata/epoch_ending_0-9.meta:3: invalid JSON: …".
func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err) }

// Unwrap returns the cause.
func (e *LineError) Unwrap() error { return e.Err }

// maxLine is the longest metadata line ParseMetadata accepts, in bytes.
const maxLine = 1 << 20

// ParseMetadata reads a metadata file: one JSON object per line, externally
// tagged ({"EpochEndingBackup":{…}}), blank lines skipped. It returns the
// epoch-ending entries in file order and skips every other kind. A line that
// is not JSON, not an object with exactly one key, or longer than 1 MiB is
// a *LineError naming source and line, and so is an EpochEndingBackup with
// a missing or mistyped field (ErrMissingField, ErrInvalidJSON) or a
// reversed range (ErrInvalidRange). Unknown fields inside an entry are
// ignored, as serde does.
//
//	metas, err := manifest.ParseMetadata(f, "metadata/epoch_ending_0-9.meta")
func ParseMetadata(r io.Reader, source string) ([]EpochEndingBackupMeta, error) {
	var metas []EpochEndingBackupMeta
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		meta, ok, err := parseLine(text)
		if err != nil {
			return nil, &LineError{Source: source, Line: line, Err: err}
		}
		if ok {
			metas = append(metas, meta)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("%w (limit %d bytes)", err, maxLine)
		}
		return nil, &LineError{Source: source, Line: line + 1, Err: err}
	}
	return metas, nil
}

// parseLine decodes one non-blank line; ok is false for kinds it skips.
func parseLine(text []byte) (meta EpochEndingBackupMeta, ok bool, err error) {
	tagged, err := parseObject(text, "")
	if err != nil {
		return meta, false, err
	}
	if len(tagged.members) != 1 {
		return meta, false, fmt.Errorf("%w: want an object with exactly one key (the metadata kind), got %d keys", ErrInvalidJSON, len(tagged.members))
	}
	raw, isEpochEnding := tagged.members[KindEpochEnding]
	if !isEpochEnding {
		return meta, false, nil
	}
	f, err := parseObject(raw, KindEpochEnding)
	if err != nil {
		return meta, false, err
	}
	if meta.FirstEpoch, err = f.u64("first_epoch"); err != nil {
		return meta, false, err
	}
	if meta.LastEpoch, err = f.u64("last_epoch"); err != nil {
		return meta, false, err
	}
	if meta.FirstVersion, err = f.u64("first_version"); err != nil {
		return meta, false, err
	}
	if meta.LastVersion, err = f.u64("last_version"); err != nil {
		return meta, false, err
	}
	if meta.Manifest, err = f.handle("manifest"); err != nil {
		return meta, false, err
	}
	if err := meta.check(); err != nil {
		return meta, false, fmt.Errorf("%s: %w", KindEpochEnding, err)
	}
	return meta, true, nil
}

func (m EpochEndingBackupMeta) check() error {
	if m.LastEpoch < m.FirstEpoch {
		return fmt.Errorf("%w: epochs %d..%d (last before first)", ErrInvalidRange, m.FirstEpoch, m.LastEpoch)
	}
	if m.LastVersion < m.FirstVersion {
		return fmt.Errorf("%w: versions %d..%d (last before first)", ErrInvalidRange, m.FirstVersion, m.LastVersion)
	}
	return nil
}

// MetadataLine returns m as backup-cli writes it: one externally tagged
// JSON object and a trailing newline. A reversed range is refused with
// ErrInvalidRange, since ParseMetadata would reject the line.
//
//	line, err := manifest.MetadataLine(meta)
//	// {"EpochEndingBackup":{"first_epoch":0,"last_epoch":9,"first_version":0,"last_version":9999,"manifest":"b.1a2b/epoch_ending.manifest"}}\n
func MetadataLine(m EpochEndingBackupMeta) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("metadata line %s: %w", m.Name(), err)
	}
	line, err := marshal(map[string]EpochEndingBackupMeta{KindEpochEnding: m})
	if err != nil {
		return nil, fmt.Errorf("metadata line %s: %w", m.Name(), err)
	}
	return line, nil
}
