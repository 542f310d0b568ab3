package manifest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrNoBackups means PlanEpochEnding was given no backups and no target.
var ErrNoBackups = errors.New("no epoch-ending backups")

// ErrGap is the errors.Is sentinel of a *GapError.
var ErrGap = errors.New("epoch-ending backups leave a gap")

// GapError reports epochs From..To (inclusive) that no chain of backups from
// epoch 0 covers: the best chain covers epochs 0..From−1 (nothing when From
// is 0), and no backup starts at From. To is the epoch before the next backup that starts after From, or
// the target epoch if none does. It matches ErrGap.
//
//	var gap *manifest.GapError
//	if errors.As(err, &gap) { log.Printf("epochs %d..%d missing", gap.From, gap.To) }
type GapError struct {
	From, To uint64
}

// Error says "epoch-ending backups leave a gap: epochs 10..19 are missing (no backup starts at epoch 10)".
func (e *GapError) Error() string {
	return fmt.Sprintf("%v: epochs %d..%d are missing (no backup starts at epoch %d)", ErrGap, e.From, e.To, e.From)
}

// Is reports whether target is ErrGap.
func (e *GapError) Is(target error) bool { return target == ErrGap }

// PlanEpochEnding picks the backups to restore to cover epochs 0..target,
// or 0..the highest last epoch among metas when target is nil. The result
// is a chain in epoch order: the first backup starts at epoch 0, each next
// one starts right after the previous one's last epoch (what the restore
// checks between manifests), and the last one contains target (it may
// extend past it).
//
// Choosing: metas are sorted (by first epoch, last epoch, first version,
// last version, manifest) and identical entries dropped. Among chains the
// one with the fewest backups wins; where several backups start at the same
// epoch, the one reaching further is tried first, then the lower in sort
// order (so of two backups of the same range the one whose manifest handle
// sorts first). A backup that starts inside the chain's range rather than
// right after it overlaps and is not used.
//
// Errors: no metas and a nil target is ErrNoBackups; an entry whose last
// epoch or version is before its first is ErrInvalidRange; epochs no chain
// reaches are a *GapError naming the first missing range.
//
//	plan, err := manifest.PlanEpochEnding(metas, nil)
//	target := uint64(42)
//	plan, err = manifest.PlanEpochEnding(metas, &target)
func PlanEpochEnding(metas []EpochEndingBackupMeta, target *uint64) ([]EpochEndingBackupMeta, error) {
	sorted, err := sortMetas(metas)
	if err != nil {
		return nil, err
	}
	var goal uint64
	switch {
	case target != nil:
		goal = *target
	case len(sorted) == 0:
		return nil, ErrNoBackups
	default:
		for _, m := range sorted {
			goal = max(goal, m.LastEpoch)
		}
	}
	chain, furthest := shortestChain(sorted, goal)
	if chain != nil {
		return chain, nil
	}
	return nil, gapAt(sorted, furthest, goal)
}

// sortMetas checks each of metas and returns a sorted copy (compareMeta)
// without duplicates.
func sortMetas(metas []EpochEndingBackupMeta) ([]EpochEndingBackupMeta, error) {
	for i, m := range metas {
		if err := m.check(); err != nil {
			return nil, fmt.Errorf("plan epoch-ending backups: %s (metas[%d]): %w", m.Manifest, i, err)
		}
	}
	sorted := slices.Clone(metas)
	slices.SortFunc(sorted, compareMeta)
	return slices.Compact(sorted), nil
}

// shortestChain finds the chain of sorted backups from epoch 0 to goal
// with the fewest backups, the preferred choices first (see
// PlanEpochEnding). Without one it returns nil and the furthest epoch a
// chain from 0 reaches the start of.
//
//	chain, furthest := shortestChain(sorted, 42)
func shortestChain(sorted []EpochEndingBackupMeta, goal uint64) ([]EpochEndingBackupMeta, uint64) {
	startingAt := byFirstEpoch(sorted)
	// Breadth-first search over "next epoch to cover", from 0: the first
	// chain found has the fewest backups, and among those the preferred
	// choices come first.
	type state struct {
		next uint64
		via  int // index in sorted of the backup that led here; -1 for the start
		prev int // index in states of the previous state
	}
	states := []state{{next: 0, via: -1, prev: -1}}
	seen := map[uint64]bool{0: true}
	furthest := uint64(0)
	for s := 0; s < len(states); s++ {
		for _, i := range startingAt[states[s].next] {
			m := sorted[i]
			if m.LastEpoch >= goal {
				chain := []EpochEndingBackupMeta{m}
				for at := s; states[at].via >= 0; at = states[at].prev {
					chain = append(chain, sorted[states[at].via])
				}
				slices.Reverse(chain)
				return chain, 0
			}
			next := m.LastEpoch + 1 // no overflow: LastEpoch < goal
			if !seen[next] {
				seen[next] = true
				furthest = max(furthest, next)
				states = append(states, state{next: next, via: i, prev: s})
			}
		}
	}
	return nil, furthest
}

// byFirstEpoch maps an epoch to the indexes of the sorted backups
// starting at it, furthest reaching first, then in sort order.
func byFirstEpoch(sorted []EpochEndingBackupMeta) map[uint64][]int {
	startingAt := map[uint64][]int{}
	for i, m := range sorted {
		startingAt[m.FirstEpoch] = append(startingAt[m.FirstEpoch], i)
	}
	for _, idx := range startingAt {
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(sorted[b].LastEpoch, sorted[a].LastEpoch) })
	}
	return startingAt
}

// gapAt is the *GapError of epochs from furthest, where no sorted backup
// starts, to the epoch before the next one that does (goal if none does).
func gapAt(sorted []EpochEndingBackupMeta, furthest, goal uint64) *GapError {
	gap := &GapError{From: furthest, To: goal}
	for _, m := range sorted {
		if m.FirstEpoch > furthest && m.FirstEpoch <= goal {
			gap.To = m.FirstEpoch - 1
			break
		}
	}
	return gap
}

func compareMeta(a, b EpochEndingBackupMeta) int {
	return cmp.Or(
		cmp.Compare(a.FirstEpoch, b.FirstEpoch),
		cmp.Compare(a.LastEpoch, b.LastEpoch),
		cmp.Compare(a.FirstVersion, b.FirstVersion),
		cmp.Compare(a.LastVersion, b.LastVersion),
		cmp.Compare(a.Manifest, b.Manifest),
	)
}
