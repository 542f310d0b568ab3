package harness

import (
	"regexp"
	"time"
)

// Option configures Take, Diff, Settle, Cleanup, VerifyNone and the
// matchers. Each function reads the options that concern it and ignores the
// rest, so one option list can be passed everywhere:
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
	marker    *string // nil: default (see Take)
	ignorePid map[int32]bool
	ignoreFDK map[FDKind]bool
	ignoreFDT []*regexp.Regexp
	quiet     time.Duration
	interval  time.Duration
	within    time.Duration
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
