package adapter

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Reader is the stdout of an open_for_read child (backup-cli's
// ChildStdoutAsDataSource). Read returns the child's bytes; when the pipe
// reaches EOF, Read joins the child: exit 0 gives io.EOF, anything else a
// *ExitError (and under KillGroup a *GroupError if bash left processes that
// would not die). Close before that applies the Adapter's Policy; after it,
// Close is a no-op. Close is idempotent and may be called from another
// goroutine while a Read is blocked: under Drop, Kill and KillGroup the Read
// then returns an error wrapping ErrClosed; under Abandon nothing is closed
// and a blocked Read stays blocked until the child writes or exits. Reads
// are serialized.
//
//	r, _ := a.OpenForRead(ctx, fh)
//	defer r.Close()
//	n, err := r.Read(buf)
type Reader struct {
	c       *child
	handle  string
	timeout time.Duration

	readMu sync.Mutex // serializes Read

	mu        sync.Mutex
	joined    bool          // the EOF join finished; final holds its result
	final     error         // io.EOF or the join's error
	closed    bool          // Close was called
	closing   chan struct{} // closed when Close starts applying the policy
	closeDone chan struct{} // closed when the first Close returns
	closeErr  error
}

// Handle returns the FILE_HANDLE this Reader was opened with.
func (r *Reader) Handle() string { return r.handle }

// Pid returns bash's pid.
func (r *Reader) Pid() int { return r.c.pid }

// Pgid returns bash's process group: its own pid under KillGroup, else the
// group it inherited (ours).
func (r *Reader) Pgid() int { return r.c.pgid }

// Policy returns the cleanup policy this Reader applies on an early Close.
func (r *Reader) Policy() Policy { return r.c.policy }

// closedErr is the error for use after (or during) Close.
func (r *Reader) closedErr() error { return fmt.Errorf("%s: reader %w", r.c.desc(), ErrClosed) }

// Read reads the child's stdout. With Adapter.ReadTimeout > 0 it waits at
// most that long for data, then returns an error wrapping ErrReadTimeout
// (the Reader stays usable). At EOF it reaps the child and returns io.EOF or
// the child's failure; later Reads return the same.
func (r *Reader) Read(p []byte) (int, error) {
	r.readMu.Lock()
	defer r.readMu.Unlock()
	r.mu.Lock()
	joined, final, closed := r.joined, r.final, r.closed
	r.mu.Unlock()
	switch {
	case joined:
		return 0, final
	case closed:
		return 0, r.closedErr()
	case len(p) == 0:
		return 0, nil
	}
	if r.timeout > 0 {
		if err := r.c.stdout.SetReadDeadline(time.Now().Add(r.timeout)); err != nil {
			return 0, r.readErr(err)
		}
	}
	n, err := r.c.stdout.Read(p)
	if n > 0 || err == nil {
		return n, nil
	}
	return 0, r.readErr(err)
}

// readErr turns an error from the pipe into Read's result.
func (r *Reader) readErr(err error) error {
	switch {
	case err == io.EOF:
		return r.join()
	case errors.Is(err, os.ErrDeadlineExceeded):
		seededFault()
		return fmt.Errorf("%s: no data within %v: %w", r.c.desc(), r.timeout, ErrReadTimeout)
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return r.closedErr()
	}
	return fmt.Errorf("%s: read stdout of bash (pid %d): %w", r.c.desc(), r.c.pid, err)
}

// join reaps the child after EOF; a concurrent Close interrupts it.
func (r *Reader) join() error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return r.closedErr()
	}
	err := r.c.join(r.closing)
	if err == errInterrupted {
		return r.closedErr()
	}
	if err == nil {
		err = io.EOF
	}
	r.mu.Lock()
	r.joined, r.final = true, err
	r.mu.Unlock()
	return err
}

// Close releases the child. After Read returned EOF (or the child's
// failure) it does nothing and returns nil. Before that it applies the
// Policy: Drop closes our pipe ends and reaps bash in the background;
// Abandon does nothing; Kill SIGKILLs bash, closes the pipes and reaps bash;
// KillGroup SIGKILLs bash's process group, closes the pipes, reaps bash and
// waits until the group is empty, returning a *GroupError if that takes
// longer than Adapter.WaitDelay. Later calls return the first call's result
// (waiting for it if it is still running).
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.closeDone
		return r.closeErr
	}
	r.closed = true
	if r.joined {
		close(r.closeDone)
		r.mu.Unlock()
		return nil
	}
	close(r.closing)
	r.mu.Unlock()
	err := r.c.abort()
	r.closeErr = err
	close(r.closeDone)
	return err
}
