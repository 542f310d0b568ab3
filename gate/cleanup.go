package gate

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/procfs"
)

// cleanupGrace is how long the cleanup waits, after SIGTERM, for what the
// run left to exit on its own (a daemon removing its socket) before it
// sends SIGKILL.
const cleanupGrace = 2 * time.Second

// cleanup ends what the run left, politely first: SIGTERM to every live
// process of the run (new descendants of the gate, and processes carrying
// the run's marker anywhere), a grace of up to cleanupGrace for them to
// exit (the gate reaps its zombie children meanwhile), then SIGKILL for
// the rest: harness.Cleanup for everything carrying the run's marker, and,
// because a command can start processes without the marker (env -i), every
// new descendant of the gate, tagged or not. The SIGKILL sweep signals only
// the gate's direct children (their pids cannot be reused before the gate
// reaps them); as a subreaper the gate inherits the rest as their parents
// die.
//
// With hurry (a second SIGINT or SIGTERM), it sends SIGKILL at once.
func cleanup(run harness.Marker, baseline harness.Snapshot, before map[int32]uint64, hurry bool) Cleanup {
	out := Cleanup{Terminated: []int{}, Killed: []int{}, Reaped: []int{}}
	if !hurry {
		out.Terminated, out.Reaped = terminate(run, baseline, before)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupLimit)
	defer cancel()
	sweep, err := harness.Sweep(ctx, run, baseline)
	for _, p := range sweep.Killed {
		out.Killed = append(out.Killed, int(p.Pid))
	}
	for _, p := range sweep.Reaped {
		out.Reaped = append(out.Reaped, int(p.Pid))
	}
	if err != nil {
		out.Error = err.Error()
		return out
	}
	killed, reaped, err := sweepDescendants(ctx, baseline)
	out.Killed = append(out.Killed, killed...)
	out.Reaped = append(out.Reaped, reaped...)
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

type procID struct {
	pid     int32
	started int64
}

// leftovers lists the live processes of the run: new descendants of the
// gate and processes carrying the run's marker elsewhere.
func leftovers(run harness.Marker, old map[procID]bool) []harness.Proc {
	snap, err := harness.Take(harness.WithMarker(run.ID))
	if err != nil {
		return nil
	}
	var out []harness.Proc
	for _, p := range append(snap.Descendants, snap.Escaped...) {
		if !old[procID{p.Pid, p.Started.UnixNano()}] && p.State != "Z" && p.State != "X" {
			out = append(out, p)
		}
	}
	return out
}

// terminate sends SIGTERM to every live process of the run and waits up to
// cleanupGrace for them to end, reaping its own zombie children. It
// returns the pids that ended after SIGTERM, and those it reaped.
func terminate(run harness.Marker, baseline harness.Snapshot, before map[int32]uint64) (ended, reaped []int) {
	reaped = []int{}
	procs := leftovers(run, oldProcs(baseline))
	if len(procs) == 0 {
		return []int{}, reaped
	}
	ended = termAndWait(procs, func() { reaped = append(reaped, reapNewZombies(before)...) })
	return ended, reaped
}

// oldProcs indexes the baseline's descendants.
func oldProcs(baseline harness.Snapshot) map[procID]bool {
	old := map[procID]bool{}
	for _, p := range baseline.Descendants {
		old[procID{p.Pid, p.Started.UnixNano()}] = true
	}
	return old
}

// reapNewZombies reaps the gate's zombie children that it did not have
// before the command started (before: pid → start ticks).
func reapNewZombies(before map[int32]uint64) []int {
	var out []int
	kids, _ := procfs.Children(int32(os.Getpid()))
	for _, c := range kids {
		st, err := procfs.ReadStat(c)
		if err != nil || st.State != 'Z' {
			continue
		}
		if t, ok := before[c]; ok && t == st.StartTicks {
			continue
		}
		if reapChild(int(c)) {
			out = append(out, int(c))
		}
	}
	return out
}

// sweepDescendants kills the gate's live children and reaps its zombie
// children that are not in baseline, until it has no new descendant left.
func sweepDescendants(ctx context.Context, baseline harness.Snapshot) (killed, reaped []int, err error) {
	self := int32(os.Getpid())
	old := oldProcs(baseline)
	signalled := map[procID]bool{}
	for {
		snap, err := harness.Take(harness.WithMarker(""))
		if err != nil {
			return killed, reaped, fmt.Errorf("sweep the gate's descendants: %w", err)
		}
		var left []harness.Proc
		for _, p := range snap.Descendants {
			id := procID{p.Pid, p.Started.UnixNano()}
			if old[id] {
				continue
			}
			left = append(left, p)
			if p.PPid != self {
				continue // its parent goes first; then it is ours
			}
			if p.State == "Z" {
				if reapChild(int(p.Pid)) {
					reaped = append(reaped, int(p.Pid))
				}
			} else if !signalled[id] && unix.Kill(int(p.Pid), unix.SIGKILL) == nil {
				signalled[id] = true
				killed = append(killed, int(p.Pid))
			}
		}
		if len(left) == 0 {
			return killed, reaped, nil
		}
		select {
		case <-ctx.Done():
			pids := make([]string, len(left))
			for i, p := range left {
				pids[i] = fmt.Sprintf("pid %d (%s) [%s]", p.Pid, p.Name, p.State)
			}
			slices.Sort(pids)
			return killed, reaped, fmt.Errorf("sweep the gate's descendants: %d left: %v: %w", len(left), pids, ctx.Err())
		case <-time.After(20 * time.Millisecond): // poll interval
		}
	}
}

// Terminate sends SIGTERM to procs (processes of run runID, e.g. from a
// harness snapshot) and waits up to the cleanup grace for them to exit; it
// returns those that did. What is left needs SIGKILL (harness.Cleanup):
//
//	ended := gate.Terminate(id, procs)
func Terminate(runID string, procs []harness.Proc) []int {
	var mine []harness.Proc
	for _, p := range procs {
		if strings.HasPrefix(p.Marker, runID) {
			mine = append(mine, p)
		}
	}
	return termAndWait(mine, nil)
}

// termAndWait sends SIGTERM to the live procs (checked by start time) and
// waits up to cleanupGrace for them to end, calling each() on every poll
// (the gate reaps its zombie children there). It returns the pids that
// ended.
func termAndWait(procs []harness.Proc, each func()) []int {
	sent := map[int32]uint64{}
	for _, p := range procs {
		st, err := procfs.ReadStat(p.Pid)
		if err != nil || st.State == 'Z' {
			continue
		}
		ticks := st.StartTicks
		if procfs.SignalVerified(p.Pid, unix.SIGTERM, func(t uint64) bool { return t == ticks }) == nil {
			sent[p.Pid] = ticks
		}
	}
	deadline := time.Now().Add(cleanupGrace)
	for {
		if each != nil {
			each()
		}
		ended := []int{}
		for pid, ticks := range sent {
			st, err := procfs.ReadStat(pid)
			if err != nil || st.State == 'Z' || st.StartTicks != ticks {
				ended = append(ended, int(pid))
			}
		}
		if len(ended) == len(sent) || time.Now().After(deadline) {
			slices.Sort(ended)
			return ended
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}
