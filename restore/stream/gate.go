package stream

import (
	"context"
	"sync"
)

// Gate lets tasks proceed only while the consumer waits for a result. The
// Ordered that runs a task opens its gate for the duration of each Next
// call. A nil *Gate is always open, for running a task outside a stream.
//
//	if err := g.Pass(ctx); err != nil { return err } // then read
type Gate struct {
	mu      sync.Mutex
	opened  chan struct{} // closed while the gate is open; replaced when it closes
	isOpen  bool
	waiting int // tasks blocked in Pass; for tests
}

func newGate() *Gate { return &Gate{opened: make(chan struct{})} }

// Pass returns nil once the gate is open (at once if it is open now), or
// ctx.Err() if ctx is done first (or already). It does not hold the gate
// open: a task that passed may finish its read after the consumer has
// moved on, exactly like a Rust future that was mid-poll.
//
//	err := g.Pass(ctx) // nil, context.Canceled, or context.DeadlineExceeded
func (g *Gate) Pass(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if g == nil {
		return nil
	}
	g.mu.Lock()
	if g.isOpen {
		g.mu.Unlock()
		return nil
	}
	opened := g.opened
	g.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	select {
	case <-opened:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *Gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.isOpen {
		g.isOpen = true
		close(g.opened)
	}
}

func (g *Gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.isOpen {
		g.isOpen = false
		g.opened = make(chan struct{})
	}
}

// blocked returns the number of tasks blocked in Pass.
func (g *Gate) blocked() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}
