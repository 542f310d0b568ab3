package adapter

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// uploadCmd is a create_for_write that uploads through a pipeline, the shape
// of the shipped `gzip -c | aws s3 cp - URL`: head reads our pipe, and a
// subshell stores what it passes on, then renames it to the final name, as
// a storage CLI completes an upload when its stdin ends.
const uploadCmd = "echo \"$BACKUP_HANDLE/$FILE_NAME\"\nexec 1>&-\n" +
	"head -c 1000000000 | { cat > \"$DIR/$FILE_NAME.part\" && mv \"$DIR/$FILE_NAME.part\" \"$DIR/$FILE_NAME\"; }"

// stalledUploadCmd never reads its stdin: a hung upload.
const stalledUploadCmd = "echo \"$BACKUP_HANDLE/$FILE_NAME\"\nexec 1>&-\nsleep 300 | cat > /dev/null"

// createForWrite runs create_for_write and registers the child for cleanup.
func (l *lab) createForWrite(a *Adapter, name string) *Writer {
	l.t.Helper()
	_, w, err := a.CreateForWrite(context.Background(), "bk", name)
	if err != nil {
		l.t.Fatalf("CreateForWrite(%q): %v", name, err)
	}
	l.keep(w.c)
	return w
}

// TestWriterAbortMidUpload drops a Writer whose child is blocked reading
// stdin (a healthy upload, mid-way): the write path's version of the
// reader's "child that was writing". Under Drop, and under Kill through a
// pipeline, the child sees its stdin end and completes a truncated upload
// under the final name; under KillGroup nothing can; under Abandon the
// child keeps waiting on the pipe we still hold.
func TestWriterAbortMidUpload(t *testing.T) {
	t.Parallel()
	partial := []byte("the first bytes of a chunk")
	for _, p := range Policies() {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(p, Commands{CreateForWrite: uploadCmd}, EnvVar{"DIR", l.dir})
			w := l.createForWrite(a, "0-.chunk")
			bash := l.bash(w.Pid())
			tree := l.tree(w.Pid(), "head", "cat")
			final := filepath.Join(l.dir, "0-.chunk")
			if n, err := w.Write(partial); err != nil || n != len(partial) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			if w.Written() != int64(len(partial)) {
				t.Errorf("Written = %d, want %d", w.Written(), len(partial))
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			switch p {
			case Drop:
				// The upload completes with what it got, and the
				// background wait reaps bash.
				if !waitUntil(func() bool { got, err := os.ReadFile(final); return err == nil && bytes.Equal(got, partial) }) {
					t.Errorf("drop: the truncated upload should complete under %s", final)
				}
				select {
				case <-w.c.waitDone:
				case <-time.After(pollDeadline):
					t.Errorf("drop: bash not reaped by the background wait")
				}
				if w.c.cmd.ProcessState == nil || !w.c.cmd.ProcessState.Success() {
					t.Errorf("drop: bash should exit 0 (the upload succeeded, truncated): %v", w.c.cmd.ProcessState)
				}
			case Abandon:
				// Nothing closed: the pipeline still waits for bytes.
				for _, q := range []procInfo{bash, tree["head"], tree["cat"]} {
					if !running(q) {
						t.Errorf("abandon: %s should still run", q)
					}
				}
				if target, err := fdTarget(w.c.stdin); err != nil || !strings.HasPrefix(target, "pipe:") {
					t.Errorf("abandon: our stdin write end should stay open: %q, %v", target, err)
				}
				if _, err := os.Stat(final); err == nil {
					t.Errorf("abandon: %s exists, but the child's stdin never ended", final)
				}
			case Kill:
				if present(bash) {
					t.Errorf("kill: bash present when Abort returned")
				}
				// bash's pipeline outlives it, sees EOF and completes.
				if !waitUntil(func() bool { got, err := os.ReadFile(final); return err == nil && bytes.Equal(got, partial) }) {
					t.Errorf("kill: the surviving pipeline should complete the truncated upload under %s", final)
				}
			case KillGroup:
				if !groupEmpty(w.Pgid()) {
					t.Errorf("killgroup: group %d not empty when Abort returned: %v", w.Pgid(), groupMembers(w.Pgid()))
				}
				// With the group gone nothing can store it any more.
				if _, err := os.Stat(final); err == nil {
					t.Errorf("killgroup: %s exists: the truncated upload completed", final)
				}
			}
			checkAfterAbort(t, w)
		})
	}
}

// checkAfterAbort checks the calls that follow an Abort.
func checkAfterAbort(t *testing.T, w *Writer) {
	t.Helper()
	first := w.Abort()
	if again := w.Abort(); again != first {
		t.Errorf("second Abort = %v, want the first result %v", again, first)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close after Abort = %v, want ErrClosed", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Abort = %v, want ErrClosed", err)
	}
}

// TestWriterStalledUpload times a Write out on a child that never reads,
// then drops the Writer: the write path's hung upload.
func TestWriterStalledUpload(t *testing.T) {
	t.Parallel()
	for _, p := range Policies() {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(p, Commands{CreateForWrite: stalledUploadCmd})
			a.WriteTimeout = 50 * time.Millisecond
			w := l.createForWrite(a, "0-.chunk")
			bash := l.bash(w.Pid())
			tree := l.tree(w.Pid(), "sleep", "cat")
			data := make([]byte, 1<<20) // far more than the pipe holds
			n, err := w.Write(data)
			if !errors.Is(err, ErrWriteTimeout) {
				t.Fatalf("Write to a stalled child = %d, %v; want ErrWriteTimeout", n, err)
			}
			if n <= 0 || n >= len(data) || int64(n) != w.Written() {
				t.Errorf("Write took %d of %d bytes (Written %d); want the pipe's capacity, more than 0", n, len(data), w.Written())
			}
			want := regexp.MustCompile(`^create_for_write BACKUP_HANDLE="bk" FILE_NAME="0-\.chunk": stdin of bash \(pid \d+\) took no data within 50ms \(\d+ bytes written\): write timeout$`)
			if !want.MatchString(err.Error()) {
				t.Errorf("timeout error %q, want match for %s", err, want)
			}
			if n2, err := w.Write(data[:1]); !errors.Is(err, ErrWriteTimeout) || n2 != 0 {
				t.Errorf("second Write = %d, %v; want the Writer still usable, timing out again", n2, err)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			sleep, cat := tree["sleep"], tree["cat"]
			switch p {
			case Drop, Abandon:
				for _, q := range []procInfo{bash, sleep, cat} {
					if !running(q) {
						t.Errorf("%v: %s should still be alive: a stalled upload never ends", p, q)
					}
				}
			case Kill:
				if present(bash) {
					t.Errorf("kill: bash present when Abort returned")
				}
				for _, q := range []procInfo{sleep, cat} {
					if !running(q) {
						t.Errorf("kill: grandchild %s should survive", q)
					}
				}
			case KillGroup:
				if !groupEmpty(w.Pgid()) {
					t.Errorf("killgroup: group %d not empty when Abort returned: %v", w.Pgid(), groupMembers(w.Pgid()))
				}
			}
			checkAfterAbort(t, w)
		})
	}
}

// TestWriteTimeoutWaitsForProgress: the timeout bounds a wait without
// progress, not the whole Write. The child reads 16 KiB every 100ms, so a
// 320 KiB Write takes more than a second, but never waits 1s for a byte.
func TestWriteTimeoutWaitsForProgress(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a := l.adapter(KillGroup, Commands{CreateForWrite: "echo \"$BACKUP_HANDLE/$FILE_NAME\"\nexec 1>&-\n" +
		`while n=$(head -c 16384 | wc -c) && [ "$n" -gt 0 ]; do sleep 0.1; done`})
	a.WriteTimeout = time.Second
	w := l.createForWrite(a, "slow.chunk")
	data := make([]byte, 320<<10)
	start := time.Now()
	if n, err := w.Write(data); err != nil || n != len(data) {
		t.Fatalf("Write to a slow but steady child = %d, %v; want all %d bytes", n, err, len(data))
	}
	if took := time.Since(start); took <= a.WriteTimeout {
		t.Logf("the Write took %v, not more than the timeout: this run did not exercise the progress rule", took)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestCloseTimeoutOnStalledUpload: an upload that stalls after its data
// fit in the pipe never blocks a Write, so only Close can notice. With a
// WriteTimeout, Close gives up after it under every policy (Abandon too,
// which closes nothing), returns ErrWriteTimeout and applies the policy:
// under KillGroup nothing of the command is left.
func TestCloseTimeoutOnStalledUpload(t *testing.T) {
	t.Parallel()
	for _, p := range Policies() {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(p, Commands{CreateForWrite: stalledUploadCmd})
			a.WriteTimeout = 200 * time.Millisecond
			w := l.createForWrite(a, "0-.chunk")
			tree := l.tree(w.Pid(), "sleep", "cat")
			if _, err := w.Write([]byte("fits in the pipe")); err != nil {
				t.Fatalf("Write: %v", err)
			}
			closed := make(chan error, 1)
			go func() { closed <- w.Close() }()
			var err error
			select {
			case err = <-closed:
			case <-time.After(pollDeadline):
				t.Fatalf("Close on a stalled upload did not return within %v (WriteTimeout %v)", pollDeadline, a.WriteTimeout)
			}
			if !errors.Is(err, ErrWriteTimeout) || !strings.Contains(err.Error(), "did not exit within 200ms") {
				t.Errorf("Close = %v, want ErrWriteTimeout saying the command did not exit", err)
			}
			if again := w.Close(); again == nil || again.Error() != err.Error() {
				t.Errorf("second Close = %v, want the first's result", again)
			}
			if p == KillGroup && !waitUntil(func() bool { return !present(tree["sleep"]) && !present(tree["cat"]) }) {
				t.Errorf("killgroup: the stalled pipeline outlived the timed-out Close")
			}
		})
	}
}

// TestWriterAbortUnblocksWrite aborts a Writer while another goroutine is
// blocked writing to a stalled child, without a WriteTimeout.
func TestWriterAbortUnblocksWrite(t *testing.T) {
	t.Parallel()
	for _, p := range Policies() {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(p, Commands{CreateForWrite: stalledUploadCmd})
			w := l.createForWrite(a, "0-.chunk")
			l.tree(w.Pid(), "sleep", "cat")
			writeDone := make(chan error, 1)
			writer := make(chan string, 1)
			go func() {
				writer <- goroutineID()
				_, err := w.Write(make([]byte, 1<<20))
				writeDone <- err
			}()
			id := <-writer
			if !waitUntil(func() bool { return writeBlocked(id) }) {
				t.Fatalf("Write never blocked on the pipe")
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if p == Abandon {
				// Abandon closes nothing: the Write stays blocked until
				// the pipe closes some other way (here: the test does it).
				if !writeBlocked(id) {
					t.Errorf("abandon: the Write returned, but nothing was closed")
				}
				_ = w.c.stdin.Close()
			}
			select {
			case err := <-writeDone:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("blocked Write returned %v, want ErrClosed", err)
				}
			case <-time.After(pollDeadline):
				t.Fatalf("blocked Write did not return after Abort")
			}
		})
	}
}

// writeBlocked reports whether goroutine id is parked in (*Writer).Write
// waiting for the pipe (state "IO wait").
func writeBlocked(id string) bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	for g := range strings.SplitSeq(string(buf[:n]), "\n\n") {
		if strings.HasPrefix(g, "goroutine "+id+" [IO wait") && strings.Contains(g, "adapter.(*Writer).Write(") {
			return true
		}
	}
	return false
}

// TestWriterChildExitedEarly: a child that exits without reading stdin
// makes Write fail with EPIPE; its exit status is never seen (as in the
// real tool, whose write_all fails first). Abort then applies the policy
// to a child that has already exited.
func TestWriterChildExitedEarly(t *testing.T) {
	t.Parallel()
	for _, p := range Policies() {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(p, Commands{CreateForWrite: "echo \"$BACKUP_HANDLE/$FILE_NAME\"\nexec 1>&-\nexit 3"})
			w := l.createForWrite(a, "0-.chunk")
			bash := l.bash(w.Pid())
			_, err := w.Write(make([]byte, 1<<20))
			if !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("Write to an exited child = %v, want EPIPE", err)
			}
			want := regexp.MustCompile(`^create_for_write BACKUP_HANDLE="bk" FILE_NAME="0-\.chunk": write to stdin of bash \(pid \d+\) after \d+ bytes: write \|1: broken pipe$`)
			if !want.MatchString(err.Error()) {
				t.Errorf("error %q, want match for %s", err, want)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			switch p {
			case Drop:
				if !waitUntil(func() bool { return !present(bash) }) {
					t.Errorf("drop: the exited bash should be reaped in the background")
				}
			case Abandon:
				if !waitUntil(func() bool { now, ok := current(bash); return ok && now.state == "Z" }) {
					t.Errorf("abandon: the exited bash should stay a zombie")
				}
			case Kill, KillGroup:
				if present(bash) {
					t.Errorf("%v: bash present when Abort returned", p)
				}
			}
			checkAfterAbort(t, w)
		})
	}
}
