package adapter

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrReadTimeout is wrapped by the error a Reader's Read returns when
	// Adapter.ReadTimeout > 0 and no data came within it. The error names the
	// handle and the timeout; the Reader stays usable (a later Read waits
	// again).
	//
	//	if errors.Is(err, adapter.ErrReadTimeout) { r.Close() }
	ErrReadTimeout = errors.New("read timeout")

	// ErrClosed is wrapped by errors from a Reader or Writer used after Close
	// or Abort, including a Read that was blocked when another goroutine
	// closed the Reader.
	ErrClosed = errors.New("closed")

	// ErrNoCommand is wrapped by the error of an operation whose optional
	// command (backup_metadata_file) the config does not define.
	ErrNoCommand = errors.New("command not configured")

	// ErrEmptyHandle is wrapped by the error of create_backup,
	// create_for_write or save_metadata_line when the command printed no
	// handle (only white space) and exited 0.
	ErrEmptyHandle = errors.New("command printed no handle")

	// ErrUnsafeName is wrapped by the error of an operation given a name
	// (BACKUP_NAME, FILE_NAME) that is not shell safe:
	// ^[a-zA-Z0-9][a-zA-Z0-9._-]{2,126}$, as backup-cli's ShellSafeName.
	ErrUnsafeName = errors.New("name is not shell safe")

	// ErrGroupNotEmpty is matched by a *GroupError: under KillGroup, the
	// child's process group was not empty within Adapter.WaitDelay.
	ErrGroupNotEmpty = errors.New("process group not empty")
)

// ExitError is a command that ran and ended badly: exited non-zero or was
// killed by a signal. Op is the operation ("open_for_read"), Params the
// call's parameters, Command the config's command text (as in the YAML,
// without the `set -o …;` prefix), Pid bash's pid, ExitCode the exit status
// (-1 when killed by a signal), Signal the signal (0 if none).
//
//	var xe *adapter.ExitError
//	if errors.As(err, &xe) && xe.ExitCode == 3 { … }
type ExitError struct {
	Op       string
	Params   []EnvVar
	Command  string
	Pid      int
	ExitCode int
	Signal   syscall.Signal
}

// Error names the operation, its parameters, the status and the command's
// first meaningful line, e.g.
// `open_for_read FILE_HANDLE="b.1a2b/0-.chunk": bash exited with status 3 (command: exit 3)`.
func (e *ExitError) Error() string {
	var status string
	if e.Signal != 0 {
		status = fmt.Sprintf("bash killed by signal %d (%v)", int(e.Signal), e.Signal)
	} else {
		status = fmt.Sprintf("bash exited with status %d", e.ExitCode)
	}
	return fmt.Sprintf("%s: %s (command: %s)", opDesc(e.Op, e.Params), status, commandSummary(e.Command))
}

// GroupError reports that, under KillGroup, what a child started was not all
// gone within Adapter.WaitDelay (Waited): the process group Pgid still held
// Left (empty if /proc could not be read). Reason says which wait ran out.
// It matches ErrGroupNotEmpty.
//
//	var ge *adapter.GroupError
//	if errors.As(err, &ge) { log.Print(ge.Pgid, ge.Left) }
type GroupError struct {
	Op     string
	Params []EnvVar
	Pgid   int
	Reason string
	Waited time.Duration
	Left   []Leftover
}

// Leftover is one process found in a process group that should have been
// empty: Pid, State (the /proc state letter, "Z" for a zombie) and Comm (the
// kernel's short command name).
type Leftover struct {
	Pid   int
	State string
	Comm  string
}

// String renders "1234 (Z sleep)".
func (l Leftover) String() string { return fmt.Sprintf("%d (%s %s)", l.Pid, l.State, l.Comm) }

// Error renders e.g. `open_for_read FILE_HANDLE="x": process group 1234 not
// empty after 5s (bash not reaped): left 1234 (D bash), 1236 (S sleep)`.
func (e *GroupError) Error() string {
	left := make([]string, 0, len(e.Left))
	for _, l := range e.Left {
		left = append(left, l.String())
	}
	what := "nothing found in /proc"
	if len(left) > 0 {
		what = strings.Join(left, ", ")
	}
	return fmt.Sprintf("%s: process group %d not empty after %v (%s): left %s",
		opDesc(e.Op, e.Params), e.Pgid, e.Waited, e.Reason, what)
}

// Is reports whether target is ErrGroupNotEmpty.
func (e *GroupError) Is(target error) bool { return target == ErrGroupNotEmpty }

// opDesc renders an operation and its parameters: `open_for_read
// FILE_HANDLE="b.1a2b/0-.chunk"`.
func opDesc(op string, params []EnvVar) string {
	var b strings.Builder
	b.WriteString(op)
	for _, p := range params {
		b.WriteByte(' ')
		b.WriteString(p.String())
	}
	return b.String()
}

// commandSummary returns the first line of cmd that is neither blank nor a
// comment, trimmed, with " …" appended when more such lines follow.
func commandSummary(cmd string) string {
	var first string
	for line := range strings.SplitSeq(cmd, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if first != "" {
			return first + " …"
		}
		first = line
	}
	if first == "" {
		return strings.TrimSpace(cmd)
	}
	return first
}
