package procfs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Pids lists the pids of every process in /proc, in ascending order, e.g.
// Pids() == []int32{1, 2, …}. The directory fd is held under the shared
// guard, so a concurrent SelfFDs never lists it.
func Pids() ([]int32, error) {
	ioGuard.RLock()
	names, err := readDirNames("/proc")
	ioGuard.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	pids := make([]int32, 0, len(names))
	for _, name := range names {
		if n, err := strconv.ParseInt(name, 10, 32); err == nil && n > 0 {
			pids = append(pids, int32(n))
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// Children lists the children of every thread of process pid, from
// /proc/<pid>/task/*/children, e.g. Children(int32(os.Getpid())). A
// vanished process gives an error satisfying errors.Is(err, ErrGone).
func Children(pid int32) ([]int32, error) {
	var out []int32
	err := eachTask(pid, "children", func(b []byte) {
		for _, f := range bytes.Fields(b) {
			if n, ok := parseDec(f); ok && n <= 1<<31-1 {
				out = append(out, int32(n))
			}
		}
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

// eachTask calls f with the content of file of each thread of process pid
// (/proc/<pid>/task/<tid>/<file>), skipping threads that exited. f must
// not keep b: its bytes are reused for the next thread.
func eachTask(pid int32, file string, f func([]byte)) error {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	dir := "/proc/" + strconv.Itoa(int(pid)) + "/task"
	tasks, err := readDirNames(dir)
	if err != nil {
		return gone(err)
	}
	bp := statBufs.Get().(*[]byte)
	defer statBufs.Put(bp)
	for _, t := range tasks {
		// Read to EOF (a children list may pass the buffer: it grows), with
		// no fstat and no os.File: the scan's most frequent read.
		if b, err := readSmallUnguarded([]byte(dir+"/"+t+"/"+file), *bp, false); err == nil {
			f(b)
		}
	}
	return nil
}

// ChildNamed reports whether process pid has a child whose command name
// (comm) is name: ChildNamed(int32(os.Getpid()), "sleep").
func ChildNamed(pid int32, name string) bool {
	kids, err := Children(pid)
	if err != nil {
		return false
	}
	for _, k := range kids {
		if st, err := ReadStat(k); err == nil && st.Comm == name {
			return true
		}
	}
	return false
}

// Wchans lists, for each thread of process pid, the kernel function it
// sleeps in (/proc/<pid>/task/<tid>/wchan; "0" for a running thread), e.g.
// Wchans(4242) == []string{"anon_pipe_read", "futex_wait_queue"}.
func Wchans(pid int32) ([]string, error) {
	var out []string
	err := eachTask(pid, "wchan", func(b []byte) { out = append(out, strings.TrimSpace(string(b))) })
	return out, err
}

// Holder is a process holding an fd, as Holders found it.
type Holder struct {
	Pid  int32
	Comm string // its command name, "" if its stat was unreadable
	FD   int
}

// Holders scans the fd table of every process this one may read and
// returns, for each of targets (readlink targets such as "pipe:[88123]" or
// "socket:[4711]"), the processes holding an fd on it, by pid then fd:
// holders, err := Holders("pipe:[88123]"). It costs a readdir and a
// readlink per fd of every process; processes that vanish or cannot be
// read are skipped.
func Holders(targets ...string) (map[string][]Holder, error) {
	pids, err := Pids()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Holder, len(targets))
	for _, t := range targets {
		out[t] = nil
	}
	for _, pid := range pids {
		list, err := FDs(pid)
		if err != nil {
			continue
		}
		comm := ""
		for _, fd := range list {
			if _, ok := out[fd.Target]; !ok {
				continue
			}
			if comm == "" {
				if st, err := ReadStat(pid); err == nil {
					comm = st.Comm
				}
			}
			out[fd.Target] = append(out[fd.Target], Holder{Pid: pid, Comm: comm, FD: fd.Num})
		}
	}
	return out, nil
}

// TCPSocketInode returns the inode of the IPv4 TCP socket whose local
// address is local and remote address remote, from /proc/net/tcp (0 and no
// error if there is none, or only one in TIME_WAIT, whose inode is 0):
//
//	inode, err := TCPSocketInode(clientAddr, serverAddr) // then Holders("socket:[<inode>]")
func TCPSocketInode(local, remote *net.TCPAddr) (uint64, error) {
	l, r := tcpAddr(local), tcpAddr(remote)
	if l == "" || r == "" {
		return 0, fmt.Errorf("socket %s -> %s: not an IPv4 address", local, remote)
	}
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[1] != l || fields[2] != r {
			continue
		}
		inode, err := strconv.ParseUint(fields[9], 10, 64)
		if err != nil || inode == 0 {
			continue // a socket in TIME_WAIT has inode 0
		}
		return inode, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("/proc/net/tcp: %w", err)
	}
	return 0, nil
}

// tcpAddr formats an IPv4 address as /proc/net/tcp does: the address as a
// host-order (little-endian) 32-bit hex number, a colon, the port in hex.
func tcpAddr(a *net.TCPAddr) string {
	if a == nil {
		return ""
	}
	ip4 := a.IP.To4()
	if ip4 == nil {
		return ""
	}
	return fmt.Sprintf("%08X:%04X", binary.LittleEndian.Uint32(ip4), a.Port)
}

// BootTime is the boot instant, estimated once per process from
// /proc/uptime, so that every start time this process computes (StartTime)
// has the same origin and two reads of one process compare equal.
var BootTime = sync.OnceValues(func() (time.Time, error) {
	up, err := Uptime()
	if err != nil {
		return time.Time{}, err
	}
	return time.Now().Add(-up).Round(0), nil
})

// StartTime converts a start time in clock ticks since boot (Stat's
// StartTicks) to an instant: StartTime(boot, st.StartTicks), with boot from
// BootTime.
func StartTime(boot time.Time, ticks uint64) time.Time {
	return boot.Add(TicksToDuration(ticks))
}

// ReadEveryStat lists /proc and reads each process's stat file once (open,
// one read into a reused buffer, close), parsing nothing, and returns the
// number of files read: the physical floor any snapshot of the process
// tree pays, for benchmarks to compare against.
func ReadEveryStat() int {
	ioGuard.RLock()
	defer ioGuard.RUnlock()
	names, err := readDirNames("/proc")
	if err != nil {
		return 0
	}
	var buf [2048]byte
	n := 0
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		fd, err := syscall.Open("/proc/"+name+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if _, err := syscall.Read(fd, buf[:]); err == nil {
			n++
		}
		syscall.Close(fd)
	}
	return n
}
