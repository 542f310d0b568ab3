package restore

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/leakgate/leakgate/restore/adapter"
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
	// this many are queued. 0 means runtime.NumCPU(), as shipped.
	Concurrency int
	// MetadataCacheDir holds the downloaded metadata files. "" means a
	// temporary directory, removed when Run returns.
	MetadataCacheDir string
	// MaxRecordLen caps one record's length in bytes; 0 means
	// record.DefaultMaxLen.
	MaxRecordLen uint32
}

// Result is what a successful restore verified.
type Result struct {
	// Manifests, Chunks and LedgerInfos count what was read and verified.
	Manifests, Chunks, LedgerInfos int
	// FirstEpoch and LastEpoch bound the restored epoch range.
	FirstEpoch, LastEpoch uint64
	// Waypoints counts manifest waypoints matched by a ledger info; equal
	// to LedgerInfos on success.
	Waypoints int
	// LastWaypoint is the waypoint of the last restored epoch.
	LastWaypoint ledger.Waypoint
}

// ErrNoBackups is returned when the metadata lists no epoch-ending backup.
var ErrNoBackups = errors.New("no epoch-ending backup in metadata")

// Run restores the epoch-ending history the adapter's storage holds: it
// syncs the metadata, plans the backups that cover epochs from 0, preheats
// their manifests through the ordered bounded stream and consumes the
// results in order, checking continuity between manifests.
//
//	res, err := restore.Run(ctx, restore.Options{Adapter: a, Concurrency: 8})
//
// The first error aborts the restore: every reader still in flight is
// closed at once (its child treated by the adapter's policy) and the error,
// naming the manifest and the file handle, is returned. Under every policy
// but Abandon, Run returns only after its worker goroutines have stopped.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Adapter == nil {
		return nil, errors.New("restore: Options.Adapter is nil")
	}
	c := opts.Concurrency
	if c <= 0 {
		c = runtime.NumCPU()
	}
	r := &run{a: opts.Adapter, c: c, maxRecord: opts.MaxRecordLen, inflight: newInflight()}

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
	res, err := r.restoreEpochEnding(ctx, plan)
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
}

// restoreEpochEnding preheats the planned manifests through the ordered
// bounded stream and consumes them in order.
func (r *run) restoreEpochEnding(ctx context.Context, plan []manifest.EpochEndingBackupMeta) (*Result, error) {
	tasks := make([]stream.Task[preheated], len(plan))
	for i, meta := range plan {
		tasks[i] = func(ctx context.Context, g *stream.Gate) preheated {
			return r.preheat(ctx, g, meta)
		}
	}
	s := stream.NewOrdered(ctx, tasks, 2*r.c, r.c)
	res := &Result{}
	var prev *preheated
	for {
		p, ok := s.Next()
		if !ok {
			break
		}
		err := p.err
		if err == nil {
			err = checkContinuity(prev, &p)
		}
		if err != nil {
			return nil, abort(r, s, err)
		}
		if prev == nil {
			res.FirstEpoch = p.manifest.FirstEpoch
		}
		res.Manifests++
		res.Chunks += len(p.manifest.Chunks)
		res.LedgerInfos += len(p.infos)
		res.Waypoints += p.waypoints
		res.LastEpoch = p.manifest.LastEpoch
		res.LastWaypoint = p.last
		prev = &p
	}
	if err := ctx.Err(); err != nil {
		// Cancelled: drop the stream as an error would.
		return nil, abort(r, s, err)
	}
	s.Wait()
	if res.Manifests != len(plan) {
		return nil, fmt.Errorf("restored %d of %d manifests", res.Manifests, len(plan))
	}
	return res, nil
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

// checkContinuity checks that p starts where prev ended.
func checkContinuity(prev, p *preheated) error {
	if prev == nil {
		if p.manifest.FirstEpoch != 0 {
			return fmt.Errorf("manifest %s: first epoch %d, want 0", p.meta.Manifest, p.manifest.FirstEpoch)
		}
		return nil
	}
	if want := prev.manifest.LastEpoch + 1; p.manifest.FirstEpoch != want {
		return fmt.Errorf("manifest %s: first epoch %d does not continue manifest %s (last epoch %d)",
			p.meta.Manifest, p.manifest.FirstEpoch, prev.meta.Manifest, prev.manifest.LastEpoch)
	}
	return nil
}
