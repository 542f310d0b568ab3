// Package sweep kills and reaps the processes a run left behind: the one
// mechanism behind harness.Sweep, RunReaped's final sweep, the gate's
// cleanup and bin/restore's --guard. The caller says which processes are
// left (a Finder, asked afresh each round: by marker, by environment tag,
// or new descendants of a baseline); Run signals each live one (SIGKILL, or
// SIGTERM first with a grace period), reaps the caller's own zombie
// children, waits for the rest to vanish, and reports what it did:
//
//	res, err := sweep.Run(ctx, sweep.Tagged("RESTORE_GUARD", token), sweep.Options{})
//	// res.Killed, res.Reaped; err is a *SurvivorsError when ctx ended first
//
// Every signal goes through procfs.SignalVerified: a pid is signalled only
// while it still names the process the Finder saw (same start time), so a
// reused pid is never hit. Nothing here starts a process.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/procfs"
)

// Target is a process a Finder reports as left behind.
type Target struct {
	Pid, PPid int32
	State     string    // one letter of /proc/<pid>/stat: "Z" for a zombie
	Started   time.Time // procfs.StartTime of its start ticks: its identity with Pid
	Name      string    // for reports: its command name
	// Group, when not 0, is a process group to SIGKILL once as well (the
	// Finder has checked that every member of it is the run's).
	Group int32
}

func (t Target) String() string {
	return fmt.Sprintf("pid %d (%s) [%s] ppid %d", t.Pid, t.Name, t.State, t.PPid)
}

type key struct {
	pid     int32
	started int64
}

func (t Target) key() key { return key{t.Pid, t.Started.UnixNano()} }

// Finder lists the processes still left, afresh each round. An error ends
// the sweep.
type Finder func() ([]Target, error)

// Options tunes Run. The zero value: SIGKILL at once, poll every 20ms, reap
// only the zombie children the Finder names.
type Options struct {
	// Every is the poll interval between rounds (default 20ms).
	Every time.Duration
	// Grace, when positive, sends SIGTERM first and SIGKILL only to a
	// process still present Grace after its SIGTERM.
	Grace time.Duration
	// ReapAny reaps every exited child of the caller each round
	// (wait4(-1)): for a process that owns all its children, such as a
	// subreaper wrapper. Without it Run reaps only the zombie children the
	// Finder names, by pid (os/exec owns the others).
	ReapAny bool
}

// Result is what Run did.
type Result struct {
	Seen   []Target // every target found, once each, in the order first found
	Termed []Target // under Grace: targets sent SIGTERM
	Killed []Target // targets sent SIGKILL (under Grace: still there Grace after SIGTERM)
	Groups []int32  // process groups sent SIGKILL
	Reaped []Target // zombie children of the caller reaped by pid
}

// EndedOnTerm is what ended within the grace after SIGTERM: the targets
// in Termed that never needed SIGKILL.
//
//	for _, t := range res.EndedOnTerm() { fmt.Println("ended after SIGTERM:", t) }
func (r Result) EndedOnTerm() []Target {
	killed := map[key]bool{}
	for _, t := range r.Killed {
		killed[t.key()] = true
	}
	var out []Target
	for _, t := range r.Termed {
		if !killed[t.key()] {
			out = append(out, t)
		}
	}
	return out
}

// SurvivorsError is Run's error when ctx ended before every target was
// gone. errors.Is(err, context.DeadlineExceeded) holds when that is why.
type SurvivorsError struct {
	Survivors []Target
	Err       error // ctx.Err()
}

func (e *SurvivorsError) Error() string {
	parts := make([]string, len(e.Survivors))
	for i, t := range e.Survivors {
		parts[i] = t.String()
	}
	return fmt.Sprintf("%d left: %s: %v", len(e.Survivors), strings.Join(parts, ", "), e.Err)
}

// Unwrap returns ctx's error.
func (e *SurvivorsError) Unwrap() error { return e.Err }

// ErrOption is wrapped by Run's error for an option out of range.
var ErrOption = errors.New("bad sweep option")

// Run sweeps until find reports nothing left, or ctx ends (a
// *SurvivorsError naming what is left). Each round: reap (all children
// under ReapAny), ask find, then for each target: a zombie child of the
// caller is reaped by pid; any other zombie is waited for (its parent, a
// subreaper or init, reaps it); a live process is signalled once (with
// Grace: SIGTERM, then SIGKILL after Grace) and waited for, its Group
// SIGKILLed once along with its own SIGKILL.
//
//	res, err := sweep.Run(ctx, find, sweep.Options{Grace: time.Second})
func Run(ctx context.Context, find Finder, o Options) (Result, error) {
	if o.Every < 0 || o.Grace < 0 {
		return Result{}, fmt.Errorf("%w: Every %v, Grace %v: want ≥ 0", ErrOption, o.Every, o.Grace)
	}
	if o.Every == 0 {
		o.Every = 20 * time.Millisecond
	}
	s := sweeper{o: o, self: int32(os.Getpid()), seen: map[key]bool{}, termed: map[key]time.Time{}, killed: map[key]bool{}, groups: map[int32]bool{}}
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	for {
		if o.ReapAny {
			reapAny()
		}
		found, err := find()
		if err != nil {
			return s.res, fmt.Errorf("sweep: find what is left: %w", err)
		}
		left := s.round(found)
		if len(left) == 0 {
			return s.res, nil
		}
		timer.Reset(o.Every)
		select {
		case <-ctx.Done():
			return s.res, &SurvivorsError{Survivors: left, Err: ctx.Err()}
		case <-timer.C:
		}
	}
}

// sweeper is one Run's state.
type sweeper struct {
	o      Options
	self   int32
	res    Result
	seen   map[key]bool
	termed map[key]time.Time // SIGTERMed at
	killed map[key]bool      // SIGKILLed
	groups map[int32]bool
}

// round acts on one Finder answer and returns the targets still pending.
func (s *sweeper) round(found []Target) (left []Target) {
	for _, t := range found {
		k := t.key()
		if !s.seen[k] {
			s.seen[k] = true
			s.res.Seen = append(s.res.Seen, t)
		}
		if t.State == "Z" {
			if t.PPid != s.self {
				left = append(left, t) // its parent reaps it
				continue
			}
			switch reapChild(t.Pid) {
			case reaped:
				s.res.Reaped = append(s.res.Reaped, t)
			case notYet:
				left = append(left, t)
			}
			continue
		}
		left = append(left, t)
		s.signal(t, k)
		if s.killed[k] && t.Group != 0 && !s.groups[t.Group] && unix.Kill(-int(t.Group), unix.SIGKILL) == nil {
			s.groups[t.Group] = true
			s.res.Groups = append(s.res.Groups, t.Group)
		}
	}
	return left
}

// signal sends t SIGKILL once, or under Grace SIGTERM once and SIGKILL once
// Grace has passed.
func (s *sweeper) signal(t Target, k key) {
	if s.killed[k] {
		return
	}
	if s.o.Grace > 0 {
		at, termed := s.termed[k]
		if !termed {
			if Signal(t, unix.SIGTERM) == nil {
				s.termed[k] = time.Now()
				s.res.Termed = append(s.res.Termed, t)
			}
			return
		}
		if time.Since(at) < s.o.Grace {
			return
		}
	}
	if Signal(t, unix.SIGKILL) == nil {
		s.killed[k] = true
		s.res.Killed = append(s.res.Killed, t)
	}
}

// Signal sends sig to t if its pid still names the process that started at
// t.Started (procfs.SignalVerified); procfs.ErrStale if not.
func Signal(t Target, sig unix.Signal) error {
	boot, err := procfs.BootTime()
	if err != nil {
		return procfs.ErrStale
	}
	return procfs.SignalVerified(t.Pid, sig, func(ticks uint64) bool {
		return procfs.StartTime(boot, ticks).Equal(t.Started)
	})
}

type reapResult int

const (
	reaped reapResult = iota
	notYet
	notOurs // ECHILD: someone else reaped it, or not our child
)

// Reap reaps one exited child of the caller without blocking (wait4 on
// its pid, WNOHANG); false if pid is not an exited child of the caller:
//
//	if sweep.Reap(pid) { reaped = append(reaped, pid) }
func Reap(pid int32) bool { return reapChild(pid) == reaped }

// reapChild reaps one zombie child without blocking.
func reapChild(pid int32) reapResult {
	var ws unix.WaitStatus
	for {
		got, err := unix.Wait4(int(pid), &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return notOurs
		case got == int(pid):
			return reaped
		}
		return notYet
	}
}

// reapAny reaps every exited child of the caller without blocking.
func reapAny() {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || got <= 0 {
			return
		}
	}
}
