package restore

import (
	"errors"
	"fmt"

	"github.com/leakgate/leakgate/restore/db"
	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/manifest"
)

// ErrTargetMismatch is returned when the target DB holds manifests that are
// not a prefix of this backup's plan: it was restored from other backups
// (another bucket, or backups since compacted into other ranges). The port
// does not mix restores; use a new --target-db-dir, as the real tool's
// coordinator advises.
var ErrTargetMismatch = errors.New("target DB does not match the backup")

// resume decides where a restore into the target DB picks up. The DB holds
// whole manifests only (one batch each), epochs 0..latest, each under a
// completion marker that records the manifest handle, epochs and versions
// of its metadata line. resume returns how many planned backups to skip
// (the markers, which must match the plan's first entries one for one) and
// the tail to continue from: the DB's last ledger info, re-read and checked
// (it decodes, has the latest epoch, hashes to the latest waypoint and ends
// its epoch). An empty DB, or no DB, resumes nothing.
func (r *run) resume(plan []manifest.EpochEndingBackupMeta) (int, *tail, error) {
	if r.db == nil {
		return 0, nil, nil
	}
	marks, err := r.db.Manifests()
	if err != nil {
		return 0, nil, err
	}
	latest, ok := r.db.Latest()
	dir := r.db.Dir()
	if len(marks) == 0 {
		if ok {
			return 0, nil, fmt.Errorf("target DB %s: %w: latest epoch %d but no manifest marker", dir, db.ErrCorrupt, latest.Epoch)
		}
		return 0, nil, nil
	}
	if err := matchPlan(dir, marks, plan); err != nil {
		return 0, nil, err
	}
	last := marks[len(marks)-1]
	if !ok || latest.Epoch != last.LastEpoch || latest.Manifest != last.Handle || latest.Waypoint != last.LastWaypoint {
		return 0, nil, fmt.Errorf("target DB %s: %w: %s (epoch %d, manifest %s) disagrees with the last marker (epoch %d, manifest %s)",
			dir, db.ErrCorrupt, db.KeyLatest, latest.Epoch, latest.Manifest, last.LastEpoch, last.Handle)
	}
	t, err := r.dbTail(latest, last)
	if err != nil {
		return 0, nil, err
	}
	return len(marks), t, nil
}

// matchPlan checks that the target DB's markers (in dir) are the plan's
// first entries, one for one (ErrTargetMismatch).
//
//	err := matchPlan(r.db.Dir(), marks, plan)
func matchPlan(dir string, marks []db.Manifest, plan []manifest.EpochEndingBackupMeta) error {
	for i, mk := range marks {
		if i >= len(plan) {
			return fmt.Errorf("target DB %s: %w: it holds epochs 0..%d, the backup's plan ends at epoch %d",
				dir, ErrTargetMismatch, marks[len(marks)-1].LastEpoch, plan[len(plan)-1].LastEpoch)
		}
		want := plan[i]
		if mk.Handle != want.Manifest || mk.FirstEpoch != want.FirstEpoch || mk.LastEpoch != want.LastEpoch ||
			mk.FirstVersion != want.FirstVersion || mk.LastVersion != want.LastVersion {
			return fmt.Errorf("target DB %s: %w: %s holds manifest %s (epochs %d..%d, versions %d..%d), "+
				"the plan has manifest %s (epochs %d..%d, versions %d..%d) there",
				dir, ErrTargetMismatch, db.FormatKey(db.ManifestKey(mk.FirstEpoch)),
				mk.Handle, mk.FirstEpoch, mk.LastEpoch, mk.FirstVersion, mk.LastVersion,
				want.Manifest, want.FirstEpoch, want.LastEpoch, want.FirstVersion, want.LastVersion)
		}
	}
	return nil
}

// dbTail re-reads the target DB's last ledger info, of latest (which
// matches last, the last marker), and checks it: it decodes, has the latest
// epoch, hashes to the latest waypoint and ends its epoch (else
// db.ErrCorrupt). It returns the tail to continue from.
//
//	t, err := r.dbTail(latest, marks[len(marks)-1])
func (r *run) dbTail(latest db.Latest, last db.Manifest) (*tail, error) {
	dir := r.db.Dir()
	rec, err := r.db.LedgerInfo(latest.Epoch)
	if err != nil {
		return nil, err
	}
	li, err := ledger.Decode(rec)
	if err != nil {
		return nil, fmt.Errorf("target DB %s: %w: %s: %w", dir, db.ErrCorrupt, db.FormatKey(db.LedgerInfoKey(latest.Epoch)), err)
	}
	wp := ledger.WaypointOf(li.Info.Version, rec)
	switch {
	case li.Info.Epoch != latest.Epoch:
		err = fmt.Errorf("holds the ledger info of epoch %d", li.Info.Epoch)
	case wp != latest.Waypoint:
		err = fmt.Errorf("waypoint %s, the DB's latest is %s", wp, latest.Waypoint)
	case li.Info.NextEpochState == nil:
		err = errors.New("the ledger info does not end an epoch")
	}
	if err != nil {
		return nil, fmt.Errorf("target DB %s: %w: %s: %w", dir, db.ErrCorrupt, db.FormatKey(db.LedgerInfoKey(latest.Epoch)), err)
	}
	return &tail{
		epoch:          latest.Epoch,
		nextBlockEpoch: nextBlockEpoch(li),
		wp:             wp,
		source:         fmt.Sprintf("the target DB %s (manifest %s)", dir, last.Handle),
	}, nil
}

// write commits p's verified ledger infos to the target DB in one batch,
// with its completion marker; without a target DB it does nothing.
func (r *run) write(p *preheated) error {
	if r.db == nil {
		return nil
	}
	err := r.db.PutManifest(db.Manifest{
		Handle:       p.meta.Manifest,
		FirstEpoch:   p.manifest.FirstEpoch,
		LastEpoch:    p.manifest.LastEpoch,
		FirstVersion: p.meta.FirstVersion,
		LastVersion:  p.meta.LastVersion,
		LastWaypoint: p.last,
	}, p.recs)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", p.meta.Manifest, err)
	}
	return nil
}
