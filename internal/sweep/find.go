package sweep

import (
	"os"
	"time"

	"github.com/leakgate/leakgate/internal/procfs"
)

// Tagged finds every live process but the caller whose environment holds
// key=value exactly (the last key= entry counts, as os/exec keeps the last
// of duplicates): Run(ctx, Tagged("RESTORE_GUARD", token), Options{}).
// Zombies and exiting processes have no readable environment and are not
// found; neither are processes of other users.
func Tagged(key, value string) Finder {
	self := int32(os.Getpid())
	return func() ([]Target, error) {
		boot, pids, err := bootAndPids()
		if err != nil {
			return nil, err
		}
		var out []Target
		for _, pid := range pids {
			if pid == self {
				continue
			}
			v, n, err := procfs.EnvValue(pid, key)
			if err != nil || n == 0 || v != value {
				continue
			}
			st, err := procfs.ReadStat(pid)
			if err != nil {
				continue
			}
			out = append(out, TargetOf(boot, st))
		}
		return out, nil
	}
}

// TargetOf is the Target for a stat line read by procfs.ReadStat, with boot
// from procfs.BootTime.
func TargetOf(boot time.Time, st procfs.Stat) Target {
	return Target{Pid: st.Pid, PPid: st.PPid, State: string(st.State), Started: procfs.StartTime(boot, st.StartTicks), Name: st.Comm}
}

// Descendants finds every descendant of process of (any state, zombies
// included) for which old is false: what a run added below of since a
// baseline. old gets the pid and start time (procfs.StartTime) that
// identify a process; nil old finds every descendant.
//
//	old := func(pid int32, started time.Time) bool { return inBaseline[pid][started] }
//	res, err := sweep.Run(ctx, sweep.Descendants(int32(os.Getpid()), old), sweep.Options{})
func Descendants(of int32, old func(pid int32, started time.Time) bool) Finder {
	return func() ([]Target, error) {
		boot, pids, err := bootAndPids()
		if err != nil {
			return nil, err
		}
		stats := make(map[int32]procfs.Stat, len(pids))
		children := map[int32][]int32{}
		for _, pid := range pids {
			if st, err := procfs.ReadStat(pid); err == nil {
				stats[pid] = st
				children[st.PPid] = append(children[st.PPid], pid)
			}
		}
		var out []Target
		seen := map[int32]bool{of: true}
		for queue := children[of]; len(queue) > 0; queue = queue[1:] {
			pid := queue[0]
			if seen[pid] {
				continue
			}
			seen[pid] = true
			queue = append(queue, children[pid]...)
			t := TargetOf(boot, stats[pid])
			if old == nil || !old(t.Pid, t.Started) {
				out = append(out, t)
			}
		}
		return out, nil
	}
}

// bootAndPids is what every finder reads first: the boot time its start
// times count from, and the pids.
func bootAndPids() (time.Time, []int32, error) {
	boot, err := procfs.BootTime()
	if err != nil {
		return time.Time{}, nil, err
	}
	pids, err := procfs.Pids()
	return boot, pids, err
}
