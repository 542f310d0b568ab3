package db

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// ErrNotWritable is wrapped by the error for a target DB that cannot be
// written: its dir refuses a new file (permissions, a read-only mount), its
// file system lacks the room a batch needs, a write failed (disk full, a
// file-size limit), or pebble reported a failed background write. The
// error names the dir and the cause; the DB then fails every later write.
var ErrNotWritable = errors.New("target DB cannot be written")

// probeLen is what Open writes (and syncs, then removes) to prove the dir
// takes new files and bytes before pebble touches it: pebble itself retries
// a failed flush forever.
const probeLen = 64 << 10

// MinFree is the room PutManifest wants free on the DB's file system on top
// of twice the batch (the WAL and the sstable a flush writes): 8 MiB, two
// memtables. With less, the write is refused before pebble starts it.
const MinFree = 8 << 20

// probe creates a file in dir, writes probeLen bytes, syncs and removes it.
func probe(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeLen))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// freeBytes is what an unprivileged writer may still write on dir's file
// system.
func freeBytes(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// health records the first write failure pebble reports, and keeps its
// error log from flooding: pebble logs every retry of a failed flush.
type health struct {
	mu      sync.Mutex
	first   error
	logged  int
	dropped bool
	w       io.Writer
}

// maxLogged is how many pebble error messages reach the error log; the
// rest are counted out by one line.
const maxLogged = 10

func (h *health) failed() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.first
}

func (h *health) record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.first == nil {
		h.first = err
	}
}

func (h *health) log(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.logged < maxLogged:
		h.logged++
		fmt.Fprintf(h.w, "pebble: "+format+"\n", args...)
	case !h.dropped:
		h.dropped = true
		fmt.Fprintf(h.w, "pebble: further errors not shown\n")
	}
}

// listener hands pebble's background errors (a failed flush or compaction)
// to h.
func (h *health) listener() *pebble.EventListener {
	return &pebble.EventListener{BackgroundError: func(err error) { h.record(err) }}
}

// fatalCommit is what the logger's Fatalf panics with: pebble calls Fatalf
// from the committing goroutine when a WAL write fails, and PutManifest
// recovers it into an error instead of letting pebble end the process.
type fatalCommit struct{ msg string }

// quietLogger drops pebble's informational messages (it logs every WAL it
// finds on open), passes a bounded number of its errors on, and turns its
// Fatalf into a fatalCommit panic.
type quietLogger struct{ h *health }

func (quietLogger) Infof(string, ...any) {}

func (l quietLogger) Errorf(format string, args ...any) { l.h.log(format, args...) }

func (l quietLogger) Fatalf(format string, args ...any) {
	panic(fatalCommit{fmt.Sprintf(format, args...)})
}

// commit commits b with Sync, turning pebble's fatal commit error into an
// error wrapping ErrNotWritable.
func (d *DB) commit(b *pebble.Batch) (err error) {
	defer func() {
		if v := recover(); v != nil {
			fc, ok := v.(fatalCommit)
			if !ok {
				panic(v)
			}
			err = fmt.Errorf("%w: %s", ErrNotWritable, fc.msg)
			d.health.record(err)
			d.broken = true
		}
	}()
	return b.Commit(pebble.Sync)
}

// writable refuses a write of n bytes when the DB already failed one, or
// its file system lacks 2n + MinFree bytes.
func (d *DB) writable(n int) error {
	if err := d.health.failed(); err != nil {
		return fmt.Errorf("%w: an earlier write failed: %w", ErrNotWritable, err)
	}
	free, err := freeBytes(d.dir)
	if err != nil {
		return fmt.Errorf("%w: statfs: %w", ErrNotWritable, err)
	}
	if need := 2*uint64(n) + MinFree; free < need {
		return fmt.Errorf("%w: %d bytes free on its file system, a %d-byte batch needs %d (twice the batch and %d MiB)",
			ErrNotWritable, free, n, need, MinFree>>20)
	}
	return nil
}

// openPebble opens the pebble DB, returning early with an error wrapping
// ErrNotWritable if pebble reports a failed background write before its
// Open returns (Open flushes the WAL it replays, and retries a failed
// flush forever). The abandoned Open then goes on in the background.
func openPebble(dir string, opts *pebble.Options, h *health) (*pebble.DB, error) {
	type result struct {
		p   *pebble.DB
		err error
	}
	done := make(chan result, 1)
	failed := make(chan struct{})
	var once sync.Once
	opts.EventListener.BackgroundError = func(err error) {
		h.record(err)
		once.Do(func() { close(failed) })
	}
	go func() {
		p, err := pebble.Open(dir, opts)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-failed:
		return nil, fmt.Errorf("%w: %w", ErrNotWritable, h.failed())
	}
}
