package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/clip"
)

// DefaultMaxOutput is the bound on what list_metadata_files and
// backup_metadata_file may print when Adapter.MaxOutput is 0: 64 MiB, about
// a million metadata file handles.
const DefaultMaxOutput = 64 << 20

// MaxHandleLen bounds the handle create_backup, create_for_write and
// save_metadata_line print: 64 KiB, far above any real handle.
const MaxHandleLen = 64 << 10

// ErrOutputTooLarge is wrapped by the error of a one-shot command that
// printed more than its bound (Adapter.MaxOutput, or MaxHandleLen for a
// handle). The command is then stopped by the Policy, as a dropped reader.
//
//	if errors.Is(err, adapter.ErrOutputTooLarge) { … }
var ErrOutputTooLarge = errors.New("output exceeds its bound")

// ErrCancelled is wrapped, with the context's cause, by the error of an
// operation whose context was cancelled while its command ran; the command
// was then stopped by the Policy, as a dropped reader.
var ErrCancelled = errors.New("cancelled")

func (a *Adapter) maxOutput() int64 {
	if a.MaxOutput <= 0 {
		return DefaultMaxOutput
	}
	return a.MaxOutput
}

// readOutput reads the child's stdout to EOF, at most limit bytes, while
// ctx lasts: the one-shot commands' read. More than limit bytes, a
// cancelled ctx or a read error stop the child by its policy (abort) and
// are the error, which names the operation and, for the bound, how to
// raise it (setting, e.g. "--max-listing-bytes"; "" if fixed).
func (c *child) readOutput(ctx context.Context, limit int64, setting string) ([]byte, error) {
	var mu sync.Mutex
	reading, interrupted := true, false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if reading {
			interrupted = true
			_ = c.stdout.SetReadDeadline(time.Now())
		}
	})
	out, err := io.ReadAll(io.LimitReader(c.stdout, limit+1))
	stop()
	mu.Lock()
	reading = false
	mu.Unlock()
	if interrupted {
		// Clear the deadline for later reads (a Writer's shutdown drains
		// stdout), and take what the pipe already holds: output complete
		// when ctx was cancelled is not lost to the race.
		_ = c.stdout.SetReadDeadline(time.Time{})
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			var eof bool
			if out, eof = c.readReady(out, limit+1); eof {
				err = nil
			}
		}
	}
	switch {
	case err != nil && interrupted:
		return nil, c.cancelled(ctx)
	case err != nil:
		return nil, errors.Join(fmt.Errorf("%s: read stdout of bash (pid %d): %w", c.desc(), c.pid, err), c.abort())
	case int64(len(out)) > limit:
		how := "a fixed bound"
		if setting != "" {
			how = "raise it with " + setting
		}
		return nil, errors.Join(fmt.Errorf("%s: printed more than %s: %w (%s); the command was stopped",
			c.desc(), FormatBytes(limit), ErrOutputTooLarge, how), c.abort())
	}
	return out, nil
}

// finish joins the child after its stdout ended, while ctx lasts; a
// cancelled ctx stops it by its policy and is the error.
func (c *child) finish(ctx context.Context) error {
	err := c.join(ctx.Done())
	if err == errInterrupted {
		return c.cancelled(ctx)
	}
	return err
}

// cancelled stops the child by its policy and returns the error saying so.
func (c *child) cancelled(ctx context.Context) error {
	return errors.Join(fmt.Errorf("%s: %w: %w", c.desc(), ErrCancelled, context.Cause(ctx)), c.abort())
}

// FormatBytes renders n bytes for messages: "64 MiB", "1536 bytes".
//
//	adapter.FormatBytes(64 << 20) // "64 MiB"
func FormatBytes(n int64) string {
	for _, u := range []struct {
		shift int
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// maxQuoted is how many bytes of outside text Quote keeps.
const maxQuoted = 120

// Quote renders text that came from outside (a command's output, a handle)
// for an error message through internal/clip: Go-quoted, so control bytes and invalid UTF-8 show
// as escapes, and cut to its first 120 bytes with the full length noted.
//
//	adapter.Quote("metadata/a.meta") // `"metadata/a.meta"`
//	adapter.Quote(strings.Repeat("y\n", 1e6)) // `"y\ny\n…"… (2000000 bytes)`
func Quote(s string) string { return clip.Quote(s, maxQuoted) }

// readReady appends to out what stdout holds right now, up to limit bytes
// in all, without waiting: it reads only while poll(2) says the pipe is
// readable (data, or its write end closed). eof reports that the output
// ended.
func (c *child) readReady(out []byte, limit int64) ([]byte, bool) {
	rc, err := c.stdout.SyscallConn()
	if err != nil {
		return out, false
	}
	buf := make([]byte, 32<<10)
	for int64(len(out)) < limit {
		ready := false
		_ = rc.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
				ready = fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0
			}
		})
		if !ready {
			return out, false
		}
		n, err := c.stdout.Read(buf[:min(int64(len(buf)), limit-int64(len(out)))])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			return out, false
		}
	}
	return out, false
}
