package gate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pfExiting is PF_EXITING in /proc/<pid>/stat's flags (field 9): set at the
// very start of exit, before the process's fds are closed and before its
// children are reparented.
const pfExiting = 0x4

// procStat is the part of /proc/<pid>/stat the watcher reads.
type procStat struct {
	State      byte
	PPid       int
	Pgrp       int
	Flags      uint64
	StartTicks uint64 // field 22: identity across pid reuse
}

// exiting reports whether the process is exiting or has exited.
func (s procStat) exiting() bool {
	return s.Flags&pfExiting != 0 || s.State == 'Z' || s.State == 'X'
}

// errStat is a malformed stat line.
var errStat = errors.New("malformed stat line")

func readStat(pid int) (procStat, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, err
	}
	return parseStat(path, b)
}

// parseStat parses a stat line: "pid (comm) state ppid pgrp session tty
// tpgid flags … starttime(22) …". comm may hold spaces and parentheses, so
// fields are counted after the last ')'.
func parseStat(path string, b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("%s: no ')' after comm: %w", path, errStat)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("%s: %d fields after comm, want at least 20: %w", path, len(f), errStat)
	}
	var s procStat
	var err error
	s.State = f[0][0]
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("%s: field 4 (ppid): %w", path, err)
	}
	s.PPid = ppid
	if s.Pgrp, err = strconv.Atoi(f[2]); err != nil {
		return procStat{}, fmt.Errorf("%s: field 5 (pgrp): %w", path, err)
	}
	if s.Flags, err = strconv.ParseUint(f[6], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("%s: field 9 (flags): %w", path, err)
	}
	if s.StartTicks, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("%s: field 22 (starttime): %w", path, err)
	}
	return s, nil
}

// readChildren returns pid's direct children (zombies included): the union
// of /proc/<pid>/task/*/children, which lists each thread's children. The
// kernel documents this list as exact only while the process creates and
// reaps no child; a child being forked or reaped right now may be missing.
func readChildren(pid int) ([]int, error) {
	paths, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("/proc/%d/task/*/children: %w", pid, os.ErrNotExist)
	}
	var out []int
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		for _, w := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(w); err == nil {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// readFDs returns pid's open fds, number → readlink target.
func readFDs(pid int) (map[int]string, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fds := make(map[int]string, len(ents))
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(dir + "/" + e.Name())
		if err != nil {
			continue // closed while we looked
		}
		fds[n] = target
	}
	return fds, nil
}

// readCmdline returns pid's argument vector ("" entries dropped at the
// end); nil if unreadable or empty (a zombie's).
func readCmdline(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// readComm returns pid's command name, "" if unreadable.
func readComm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// sigkillPending reports whether pid has a SIGKILL pending (SigPnd or
// ShdPnd of /proc/<pid>/status): it is dying, if not yet exiting. A process
// group killed at once (kill -KILL -PGID) has its members reparented while
// some still wait for their SIGKILL to take effect.
func sigkillPending(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "SigPnd" && k != "ShdPnd") {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err == nil && mask&(1<<(9-1)) != 0 {
			return true
		}
	}
	return false
}
