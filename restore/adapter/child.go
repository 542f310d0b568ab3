package adapter

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// child is one running command: bash, our two pipe ends, and the policy that
// decides what an early close does. Reader and Writer wrap it.
type child struct {
	op        string
	params    []EnvVar
	command   string
	policy    Policy
	waitDelay time.Duration

	cmd    *exec.Cmd
	pid    int
	pgid   int
	stdin  *os.File // our write end of the child's stdin
	stdout *os.File // our read end of the child's stdout

	waitOnce sync.Once
	waitDone chan struct{} // closed once cmd.Wait returned
	waitErr  error         // cmd.Wait's result; read only after waitDone
}

// errInterrupted is returned by join when its interrupt channel fired first.
var errInterrupted = errors.New("join interrupted")

// desc names the operation and its parameters for messages.
func (c *child) desc() string { return opDesc(c.op, c.params) }

// startWait starts, once, the goroutine that reaps bash (cmd.Wait) and then
// closes waitDone. Under Drop this goroutine is the background reaper.
func (c *child) startWait() {
	c.waitOnce.Do(func() {
		go func() {
			c.waitErr = c.cmd.Wait()
			close(c.waitDone)
		}()
	})
}

// closePipes closes our pipe ends; closing twice is harmless.
func (c *child) closePipes() {
	_ = c.stdin.Close()
	_ = c.stdout.Close()
}

// exitResult converts the finished cmd.Wait into nil, an *ExitError, or a
// wrapped wait error. Call only after waitDone is closed.
func (c *child) exitResult() error {
	st := c.cmd.ProcessState
	if st == nil {
		return fmt.Errorf("%s: wait for bash (pid %d): %w", c.desc(), c.pid, c.waitErr)
	}
	if st.Success() {
		return nil
	}
	seededFault()
	xe := &ExitError{Op: c.op, Params: c.params, Command: c.command, Pid: c.pid, ExitCode: st.ExitCode()}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		xe.Signal = ws.Signal()
	}
	return xe
}

// join is the normal end of a command (tokio's Child::wait): close its stdin,
// reap bash, close stdout, and under KillGroup kill whatever bash left in its
// group and wait for the group to empty. It returns nil for exit 0, an
// *ExitError, a *GroupError, or errInterrupted when interrupt closed before
// bash was reaped (the reaping goroutine then goes on in the background).
func (c *child) join(interrupt <-chan struct{}) error {
	_ = c.stdin.Close()
	c.startWait()
	select {
	case <-c.waitDone:
	case <-interrupt:
		return errInterrupted
	}
	_ = c.stdout.Close()
	err := c.exitResult()
	if c.policy == KillGroup {
		start := time.Now()
		if kerr := unix.Kill(-c.pgid, unix.SIGKILL); !errors.Is(kerr, unix.ESRCH) {
			// Something bash started outlived it (e.g. a backgrounded job).
			if gerr := c.awaitGroupEmpty(start, start.Add(c.waitDelay), "left behind after bash exited"); gerr != nil {
				err = errors.Join(err, gerr)
			}
		}
	}
	return err
}

// abort applies the policy to a child closed before its normal end. See the
// package documentation for what each policy does and leaves behind.
func (c *child) abort() error {
	switch c.policy {
	case Abandon:
		return nil
	case Drop:
		c.closePipes()
		c.startWait()
		return nil
	case Kill:
		_ = c.cmd.Process.Kill() // "already finished" is fine
		c.closePipes()
		c.startWait()
		<-c.waitDone
		return nil
	case KillGroup:
		if SeededDefect != nil && SeededDefect.Forget() {
			return nil // the seeded defect: forget the child, as Abandon does
		}
		start := time.Now()
		deadline := start.Add(c.waitDelay)
		_ = unix.Kill(-c.pgid, unix.SIGKILL) // ESRCH: already gone
		c.closePipes()
		c.startWait()
		t := time.NewTimer(c.waitDelay)
		defer t.Stop()
		select {
		case <-c.waitDone:
		case <-t.C:
			return c.groupError(start, "bash not reaped")
		}
		return c.awaitGroupEmpty(start, deadline, "group members still present")
	}
	return fmt.Errorf("%s: %w: %v", c.desc(), ErrUnknownPolicy, c.policy)
}

// awaitGroupEmpty polls kill(-pgid, 0) until ESRCH, backing off from 1ms to
// 50ms, and returns a *GroupError once deadline passes. A zombie member
// counts as present: it is gone only when its parent (for orphans: init or
// the nearest subreaper) has reaped it.
func (c *child) awaitGroupEmpty(start, deadline time.Time, reason string) error {
	backoff := time.Millisecond
	for {
		if err := unix.Kill(-c.pgid, 0); errors.Is(err, unix.ESRCH) {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return c.groupError(start, reason)
		}
		time.Sleep(min(backoff, left))
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// groupError describes what is left in the child's process group.
func (c *child) groupError(start time.Time, reason string) error {
	return &GroupError{
		Op:     c.op,
		Params: c.params,
		Pgid:   c.pgid,
		Reason: reason,
		Waited: time.Since(start).Round(time.Millisecond),
		Left:   groupMembers(c.pgid),
	}
}
