package adapter

import "github.com/leakgate/leakgate/internal/procfs"

// groupMembers lists the processes whose process group is pgid, by pid,
// from their /proc stat lines; nil when /proc cannot be listed. Processes
// that vanish while it reads are skipped.
func groupMembers(pgid int) []Leftover {
	pids, err := procfs.Pids()
	if err != nil {
		return nil
	}
	var out []Leftover
	for _, pid := range pids {
		st, err := procfs.ReadStat(pid)
		if err == nil && int(st.Pgrp) == pgid {
			out = append(out, Leftover{Pid: int(pid), State: string(st.State), Comm: st.Comm})
		}
	}
	return out
}
