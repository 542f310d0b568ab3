package gate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
)

// cleanup kills and reaps what the run left: first harness.Cleanup for
// everything carrying the run's marker, then, because a command can start
// processes without the marker (env -i), every new descendant of the gate,
// untagged or not. The second sweep signals only the gate's direct children
// (their pids cannot be reused before the gate reaps them); as a subreaper
// the gate inherits the rest as their parents die.
func cleanup(run harness.Marker, baseline harness.Snapshot) Cleanup {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupLimit)
	defer cancel()
	out := Cleanup{Killed: []int{}, Reaped: []int{}}
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

// sweepDescendants kills the gate's live children and reaps its zombie
// children that are not in baseline, until it has no new descendant left.
func sweepDescendants(ctx context.Context, baseline harness.Snapshot) (killed, reaped []int, err error) {
	self := int32(os.Getpid())
	old := map[procID]bool{}
	for _, p := range baseline.Descendants {
		old[procID{p.Pid, p.Started.UnixNano()}] = true
	}
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

// reapChild reaps one zombie child without blocking; false if it was not
// reapable (not ours, or not yet).
func reapChild(pid int) bool {
	var ws unix.WaitStatus
	for {
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && got == pid
	}
}
