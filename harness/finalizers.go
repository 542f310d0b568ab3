package harness

import (
	"os"
	"runtime"
	"time"

	"github.com/leakgate/leakgate/internal/procfs"
)

// gcRounds bounds CheckFinalizers: a finalizer that drops the last
// reference to another finalizable object (a struct holding an *os.File)
// needs one more collection per link.
const gcRounds = 5

// sentinelWait bounds how long CheckFinalizers waits for one collection's
// finalizers and cleanups to run (a finalizer that blocks holds up every
// later one).
const sentinelWait = 2 * time.Second

// CheckFinalizers tells fds that only the garbage collector would close
// from true leaks: it runs the collector, waits until the finalizers and
// cleanups it queued have run (os.File closes itself in a finalizer,
// os.Process releases its pidfd in a cleanup), re-reads the caller's fd
// table, and moves the leaked fds that closed meanwhile from FDs to
// Finalized, which the report shows as
//
//	fd 19 -> /tmp/x: closed only by the garbage collector: code that relies on finalizers
//
// It repeats while collections keep closing fds, up to 5 rounds.
//
//	leaks = harness.Diff(before, after).CheckFinalizers()
//
// CheckFinalizers concerns the caller only: for a snapshot of another
// process (Of), or without leaked fds, it returns l unchanged; so it does if
// /proc/self/fd cannot be read. An fd another goroutine closes during the
// check counts as closed by the collector. It starts no process.
func (l Leaks) CheckFinalizers() Leaks {
	if len(l.FDs) == 0 || l.Self != int32(os.Getpid()) {
		return l
	}
	type fdKey struct {
		num    int
		target string
	}
	still := l.FDs
	var closed []FD
	idle := 0
	for round := 0; round < gcRounds && len(still) > 0 && idle < 2; round++ {
		collect()
		raw, err := procfs.SelfFDs()
		if err != nil {
			return l
		}
		open := make(map[fdKey]bool, len(raw))
		for _, fd := range raw {
			open[fdKey{fd.Num, fd.Target}] = true
		}
		var left []FD
		for _, fd := range still {
			if open[fdKey{fd.Num, fd.Target}] {
				left = append(left, fd)
			} else {
				closed = append(closed, fd)
			}
		}
		if len(left) == len(still) {
			idle++
		} else {
			idle = 0
		}
		still = left
	}
	if len(closed) == 0 {
		return l
	}
	l.FDs = still
	l.Finalized = append(append([]FD(nil), l.Finalized...), closed...)
	return l
}

// sentinel is a heap object big enough, and holding a pointer, so that it
// is not batched with others by the tiny allocator (whose objects may never
// be finalized).
type sentinel struct {
	p *int
	_ [64]byte
}

// collect runs a garbage collection and waits until a finalizer and a
// cleanup attached before it have run: the finalizers and cleanups the
// collection queued are then running or done (those of the previous
// collection are done, which is why CheckFinalizers stops only after a
// round that closed nothing).
func collect() {
	fin, cl := sentinels()
	runtime.GC()
	timer := time.NewTimer(sentinelWait)
	defer timer.Stop()
	for fin != nil || cl != nil {
		select {
		case <-fin:
			fin = nil
		case <-cl:
			cl = nil
		case <-timer.C:
			return
		}
	}
}

// sentinels makes two unreachable objects, one with a finalizer and one
// with a cleanup, each closing the returned channel when run.
func sentinels() (fin, cl chan struct{}) {
	fin, cl = make(chan struct{}), make(chan struct{})
	f := &sentinel{}
	runtime.SetFinalizer(f, func(*sentinel) { close(fin) })
	c := &sentinel{}
	runtime.AddCleanup(c, func(ch chan struct{}) { close(ch) }, cl)
	return fin, cl
}
