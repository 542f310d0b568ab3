package adapter

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ErrWriteTimeout is wrapped by the error a Writer's Write returns when
// Adapter.WriteTimeout > 0 and the child took no byte of stdin within it (a
// stalled upload). The error names the operation, the timeout and the bytes
// written so far; the Writer stays usable (Abort it, or Write again to wait
// again).
//
//	if errors.Is(err, adapter.ErrWriteTimeout) { w.Abort() }
var ErrWriteTimeout = errors.New("write timeout")

// Writer is the stdin of a create_for_write or save_metadata_line child
// (backup-cli's ChildStdinAsDataSink). Write sends bytes to the child.
// Close is the shutdown: close stdin, drain stdout, reap bash; a non-zero
// exit is a *ExitError (under KillGroup, processes bash left in its group
// are killed and waited for, as after a Reader's EOF). Abort is the Writer
// dropped before its shutdown (the backup's error path): it applies the
// Adapter's Policy, the same four semantics as Reader.Close:
//
//   - Drop closes our stdin write end (and stdout read end) and reaps bash
//     in the background. A child blocked reading stdin gets EOF, exactly as
//     if the upload had ended: a storage CLI then finishes the upload of
//     the bytes it got, under the object's final name, and exits 0 (a real
//     data hazard: a truncated object that the store reports as a
//     successful upload; dropping the real ChildStdinAsDataSink does the
//     same). A stalled child (not reading) stays alive until it reads again,
//     then does the same.
//   - Abandon does nothing: the child keeps waiting for bytes on a pipe we
//     still hold, until the garbage collector finalizes our *os.File (then
//     it gets EOF and may complete a truncated upload, at an unpredictable
//     time); once it exits, it stays a zombie. A Write blocked in another
//     goroutine stays blocked (until WriteTimeout, if set).
//   - Kill SIGKILLs bash, closes our pipe ends and reaps bash. A pipeline's
//     other members (`gzip -c | aws s3 cp - …`) live on: their stdin now
//     ends, so unless stalled they complete a truncated upload, as under
//     Drop; a stalled one stays alive.
//   - KillGroup SIGKILLs bash's whole process group, closes our pipe ends,
//     reaps bash and waits until the group is empty (a *GroupError after
//     Adapter.WaitDelay). Nothing the command started can store anything
//     afterwards.
//
// Calls, in any order, are well defined: Write after Close or Abort returns
// an error wrapping ErrClosed; Close after Abort returns an error wrapping
// ErrClosed (the child was not shut down); Abort during Close interrupts it
// (Close then returns an error wrapping ErrClosed, or the exit status if it
// had already reaped bash; under Abandon, which closes nothing, a Close
// blocked reading stdout stays blocked); Abort after a finished Close does
// nothing and returns nil (the child was joined); repeated Close or Abort
// calls return the first call's result. A Write blocked in another
// goroutine returns an error wrapping ErrClosed when Close, or Abort under
// Drop, Kill or KillGroup, closes the pipe. Writes are serialized.
//
//	fh, w, err := a.CreateForWrite(ctx, bh, "0-.chunk")
//	if _, err := w.Write(data); err != nil { return errors.Join(err, w.Abort()) }
//	return w.Close()
type Writer struct {
	c       *child
	handle  string
	timeout time.Duration
	written atomic.Int64

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

	// settled is taken once, by whichever ends Close first: its own
	// result, or the WriteTimeout timer (which then aborts the child).
	settled atomic.Bool
}

func newWriter(c *child, handle string, timeout time.Duration) *Writer {
	return &Writer{
		c:         c,
		handle:    handle,
		timeout:   timeout,
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

// Written returns the bytes the child's stdin pipe has accepted so far (the
// pipe buffers up to 64 KiB that the child may not have read yet).
//
//	log.Printf("%s: %d bytes sent", w.Handle(), w.Written())
func (w *Writer) Written() int64 { return w.written.Load() }

func (w *Writer) closedErr() error { return fmt.Errorf("%s: writer %w", w.c.desc(), ErrClosed) }

// ended reports whether Close or Abort has started.
func (w *Writer) ended() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeStarted || w.abortStarted
}

// Write writes p to the child's stdin and returns how much the pipe took.
// With Adapter.WriteTimeout > 0 it fails with an error wrapping
// ErrWriteTimeout once the child has taken no byte for that long (a slow
// child that keeps reading is waited for). After Close or Abort it returns
// an error wrapping ErrClosed; if the child has gone, one wrapping the
// pipe's EPIPE.
func (w *Writer) Write(p []byte) (int, error) {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	if w.ended() {
		return 0, w.closedErr()
	}
	done := 0
	for {
		if w.timeout > 0 {
			if err := w.c.stdin.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
				return done, w.writeErr(err)
			}
		}
		n, err := w.c.stdin.Write(p[done:])
		done += n
		w.written.Add(int64(n))
		switch {
		case err == nil:
			return done, nil
		case n > 0 && errors.Is(err, os.ErrDeadlineExceeded) && !w.ended():
			continue // the child took bytes within the timeout: wait again
		}
		return done, w.writeErr(err)
	}
}

// writeErr turns an error from the stdin pipe into Write's result.
func (w *Writer) writeErr(err error) error {
	switch {
	case w.ended():
		return w.closedErr()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%s: stdin of bash (pid %d) took no data within %v (%d bytes written): %w",
			w.c.desc(), w.c.pid, w.timeout, w.Written(), ErrWriteTimeout)
	}
	return fmt.Errorf("%s: write to stdin of bash (pid %d) after %d bytes: %w", w.c.desc(), w.c.pid, w.Written(), err)
}

// Close shuts the command down: closes its stdin, reads its stdout to EOF,
// reaps bash and returns nil for exit 0, else a *ExitError. Without
// Adapter.WriteTimeout it waits as long as the command runs, as shipped;
// with it, Close waits at most that long after closing stdin: a command
// still running then (an upload stalled after its last bytes fit in the
// pipe) is aborted under the Policy, as by Abort, and Close returns an
// error wrapping ErrWriteTimeout. Abort from another goroutine interrupts
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

// shutdown is Close's work, bounded by the write timeout if there is one.
func (w *Writer) shutdown() error {
	if w.timeout <= 0 {
		return w.join()
	}
	t := time.AfterFunc(w.timeout, func() {
		if !w.settled.CompareAndSwap(false, true) {
			return // Close got its result first
		}
		_ = w.Abort()
		// Abandon closes nothing: end the drain of stdout too (after
		// Abort has marked the Writer aborting, so the drain's error is
		// read as the interruption it is).
		_ = w.c.stdout.SetReadDeadline(time.Now())
	})
	defer t.Stop()
	err := w.join()
	if w.settled.CompareAndSwap(false, true) {
		return err
	}
	<-w.abortDone // the timer won: its Abort applies the policy
	return errors.Join(fmt.Errorf("%s: bash (pid %d) did not exit within %v of its stdin closing (%d bytes written): %w",
		w.c.desc(), w.c.pid, w.timeout, w.Written(), ErrWriteTimeout), w.abortErr)
}

// join closes stdin, drains stdout and reaps bash; Abort interrupts it.
func (w *Writer) join() error {
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

// Abort drops the command before its shutdown and applies the Policy (see
// Writer for what each leaves behind): Drop closes our pipe ends and reaps
// bash in the background; Abandon does nothing; Kill SIGKILLs bash, closes
// the pipes and reaps it; KillGroup SIGKILLs the process group, closes the
// pipes, reaps bash and waits for the group to empty (a *GroupError after
// Adapter.WaitDelay). After a finished Close it does nothing and returns
// nil. Later calls return the first call's result (waiting for it).
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
