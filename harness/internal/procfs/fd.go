package procfs

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// FD is one entry of a process's fd table.
type FD struct {
	Num    int
	Target string // readlink of /proc/<pid>/fd/<num>, e.g. "pipe:[88123]"
}

// SelfFDs lists this process's open fds from /proc/self/fd, leaving out the
// descriptor used to read the directory itself. An fd closed by another
// goroutine during the listing is left out.
func SelfFDs() ([]FD, error) {
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
