package harness

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settle retries Take and Diff until the leaks settle: it returns as soon as
// nothing leaked, or once the same non-empty diff has held for the quiet
// window (Quiet, default 300ms: a stable leak), or when ctx is done, in which
// case it returns the last leaks with ctx.Err().
//
//	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
//	defer cancel()
//	leaks, err := harness.Settle(ctx, before)
//
// Snapshots are taken every 20ms (PollEvery) of the baseline's process
// (unless Of says otherwise) with the baseline's marker (unless WithMarker
// says otherwise), recording goroutines when the baseline did. A leak whose
// state changes (a child going from S to Z, a new fd) restarts the quiet
// window. The returned Leaks are attributed (see Leaks.Attribute) and
// annotated with WithFacts' facts. A Take error ends Settle with that error.
func Settle(ctx context.Context, baseline Snapshot, opts ...Option) (Leaks, error) {
	o, err := newOptions(callSettle, opts)
	if err != nil {
		return Leaks{Baseline: baseline}, err
	}
	return settle(ctx, baseline, o)
}

func settle(ctx context.Context, baseline Snapshot, o *options) (Leaks, error) {
	spec := scanSpec{self: o.self(baseline.Self), marker: o.markerOr(baseline.Marker), goroutines: baseline.Goroutines != nil}
	var (
		lastKey string
		since   time.Time
		timer   *time.Timer
	)
	for {
		now, err := scan(spec)
		if err != nil {
			return Leaks{Baseline: baseline}, fmt.Errorf("harness: settle: %w", err)
		}
		leaks := diff(baseline, now, o)
		if leaks.Empty() {
			return leaks, nil
		}
		key := leaks.identity()
		if key != lastKey {
			lastKey, since = key, time.Now()
		} else if time.Since(since) >= o.quiet {
			return o.report(leaks), nil
		}
		if timer == nil {
			timer = time.NewTimer(o.interval)
			defer timer.Stop()
		} else {
			timer.Reset(o.interval)
		}
		select {
		case <-ctx.Done():
			return o.report(leaks), ctx.Err()
		case <-timer.C:
		}
	}
}

// report attributes l's pipe fds and annotates its processes with the
// WithFacts facts.
func (o *options) report(l Leaks) Leaks {
	return l.Attribute().Annotate(o.allFacts()...)
}

// identity is a canonical string of what leaked, by identity and state.
func (l Leaks) identity() string {
	var parts []string
	for _, p := range l.Children {
		parts = append(parts, "c"+procID(p))
	}
	for _, p := range l.Escaped {
		parts = append(parts, "e"+procID(p))
	}
	for _, fd := range l.FDs {
		parts = append(parts, "f"+strconv.Itoa(fd.Num)+">"+fd.Target)
	}
	parts = append(parts, goroutineIDs(l.Goroutines)...)
	slices.Sort(parts)
	return strings.Join(parts, "\x00")
}

func procID(p Proc) string {
	return strconv.Itoa(int(p.Pid)) + "@" + strconv.FormatInt(p.Started.UnixNano(), 10) + ":" + p.State + ":" + strconv.Itoa(int(p.PPid))
}
