package harness

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leakgate/leakgate/internal/procfs"
)

// Settle retries Take and Diff until the leaks settle: it returns as soon as
// nothing leaked, or once the same non-empty diff has held for the quiet
// window (Quiet, default 300ms: a stable leak), or, with OnEvidence, as soon
// as the evidence proves that every leak will hold still for that long
// (Leaks.Stuck), or when ctx is done, in which case it returns the last
// leaks with ctx.Err(). Leaks.Settled says which.
//
//	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
//	defer cancel()
//	leaks, err := harness.Settle(ctx, before, harness.OnEvidence(), harness.WithFacts(journalFacts))
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

// proofEvery is how often settle asks for evidence while a diff holds
// still: a proof reads the wait channels and fd tables of every leaked
// process, and the caller's facts.
const proofEvery = 100 * time.Millisecond

func settle(ctx context.Context, baseline Snapshot, o *options) (Leaks, error) {
	spec := scanSpec{self: o.self(baseline.Self), marker: o.markerOr(baseline.Marker), goroutines: baseline.Goroutines != nil}
	var (
		lastKey    string
		since, ask time.Time
		timer      *time.Timer
	)
	for {
		now, err := scan(spec)
		if err != nil {
			return Leaks{Baseline: baseline}, fmt.Errorf("harness: settle: %w", err)
		}
		leaks := diff(baseline, now, o)
		if leaks.Empty() {
			leaks.Settled = "nothing leaked"
			return leaks, nil
		}
		key := leaks.identity()
		if o.evidence {
			key += leaks.activity()
		}
		switch {
		case key != lastKey:
			lastKey, since = key, time.Now()
		case o.evidence && !time.Now().Before(ask):
			ask = time.Now().Add(proofEvery)
			if st := leaks.Annotate(o.allFacts()...).Stuck(time.Now().Add(o.quiet)); st.All() {
				return o.settled(leaks, "proven stuck:\n"+st.String()), nil
			}
		}
		if key == lastKey && time.Since(since) >= o.quiet {
			return o.settled(leaks, fmt.Sprintf("unchanged for %v", o.quiet)), nil
		}
		if timer == nil {
			timer = time.NewTimer(o.interval)
			defer timer.Stop()
		} else {
			timer.Reset(o.interval)
		}
		select {
		case <-ctx.Done():
			return o.settled(leaks, "not settled: "+ctx.Err().Error()), ctx.Err()
		case <-timer.C:
		}
	}
}

// settled is the leaks settle returns: attributed, annotated with the
// WithFacts facts, and with how settling ended; with OnEvidence, a window
// that ran out says what the evidence could not prove.
func (o *options) settled(l Leaks, how string) Leaks {
	l = o.report(l)
	if o.evidence && !strings.HasPrefix(how, "proven") {
		if st := l.Stuck(time.Now().Add(o.quiet)); len(st.Unproven) > 0 {
			how += "; not proven stuck:\n" + strings.Join(st.Unproven, "\n")
		}
	}
	l.Settled = how
	return l
}

// report attributes l's pipe fds and annotates its processes with the
// WithFacts facts.
func (o *options) report(l Leaks) Leaks {
	return l.Attribute().Annotate(o.allFacts()...)
}

// activity is a canonical string of how many read and write calls each
// live leaked process has made (procfs.IOCalls): with OnEvidence, a process
// still moving data through a pipe or socket is not holding still, even
// though its state stays S. Processes whose counters cannot be read are
// left out.
func (l Leaks) activity() string {
	var b strings.Builder
	for _, p := range slices.Concat(l.Children, l.Escaped) {
		if p.State == "Z" {
			continue
		}
		if n, err := procfs.IOCalls(p.Pid); err == nil {
			fmt.Fprintf(&b, "\x00io%d=%d", p.Pid, n)
		}
	}
	return b.String()
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
