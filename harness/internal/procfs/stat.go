package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"
)

// ClockTicks is USER_HZ, the unit of /proc/<pid>/stat's starttime. Linux
// fixes it at 100 for user space on every architecture Go supports.
const ClockTicks = 100

// ErrGone reports that a process (or one of its fds) vanished while being
// read. Test with errors.Is.
var ErrGone = errors.New("process gone")

// Stat is the part of /proc/<pid>/stat the harness uses.
type Stat struct {
	Pid        int32
	Comm       string // field 2 without the parentheses, at most 15 bytes
	State      byte   // field 3: R S D Z T t X I …
	PPid       int32  // field 4
	Pgrp       int32  // field 5
	StartTicks uint64 // field 22, clock ticks since boot (see ClockTicks)
}

// StatError is a malformed /proc/<pid>/stat line.
type StatError struct {
	Path   string
	Field  string
	Reason string
}

func (e *StatError) Error() string {
	return fmt.Sprintf("%s: field %s: %s", e.Path, e.Field, e.Reason)
}

// ReadStat reads /proc/<pid>/stat, e.g. ReadStat(1). A missing process gives
// an error satisfying errors.Is(err, ErrGone).
func ReadStat(pid int32) (Stat, error) {
	path := "/proc/" + strconv.Itoa(int(pid)) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return Stat{}, gone(err)
	}
	return ParseStat(path, b)
}

// ParseStat parses the content b of the stat file at path (path only names
// the file in errors): ParseStat("/proc/42/stat", b).
func ParseStat(path string, b []byte) (Stat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Stat{}, &StatError{Path: path, Field: "comm", Reason: "no parenthesised command name"}
	}
	pid, err := strconv.ParseInt(string(bytes.TrimSpace(b[:open])), 10, 32)
	if err != nil {
		return Stat{}, &StatError{Path: path, Field: "pid", Reason: err.Error()}
	}
	rest := bytes.Fields(b[closing+1:])
	// rest[0] is field 3 (state); field n is rest[n-3].
	const need = 22 - 3 + 1
	if len(rest) < need {
		return Stat{}, &StatError{Path: path, Field: "starttime", Reason: fmt.Sprintf("only %d fields after the command name, want at least %d", len(rest), need)}
	}
	if len(rest[0]) != 1 {
		return Stat{}, &StatError{Path: path, Field: "state", Reason: fmt.Sprintf("%q is not one letter", rest[0])}
	}
	ppid, err := strconv.ParseInt(string(rest[4-3]), 10, 32)
	if err != nil {
		return Stat{}, &StatError{Path: path, Field: "ppid", Reason: err.Error()}
	}
	pgrp, err := strconv.ParseInt(string(rest[5-3]), 10, 32)
	if err != nil {
		return Stat{}, &StatError{Path: path, Field: "pgrp", Reason: err.Error()}
	}
	start, err := strconv.ParseUint(string(rest[22-3]), 10, 64)
	if err != nil {
		return Stat{}, &StatError{Path: path, Field: "starttime", Reason: err.Error()}
	}
	return Stat{
		Pid:        int32(pid),
		Comm:       string(b[open+1 : closing]),
		State:      rest[0][0],
		PPid:       int32(ppid),
		Pgrp:       int32(pgrp),
		StartTicks: start,
	}, nil
}

// Uptime reads /proc/uptime: the time since boot, to 10ms.
func Uptime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	return ParseUptime(b)
}

// ParseUptime parses the content of /proc/uptime ("12345.67 2345.67\n").
func ParseUptime(b []byte) (time.Duration, error) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, &StatError{Path: "/proc/uptime", Field: "1", Reason: "empty"}
	}
	secs, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil || secs < 0 {
		return 0, &StatError{Path: "/proc/uptime", Field: "1", Reason: fmt.Sprintf("%q is not a number of seconds", f[0])}
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// TicksToDuration converts clock ticks since boot to a duration.
func TicksToDuration(ticks uint64) time.Duration {
	return time.Duration(ticks) * (time.Second / ClockTicks)
}

// gone maps "no such file" and ESRCH to ErrGone, keeping the original error.
func gone(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%w: %w", ErrGone, err)
	}
	return err
}
