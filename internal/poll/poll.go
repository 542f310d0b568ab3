// Package poll waits for a condition with a deadline: the one polling loop
// of the module's tests (and of code that must wait for the kernel, such as
// a process to change state), instead of hand-written deadline loops.
//
//	if !poll.Until(context.Background(), 20*time.Second, func() bool { return done() }) {
//		t.Fatal("not done within 20s")
//	}
//
// The deadline is a failure bound, not a timing target: the condition is
// checked at once, then with a backoff from 1ms to 50ms.
package poll

import (
	"context"
	"time"
)

// Until checks cond until it holds (true), limit has passed or ctx has
// ended (false; cond is checked one last time).
func Until(ctx context.Context, limit time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	backoff := time.Millisecond
	t := time.NewTimer(0)
	<-t.C
	defer t.Stop()
	for {
		if cond() {
			return true
		}
		t.Reset(backoff)
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}
