package harness

import (
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/onsi/gomega/gleak"
	"github.com/onsi/gomega/types"
)

// Option configures Take, Diff, Settle, Sample, Cleanup, VerifyNone,
// VerifyTestMain and the matchers. Each function reads the options that
// concern it and ignores the rest, so one option list can be passed
// everywhere:
//
//	opts := []harness.Option{harness.IgnoringFDKind(harness.FDSocket)}
//	before, _ := harness.Take(opts...)
//	_, leaks, _ := harness.Settle(ctx, before, opts...)
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

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
	marker     *string // nil: default (see Take)
	of         int32   // the measured process; 0: the baseline's, else the caller
	goroutines bool
	ignorePid  map[int32]bool
	ignoreFDK  map[FDKind]bool
	ignoreFDT  []*regexp.Regexp
	ignoreCmd  []*regexp.Regexp
	ignoreGo   []any // gleak.HaveLeaked filters
	facts      []func() []Fact
	quiet      time.Duration
	interval   time.Duration
	within     time.Duration
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

func newOptions(opts []Option) *options {
	o := &options{
		ignorePid: map[int32]bool{},
		ignoreFDK: map[FDKind]bool{},
		ignoreFDT: []*regexp.Regexp{netpollerFDs},
		quiet:     defaultQuiet,
		interval:  defaultInterval,
		within:    defaultWithin,
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(o)
		}
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
	return optionFunc(func(o *options) { o.marker = &prefix })
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
// process. Of(pid) with pid <= 0 is ignored.
func Of(pid int) Option {
	return optionFunc(func(o *options) {
		if pid > 0 && pid <= 1<<31-1 {
			o.of = int32(pid)
		}
	})
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
	return optionFunc(func(o *options) { o.goroutines = true })
}

// IgnoringGoroutines makes Diff skip leaked goroutines that any of the
// filters matches; filters are what gleak.HaveLeaked accepts: a top
// function's name (string), a []gleak.Goroutine, or a Gomega matcher such as
// gleak.IgnoringCreator("pkg.Func"):
//
//	harness.IgnoringGoroutines("net/http.(*persistConn).readLoop", gleak.IgnoringCreator("pkg.start"))
//
// It panics on a filter of another type (a programmer's mistake).
func IgnoringGoroutines(filters ...any) Option {
	for _, f := range filters {
		switch f.(type) {
		case string, []gleak.Goroutine, types.GomegaMatcher:
		default:
			panic(fmt.Sprintf("harness.IgnoringGoroutines: filter of type %T; want a string, []gleak.Goroutine or a Gomega matcher", f))
		}
	}
	return optionFunc(func(o *options) { o.ignoreGo = append(o.ignoreGo, filters...) })
}

// IgnoringCmdline makes Diff skip leaked processes (children and escaped)
// whose command line, its arguments joined by single spaces, matches re; a
// process whose command line is unknown is matched by its name:
//
//	harness.IgnoringCmdline(regexp.MustCompile(`^sleep 300$`))
//
// A nil re is ignored.
func IgnoringCmdline(re *regexp.Regexp) Option {
	return optionFunc(func(o *options) {
		if re != nil {
			o.ignoreCmd = append(o.ignoreCmd, re)
		}
	})
}

// WithFacts gives the reports of Settle, VerifyNone, VerifyTestMain and
// HaveLeaked what the caller knows of the processes a run started (see
// Fact and Leaks.Annotate). facts is called when a report is made, after
// the run, so it can read a journal then; it may return nil. A nil facts
// is ignored.
//
//	harness.VerifyNone(t, before, harness.WithFacts(func() []harness.Fact { return factsFrom(journalPath) }))
func WithFacts(facts func() []Fact) Option {
	return optionFunc(func(o *options) {
		if facts != nil {
			o.facts = append(o.facts, facts)
		}
	})
}

// allFacts collects what every WithFacts source says.
func (o *options) allFacts() []Fact {
	var out []Fact
	for _, f := range o.facts {
		out = append(out, f()...)
	}
	return out
}

// IgnoringPid makes Diff (and so Settle and the matchers) skip process pid,
// as a child or escaped: harness.IgnoringPid(cmd.Process.Pid).
func IgnoringPid(pid int) Option {
	return optionFunc(func(o *options) { o.ignorePid[int32(pid)] = true })
}

// IgnoringFDKind makes Diff skip new fds of the given kind:
// harness.IgnoringFDKind(harness.FDSocket).
func IgnoringFDKind(kind FDKind) Option {
	return optionFunc(func(o *options) { o.ignoreFDK[kind] = true })
}

// IgnoringFDTarget makes Diff skip new fds whose readlink target matches re:
// harness.IgnoringFDTarget(regexp.MustCompile(`^/dev/null$`)). The Go
// netpoller's anon_inode:[eventpoll] and anon_inode:[eventfd] are always
// ignored. A nil re is ignored.
func IgnoringFDTarget(re *regexp.Regexp) Option {
	return optionFunc(func(o *options) {
		if re != nil {
			o.ignoreFDT = append(o.ignoreFDT, re)
		}
	})
}

// Quiet sets how long Settle waits for an unchanged, non-empty diff before
// calling it a stable leak (default 300ms): harness.Quiet(time.Second).
// Values <= 0 keep the default.
func Quiet(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.quiet = d
		}
	})
}

// PollEvery sets the interval between Settle's and Cleanup's snapshots
// (default 20ms): harness.PollEvery(50*time.Millisecond). Values <= 0 keep
// the default.
func PollEvery(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.interval = d
		}
	})
}

// Within bounds how long VerifyNone lets leaks settle (default 5s):
// harness.VerifyNone(t, before, harness.Within(10*time.Second)). Values <= 0
// keep the default.
func Within(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.within = d
		}
	})
}
