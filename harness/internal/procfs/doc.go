// Package procfs reads the few /proc files the harness needs and gopsutil v3
// does not expose exactly: /proc/<pid>/stat (state letter, ppid, process
// group, start time in clock ticks), /proc/uptime, a process's fd table and
// fd flags.
//
// Everything here is a plain file read or readlink: nothing spawns a
// process, so it is safe to call while measuring. A process that vanishes
// between two reads shows up as an error satisfying errors.Is(err,
// ErrGone); callers skip it.
package procfs
