package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/internal/sweep"
)

// Swept is what Sweep did.
type Swept struct {
	Terminated []Proc  // under TermFirst: processes that ended on SIGTERM alone
	Killed     []Proc  // processes sent SIGKILL
	Groups     []int32 // process groups sent SIGKILL
	Reaped     []Proc  // zombie children of the measuring process reaped with wait4
}

// Empty reports whether Sweep found nothing to do.
func (s Swept) Empty() bool {
	return len(s.Terminated)+len(s.Killed)+len(s.Groups)+len(s.Reaped) == 0
}

// SurvivorsError is returned by Sweep when ctx ended before every process
// of the run was gone. errors.Is(err, context.DeadlineExceeded) holds when
// that is why.
type SurvivorsError struct {
	Run       string // the run id
	Survivors []Proc // processes of the run still present, live or zombie
	Err       error  // ctx.Err()
}

// Error names the run and each survivor: "harness: sweep run r17/…: 1
// process survived: pid 4244 (sleep) [S sleeping] ppid 1: context deadline
// exceeded".
func (e *SurvivorsError) Error() string {
	parts := make([]string, len(e.Survivors))
	for i, p := range e.Survivors {
		parts[i] = fmt.Sprintf("pid %d (%s) [%s %s] ppid %d", p.Pid, p.Name, p.State, stateName(p.State), p.PPid)
	}
	return fmt.Sprintf("harness: sweep run %s: %s survived: %s: %v", e.Run, plural(len(e.Survivors), "process", "processes"), strings.Join(parts, ", "), e.Err)
}

// Unwrap returns ctx's error, for errors.Is(err, context.DeadlineExceeded).
func (e *SurvivorsError) Unwrap() error { return e.Err }

// Sweep removes what the run marked by run left behind, then waits until
// it is gone (the CLI's `leakgate sweep` does the same from outside):
//
//	t.Cleanup(func() {
//		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//		defer cancel()
//		if _, err := harness.Sweep(ctx, run, before); err != nil { t.Error(err) }
//	})
//
// It sends SIGKILL (with TermFirst: SIGTERM, then SIGKILL to what is still
// there after the grace) to every live process on the machine whose LEAKGATE_RUN
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
// or to init are reaped there; Sweep waits for that. The killing and
// reaping is internal/sweep's, shared with the gate and bin/restore's
// guard.
//
// Sweep leaves untagged live descendants alone (they may belong to a
// concurrent run), and closes no fds.
func Sweep(ctx context.Context, run Marker, baseline Snapshot, opts ...Option) (Swept, error) {
	o, err := newOptions(callSweep, opts)
	if err != nil {
		return Swept{}, err
	}
	if run.ID == "" {
		return Swept{}, fmt.Errorf("%w: Sweep: Marker{} has no ID (make one with NewMarker)", ErrOption)
	}
	f := runFinder{run: run.ID, self: int32(os.Getpid()), ownPgid: int32(unix.Getpgrp()),
		inBaseline: map[procKey]bool{}, procs: map[procKey]Proc{}, groupOK: map[int32]bool{}}
	for _, p := range baseline.Descendants {
		f.inBaseline[p.key()] = true
	}
	res, err := sweep.Run(ctx, f.find, sweep.Options{Every: o.interval, Grace: o.grace})
	out := Swept{Terminated: f.procsOf(res.EndedOnTerm()), Killed: f.procsOf(res.Killed), Groups: res.Groups, Reaped: f.procsOf(res.Reaped)}
	var se *sweep.SurvivorsError
	switch {
	case errors.As(err, &se):
		return out, &SurvivorsError{Run: run.ID, Survivors: f.procsOf(se.Survivors), Err: se.Err}
	case err != nil:
		return out, fmt.Errorf("harness: sweep run %s: %w", run.ID, err)
	}
	return out, nil
}

// runFinder is Sweep's sweep.Finder: what a run left, from a snapshot.
type runFinder struct {
	run        string // the run id: the marker prefix
	self       int32
	ownPgid    int32
	inBaseline map[procKey]bool
	procs      map[procKey]Proc // every process found, by key
	groupOK    map[int32]bool   // process groups found to be all the run's
}

// find lists the run's processes (live ones, and zombies: its own outside
// the caller, and the caller's leaked zombie children that are its or carry
// no known marker), each leaked group leader with its group when the whole
// group is the run's.
func (f *runFinder) find() ([]sweep.Target, error) {
	now, err := take(f.run)
	if err != nil {
		return nil, err
	}
	var out []sweep.Target
	add := func(p Proc, isDesc bool) {
		mine := markerMatches(p.Marker, f.run)
		leaked := isDesc && !f.inBaseline[p.key()]
		switch {
		case p.State == "Z" && p.PPid == f.self:
			if !leaked || !(mine || p.Marker == "") {
				return
			}
		case !mine:
			return
		}
		t := target(p)
		if p.State != "Z" && leaked && p.Pgid == p.Pid && p.Pgid != f.ownPgid {
			if !f.groupOK[p.Pgid] {
				f.groupOK[p.Pgid] = groupIsRun(p.Pgid, f.run, now)
			}
			if f.groupOK[p.Pgid] {
				t.Group = p.Pgid
			}
		}
		f.procs[p.key()] = p
		out = append(out, t)
	}
	for _, p := range now.Descendants {
		add(p, true)
	}
	for _, p := range now.Escaped {
		add(p, false)
	}
	return out, nil
}

// procsOf maps the sweep's targets back to the processes they were found as.
func (f *runFinder) procsOf(ts []sweep.Target) []Proc {
	out := make([]Proc, 0, len(ts))
	for _, t := range ts {
		out = append(out, f.procs[procKey{t.Pid, t.Started.UnixNano()}])
	}
	return out
}

// target is p as the sweeper sees it.
func target(p Proc) sweep.Target {
	return sweep.Target{Pid: p.Pid, PPid: p.PPid, State: p.State, Started: p.Started, Name: p.Name}
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
	pids, err := procfs.Pids()
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
