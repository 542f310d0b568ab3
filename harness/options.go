package harness

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/onsi/gomega/gleak"
	"github.com/onsi/gomega/types"
)

// Option configures Take, Diff, Settle, Sample, Sweep, VerifyNone,
// VerifyTestMain and HaveLeaked. Each option says which of them it applies
// to; passing one to a call it does not apply to, or a bad value (a
// duration ≤ 0, a pid ≤ 0, a nil matcher), is refused with an error
// wrapping ErrOption (Diff, which returns no error, panics):
//
//	filters := []harness.Option{harness.IgnoringFDs(gomega.HaveField("Kind", harness.FDSocket))}
//	leaks, err := harness.Settle(ctx, before, append(filters, harness.Quiet(time.Second))...)
type Option struct {
	name  string // as written: "Quiet(-1s)"
	calls call   // the calls it applies to
	err   error  // a bad value, reported by the call
	set   func(*options)
}

// ErrOption is wrapped by the error for an option that does not apply to
// the call it was passed to, or has a bad value: errors.Is(err,
// harness.ErrOption).
var ErrOption = errors.New("harness: bad option")

// call is a set of the package's calls that take options.
type call uint16

const (
	callTake call = 1 << iota
	callDiff
	callSettle
	callSample
	callSweep
	callVerify // VerifyNone and VerifyTestMain
	callMatcher

	// filters are the Ignoring… options: every call that diffs.
	filters = callDiff | callSettle | callSample | callVerify | callMatcher
	// measuring are the options saying what to measure.
	measuring = callTake | callSettle | callSample | callVerify
)

var callNames = []string{"Take", "Diff", "Settle", "Sample", "Sweep", "VerifyNone/VerifyTestMain", "HaveLeaked"}

func (c call) String() string {
	var names []string
	for i, n := range callNames {
		if c&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// newOption makes an option named name for calls; err non-nil marks a bad
// value.
func newOption(name string, calls call, err error, set func(*options)) Option {
	return Option{name: name, calls: calls, err: err, set: set}
}

// positive is the error for a duration option's value, nil if it is > 0.
func positive(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%w: %s(%v): want a duration > 0", ErrOption, name, d)
	}
	return nil
}

// Defaults, in one place.
const (
	defaultQuiet    = 300 * time.Millisecond
	defaultInterval = 20 * time.Millisecond
	defaultWithin   = 5 * time.Second
)

// netpollerFDs matches the fds the Go runtime's netpoller opens once per
// process (epoll instance and its wake-up eventfd); Diff ignores them by
// default.
var netpollerFDs = regexp.MustCompile(`^anon_inode:\[(eventpoll|eventfd)\]$`)

type options struct {
	marker      *string // nil: default (see Take)
	of          int32   // the measured process; 0: the baseline's, else the caller
	goroutines  bool
	ignoreProc  []types.GomegaMatcher // IgnoringProcs
	ignoreFD    []types.GomegaMatcher // IgnoringFDs
	ignoreFDT   []*regexp.Regexp      // fd targets always ignored (the netpoller's)
	ignoreGo    []any                 // gleak.HaveLeaked filters
	facts       []func() []Fact
	quiet       time.Duration
	evidence    bool // OnEvidence
	interval    time.Duration
	intervalSet bool // PollEvery given (Sample's default differs)
	within      time.Duration
	grace       time.Duration // TermFirst; 0: SIGKILL at once
}

// markerOr is WithMarker's prefix, else def.
func (o *options) markerOr(def string) string {
	if o.marker != nil {
		return *o.marker
	}
	return def
}

// self is the process to measure: Of's pid, else def (a baseline's Self)
// if non-zero, else the caller.
func (o *options) self(def int32) int32 {
	switch {
	case o.of != 0:
		return o.of
	case def != 0:
		return def
	}
	return int32(os.Getpid())
}

// newOptions applies opts for call c, refusing any that does not apply
// to c or has a bad value.
func newOptions(c call, opts []Option) (*options, error) {
	o := &options{
		ignoreFDT: []*regexp.Regexp{netpollerFDs},
		quiet:     defaultQuiet,
		interval:  defaultInterval,
		within:    defaultWithin,
	}
	for _, opt := range opts {
		switch {
		case opt.set == nil:
			return nil, fmt.Errorf("%w: a zero Option (use the option functions)", ErrOption)
		case opt.err != nil:
			return nil, opt.err
		case opt.calls&c == 0:
			return nil, fmt.Errorf("%w: %s does not apply to %s (only to %s)", ErrOption, opt.name, c, opt.calls)
		}
		opt.set(o)
	}
	return o, nil
}

// mustOptions is newOptions for Diff, which has no error to return: a bad
// option is a programmer's mistake, as a bad regexp is to MustCompile.
func mustOptions(c call, opts []Option) *options {
	o, err := newOptions(c, opts)
	if err != nil {
		panic(err)
	}
	return o
}

// WithMarker sets the marker prefix Take uses to find escaped processes:
// every process whose LEAKGATE_RUN value starts with prefix and that is not
// the measuring process, one of its ancestors or descendants. Take's default
// is ProcessMarker() (every Run this process made); Settle's default is the
// baseline's Marker. WithMarker("") turns the search off.
//
//	snap, err := harness.Take(harness.WithMarker(run.ID))
func WithMarker(prefix string) Option {
	return newOption("WithMarker", measuring, nil, func(o *options) { o.marker = &prefix })
}

// Of measures another process: Take records the descendants and fds of
// pid instead of the caller's, and Settle, Sample and VerifyNone measure pid
// (they measure their baseline's process by default):
//
//	before, err := harness.Take(harness.Of(cmd.Process.Pid), harness.WithMarker(run.ID))
//	s := harness.Sample(ctx, before, 25*time.Millisecond)
//
// Pass WithMarker too: the default marker prefix is the caller's
// (ProcessMarker). Measuring pid needs read access to its /proc/<pid>/fd
// (same user, or root). Once pid has exited, Take fails with an error
// satisfying errors.Is(err, ErrGone). Goroutines (WithGoroutines) and
// CheckFinalizers concern the caller only and are skipped for another
// process. A pid ≤ 0 is refused.
func Of(pid int) Option {
	var err error
	if pid <= 0 || pid > 1<<31-1 {
		err = fmt.Errorf("%w: Of(%d): want a pid > 0", ErrOption, pid)
	}
	return newOption("Of", measuring, err, func(o *options) { o.of = int32(pid) })
}

// WithGoroutines makes Take record the caller's goroutines
// (gleak.Goroutines) in the snapshot, so that Diff, Settle and VerifyNone
// against it report leaked goroutines too, with gleak's judgement (its
// standard filters for the runtime, testing and Ginkgo, plus
// IgnoringGoroutines):
//
//	before, err := harness.Take(harness.WithGoroutines())
//	…
//	harness.VerifyNone(t, before)
//
// Recording goroutines stops the world for a moment (runtime.Stack): leave
// it out of snapshots taken at a high rate.
func WithGoroutines() Option {
	return newOption("WithGoroutines", callTake, nil, func(o *options) { o.goroutines = true })
}

// IgnoringGoroutines makes Diff skip leaked goroutines that any of the
// filters matches; filters are what gleak.HaveLeaked accepts: a top
// function's name (string), a []gleak.Goroutine, or a Gomega matcher such as
// gleak.IgnoringCreator("pkg.Func"):
//
//	harness.IgnoringGoroutines("net/http.(*persistConn).readLoop", gleak.IgnoringCreator("pkg.start"))
//
// A filter of another type is refused.
func IgnoringGoroutines(goroutineFilters ...any) Option {
	var err error
	for _, f := range goroutineFilters {
		switch f.(type) {
		case string, []gleak.Goroutine, types.GomegaMatcher:
		default:
			err = fmt.Errorf("%w: IgnoringGoroutines: filter of type %T; want a string, []gleak.Goroutine or a Gomega matcher", ErrOption, f)
		}
	}
	return newOption("IgnoringGoroutines", filters, err, func(o *options) { o.ignoreGo = append(o.ignoreGo, goroutineFilters...) })
}

// IgnoringProcs makes Diff skip leaked processes (children and escaped)
// that m matches; m sees a Proc, so Gomega's matchers compose:
//
//	harness.IgnoringProcs(gomega.HaveField("Pid", int32(cmd.Process.Pid)))
//	harness.IgnoringProcs(gomega.HaveField("Cmdline", gomega.Equal([]string{"sleep", "300"})))
//	harness.IgnoringProcs(Or(HaveField("Name", "sshd"), HaveField("State", "Z")))
//
// A matcher error counts as no match (the process stays a leak). A nil m
// is refused.
func IgnoringProcs(m types.GomegaMatcher) Option {
	return newOption("IgnoringProcs", filters, nilMatcher("IgnoringProcs", m), func(o *options) { o.ignoreProc = append(o.ignoreProc, m) })
}

// IgnoringFDs makes Diff skip new fds that m matches; m sees an FD:
//
//	harness.IgnoringFDs(gomega.HaveField("Kind", harness.FDSocket))
//	harness.IgnoringFDs(gomega.HaveField("Target", gomega.MatchRegexp(`^/dev/null$`)))
//
// The Go netpoller's anon_inode:[eventpoll] and anon_inode:[eventfd] are
// always ignored. A matcher error counts as no match. A nil m is refused.
func IgnoringFDs(m types.GomegaMatcher) Option {
	return newOption("IgnoringFDs", filters, nilMatcher("IgnoringFDs", m), func(o *options) { o.ignoreFD = append(o.ignoreFD, m) })
}

func nilMatcher(name string, m types.GomegaMatcher) error {
	if m == nil {
		return fmt.Errorf("%w: %s(nil): want a Gomega matcher", ErrOption, name)
	}
	return nil
}

// matchesAny reports whether any of ms matches actual (an error is no
// match).
func matchesAny(ms []types.GomegaMatcher, actual any) bool {
	for _, m := range ms {
		if ok, err := m.Match(actual); err == nil && ok {
			return true
		}
	}
	return false
}

// WithFacts gives the reports of Settle, VerifyNone, VerifyTestMain and
// HaveLeaked what the caller knows of the processes a run started (see
// Fact and Leaks.Annotate). facts is called when a report is made, after
// the run, so it can read a journal then; it may return nil. A nil facts
// is refused.
//
//	harness.VerifyNone(t, before, harness.WithFacts(func() []harness.Fact { return factsFrom(journalPath) }))
func WithFacts(facts func() []Fact) Option {
	var err error
	if facts == nil {
		err = fmt.Errorf("%w: WithFacts(nil): want a func", ErrOption)
	}
	return newOption("WithFacts", callSettle|callVerify|callMatcher, err, func(o *options) { o.facts = append(o.facts, facts) })
}

// allFacts collects what every WithFacts source says.
func (o *options) allFacts() []Fact {
	var out []Fact
	for _, f := range o.facts {
		out = append(out, f()...)
	}
	return out
}

// Quiet sets how long Settle waits for an unchanged, non-empty diff before
// calling it a stable leak (default 300ms): harness.Quiet(time.Second).
// VerifyNone and VerifyTestMain settle too. A value ≤ 0 is refused.
func Quiet(d time.Duration) Option {
	return newOption("Quiet", callSettle|callVerify, positive("Quiet", d), func(o *options) { o.quiet = d })
}

// OnEvidence makes Settle (and VerifyNone, VerifyTestMain) end the wait as
// soon as the evidence proves that every leak will hold still for the
// quiet window, instead of watching it hold still for that long: a
// process a fault injector says it is stalling (WithFacts, Fact.HeldUntil),
// processes asleep on pipes or children that only such processes can
// wake, pidfds a thread waits on for them (Leaks.Stuck says exactly what
// counts). Where nothing proves a leak (a zombie, an fd the garbage
// collector may close) the quiet window still decides, and Leaks.Settled
// says what was not proven. The window then also counts a leaked process
// that makes read or write calls (its /proc/<pid>/io counters move) as
// changing: a download still trickling through a pipe, its process asleep
// between pieces, does not pass for a stable leak.
//
//	leaks, err := harness.Settle(ctx, before, harness.OnEvidence(), harness.WithFacts(journalFacts), harness.Quiet(time.Second))
func OnEvidence() Option {
	return newOption("OnEvidence", callSettle|callVerify, nil, func(o *options) { o.evidence = true })
}

// PollEvery sets the interval between snapshots of every call that polls:
// Settle, VerifyNone, VerifyTestMain and Sweep (default 20ms), and Sample
// (default 25ms): harness.PollEvery(50*time.Millisecond). A value ≤ 0 is
// refused.
func PollEvery(d time.Duration) Option {
	return newOption("PollEvery", callSettle|callSample|callSweep|callVerify, positive("PollEvery", d), func(o *options) { o.interval, o.intervalSet = d, true })
}

// TermFirst makes Sweep polite: SIGTERM first, then SIGKILL only to what
// is still there grace later, so that a daemon can remove its socket
// (Swept.Terminated lists what ended on SIGTERM alone):
// harness.Sweep(ctx, run, before, harness.TermFirst(2*time.Second)). A
// value ≤ 0 is refused.
func TermFirst(grace time.Duration) Option {
	return newOption("TermFirst", callSweep, positive("TermFirst", grace), func(o *options) { o.grace = grace })
}

// Within bounds how long VerifyNone lets leaks settle (default 5s):
// harness.VerifyNone(t, before, harness.Within(10*time.Second)). A value ≤ 0
// is refused.
func Within(d time.Duration) Option {
	return newOption("Within", callVerify, positive("Within", d), func(o *options) { o.within = d })
}
