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
		boot, err := procfs.BootTime()
		if err != nil {
			return nil, err
		}
		pids, err := procfs.Pids()
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
