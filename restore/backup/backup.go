package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/manifest"
	"github.com/leakgate/leakgate/restore/record"
)

// DefaultMaxChunkSize is the chunk size limit when Options.MaxChunkSize is
// 0: 128 MiB, backup-cli's --max-chunk-size default (134217728 bytes).
const DefaultMaxChunkSize = 128 << 20

// ManifestFile is the manifest's file name inside its backup, as the real
// tool names it.
const ManifestFile = "epoch_ending.manifest"

// Options says what Run backs up and how.
//
// Adapter (required) runs the write commands; its Policy decides what a
// dropped writer leaves behind and its WriteTimeout whether a stalled upload
// can end. StartEpoch and EndEpoch are the epochs to back up, EndEpoch
// excluded (backup-cli's --start-epoch and --end-epoch); StartEpoch <
// EndEpoch. LedgerInfos (required) is the record stream of exactly those
// ledger infos, in epoch order. MaxChunkSize limits a chunk file's bytes,
// record framing included (0 = DefaultMaxChunkSize); a single record larger
// than that still makes a chunk of its own, as in backup-cli. ChunkRecords
// > 0 also cuts a chunk after that many records (leakgate's addition, for
// fixtures; 0 = no limit). Suffix returns the backup name's 4-hex-digit
// suffix (nil = random, as shipped; fixtures fix it to be reproducible).
// MoveAside lists metadata file handles ("metadata/x.meta") to move aside
// with backup_metadata_file after the new metadata line is saved.
//
//	opts := backup.Options{Adapter: a, StartEpoch: 0, EndEpoch: 10, LedgerInfos: src, MaxChunkSize: 1 << 20}
type Options struct {
	Adapter      *adapter.Adapter
	StartEpoch   uint64
	EndEpoch     uint64
	LedgerInfos  io.Reader
	MaxChunkSize int
	ChunkRecords int
	Suffix       func() uint16
	MoveAside    []string
}

// Result is what Run stored. On success every field is set. On failure it
// says how far the backup got: Name, BackupHandle once create_backup
// answered, the chunks that were shut down successfully, and Manifest once
// the manifest was (objects in the store that no metadata references);
// Metadata is set only on success.
type Result struct {
	Name         string                      // BACKUP_NAME passed to create_backup: "epoch_ending_0-.1a2b"
	BackupHandle string                      // what create_backup printed
	Chunks       []manifest.EpochEndingChunk // the chunk files, in order
	Waypoints    []string                    // one per epoch, as in the manifest
	Manifest     string                      // the manifest's file handle
	Meta         manifest.EpochEndingBackupMeta
	Metadata     string // the metadata file's handle: "metadata/epoch_ending_0-9.meta"

	MovedAside      []string // MoveAside handles moved by backup_metadata_file
	MoveAsideErrors []error  // one *Error per handle that could not be moved (the backup still succeeded)
}

// Run writes one epoch-ending backup as described in the package
// documentation and returns what it stored. The first error ends it with an
// *Error (and the partial Result); a writer in flight is dropped per the
// adapter's Policy. Cancelling ctx aborts the writer in flight and fails the
// backup with an error matching ctx's cause.
//
//	res, err := backup.Run(ctx, backup.Options{Adapter: a, StartEpoch: 0, EndEpoch: 10, LedgerInfos: src})
//	if err != nil { var be *backup.Error; errors.As(err, &be); … }
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	suffix := opts.Suffix
	if suffix == nil {
		suffix = func() uint16 { return uint16(rand.Uint32()) }
	}
	b := &run{
		ctx:  ctx,
		a:    opts.Adapter,
		opts: opts,
		res:  &Result{Name: fmt.Sprintf("epoch_ending_%d-.%04x", opts.StartEpoch, suffix())},
	}
	if err := b.run(); err != nil {
		return b.res, err
	}
	return b.res, nil
}

func (o *Options) check() error {
	switch {
	case o.Adapter == nil:
		return fmt.Errorf("%w: Adapter is nil", ErrOptions)
	case o.LedgerInfos == nil:
		return fmt.Errorf("%w: LedgerInfos is nil", ErrOptions)
	case o.StartEpoch >= o.EndEpoch:
		return fmt.Errorf("%w: epochs %d..%d (end excluded) are empty: want StartEpoch < EndEpoch", ErrOptions, o.StartEpoch, o.EndEpoch)
	case o.MaxChunkSize < 0:
		return fmt.Errorf("%w: MaxChunkSize %d is negative", ErrOptions, o.MaxChunkSize)
	case o.ChunkRecords < 0:
		return fmt.Errorf("%w: ChunkRecords %d is negative", ErrOptions, o.ChunkRecords)
	}
	return nil
}

// run is one backup in progress.
type run struct {
	ctx  context.Context
	a    *adapter.Adapter
	opts Options
	res  *Result
}

// fail builds the *Error of a step; backup is the handle once known.
func (b *run) fail(file, handle string, step Step, dropped bool, err error) error {
	name := b.res.BackupHandle
	if name == "" {
		name = b.res.Name
	}
	return &Error{Backup: name, File: file, Handle: handle, Step: step, Dropped: dropped, Err: err}
}

// run is the backup's steps in order: create_backup, the chunks
// (writeChunks), the manifest, the metadata line, then the MoveAside
// handles.
func (b *run) run() error {
	bh, err := b.a.CreateBackup(b.ctx, b.res.Name)
	if err != nil {
		return b.fail("", "", StepCreateBackup, false, err)
	}
	b.res.BackupHandle = bh
	versions, err := b.writeChunks()
	if err != nil {
		return err
	}
	if err := b.writeManifest(); err != nil {
		return err
	}
	b.res.Meta = manifest.EpochEndingBackupMeta{
		FirstEpoch:   b.opts.StartEpoch,
		LastEpoch:    b.opts.EndEpoch - 1,
		FirstVersion: versions[0],
		LastVersion:  versions[1],
		Manifest:     b.res.Manifest,
	}
	if err := b.saveMetadata(); err != nil {
		return err
	}
	b.moveAside()
	return nil
}

// writeChunks reads Options.LedgerInfos, which must be exactly the epochs
// StartEpoch..EndEpoch-1 in order, and writes them in chunks (see cut),
// recording each epoch's waypoint. It returns the versions of the first
// and the last ledger info.
//
//	versions, err := b.writeChunks()
func (b *run) writeChunks() ([2]uint64, error) {
	var (
		versions   [2]uint64 // of the first and last ledger info
		chunk      []byte
		chunkFirst = b.opts.StartEpoch
		inChunk    int
		epoch      = b.opts.StartEpoch
	)
	rr := record.NewReader(b.opts.LedgerInfos, 0)
	for {
		rec, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return versions, b.fail("", "", StepLedgerInfos, false, fmt.Errorf("epoch %d: %w", epoch, err))
		}
		if epoch >= b.opts.EndEpoch {
			return versions, b.fail("", "", StepLedgerInfos, false,
				fmt.Errorf("record %d is past end epoch %d: %w", rr.Count(), b.opts.EndEpoch, ErrEpochRange))
		}
		if b.cut(len(chunk), inChunk, len(rec)) {
			if err := b.writeChunk(chunk, chunkFirst, epoch-1); err != nil {
				return versions, err
			}
			chunk, chunkFirst, inChunk = nil, epoch, 0
		}
		version, err := b.ledgerInfo(rr.Count(), rec, epoch)
		if err != nil {
			return versions, err
		}
		if epoch == b.opts.StartEpoch {
			versions[0] = version
		}
		versions[1] = version
		b.res.Waypoints = append(b.res.Waypoints, ledger.WaypointOf(version, rec).String())
		chunk = record.Append(chunk, rec)
		inChunk++
		epoch++
	}
	if err := b.checkEnd(epoch); err != nil {
		return versions, err
	}
	return versions, b.writeChunk(chunk, chunkFirst, epoch-1)
}

// ledgerInfo decodes record n, rec, which must be the ledger info of
// epoch, and returns its version.
//
//	version, err := b.ledgerInfo(rr.Count(), rec, epoch)
func (b *run) ledgerInfo(n int, rec []byte, epoch uint64) (uint64, error) {
	li, err := ledger.Decode(rec)
	if err != nil {
		return 0, b.fail("", "", StepLedgerInfos, false, fmt.Errorf("epoch %d: record %d: %w", epoch, n, err))
	}
	if li.Info.Epoch != epoch {
		return 0, b.fail("", "", StepLedgerInfos, false,
			fmt.Errorf("record %d: expected epoch %d, got %d: %w", n, epoch, li.Info.Epoch, ErrUnexpectedEpoch))
	}
	return li.Info.Version, nil
}

// checkEnd checks, once the ledger infos ended, that they reached
// EndEpoch: next is the epoch after the last one read.
func (b *run) checkEnd(next uint64) error {
	switch {
	case next == b.opts.StartEpoch:
		return b.fail("", "", StepLedgerInfos, false,
			fmt.Errorf("no ledger info for epochs %d..%d: %w", b.opts.StartEpoch, b.opts.EndEpoch-1, ErrEpochRange))
	case next != b.opts.EndEpoch:
		return b.fail("", "", StepLedgerInfos, false,
			fmt.Errorf("ended after epoch %d, want epochs %d..%d: %w", next-1, b.opts.StartEpoch, b.opts.EndEpoch-1, ErrEpochRange))
	}
	return nil
}

// cut reports whether the chunk so far (size bytes, n records) must be
// written before a record of recLen bytes is added: backup-cli's
// should_cut_chunk (a non-empty chunk that would exceed the size limit with
// the record and its 4-byte prefix), or the ChunkRecords limit.
func (b *run) cut(size, n, recLen int) bool {
	limit := b.opts.MaxChunkSize
	if limit == 0 {
		limit = DefaultMaxChunkSize
	}
	return shouldCut(size, recLen, limit) || (b.opts.ChunkRecords > 0 && n >= b.opts.ChunkRecords)
}

// shouldCut is backup-cli's should_cut_chunk: !chunk.is_empty() &&
// chunk.len() + record.len() + size_of::<u32>() > max_chunk_size.
func shouldCut(chunkLen, recLen, maxChunkSize int) bool {
	return chunkLen > 0 && chunkLen+recLen+4 > maxChunkSize
}

// writeChunk stores one chunk file, "<first>-.chunk".
func (b *run) writeChunk(data []byte, first, last uint64) error {
	h, err := b.writeFile(fmt.Sprintf("%d-.chunk", first), data)
	if err != nil {
		return err
	}
	b.res.Chunks = append(b.res.Chunks, manifest.EpochEndingChunk{FirstEpoch: first, LastEpoch: last, LedgerInfos: h})
	return nil
}

// writeManifest stores the manifest of the chunks written.
func (b *run) writeManifest() error {
	m := manifest.EpochEndingManifest{
		FirstEpoch: b.opts.StartEpoch,
		LastEpoch:  b.opts.EndEpoch - 1,
		Waypoints:  b.res.Waypoints,
		Chunks:     b.res.Chunks,
	}
	data, err := m.JSON()
	if err != nil {
		return b.fail(ManifestFile, "", StepWrite, false, fmt.Errorf("encode the manifest: %w", err))
	}
	h, err := b.writeFile(ManifestFile, data)
	if err != nil {
		return err
	}
	b.res.Manifest = h
	return nil
}

// writeFile is backup-cli's create_for_write, write_all, shutdown: it
// returns the file handle. A failure before the shutdown drops the writer
// (Abort: the adapter's policy). Cancelling the run's context drops it from
// another goroutine, so that a blocked Write or shutdown returns.
func (b *run) writeFile(name string, data []byte) (string, error) {
	h, w, err := b.a.CreateForWrite(b.ctx, b.res.BackupHandle, name)
	if err != nil {
		return "", b.fail(name, "", StepCreateForWrite, false, b.cancelled(err))
	}
	stop := context.AfterFunc(b.ctx, func() { _ = w.Abort() })
	if _, err := w.Write(data); err != nil {
		stop()
		return h, b.fail(name, h, StepWrite, true, errors.Join(b.cancelled(err), w.Abort()))
	}
	err = w.Close()
	if !stop() && err != nil {
		// The context's Abort ran: the shutdown was interrupted and the
		// writer dropped.
		return h, b.fail(name, h, StepShutdown, true, errors.Join(b.cancelled(err), w.Abort()))
	}
	if err != nil {
		return h, b.fail(name, h, StepShutdown, false, err)
	}
	return h, nil
}

// cancelled puts the context's cause in front of err once it is done.
func (b *run) cancelled(err error) error {
	if cause := context.Cause(b.ctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

// saveMetadata is save_metadata_line with the backup's one-line entry.
func (b *run) saveMetadata() error {
	name := b.res.Meta.Name()
	line, err := manifest.MetadataLine(b.res.Meta)
	if err != nil {
		return b.fail(name, "", StepSaveMetadata, false, err)
	}
	h, err := b.a.SaveMetadataLine(b.ctx, name, line)
	if err != nil {
		return b.fail(name, "", StepSaveMetadata, false, b.cancelled(err))
	}
	b.res.Metadata = h
	return nil
}

// moveAside moves each Options.MoveAside handle aside, recording failures
// without failing the backup, as backup-cli's compaction does.
func (b *run) moveAside() {
	for _, h := range b.opts.MoveAside {
		if err := b.a.BackupMetadataFile(b.ctx, h); err != nil {
			b.res.MoveAsideErrors = append(b.res.MoveAsideErrors, b.fail(h, h, StepMoveAside, false, err))
			continue
		}
		b.res.MovedAside = append(b.res.MovedAside, h)
	}
}
