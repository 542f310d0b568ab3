package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// sampleEvery is Sample's interval unless PollEvery says otherwise:
// frequent enough to catch a burst of zombies between two reaps, rare
// enough that sampling costs a few percent of a core on a machine with a
// hundred or so processes (a snapshot's cost grows with the processes on
// the machine: docs/design/snapshots.md has the figures; each Timeline
// records its own Busy and CPU).
const sampleEvery = 25 * time.Millisecond

// Point is one sample of a Timeline: the leak counts at At, as Diff against
// the baseline would give them (Children includes Zombies).
type Point struct {
	At       time.Duration `json:"at_ns"` // since Sample was called
	Children int           `json:"children"`
	Zombies  int           `json:"zombies"`
	Escaped  int           `json:"escaped"`
	FDs      int           `json:"fds"`
}

// String renders the counts as "3 children (2 zombies), 0 escaped, 12 fds
// at 1.25s".
func (p Point) String() string {
	return fmt.Sprintf("%d children (%d zombies), %d escaped, %d fds at %v", p.Children, p.Zombies, p.Escaped, p.FDs, p.At.Round(time.Millisecond))
}

func (p Point) sameCounts(q Point) bool {
	return p.Children == q.Children && p.Zombies == q.Zombies && p.Escaped == q.Escaped && p.FDs == q.FDs
}

// Timeline is what a Sampler recorded. Its JSON form (lower_snake_case
// fields, durations in nanoseconds) is the value of the scenarios'
// "timeline" report entry:
//
//	tl := s.Stop()
//	fmt.Println(tl.Peak.Zombies, len(tl.Points))
type Timeline struct {
	// Every is the sampling interval.
	Every time.Duration `json:"every_ns"`
	// Points holds the first sample, every sample whose counts differ from
	// the sample before it, and the last sample: the counts are a step
	// function of time, and this is every step.
	Points []Point `json:"points"`
	// Peak holds the largest value each count reached over all samples
	// (each maximum may come from a different sample); Peak.At is when the
	// largest total (children + escaped + fds) was first seen.
	Peak Point `json:"peak"`
	// Samples is how many snapshots were taken; Failed how many failed (the
	// measured process gone, see Of: sampling then stops).
	Samples int `json:"samples"`
	Failed  int `json:"failed"`
	// Busy is the wall-clock time spent taking and judging snapshots, and
	// CPU the processor time the sampling thread used for it (user and
	// system; Busy minus CPU is time spent waiting for a core): the
	// sampler's cost, to set against the run's duration.
	Busy time.Duration `json:"busy_ns"`
	CPU  time.Duration `json:"cpu_ns"`
}

// String summarises the timeline: "peak 3 children (3 zombies), 0
// escaped, 14 fds over 120 samples every 25ms (cpu 31ms)".
func (t Timeline) String() string {
	return fmt.Sprintf("peak %d children (%d zombies), %d escaped, %d fds over %d samples every %v (cpu %v)",
		t.Peak.Children, t.Peak.Zombies, t.Peak.Escaped, t.Peak.FDs, t.Samples, t.Every, t.CPU.Round(time.Millisecond))
}

// threadCPU is the calling thread's CPU time (user and system).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// Sampler records a Timeline while a run goes on. Sample starts one; Stop
// ends it.
type Sampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	tl     Timeline // owned by the sampling goroutine until done is closed
	// peakTotal is the largest children + escaped + fds of one sample.
	peakTotal int

	mu       sync.Mutex
	last     Point // the latest successful sample
	haveLast bool
}

// Sample starts sampling: every 25ms (PollEvery), it takes a snapshot of
// the baseline's process (or of Of's) with the baseline's marker (or
// WithMarker's) and records the Diff counts against baseline (opts'
// Ignoring… options apply). The first sample is taken before Sample
// returns, so even a command that exits at once has its start in the
// timeline; the others are taken in a goroutine. Sampling stops when ctx
// ends, the measured process is gone, or Stop is called.
//
//	s, err := harness.Sample(ctx, before, harness.PollEvery(10*time.Millisecond))
//	… run …
//	tl := s.Stop()
//	AddReportEntry("timeline", tl)
//
// A sample reads /proc/*/stat and the fd table and nothing else for
// processes it has seen before (see Take); it starts no process. A sample
// that takes longer than the interval delays the next one (ticks are not
// queued). Snapshots that fail count in Timeline.Failed. The only error is
// a refused option.
func Sample(ctx context.Context, baseline Snapshot, opts ...Option) (*Sampler, error) {
	o, err := newOptions(callSample, opts)
	if err != nil {
		return nil, err
	}
	every := sampleEvery
	if o.intervalSet {
		every = o.interval
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{cancel: cancel, done: make(chan struct{}), tl: Timeline{Every: every}}
	r := sampling{s: s, spec: scanSpec{self: o.self(baseline.Self), marker: o.markerOr(baseline.Marker)}, baseline: baseline, o: o, start: time.Now()}
	runtime.LockOSThread() // the first sample's CPU is this thread's
	gone := r.once()
	runtime.UnlockOSThread()
	go func() {
		defer close(s.done)
		// A thread of its own, so that its CPU clock measures sampling only.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for !gone {
			select {
			case <-ctx.Done():
				gone = true
			case <-ticker.C:
				gone = r.once()
			}
		}
		// The last sample closes the step function.
		if n := len(s.tl.Points); n > 0 && s.tl.Points[n-1].At != r.last.At {
			s.tl.Points = append(s.tl.Points, r.last)
		}
	}()
	return s, nil
}

// sampling is one Sampler's work: what it samples and its latest point.
type sampling struct {
	s        *Sampler
	spec     scanSpec
	baseline Snapshot
	o        *options
	start    time.Time
	last     Point
}

// once takes one sample and records it (or its failure) and its cost on
// the calling thread; it reports whether the measured process is gone.
func (r *sampling) once() (gone bool) {
	at := time.Since(r.start)
	t0, c0 := time.Now(), threadCPU()
	now, err := scan(r.spec)
	if err == nil {
		l := diff(r.baseline, now, r.o)
		p := Point{At: at, Children: len(l.Children), Zombies: len(l.Zombies()), Escaped: len(l.Escaped), FDs: len(l.FDs)}
		r.s.record(p, &r.last)
	} else {
		r.s.tl.Failed++
	}
	r.s.tl.Samples++
	r.s.tl.Busy += time.Since(t0)
	r.s.tl.CPU += threadCPU() - c0
	return errors.Is(err, ErrGone)
}

// record adds p to the timeline if its counts changed, and to the peak.
func (s *Sampler) record(p Point, last *Point) {
	tl := &s.tl
	if len(tl.Points) == 0 || !p.sameCounts(tl.Points[len(tl.Points)-1]) {
		tl.Points = append(tl.Points, p)
	}
	*last = p
	s.mu.Lock()
	s.last, s.haveLast = p, true
	s.mu.Unlock()
	if total := p.Children + p.Escaped + p.FDs; tl.Samples == tl.Failed || total > s.peakTotal {
		tl.Peak.At, s.peakTotal = p.At, total
	}
	tl.Peak.Children = max(tl.Peak.Children, p.Children)
	tl.Peak.Zombies = max(tl.Peak.Zombies, p.Zombies)
	tl.Peak.Escaped = max(tl.Peak.Escaped, p.Escaped)
	tl.Peak.FDs = max(tl.Peak.FDs, p.FDs)
}

// Done is closed when sampling has ended: after Stop, when ctx ended, or
// when the measured process was found gone. Stop still returns the
// timeline then.
//
//	<-s.Done() // the measured process exited
func (s *Sampler) Done() <-chan struct{} { return s.done }

// Last returns the latest sample, while sampling goes on or after; ok is
// false before the first successful one. For progress displays:
//
//	if p, ok := s.Last(); ok { fmt.Println(p) }
func (s *Sampler) Last() (p Point, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.haveLast
}

// Stop stops sampling, waits for the sampling goroutine to end, and returns
// the timeline. Later calls return the same timeline.
func (s *Sampler) Stop() Timeline {
	s.once.Do(s.cancel)
	<-s.done
	tl := s.tl
	tl.Points = make([]Point, len(s.tl.Points)) // [] rather than null in JSON
	copy(tl.Points, s.tl.Points)
	return tl
}
