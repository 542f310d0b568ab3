package harness

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

// Sweep is what Cleanup did.
type Sweep struct {
	Killed []Proc  // processes sent SIGKILL
	Groups []int32 // process groups sent SIGKILL
	Reaped []Proc  // zombie children of the measuring process reaped with wait4
}

// Empty reports whether Cleanup found nothing to do.
func (s Sweep) Empty() bool { return len(s.Killed)+len(s.Groups)+len(s.Reaped) == 0 }

// SurvivorsError is returned by Cleanup when ctx ended before every process
// of the run was gone. errors.Is(err, context.DeadlineExceeded) holds when
// that is why.
type SurvivorsError struct {
	Run       string // the run id
	Survivors []Proc // processes of the run still present, live or zombie
	Err       error  // ctx.Err()
}

// Error names the run and each survivor: "harness: cleanup run r17/…: 1
// process survived: pid 4244 (sleep) [S sleeping] ppid 1: context deadline
// exceeded".
func (e *SurvivorsError) Error() string {
	parts := make([]string, len(e.Survivors))
	for i, p := range e.Survivors {
		parts[i] = fmt.Sprintf("pid %d (%s) [%s %s] ppid %d", p.Pid, p.Name, p.State, StateName(p.State), p.PPid)
	}
	return fmt.Sprintf("harness: cleanup run %s: %s survived: %s: %v", e.Run, plural(len(e.Survivors), "process", "processes"), strings.Join(parts, ", "), e.Err)
}

// Unwrap returns ctx's error, for errors.Is(err, context.DeadlineExceeded).
func (e *SurvivorsError) Unwrap() error { return e.Err }

// Cleanup removes what run left behind, then waits until it is gone:
//
//	t.Cleanup(func() {
//		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//		defer cancel()
//		if _, err := harness.Cleanup(ctx, run, before); err != nil { t.Error(err) }
//	})
//
// It sends SIGKILL to every live process on the machine whose LEAKGATE_RUN
// value starts with run.ID (descendants and escaped alike; never the calling
// process or its ancestors), and to the process group of each such process
// that is a leaked descendant leading its own group, if the group is not the
// caller's and every live member carries the run's marker. It reaps, with
// wait4(pid, WNOHANG) per pid (never wait4(-1): os/exec owns the other
// children), each zombie child of the caller that is not in baseline and is
// not known to carry another run's marker (a zombie's environment is
// unreadable: the marker comes from earlier snapshots or Remember, and an
// unknown one counts as ours). It polls every 20ms (PollEvery) until no
// process of the run and no such zombie remains, or returns a
// *SurvivorsError when ctx ends. Killed processes reparented to a subreaper
// or to init are reaped there; Cleanup waits for that.
//
// Cleanup leaves untagged live descendants alone (they may belong to a
// concurrent run), and closes no fds.
func Cleanup(ctx context.Context, run Run, baseline Snapshot, opts ...Option) (Sweep, error) {
	o := newOptions(opts)
	var sweep Sweep
	if run.ID == "" {
		return sweep, fmt.Errorf("harness: cleanup: %w", ErrNoRun)
	}
	self := int32(os.Getpid())
	ownPgid := int32(unix.Getpgrp())
	inBaseline := map[procKey]bool{}
	for _, p := range baseline.Descendants {
		inBaseline[p.key()] = true
	}
	killed := map[procKey]bool{}
	groups := map[int32]bool{}
	var timer *time.Timer
	for {
		now, err := take(run.ID)
		if err != nil {
			return sweep, fmt.Errorf("harness: cleanup run %s: %w", run.ID, err)
		}
		var pending []Proc
		consider := func(p Proc, isDesc bool) {
			mine := markerMatches(p.Marker, run.ID)
			leaked := isDesc && !inBaseline[p.key()]
			if p.State == "Z" {
				if p.PPid == self {
					if leaked && (mine || p.Marker == "") {
						switch reapChild(p.Pid) {
						case reaped:
							sweep.Reaped = append(sweep.Reaped, p)
						case notYet:
							pending = append(pending, p)
						}
					}
				} else if mine {
					pending = append(pending, p) // its parent (subreaper, init) reaps it
				}
				return
			}
			if !mine {
				return
			}
			pending = append(pending, p)
			if !killed[p.key()] {
				if err := killVerified(p); err == nil {
					killed[p.key()] = true
					sweep.Killed = append(sweep.Killed, p)
				}
			}
			if leaked && p.Pgid == p.Pid && p.Pgid != ownPgid && !groups[p.Pgid] && groupIsRun(p.Pgid, run.ID, now) {
				if unix.Kill(-int(p.Pgid), unix.SIGKILL) == nil {
					groups[p.Pgid] = true
					sweep.Groups = append(sweep.Groups, p.Pgid)
				}
			}
		}
		for _, p := range now.Descendants {
			consider(p, true)
		}
		for _, p := range now.Escaped {
			consider(p, false)
		}
		if len(pending) == 0 {
			return sweep, nil
		}
		if timer == nil {
			timer = time.NewTimer(o.interval)
			defer timer.Stop()
		} else {
			timer.Reset(o.interval)
		}
		select {
		case <-ctx.Done():
			return sweep, &SurvivorsError{Run: run.ID, Survivors: pending, Err: ctx.Err()}
		case <-timer.C:
		}
	}
}

// ErrNoRun is returned by Cleanup for a Run with an empty ID.
var ErrNoRun = errors.New("run has no id")

type reapResult int

const (
	reaped reapResult = iota
	notYet
	notOurs // ECHILD: someone else reaped it
)

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

// errStale reports that a pid now names another process or none.
var errStale = procfs.ErrStale

// killVerified sends SIGKILL to p if pid p.Pid still names the process that
// started at p.Started. It holds a pidfd while checking, so the pid cannot be
// reused between the check and the signal.
func killVerified(p Proc) error {
	boot, err := bootTime()
	if err != nil {
		return errStale
	}
	return procfs.SignalVerified(p.Pid, unix.SIGKILL, func(ticks uint64) bool {
		return startedAt(boot, ticks).Equal(p.Started)
	})
}

// groupIsRun reports whether every live member of process group pgid carries
// a marker starting with prefix, according to a fresh scan of /proc.
func groupIsRun(pgid int32, prefix string, now Snapshot) bool {
	tagged := map[int32]bool{}
	for _, l := range [][]Proc{now.Descendants, now.Escaped} {
		for _, p := range l {
			if markerMatches(p.Marker, prefix) {
				tagged[p.Pid] = true
			}
		}
	}
	pids, err := listPids()
	if err != nil {
		return false
	}
	for _, pid := range pids {
		st, err := procfs.ReadStat(pid)
		if err != nil || st.Pgrp != pgid || st.State == 'Z' {
			continue
		}
		if !tagged[pid] {
			return false
		}
	}
	return true
}
