// Package rusage reads the peak resident set size of a finished child
// from its wait status, and says how much of that peak the child may have
// inherited from its parent rather than used itself.
//
// Go starts children with vfork (CLONE_VM), and at exec the kernel
// records the parent's own RSS high-water mark in the child's maxrss. A
// child's ru_maxrss is therefore never below its parent's peak at the time
// it was started: a bound on a child's memory must allow for that.
//
//	peak := rusage.MaxRSS(cmd.ProcessState)
//	if peak > max(bound, rusage.Inherited()) { … the child used too much … }
package rusage

import (
	"os"
	"os/exec"
	"syscall"
)

// MaxRSS is st's ru_maxrss in bytes: the largest RSS of the process or of
// any descendant it waited for. 0 when st carries no rusage.
//
//	peak := rusage.MaxRSS(cmd.ProcessState)
func MaxRSS(st *os.ProcessState) int64 {
	if st == nil {
		return 0
	}
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	return ru.Maxrss << 10 // Linux: KiB
}

// Inherited is the maxrss, in bytes, of a child that only execs true: what
// any child started now inherits from this process's RSS peak. Measure it
// after the child being judged (the peak only grows), so it bounds what
// that child inherited. It returns 0 if true cannot run.
//
//	limit := max(bound, rusage.Inherited())
func Inherited() int64 {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		return 0
	}
	return MaxRSS(cmd.ProcessState)
}
