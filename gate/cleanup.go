package gate

import (
	"context"
	"slices"
	"time"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/sweep"
)

// cleanupGrace is how long the cleanup waits, after SIGTERM, for what the
// run left to exit on its own (a daemon removing its socket) before it
// sends SIGKILL.
const cleanupGrace = 2 * time.Second

// cleanup ends what the run left, politely first, with internal/sweep (the
// one sweeper, shared with harness.Sweep and the guards): SIGTERM to every
// live process of the run, up to cleanupGrace for each to exit, then
// SIGKILL for the rest. The run's processes are the gate's new descendants,
// tagged or not (a command can start processes without the marker: env -i),
// and every process carrying the run's marker anywhere on the machine. The
// gate reaps its own zombie children among them as it goes; as a subreaper
// it inherits the rest as their parents die. Every signal is checked
// against the process's start time, so a reused pid is never hit.
//
// With hurry (a second SIGINT or SIGTERM), it sends SIGKILL at once.
func cleanup(run harness.Marker, baseline harness.Snapshot, hurry bool) Cleanup {
	o := sweep.Options{Grace: cleanupGrace}
	if hurry {
		o.Grace = 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupLimit)
	defer cancel()
	res, err := sweep.Run(ctx, runLeft(run, baseline), o)
	out := Cleanup{Terminated: pidsOf(res.EndedOnTerm()), Killed: pidsOf(res.Killed), Reaped: pidsOf(res.Reaped)}
	if err != nil {
		out.Error = "clean up run " + run.ID + ": " + err.Error()
	}
	return out
}

// runLeft is the cleanup's sweep.Finder: the gate's descendants that are
// not in baseline (any state: its zombie children are reaped), and the live
// processes elsewhere that carry the run's marker. An escaped zombie is
// left to its parent.
func runLeft(run harness.Marker, baseline harness.Snapshot) sweep.Finder {
	type id struct {
		pid     int32
		started int64
	}
	old := map[id]bool{}
	for _, p := range baseline.Descendants {
		old[id{p.Pid, p.Started.UnixNano()}] = true
	}
	return func() ([]sweep.Target, error) {
		snap, err := harness.Take(harness.WithMarker(run.ID))
		if err != nil {
			return nil, err
		}
		var out []sweep.Target
		for _, p := range snap.Descendants {
			if !old[id{p.Pid, p.Started.UnixNano()}] {
				out = append(out, targetOf(p))
			}
		}
		for _, p := range snap.Escaped {
			if p.State != "Z" && p.State != "X" {
				out = append(out, targetOf(p))
			}
		}
		return out, nil
	}
}

// targetOf is p as the sweeper sees it.
func targetOf(p harness.Proc) sweep.Target {
	return sweep.Target{Pid: p.Pid, PPid: p.PPid, State: p.State, Started: p.Started, Name: p.Name}
}

// pidsOf lists the targets' pids, sorted; never nil (the JSON says []).
func pidsOf(ts []sweep.Target) []int {
	out := make([]int, 0, len(ts))
	for _, t := range ts {
		out = append(out, int(t.Pid))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
