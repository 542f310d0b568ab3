package restore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/db"
	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/manifest"
	"github.com/leakgate/leakgate/restore/stream"
)

// Options configure Run.
type Options struct {
	// Adapter runs the storage commands; its Policy decides what happens to
	// the children of readers dropped before EOF. Required.
	Adapter *adapter.Adapter
	// Concurrency is the real tool's --concurrent-downloads: at most this
	// many manifests (or metadata files) are read at once, and at most twice
	// this many are queued. 0 means runtime.NumCPU(), as shipped; above
	// MaxConcurrency Run fails.
	Concurrency int
	// MetadataCacheDir holds the downloaded metadata files. "" means a
	// temporary directory, removed when Run returns.
	MetadataCacheDir string
	// MaxRecordLen caps one record's length in bytes; 0 means
	// record.DefaultMaxLen.
	MaxRecordLen uint32
	// MaxManifestLen bounds one manifest file in bytes (0 means
	// DefaultMaxManifestLen), MaxMetadataLen one metadata file's download
	// (0 means DefaultMaxMetadataLen). A longer file is an error wrapping
	// ErrTooLarge, naming the file and the bound; reading stops there.
	MaxManifestLen, MaxMetadataLen int64
	// MaxMetadataDownload bounds the bytes one Run downloads into the
	// metadata cache, all files together (0 means
	// DefaultMaxMetadataDownload): a listing of many huge files cannot
	// fill the disk. Past it the download is an error wrapping ErrTooLarge.
	MaxMetadataDownload int64
	// TargetDBDir is the real tool's --target-db-dir: the verified ledger
	// infos of each manifest are written to the pebble DB there (see
	// package db), one atomic batch per manifest, and a re-run resumes
	// after the manifests it already holds. "" means verify only, write
	// nothing.
	TargetDBDir string
	// Progress, if set, is called once per planned manifest, in epoch
	// order, from the goroutine that called Run: when a manifest is
	// skipped (already in the target DB) and when one has been verified
	// (and written). It must not block for long: while it runs, the
	// manifests in flight make no progress.
	Progress func(Progress)
}

// Progress is one manifest's outcome, reported through Options.Progress.
//
//	restore.Options{…, Progress: func(p restore.Progress) { log.Printf("%s: epochs %d..%d", p.Manifest, p.FirstEpoch, p.LastEpoch) }}
type Progress struct {
	Manifest              string // the manifest's file handle
	FirstEpoch, LastEpoch uint64 // inclusive
	// Skipped: the target DB already held the manifest; nothing was read.
	Skipped bool
	// Written: the manifest's ledger infos were committed to the target
	// DB (false when verifying only, and when skipped).
	Written bool
}

// Result is what a successful restore verified.
type Result struct {
	// Manifests, Chunks and LedgerInfos count what this run read and
	// verified (and, with a target DB, wrote).
	Manifests, Chunks, LedgerInfos int
	// FirstEpoch and LastEpoch bound the epochs restored, counting the
	// ones a resumed run skipped: always 0..the backup's last epoch.
	FirstEpoch, LastEpoch uint64
	// Waypoints counts manifest waypoints matched by a ledger info; equal
	// to LedgerInfos on success.
	Waypoints int
	// LastWaypoint is the waypoint of LastEpoch (read from the target DB
	// when this run skipped every manifest).
	LastWaypoint ledger.Waypoint
	// Skipped counts the manifests a resumed run skipped because the
	// target DB already held them, and SkippedLedgerInfos their epochs;
	// they were neither read nor written. Always 0 without a target DB.
	Skipped, SkippedLedgerInfos int
}

// MaxConcurrency bounds Options.Concurrency: 1024 downloads at once (and
// twice that queued) is far past what any storage serves usefully.
const MaxConcurrency = 1024

// ErrNoBackups is returned when the metadata lists no epoch-ending backup.
var ErrNoBackups = errors.New("no epoch-ending backup in metadata")

// Run restores the epoch-ending history the adapter's storage holds: it
// syncs the metadata, plans the backups that cover epochs from 0, preheats
// their manifests through the ordered bounded stream and consumes the
// results in order, checking continuity between manifests and, with
// Options.TargetDBDir, writing each manifest to the target DB.
//
//	res, err := restore.Run(ctx, restore.Options{Adapter: a, Concurrency: 8, TargetDBDir: "/data/db"})
//
// The first error aborts the restore: every reader still in flight is
// closed at once (its child treated by the adapter's policy) and the error,
// naming the manifest and the file handle, is returned. Under every policy
// but Abandon, Run returns only after its worker goroutines have stopped.
// The target DB is opened before anything is read (so a bad dir fails
// first) and closed before Run returns, on every path; it then holds whole
// manifests only, and a re-run resumes after them (see Resume in the
// package doc).
func Run(ctx context.Context, opts Options) (res *Result, err error) {
	if opts.Adapter == nil {
		return nil, errors.New("restore: Options.Adapter is nil")
	}
	c := opts.Concurrency
	if c <= 0 {
		c = runtime.NumCPU()
	}
	if c > MaxConcurrency {
		return nil, fmt.Errorf("restore: Options.Concurrency %d is above MaxConcurrency (%d)", c, MaxConcurrency)
	}
	r := &run{a: opts.Adapter, c: c, maxRecord: opts.MaxRecordLen, inflight: newInflight(), progress: opts.Progress,
		maxManifest: orDefault(opts.MaxManifestLen, DefaultMaxManifestLen), maxMetadata: orDefault(opts.MaxMetadataLen, DefaultMaxMetadataLen)}
	r.downloadLeft.Store(orDefault(opts.MaxMetadataDownload, DefaultMaxMetadataDownload))
	r.maxDownload = r.downloadLeft.Load()
	if opts.TargetDBDir != "" {
		if r.db, err = db.Open(opts.TargetDBDir); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		defer func() {
			if cerr := r.db.Close(); cerr != nil {
				res, err = nil, errors.Join(err, fmt.Errorf("restore: %w", cerr))
			}
		}()
	}

	metas, err := r.syncMetadata(ctx, opts.MetadataCacheDir)
	if err != nil {
		return nil, fmt.Errorf("restore: metadata sync: %w", err)
	}
	if len(metas) == 0 {
		return nil, fmt.Errorf("restore: %w", ErrNoBackups)
	}
	plan, err := manifest.PlanEpochEnding(metas, nil)
	if err != nil {
		return nil, fmt.Errorf("restore: plan: %w", err)
	}
	res, err = r.restoreEpochEnding(ctx, plan)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	return res, nil
}

// run is one restore's shared state.
type run struct {
	a         *adapter.Adapter
	c         int
	maxRecord uint32
	inflight  *inflight
	db        *db.DB // nil: verify only
	progress  func(Progress)

	maxManifest, maxMetadata int64 // byte bounds, > 0
	maxDownload              int64 // the metadata download's total bound
	downloadLeft             atomic.Int64
}

// orDefault is n, or def when n ≤ 0.
func orDefault(n, def int64) int64 {
	if n <= 0 {
		return def
	}
	return n
}

// restoreEpochEnding skips the planned manifests the target DB already
// holds, preheats the others through the ordered bounded stream and
// consumes them in order: continuity, then the DB write.
func (r *run) restoreEpochEnding(ctx context.Context, plan []manifest.EpochEndingBackupMeta) (*Result, error) {
	if len(plan) == 0 {
		return nil, fmt.Errorf("plan: %w", ErrNoBackups)
	}
	skip, prev, err := r.resume(plan)
	if err != nil {
		return nil, err
	}
	res := &Result{FirstEpoch: plan[0].FirstEpoch}
	for _, meta := range plan[:skip] {
		res.Skipped++
		res.SkippedLedgerInfos += int(meta.LastEpoch - meta.FirstEpoch + 1)
		r.report(Progress{Manifest: meta.Manifest, FirstEpoch: meta.FirstEpoch, LastEpoch: meta.LastEpoch, Skipped: true})
	}
	if prev != nil {
		res.LastEpoch, res.LastWaypoint = prev.epoch, prev.wp
	}
	todo := plan[skip:]
	tasks := make([]stream.Task[preheated], len(todo))
	for i, meta := range todo {
		tasks[i] = func(ctx context.Context, g *stream.Gate) preheated {
			return r.preheat(ctx, g, meta)
		}
	}
	s := stream.NewOrdered(ctx, tasks, 2*r.c, r.c)
	for {
		p, ok := s.Next()
		if !ok {
			break
		}
		err := p.err
		if err == nil {
			err = checkContinuity(prev, &p)
		}
		if err == nil {
			err = r.write(&p)
		}
		if err != nil {
			return nil, abort(r, s, err)
		}
		res.Manifests++
		res.Chunks += len(p.manifest.Chunks)
		res.LedgerInfos += len(p.recs)
		res.Waypoints += p.waypoints
		res.LastEpoch = p.manifest.LastEpoch
		res.LastWaypoint = p.last
		prev = tailOf(&p)
		r.report(Progress{Manifest: p.meta.Manifest, FirstEpoch: p.manifest.FirstEpoch, LastEpoch: p.manifest.LastEpoch, Written: r.db != nil})
	}
	if err := ctx.Err(); err != nil {
		// Cancelled: drop the stream as an error would.
		return nil, abort(r, s, err)
	}
	s.Wait()
	if res.Manifests != len(todo) {
		return nil, fmt.Errorf("restored %d of %d manifests", res.Manifests, len(todo))
	}
	return res, nil
}

// report hands p to Options.Progress, if set.
func (r *run) report(p Progress) {
	if r.progress != nil {
		r.progress(p)
	}
}

// abort drops the stream the way the real consumer's early return does:
// stop the tasks, close every reader in flight (each child meets the
// adapter's policy), then, unless the policy abandons its children, wait
// for the workers to stop. It returns cause, joined with any error the
// cleanup itself reported.
func abort[T any](r *run, s *stream.Ordered[T], cause error) error {
	s.Abort()
	cerr := r.inflight.closeAll()
	if r.a.Policy != adapter.Abandon {
		s.Wait()
	}
	if cerr != nil {
		return errors.Join(cause, fmt.Errorf("cleanup after abort: %w", cerr))
	}
	return cause
}

// tail is where the restored history ends so far: the last epoch-ending
// ledger info, from the previous manifest or from the target DB.
type tail struct {
	epoch          uint64
	nextBlockEpoch uint64 // the epoch its next epoch state starts; epoch if it has none
	wp             ledger.Waypoint
	source         string // "manifest <handle>" or "the target DB <dir> (manifest <handle>)"
}

// tailOf is the tail after p, a manifest verified whole (so it has a last
// ledger info).
func tailOf(p *preheated) *tail {
	t := &tail{epoch: p.manifest.LastEpoch, wp: p.last, source: "manifest " + p.meta.Manifest}
	if p.lastInfo != nil {
		t.nextBlockEpoch = nextBlockEpoch(p.lastInfo)
	}
	return t
}

// nextBlockEpoch is Aptos' LedgerInfo::next_block_epoch: the next epoch
// state's epoch, or the ledger info's own epoch if it ends none.
func nextBlockEpoch(li *ledger.LedgerInfoWithSignatures) uint64 {
	if li.Info.NextEpochState != nil {
		return li.Info.NextEpochState.Epoch
	}
	return li.Info.Epoch
}

// checkContinuity checks that p starts where prev ended: its first epoch
// follows prev's last, and is the epoch prev's last ledger info hands over
// to (the real tool's "Previous epoch ending LedgerInfo is not the one
// expected").
func checkContinuity(prev *tail, p *preheated) error {
	if prev == nil {
		if p.manifest.FirstEpoch != 0 {
			return fmt.Errorf("manifest %s: first epoch %d, want 0", p.meta.Manifest, p.manifest.FirstEpoch)
		}
		return nil
	}
	if want := prev.epoch + 1; p.manifest.FirstEpoch != want {
		return fmt.Errorf("manifest %s: first epoch %d does not continue %s (last epoch %d)",
			p.meta.Manifest, p.manifest.FirstEpoch, prev.source, prev.epoch)
	}
	if p.manifest.FirstEpoch != prev.nextBlockEpoch {
		return fmt.Errorf("manifest %s: previous epoch-ending ledger info is not the one expected: my first epoch %d, "+
			"next block epoch of %s's last ledger info (epoch %d) %d",
			p.meta.Manifest, p.manifest.FirstEpoch, prev.source, prev.epoch, prev.nextBlockEpoch)
	}
	return nil
}
