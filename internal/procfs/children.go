package procfs

import (
	"bytes"
	"strconv"
)

// PFExiting is PF_EXITING in Stat.Flags: set at the very start of exit,
// before the process's fds are closed and its children reparented.
const PFExiting = 0x4

// Exiting reports whether the process is exiting or has exited: PF_EXITING
// set, or a zombie (Z) or dead (X) state: if st.Exiting() { … }.
func (s Stat) Exiting() bool {
	return s.Flags&PFExiting != 0 || s.State == 'Z' || s.State == 'X'
}

// KillPending reports whether pid has SIGKILL pending (the SigPnd or ShdPnd
// mask of /proc/<pid>/status): it is dying, if not yet exiting. The kernel
// queues SIGKILL on every thread of a process a fatal signal is delivered
// to (a default-action SIGTERM included), so a process group killed at once
// shows it on the members that have not exited yet. False if unreadable.
func KillPending(pid int32) bool {
	bp := bigBufs.Get().(*[]byte)
	defer bigBufs.Put(bp)
	b, err := readSmall(appendProcPath(nil, pid, "status"), *bp, false)
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || (string(k) != "SigPnd" && string(k) != "ShdPnd") {
			continue
		}
		mask, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
		if err == nil && mask&(1<<(9-1)) != 0 {
			return true
		}
	}
	return false
}

// Comm returns pid's command name from /proc/<pid>/comm (what ps shows; a
// thread can rename it), "" if unreadable: Comm(4242) == "tmux: server".
func Comm(pid int32) string {
	var buf [64]byte
	b, err := readSmall(appendProcPath(nil, pid, "comm"), buf[:], true)
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}
