package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// stopSignals are the signals that stop a command cleanly: the first one
// cancels its context, so restore.Run closes every reader in flight (each
// child meets --cleanup-policy), deferred closes run, and the process exits
// 128+n. SIGHUP and SIGQUIT keep their default effect.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

// signalError is the cause of a context cancelled by a stop signal:
// context.Cause(ctx) is &signalError{syscall.SIGTERM} after a SIGTERM.
type signalError struct{ sig syscall.Signal }

// Error names the signal: "received SIGTERM".
func (e *signalError) Error() string { return "received " + signalName(e.sig) }

// exitCode is the shell's code for a death by the signal, 128+n: 130 for
// SIGINT, 143 for SIGTERM.
func (e *signalError) exitCode() int { return 128 + int(e.sig) }

// signalName is the signal's usual name, "SIGTERM", or "signal N".
func signalName(s syscall.Signal) string {
	if name := unix.SignalName(s); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(s))
}

// stoppedBy returns the signal that cancelled ctx, nil if none did.
func stoppedBy(ctx context.Context) *signalError {
	var se *signalError
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &se) {
		return se
	}
	return nil
}

// handleSignals returns a context that the first SIGINT or SIGTERM cancels
// with a *signalError cause, after saying on stderr what happens next. That
// first signal also removes the handler, so a second SIGINT or SIGTERM has
// its default effect: the process dies of it at once (its parent sees it
// killed by the signal; a shell reports 130 or 143), skipping whatever
// cleanup is still running — the readers' children are then left as a
// SIGKILL would leave them, and a DB open for writing is not closed. It is
// the way out when cleanup hangs: a KillGroup close waits up to its wait
// delay per reader (or one-shot command) for its process group to empty.
//
//	ctx, stop := handleSignals(context.Background(), os.Stderr)
//	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
//	stop()
//
// stop stops the handling (signals then have their default effect) and
// releases the context; call it once run has returned.
func handleSignals(parent context.Context, stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, stopSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Reset(stopSignals...)
			sig, _ := s.(syscall.Signal)
			fmt.Fprintf(stderr, "restore: received %s: stopping; the children in flight meet --cleanup-policy "+
				"(send SIGINT or SIGTERM again to exit at once, without cleanup)\n", signalName(sig))
			cancel(&signalError{sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}
