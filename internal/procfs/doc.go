// Package procfs reads the /proc files the harness needs, each with one
// open, read and close: /proc/<pid>/stat (state letter, ppid, process
// group, start time in clock ticks, and the exec image's addresses that
// tell one exec from the next), cmdline, environ (only the value of one
// variable is kept), /proc/uptime, a process's fd table and fd flags, and
// what a blocked process waits on (Waiting: its threads' wait channels;
// PipeEnds: which end of each pipe it holds; WaitedPidfds: the pidfds its
// threads sleep on in waitid; PidfdPid: whom a pidfd names). It
// replaces gopsutil v3 where that costs or loses precision
// (docs/design/snapshots.md says where, and what a snapshot costs).
//
// Everything here is a plain file read, readlink or pidfd: nothing spawns
// a process, so it is safe to call while measuring. A process that
// vanishes between two reads shows up as an error satisfying
// errors.Is(err, ErrGone); callers skip it. Every function but SelfFDs
// holds a shared guard while its fds are open and SelfFDs holds it
// exclusively, so the fds one goroutine's reads hold never show up in
// another goroutine's SelfFDs (see Shared).
package procfs
