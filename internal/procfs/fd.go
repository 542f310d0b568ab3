package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ioGuard keeps the fds this package opens out of SelfFDs: every other
// function holds it shared from open to close, SelfFDs exclusively while it
// lists, so a snapshot taken in one goroutine never reports the file a
// sampler in another goroutine is reading at that instant.
var ioGuard sync.RWMutex

// Shared runs f holding the guard SelfFDs waits for: wrap in it any code
// that opens fds while measuring (a readdir of /proc by another library,
// a pidfd held while checking a process), so that SelfFDs never lists
// them. f must not call any function of this package (the guard does not
// nest while SelfFDs waits): keep f to the open-to-close span of its own
// fds.
func Shared(f func()) {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	f()
}

// FD is one entry of a process's fd table.
type FD struct {
	Num    int
	Target string // readlink of /proc/<pid>/fd/<num>, e.g. "pipe:[88123]"
}

// SelfFDs lists this process's open fds from /proc/self/fd, leaving out the
// descriptor used to read the directory itself and those this package's
// other functions hold open in other goroutines (it waits for them: see
// Shared). An fd closed by another goroutine during the listing is left
// out.
func SelfFDs() ([]FD, error) {
	ioGuard.Lock()
	defer ioGuard.Unlock()
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	own := int(d.Fd())
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := make([]FD, 0, len(names))
	for _, name := range names {
		n, err := strconv.Atoi(name)
		if err != nil || n == own {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + name)
		if err != nil {
			continue // closed meanwhile
		}
		out = append(out, FD{Num: n, Target: target})
	}
	return out, nil
}

// FDs lists the fds of process pid, e.g. FDs(4242). A vanished process gives
// an error satisfying errors.Is(err, ErrGone); fds closed during the listing
// are left out.
func FDs(pid int32) ([]FD, error) {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	dir := "/proc/" + strconv.Itoa(int(pid)) + "/fd"
	names, err := readDirNames(dir)
	if err != nil {
		return nil, gone(err)
	}
	out := make([]FD, 0, len(names))
	for _, name := range names {
		n, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		target, err := os.Readlink(dir + "/" + name)
		if err != nil {
			continue
		}
		out = append(out, FD{Num: n, Target: target})
	}
	return out, nil
}

func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// AccessMode returns the O_ACCMODE bits (0 read, 1 write, 2 read-write) of
// fd num of process pid, from the "flags:" line of /proc/<pid>/fdinfo/<num>.
func AccessMode(pid int32, num int) (int, error) {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/fdinfo/" + strconv.Itoa(num))
	if err != nil {
		return 0, gone(err)
	}
	return ParseFDInfoAccessMode(b)
}

// ParseFDInfoAccessMode extracts O_ACCMODE from an fdinfo file's content
// ("pos:\t0\nflags:\t02000001\n…").
func ParseFDInfoAccessMode(b []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		v, ok := strings.CutPrefix(line, "flags:")
		if !ok {
			continue
		}
		flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
		if err != nil {
			return 0, &StatError{Path: "fdinfo", Field: "flags", Reason: err.Error()}
		}
		return int(flags & 3), nil
	}
	return 0, &StatError{Path: "fdinfo", Field: "flags", Reason: "missing"}
}

// ErrStale reports that a pid no longer names the process a caller meant:
// it is gone, or its pid was reused.
var ErrStale = errors.New("process gone or pid reused")

// SignalVerified sends sig to process pid if same(its start time in clock
// ticks) holds, checked while a pidfd of the process is open, so that the
// pid cannot be reused between the check and the signal (without pidfd
// support, a tiny window remains). It returns ErrStale if the check fails
// or the process is gone. The pidfd is held under the guard SelfFDs waits
// for, so a snapshot never lists it.
//
//	err := SignalVerified(4242, unix.SIGKILL, func(t uint64) bool { return t == 98765 })
func SignalVerified(pid int32, sig unix.Signal, same func(startTicks uint64) bool) error {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	check := func() bool {
		var pathBuf [32]byte
		var buf [2048]byte
		path := appendProcPath(pathBuf[:0], pid, "stat")
		b, err := readSmallUnguarded(path, buf[:], true)
		if err != nil {
			return false
		}
		st, err := parseStat(path, b)
		return err == nil && same(st.StartTicks)
	}
	fd, err := unix.PidfdOpen(int(pid), 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrStale
		}
		// No pidfd support: check, then kill by pid.
		if !check() {
			return ErrStale
		}
		return unix.Kill(int(pid), sig)
	}
	defer unix.Close(fd)
	if !check() {
		return ErrStale
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// FDTarget reads where fd num of process pid points (the readlink of
// /proc/<pid>/fd/<num>), e.g. FDTarget(int32(os.Getpid()), 3) ==
// "pipe:[88123]". A closed fd or a vanished process gives an error
// satisfying errors.Is(err, ErrGone).
func FDTarget(pid int32, num int) (string, error) {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	t, err := os.Readlink("/proc/" + strconv.Itoa(int(pid)) + "/fd/" + strconv.Itoa(num))
	return t, gone(err)
}
