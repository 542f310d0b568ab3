package stream

import (
	"context"
	"fmt"
	"sync"
)

// Task is one unit of work: it reads only after g.Pass(ctx) returns nil,
// and returns its result (errors included: a task reports failure in T).
// ctx is cancelled by Abort, by the parent context, or once the stream is
// done. A task that panics crashes the program, like any goroutine.
type Task[T any] func(ctx context.Context, g *Gate) T

// Ordered runs tasks with bounded concurrency and yields their results in
// input order. Next is meant for one consumer goroutine; Abort and Wait may
// be called from any goroutine.
//
//	o := stream.NewOrdered(ctx, tasks, 2*c, c)
//	for res, ok := o.Next(); ok; res, ok = o.Next() { … }
type Ordered[T any] struct {
	ctx         context.Context
	cancel      context.CancelFunc
	stopWatch   func() bool // stops the context.AfterFunc that wakes Next
	gate        *Gate
	buffer      int
	concurrency int

	mu       sync.Mutex
	changed  *sync.Cond // broadcast when a task returns, or on abort/cancel
	tasks    []Task[T]  // the input; a started task's entry is cleared
	started  int        // tasks started: indexes 0..started-1
	running  int        // started tasks that have not returned
	consumed int        // results returned by Next
	results  map[int]T  // results of returned tasks not yet consumed
	ended    bool       // Abort, cancellation or the last result: nothing starts any more

	// onStart, if set (by tests), is called with o.mu held just before
	// task i starts.
	onStart func(i int)
}

// NewOrdered starts nothing yet: tasks start inside Next. buffer is the
// most results not yet consumed (queued, running or done) and concurrency
// the most tasks running at once; backup-cli uses 2C and C with C =
// concurrent_downloads. Both must be at least 1: anything else is a
// programming error and panics. The tasks' context is derived from ctx.
// NewOrdered copies the slice (nil or empty is fine: Next returns false);
// a nil task in it is a programming error and panics too.
//
//	o := stream.NewOrdered(ctx, tasks, 2*c, c)
func NewOrdered[T any](ctx context.Context, tasks []Task[T], buffer, concurrency int) *Ordered[T] {
	if buffer < 1 || concurrency < 1 {
		panic(fmt.Sprintf("stream.NewOrdered: buffer (%d) and concurrency (%d) must be at least 1", buffer, concurrency))
	}
	for i, t := range tasks {
		if t == nil {
			panic(fmt.Sprintf("stream.NewOrdered: task %d is nil", i))
		}
	}
	o := &Ordered[T]{gate: newGate(), buffer: buffer, concurrency: concurrency, results: map[int]T{},
		tasks: append([]Task[T](nil), tasks...)}
	o.changed = sync.NewCond(&o.mu)
	o.ctx, o.cancel = context.WithCancel(ctx)
	o.stopWatch = context.AfterFunc(o.ctx, func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.changed.Broadcast()
	})
	return o
}

// Next returns the next result in input order, starting tasks as the
// bounds allow and opening the gate while it waits. It returns false when
// every task's result has been returned, after Abort, or once the parent
// context is done; the stream then drops the tasks it did not start and
// cancels the tasks' context. Next must not be called concurrently with
// itself.
//
//	res, ok := o.Next()
func (o *Ordered[T]) Next() (T, bool) {
	var zero T
	o.gate.open()
	defer o.gate.close()

	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		if o.ended || o.ctx.Err() != nil {
			o.finishLocked()
			return zero, false
		}
		o.startLocked()
		if r, ok := o.results[o.consumed]; ok {
			delete(o.results, o.consumed)
			o.consumed++
			return r, true
		}
		if o.consumed == len(o.tasks) {
			o.finishLocked()
			return zero, false
		}
		o.changed.Wait()
	}
}

// startLocked starts tasks in input order while both bounds allow.
func (o *Ordered[T]) startLocked() {
	for !o.ended && o.started < len(o.tasks) && o.started < o.consumed+o.buffer && o.running < o.concurrency {
		i := o.started
		task := o.tasks[i]
		o.tasks[i] = nil // let the task's closure go once it returns
		if o.onStart != nil {
			o.onStart(i)
		}
		o.started++
		o.running++
		go o.run(i, task)
	}
}

func (o *Ordered[T]) run(i int, task Task[T]) {
	r := task(o.ctx, o.gate)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.running--
	if !o.ended {
		o.results[i] = r
	}
	o.changed.Broadcast()
}

// finishLocked ends the stream: no more tasks start, tasks not started
// and results not consumed are dropped, and the tasks' context is
// cancelled.
func (o *Ordered[T]) finishLocked() {
	o.ended = true
	o.results = map[int]T{}
	clear(o.tasks[o.started:])
	o.stopWatch() // before cancel, so that cancel does not run the watch
	o.cancel()
	o.changed.Broadcast()
}

// Abort ends the stream: it cancels the tasks' context, starts no more
// tasks, drops results not yet consumed, and makes Next return false (a
// Next blocked in another goroutine returns at once). It does not wait for
// running tasks; Wait does. Calling it again, or after the stream ended,
// does nothing.
//
//	o.Abort()
func (o *Ordered[T]) Abort() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.ended {
		o.finishLocked()
	}
}

// Wait blocks until every task started so far has returned. After Abort,
// or after Next returned false, no task starts any more, so Wait then means
// "all tasks are done". It does not cancel anything: call Abort first to
// stop tasks that would otherwise wait for the consumer in Pass.
//
//	o.Abort()
//	o.Wait()
func (o *Ordered[T]) Wait() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.running > 0 {
		o.changed.Wait()
	}
}
