package adapter

import (
	"bytes"
	"os"
	"sort"
	"strconv"
)

// groupMembers lists the processes whose process group is pgid, read from
// /proc/<pid>/stat; nil when /proc cannot be read. Processes that vanish
// while it reads are skipped.
func groupMembers(pgid int) []Leftover {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Leftover
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		comm, state, pgrp, ok := parseStat(data)
		if ok && pgrp == pgid {
			out = append(out, Leftover{Pid: pid, State: state, Comm: comm})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}

// parseStat extracts comm, state and pgrp from a /proc/<pid>/stat line:
// "pid (comm) S ppid pgrp …". comm may contain spaces and parentheses, so it
// is delimited by the first '(' and the last ')'.
func parseStat(data []byte) (comm, state string, pgrp int, ok bool) {
	open := bytes.IndexByte(data, '(')
	closing := bytes.LastIndexByte(data, ')')
	if open < 0 || closing < open {
		return "", "", 0, false
	}
	fields := bytes.Fields(data[closing+1:])
	if len(fields) < 3 {
		return "", "", 0, false
	}
	pgrp, err := strconv.Atoi(string(fields[2]))
	if err != nil {
		return "", "", 0, false
	}
	return string(data[open+1 : closing]), string(fields[0]), pgrp, true
}
