package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/record"
)

// Upper bounds of the numeric flags: above them a flag is a usage error
// (exit 2) naming the flag, the value and the bound.
const (
	maxConcurrency = restore.MaxConcurrency   // --concurrent-downloads
	maxBytesFlag   = 1 << 30                  // --max-listing-bytes, --max-manifest-bytes, --max-metadata-file-bytes: 1 GiB
	maxTimeout     = 24 * time.Hour           // --read-timeout, --write-timeout
	maxManifests   = 100_000                  // --manifests
	maxChunks      = 10_000                   // --chunks
	maxRecords     = 100_000                  // --records
	maxEpochs      = 1_000_000                // --manifests × --chunks × --records
	maxRecordSize  = record.DefaultMaxLen / 4 // --record-size: 16 MiB
	maxBackupBytes = 64 << 30                 // --manifests × --chunks × --records × --record-size: 64 GiB
)

// limits are bootstrap-db's bounds on what it reads from the storage.
type limits struct {
	listing, manifest, metadata, download int64
}

func (l *limits) register(fs *flag.FlagSet) {
	fs.Int64Var(&l.listing, "max-listing-bytes", adapter.DefaultMaxOutput,
		"most bytes list_metadata_files (or backup_metadata_file) may print; more is an error, the command is stopped (1..1 GiB)")
	fs.Int64Var(&l.manifest, "max-manifest-bytes", restore.DefaultMaxManifestLen,
		"most bytes of one manifest file; a longer one is an error and is not read further (1..1 GiB)")
	fs.Int64Var(&l.metadata, "max-metadata-file-bytes", restore.DefaultMaxMetadataLen,
		"most bytes of one metadata file downloaded into the cache; a longer one is an error, its partial download removed (1..1 GiB)")
	fs.Int64Var(&l.download, "max-metadata-download-bytes", restore.DefaultMaxMetadataDownload,
		"most bytes one run downloads into the metadata cache, all files together (1..64 GiB)")
}

func (l *limits) check() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"--max-listing-bytes", l.listing}, {"--max-manifest-bytes", l.manifest}, {"--max-metadata-file-bytes", l.metadata}} {
		if err := checkInt(f.name, f.v, 1, maxBytesFlag); err != nil {
			return err
		}
	}
	return checkInt("--max-metadata-download-bytes", l.download, 1, 64<<30)
}

// checkInt is a usage error unless lo ≤ v ≤ hi.
func checkInt(name string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return fmt.Errorf("%w: %s must be in %d..%d, got %d", errUsage, name, lo, hi, v)
	}
	return nil
}

// checkDuration is a usage error unless 0 ≤ d ≤ maxTimeout.
func checkDuration(name string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: %s must not be negative", errUsage, name)
	}
	if d > maxTimeout {
		return fmt.Errorf("%w: %s must be at most %v, got %v", errUsage, name, maxTimeout, d)
	}
	return nil
}

// checkSpec bounds make-backup's sizes, each flag and their products.
func checkSpec(s fixture.Spec) error {
	for _, f := range []struct {
		name   string
		v, max int64
	}{
		{"--manifests", int64(s.Manifests), maxManifests},
		{"--chunks", int64(s.ChunksPerManifest), maxChunks},
		{"--records", int64(s.RecordsPerChunk), maxRecords},
		{"--record-size", int64(s.RecordSize), maxRecordSize},
	} {
		if err := checkInt(f.name, f.v, 1, f.max); err != nil {
			return err
		}
	}
	epochs := int64(s.Manifests) * int64(s.ChunksPerManifest) * int64(s.RecordsPerChunk) // ≤ 10^14: no overflow
	if epochs > maxEpochs {
		return fmt.Errorf("%w: --manifests × --chunks × --records is %d epochs, more than %d", errUsage, epochs, maxEpochs)
	}
	if bytes := epochs * int64(s.RecordSize); bytes > maxBackupBytes {
		return fmt.Errorf("%w: --manifests × --chunks × --records × --record-size is %s, more than %s",
			errUsage, adapter.FormatBytes(bytes), adapter.FormatBytes(maxBackupBytes))
	}
	return nil
}
