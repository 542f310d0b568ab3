package adapter

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Writer is the stdin of a create_for_write child (backup-cli's
// ChildStdinAsDataSink). Write sends bytes to the child. Close is the
// shutdown: close stdin, drain stdout, reap bash; a non-zero exit is a
// *ExitError (under KillGroup, processes bash left in its group are killed
// and waited for, as after a Reader's EOF). Abort, before or during Close,
// applies the Adapter's Policy instead (same four semantics as
// Reader.Close) and makes a running Close return an error wrapping
// ErrClosed (except under Abandon, which closes nothing). Close and Abort
// are idempotent; Abort after a finished Close does nothing. Writes are
// serialized.
//
//	fh, w, err := a.CreateForWrite(ctx, bh, "0-.chunk")
//	if _, err := w.Write(data); err != nil { _ = w.Abort(); return err }
//	return w.Close()
type Writer struct {
	c      *child
	handle string

	writeMu sync.Mutex // serializes Write

	mu           sync.Mutex
	closeStarted bool
	shutDown     bool // Close finished with the child reaped
	closeDone    chan struct{}
	closeErr     error
	abortStarted bool
	aborting     chan struct{} // closed when Abort starts
	abortDone    chan struct{}
	abortErr     error
}

func newWriter(c *child, handle string) *Writer {
	return &Writer{
		c:         c,
		handle:    handle,
		closeDone: make(chan struct{}),
		aborting:  make(chan struct{}),
		abortDone: make(chan struct{}),
	}
}

// Handle returns the file handle the command printed.
func (w *Writer) Handle() string { return w.handle }

// Pid returns bash's pid.
func (w *Writer) Pid() int { return w.c.pid }

// Pgid returns bash's process group: its own pid under KillGroup, else ours.
func (w *Writer) Pgid() int { return w.c.pgid }

// Policy returns the cleanup policy Abort applies.
func (w *Writer) Policy() Policy { return w.c.policy }

func (w *Writer) closedErr() error { return fmt.Errorf("%s: writer %w", w.c.desc(), ErrClosed) }

// Write writes p to the child's stdin. After Close or Abort it returns an
// error wrapping ErrClosed; if the child has gone, the pipe's EPIPE.
func (w *Writer) Write(p []byte) (int, error) {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.mu.Lock()
	done := w.closeStarted || w.abortStarted
	w.mu.Unlock()
	if done {
		return 0, w.closedErr()
	}
	n, err := w.c.stdin.Write(p)
	if err != nil {
		w.mu.Lock()
		done := w.closeStarted || w.abortStarted
		w.mu.Unlock()
		if done {
			return n, w.closedErr()
		}
		return n, fmt.Errorf("%s: write to stdin of bash (pid %d): %w", w.c.desc(), w.c.pid, err)
	}
	return n, nil
}

// Close shuts the command down: closes its stdin, reads its stdout to EOF,
// reaps bash and returns nil for exit 0, else a *ExitError. It waits as long
// as the command runs (as shipped); Abort from another goroutine interrupts
// it. Later calls return the first call's result.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closeStarted {
		w.mu.Unlock()
		<-w.closeDone
		return w.closeErr
	}
	if w.abortStarted {
		w.mu.Unlock()
		return w.closedErr()
	}
	w.closeStarted = true
	w.mu.Unlock()

	err := w.shutdown()

	w.mu.Lock()
	w.closeErr = err
	w.shutDown = !errors.Is(err, ErrClosed)
	close(w.closeDone)
	w.mu.Unlock()
	return err
}

// shutdown is Close's work.
func (w *Writer) shutdown() error {
	_ = w.c.stdin.Close()
	if _, err := io.Copy(io.Discard, w.c.stdout); err != nil {
		select {
		case <-w.aborting:
			return w.closedErr()
		default:
		}
		return errors.Join(fmt.Errorf("%s: drain stdout of bash (pid %d): %w", w.c.desc(), w.c.pid, err), w.c.abort())
	}
	err := w.c.join(w.aborting)
	if err == errInterrupted {
		return w.closedErr()
	}
	return err
}

// Abort closes the command before its shutdown and applies the Policy:
// Drop closes our pipe ends and reaps bash in the background; Abandon does
// nothing; Kill SIGKILLs bash, closes the pipes and reaps it; KillGroup
// SIGKILLs the process group, closes the pipes, reaps bash and waits for the
// group to empty (a *GroupError after Adapter.WaitDelay). After a finished
// Close it does nothing and returns nil. Later calls return the first call's
// result.
func (w *Writer) Abort() error {
	w.mu.Lock()
	if w.abortStarted {
		w.mu.Unlock()
		<-w.abortDone
		return w.abortErr
	}
	if w.shutDown {
		w.mu.Unlock()
		return nil
	}
	w.abortStarted = true
	close(w.aborting)
	w.mu.Unlock()
	err := w.c.abort()
	w.abortErr = err
	close(w.abortDone)
	return err
}
