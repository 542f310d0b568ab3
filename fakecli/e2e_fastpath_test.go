package fakecli_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/fakecli"
)

// noJournal is w's environment without the journal: a healthy read then
// catches no signal (it has nothing to record or undo).
func noJournal(w *world, extra ...string) []string {
	var env []string
	for _, kv := range w.env {
		if !strings.HasPrefix(kv, fakecli.EnvJournal+"=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// TestReadStdoutKinds: a healthy read's sendfile(2) copy gives the same
// bytes whatever fd 1 is: a regular file (sendfile writes it), and a
// non-blocking pipe read slowly (sendfile fails with EAGAIN once the pipe
// is full, and the read/write copy finishes from the file's offset).
func TestReadStdoutKinds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	want := records(1, 3<<20, 11)
	w.put("b/x.chunk", want)
	bin := filepath.Join(binDir, "fakecli")

	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "open_for_read")
	cmd.Env, cmd.Stdout = noJournal(w, "FILE_HANDLE=b/x.chunk"), out
	if err := cmd.Run(); err != nil {
		t.Fatalf("stdout a file: %v", err)
	}
	if got, err := os.ReadFile(out.Name()); err != nil || !bytes.Equal(got, want) {
		t.Errorf("stdout a file: %d bytes (%v), want %d (%s)", len(got), err, len(want), firstDiff(got, want))
	}

	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := unix.SetNonblock(int(pw.Fd()), true); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(bin, "open_for_read")
	cmd.Env, cmd.Stdout = w.env, pw
	cmd.Env = append(cmd.Env, "FILE_HANDLE=b/x.chunk")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf) // small reads: the pipe fills up
		got.Write(buf[:n])
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stdout a non-blocking pipe: %v", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("stdout a non-blocking pipe: %d bytes, want %d (%s)", got.Len(), len(want), firstDiff(got.Bytes(), want))
	}
	if inv := w.last(); !inv.Ended || inv.Exit != 0 || inv.Bytes != int64(len(want)) {
		t.Errorf("journal: %v; want exit 0, %d bytes", inv, len(want))
	}
}

// TestReadWithoutJournalSignal: a read with no journal catches no signal, so
// SIGTERM ends it with the signal's default action (what a real CLI does)
// rather than an exit status.
func TestReadWithoutJournalSignal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.put("b/x.chunk", []byte("0123456789"))
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(filepath.Join(binDir, "fakecli"), "open_for_read")
	cmd.Env, cmd.Stdout = noJournal(w, "FILE_HANDLE=b/x.chunk", fakecli.EnvFaults+"=stall after=4 for=forever"), pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	first := make([]byte, 4)
	if _, err := io.ReadFull(r, first); err != nil { // stalled now, after 4 bytes
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("no exit within 30 s of SIGTERM")
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("wait status %v, want killed by SIGTERM", cmd.ProcessState)
	}
}
