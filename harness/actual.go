package harness

import (
	"fmt"
	"strings"
	"time"
)

// snapshotOf resolves a matcher's actual value to a Snapshot: a Snapshot,
// *Snapshot, func() Snapshot or func() (Snapshot, error).
func snapshotOf(matcher string, actual any) (Snapshot, error) {
	switch a := actual.(type) {
	case Snapshot:
		return a, nil
	case *Snapshot:
		if a == nil {
			return Snapshot{}, fmt.Errorf("%s: actual is a nil *harness.Snapshot", matcher)
		}
		return *a, nil
	case func() Snapshot:
		return a(), nil
	case func() (Snapshot, error):
		s, err := a()
		if err != nil {
			return s, fmt.Errorf("%s: %w", matcher, err)
		}
		return s, nil
	case func(...Option) (Snapshot, error): // harness.Take itself
		s, err := a()
		if err != nil {
			return s, fmt.Errorf("%s: %w", matcher, err)
		}
		return s, nil
	}
	return Snapshot{}, fmt.Errorf("%s: actual must be a harness.Snapshot, harness.Leaks or a func returning a Snapshot (e.g. harness.Take), got %T", matcher, actual)
}

// procSet is what HaveZombies and HaveEscaped look at.
type procSet struct {
	children, escaped []Proc
	taken             time.Time
	what              string // describes the source, for messages
}

// procsOf resolves the actual value of HaveZombies and HaveEscaped: Leaks
// (or *Leaks) give their leaked processes, anything snapshotOf accepts gives
// the snapshot's.
func procsOf(matcher string, actual any) (procSet, error) {
	switch a := actual.(type) {
	case Leaks:
		return procSet{a.Children, a.Escaped, a.Taken, fmt.Sprintf("the leaks since baseline (%s)", baselineSummary(a.Baseline))}, nil
	case *Leaks:
		if a == nil {
			return procSet{}, fmt.Errorf("%s: actual is a nil *harness.Leaks", matcher)
		}
		return procsOf(matcher, *a)
	}
	s, err := snapshotOf(matcher, actual)
	if err != nil {
		return procSet{}, err
	}
	return procSet{s.Descendants, s.Escaped, s.Taken, fmt.Sprintf("the snapshot of pid %d (%d descendants, %d escaped)", s.Self, len(s.Descendants), len(s.Escaped))}, nil
}

// render lists processes as report blocks.
func (ps procSet) render(children, escaped []Proc) string {
	var b strings.Builder
	for _, p := range children {
		b.WriteString("\n")
		writeProc(&b, p, ps.taken, false)
	}
	for _, p := range escaped {
		b.WriteString("\n")
		writeProc(&b, p, ps.taken, true)
	}
	return b.String()
}
