package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
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
	Flags      uint64 // field 9: the kernel's PF_* flags (see PFExiting)
	StartTicks uint64 // field 22, clock ticks since boot (see ClockTicks)
	// Image identifies the program image the process runs (fields 26, 27
	// and 48–51): it changes when the process execs. Zero when unknown.
	Image Image
}

// Image is where a process's code, arguments and environment live in its
// address space: /proc/<pid>/stat fields startcode (26), endcode (27),
// arg_start, arg_end, env_start and env_end (48–51). An exec replaces the
// address space, so (pid, start time, Image) names one exec of one process:
// what /proc/<pid>/cmdline and environ say cannot change while it holds,
// short of the process rewriting its own argument area in place
// (setproctitle). The kernel shows zeros for a zombie, for a kernel thread,
// for a process without an address space yet or no more, and to a reader
// without ptrace access to the process; with address space layout
// randomisation off, two execs of one binary with the same argument and
// environment sizes can have equal Images.
type Image struct {
	StartCode, EndCode uint64
	ArgStart, ArgEnd   uint64
	EnvStart, EnvEnd   uint64
}

// Known reports whether the kernel showed the image's addresses: only then
// can it tell two execs apart.
func (i Image) Known() bool { return i.EnvStart != 0 && i.ArgStart != 0 }

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
// an error satisfying errors.Is(err, ErrGone). It costs one open, one read
// and one close, into a pooled buffer.
func ReadStat(pid int32) (Stat, error) {
	bp := statBufs.Get().(*[]byte)
	defer statBufs.Put(bp)
	var pathBuf [32]byte
	path := appendProcPath(pathBuf[:0], pid, "stat")
	b, err := readSmall(path, *bp, true)
	if err != nil {
		return Stat{}, gone(&os.PathError{Op: "read", Path: string(path), Err: err})
	}
	return parseStat(path, b)
}

// statBufs holds read buffers for ReadStat: a stat line is at most about
// 1 KiB (52 numbers and a 15-byte name); readSmall falls back to a growing
// read when a buffer is too small.
var statBufs = sync.Pool{New: func() any { b := make([]byte, 2048); return &b }}

// appendProcPath appends "/proc/<pid>/<file>" to dst.
func appendProcPath(dst []byte, pid int32, file string) []byte {
	dst = append(dst, "/proc/"...)
	dst = strconv.AppendInt(dst, int64(pid), 10)
	dst = append(dst, '/')
	return append(dst, file...)
}

// readSmall reads the file at path (a /proc file, generated when read)
// into buf if it fits, else into a fresh larger buffer; the result aliases
// buf when it fits. With once, a read that does not fill the buffer is
// taken as the whole file: true of seq_file files such as stat, which the
// kernel renders in full on the first read.
func readSmall(path []byte, buf []byte, once bool) ([]byte, error) {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	return readSmallUnguarded(path, buf, once)
}

// readSmallUnguarded is readSmall for callers holding ioGuard.
func readSmallUnguarded(path []byte, buf []byte, once bool) ([]byte, error) {
	fd, err := syscall.Open(string(path), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(buf) {
			bigger := make([]byte, 2*len(buf))
			copy(bigger, buf)
			buf = bigger
		}
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		n += m
		if m == 0 || once && n < len(buf) {
			return buf[:n], nil
		}
	}
}

// ParseStat parses the content b of the stat file at path (path only names
// the file in errors): ParseStat("/proc/42/stat", b). Fields 26, 27 and
// 48–51 (Image) are optional: older kernels end the line earlier.
func ParseStat(path string, b []byte) (Stat, error) {
	return parseStat([]byte(path), b)
}

// statField names the fields parseStat reads, by 1-based number.
var statField = [52]string{4: "ppid", 5: "pgrp", 9: "flags", 22: "starttime", 26: "startcode", 27: "endcode", 48: "arg_start", 49: "arg_end", 50: "env_start", 51: "env_end"}

func parseStat(path, b []byte) (Stat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Stat{}, &StatError{Path: string(path), Field: "comm", Reason: "no parenthesised command name"}
	}
	pid, ok := parseDec(bytes.TrimSpace(b[:open]))
	if !ok || pid > 1<<31-1 {
		return Stat{}, &StatError{Path: string(path), Field: "pid", Reason: fmt.Sprintf("%q is not a pid", bytes.TrimSpace(b[:open]))}
	}
	st := Stat{Pid: int32(pid)}
	// Walk the space-separated fields after the command name without
	// allocating: field 3 is the state.
	rest := b[closing+1:]
	field := 2
	var nums [52]uint64
	for i := 0; i < len(rest) && field < 51; {
		if rest[i] == ' ' || rest[i] == '\n' {
			i++
			continue
		}
		j := i
		for j < len(rest) && rest[j] != ' ' && rest[j] != '\n' {
			j++
		}
		tok := rest[i:j]
		i = j
		field++
		switch {
		case field == 3:
			if len(tok) != 1 {
				return Stat{}, &StatError{Path: string(path), Field: "state", Reason: fmt.Sprintf("%q is not one letter", tok)}
			}
			st.State = tok[0]
		case statField[field] != "":
			v, ok := parseDec(tok)
			if !ok {
				return Stat{}, &StatError{Path: string(path), Field: statField[field], Reason: fmt.Sprintf("%q is not a decimal number", tok)}
			}
			nums[field] = v
		}
	}
	if field < 22 {
		return Stat{}, &StatError{Path: string(path), Field: "starttime", Reason: fmt.Sprintf("only %d fields after the command name, want at least %d", field-2, 22-3+1)}
	}
	if nums[4] > 1<<31-1 || nums[5] > 1<<31-1 {
		return Stat{}, &StatError{Path: string(path), Field: "ppid", Reason: "out of range"}
	}
	st.Comm = string(b[open+1 : closing])
	st.PPid, st.Pgrp, st.Flags, st.StartTicks = int32(nums[4]), int32(nums[5]), nums[9], nums[22]
	if field >= 51 {
		st.Image = Image{StartCode: nums[26], EndCode: nums[27], ArgStart: nums[48], ArgEnd: nums[49], EnvStart: nums[50], EnvEnd: nums[51]}
	}
	return st, nil
}

// parseDec parses an unsigned decimal number without allocating.
func parseDec(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// Uptime reads /proc/uptime: the time since boot, to 10ms.
func Uptime() (time.Duration, error) {
	ioGuard.RLock()
	b, err := os.ReadFile("/proc/uptime")
	ioGuard.RUnlock()
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
