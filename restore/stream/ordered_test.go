package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/leakgate/leakgate/internal/poll"
)

// deadline bounds every poll in these tests; reaching it is a failure.
const deadline = 10 * time.Second

// eventually polls cond until it holds, failing the test at the deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll.Until(context.Background(), deadline, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// noLeaks fails the test if goroutines started since baseline are still
// alive once the deadline passes.
func noLeaks(t *testing.T, baseline []gleak.Goroutine) {
	t.Helper()
	g := gomega.NewWithT(t)
	g.Eventually(gleak.Goroutines).WithTimeout(deadline).ShouldNot(gleak.HaveLeaked(baseline))
}

// checker records every task start (called with o.mu held) and fails the
// test if a start breaks a bound: input order, i < consumed + buffer,
// running < concurrency, and only while the consumer is inside Next.
type checker struct {
	t          *testing.T
	mu         sync.Mutex
	next       int // the index the next start must have
	maxAhead   int // largest i - consumed seen
	maxRunning int // largest running count after a start
	violations []string
}

func watch[T any](t *testing.T, o *Ordered[T]) *checker {
	c := &checker{t: t, maxAhead: -1}
	o.onStart = func(i int) {
		c.mu.Lock()
		defer c.mu.Unlock()
		bad := func(format string, args ...any) { c.violations = append(c.violations, fmt.Sprintf(format, args...)) }
		if i != c.next {
			bad("task %d started, want task %d next", i, c.next)
		}
		c.next = i + 1
		if i >= o.consumed+o.buffer {
			bad("task %d started with %d consumed and buffer %d", i, o.consumed, o.buffer)
		}
		if o.running >= o.concurrency {
			bad("task %d started with %d running, concurrency %d", i, o.running, o.concurrency)
		}
		o.gate.mu.Lock()
		if !o.gate.isOpen {
			bad("task %d started while the consumer was not in Next", i)
		}
		o.gate.mu.Unlock()
		c.maxAhead = max(c.maxAhead, i-o.consumed)
		c.maxRunning = max(c.maxRunning, o.running+1)
	}
	return c
}

func (c *checker) verify() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.violations {
		c.t.Error(v)
	}
}

func TestOrderWithRandomDurations(t *testing.T) {
	baseline := gleak.Goroutines()
	for _, bc := range [][2]int{{1, 1}, {2, 1}, {4, 2}, {8, 3}, {3, 5}, {16, 16}} {
		buffer, concurrency := bc[0], bc[1]
		t.Run(fmt.Sprintf("buffer %d concurrency %d", buffer, concurrency), func(t *testing.T) {
			const n = 40
			rng := rand.New(rand.NewPCG(uint64(buffer), uint64(concurrency)))
			var running, maxRunning atomic.Int64
			tasks := make([]Task[int], n)
			for i := range tasks {
				pause := time.Duration(rng.IntN(500)) * time.Microsecond
				steps := rng.IntN(4)
				tasks[i] = func(ctx context.Context, g *Gate) int {
					r := running.Add(1)
					for m := maxRunning.Load(); r > m && !maxRunning.CompareAndSwap(m, r); m = maxRunning.Load() {
					}
					defer running.Add(-1)
					for range steps {
						if err := g.Pass(ctx); err != nil {
							return -1
						}
						time.Sleep(pause) // stands in for a read of random duration
					}
					return i
				}
			}
			o := NewOrdered(context.Background(), tasks, buffer, concurrency)
			c := watch(t, o)
			var got []int
			for {
				r, ok := o.Next()
				if !ok {
					break
				}
				got = append(got, r)
			}
			o.Wait()
			c.verify()
			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			if !slices.Equal(got, want) {
				t.Errorf("results = %v, want %v", got, want)
			}
			if m := maxRunning.Load(); m > int64(concurrency) {
				t.Errorf("%d task bodies ran at once, concurrency %d", m, concurrency)
			}
			if _, ok := o.Next(); ok {
				t.Error("Next after the end returned a result")
			}
		})
	}
	noLeaks(t, baseline)
}

// TestBoundsAreReached checks both bounds deterministically: with task 0
// held, exactly buffer tasks start (the rest finish and wait to be
// consumed), and at most concurrency run.
func TestBoundsAreReached(t *testing.T) {
	baseline := gleak.Goroutines()
	const n, buffer, concurrency = 12, 5, 3
	release := make(chan struct{})
	var bodies, blocked atomic.Int64
	hold := make(chan struct{}) // tasks 1 and 2 wait here too, to fill concurrency
	tasks := make([]Task[int], n)
	for i := range tasks {
		tasks[i] = func(ctx context.Context, g *Gate) int {
			bodies.Add(1)
			switch i {
			case 0:
				<-release
			case 1, 2:
				blocked.Add(1)
				<-hold
			}
			return i
		}
	}
	o := NewOrdered(context.Background(), tasks, buffer, concurrency)
	c := watch(t, o)
	got := make(chan int, n)
	go func() {
		defer close(got)
		for r, ok := o.Next(); ok; r, ok = o.Next() {
			got <- r
		}
	}()

	// Tasks 0, 1, 2 hold all three slots: nothing else may start.
	eventually(t, "tasks 1 and 2 to block", func() bool { return blocked.Load() == 2 })
	o.mu.Lock()
	started, running := o.started, o.running
	o.mu.Unlock()
	if started != concurrency || running != concurrency {
		t.Errorf("with every slot held: %d started, %d running; want %d and %d", started, running, concurrency, concurrency)
	}

	// Free tasks 1 and 2: tasks 3 and 4 start and finish; task 5 would be
	// buffer ahead of the consumer, which still waits for task 0.
	close(hold)
	eventually(t, "tasks 1–4 to finish", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.results) == buffer-1
	})
	o.mu.Lock()
	started = o.started
	o.mu.Unlock()
	if started != buffer {
		t.Errorf("with task 0 unconsumed: %d tasks started, want buffer = %d", started, buffer)
	}

	close(release)
	var results []int
	for r := range got {
		results = append(results, r)
	}
	o.Wait()
	c.verify()
	if len(results) != n || !slices.IsSorted(results) {
		t.Errorf("results = %v, want 0..%d in order", results, n-1)
	}
	if c.maxAhead != buffer-1 || c.maxRunning != concurrency {
		t.Errorf("bounds reached: %d ahead, %d running; want %d and %d", c.maxAhead, c.maxRunning, buffer-1, concurrency)
	}
	if bodies.Load() != n {
		t.Errorf("%d task bodies ran, want %d", bodies.Load(), n)
	}
	noLeaks(t, baseline)
}

// TestGateBlocksWhileConsumerBusy shows that a running task stops at Pass
// while the consumer is between Next calls, and resumes inside Next.
func TestGateBlocksWhileConsumerBusy(t *testing.T) {
	baseline := gleak.Goroutines()
	const reads = 50
	var passes atomic.Int64
	consumerBusy := make(chan struct{})
	tasks := []Task[string]{
		func(ctx context.Context, g *Gate) string { return "first" },
		func(ctx context.Context, g *Gate) string {
			<-consumerBusy // start reading only once the consumer has result 0
			for range reads {
				if err := g.Pass(ctx); err != nil {
					return err.Error()
				}
				passes.Add(1)
			}
			return "second"
		},
	}
	o := NewOrdered(context.Background(), tasks, 2, 2)
	c := watch(t, o)
	if r, ok := o.Next(); !ok || r != "first" {
		t.Fatalf("Next() = %q, %t; want first", r, ok)
	}

	// The consumer is busy now: task 1 must end up blocked in Pass, and
	// stay there.
	close(consumerBusy)
	eventually(t, "task 1 to block in Pass", func() bool { return o.gate.blocked() == 1 })
	before := passes.Load()
	if before != 0 {
		t.Fatalf("task 1 passed the gate %d times while the consumer was busy", before)
	}
	if o.gate.blocked() != 1 || passes.Load() != before {
		t.Fatalf("task 1 left Pass while the consumer was busy")
	}

	if r, ok := o.Next(); !ok || r != "second" {
		t.Fatalf("Next() = %q, %t; want second", r, ok)
	}
	if got := passes.Load(); got != reads {
		t.Errorf("task 1 passed %d times, want %d", got, reads)
	}
	if _, ok := o.Next(); ok {
		t.Error("Next after the last result returned true")
	}
	o.Wait()
	c.verify()
	noLeaks(t, baseline)
}

func TestAbort(t *testing.T) {
	baseline := gleak.Goroutines()
	const n, buffer, concurrency = 10, 6, 3
	var bodies, cancelled atomic.Int64
	tasks := make([]Task[error], n)
	for i := range tasks {
		tasks[i] = func(ctx context.Context, g *Gate) error {
			bodies.Add(1)
			if i == 0 {
				return nil
			}
			err := g.Pass(ctx) // open while the consumer waits…
			if err == nil {
				<-ctx.Done() // …so wait for the abort itself
				err = ctx.Err()
			}
			cancelled.Add(1)
			return err
		}
	}
	o := NewOrdered(context.Background(), tasks, buffer, concurrency)
	c := watch(t, o)
	if r, ok := o.Next(); !ok || r != nil {
		t.Fatalf("Next() = %v, %t; want nil, true", r, ok)
	}
	o.Abort()
	if r, ok := o.Next(); ok {
		t.Fatalf("Next after Abort = %v, true", r)
	}
	o.Abort() // a second Abort is harmless
	o.Wait()
	c.verify()
	// Tasks 0..2 started inside the first Next, and task 3 took task 0's
	// slot before Next returned (as in buffered_x, whose poll refills the
	// running set before it yields); none started after.
	if got := bodies.Load(); got != concurrency+1 {
		t.Errorf("%d tasks started, want %d", got, concurrency+1)
	}
	if got := cancelled.Load(); got != concurrency {
		t.Errorf("%d tasks saw the cancellation, want %d", got, concurrency)
	}
	if err := o.ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("tasks' context after Abort: %v, want context.Canceled", err)
	}
	noLeaks(t, baseline)
}

func TestAbortWakesBlockedNext(t *testing.T) {
	baseline := gleak.Goroutines()
	var started atomic.Int64
	tasks := make([]Task[error], 4)
	for i := range tasks {
		tasks[i] = func(ctx context.Context, g *Gate) error {
			started.Add(1)
			<-ctx.Done()
			return ctx.Err()
		}
	}
	o := NewOrdered(context.Background(), tasks, 4, 2)
	done := make(chan bool)
	go func() {
		_, ok := o.Next()
		done <- ok
	}()
	eventually(t, "two tasks to start", func() bool { return started.Load() == 2 })
	o.Abort()
	select {
	case ok := <-done:
		if ok {
			t.Error("Next returned a result after Abort")
		}
	case <-time.After(deadline):
		t.Fatal("Next still blocked after Abort")
	}
	o.Wait()
	noLeaks(t, baseline)
}

func TestParentCancel(t *testing.T) {
	baseline := gleak.Goroutines()
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int64
	var sawCancel atomic.Int64
	tasks := make([]Task[int], 3)
	for i := range tasks {
		tasks[i] = func(tctx context.Context, g *Gate) int {
			started.Add(1)
			<-tctx.Done()
			sawCancel.Add(1)
			return i
		}
	}
	o := NewOrdered(ctx, tasks, 3, 3)
	done := make(chan bool)
	go func() {
		_, ok := o.Next()
		done <- ok
	}()
	eventually(t, "tasks to start", func() bool { return started.Load() == 3 })
	cancel()
	select {
	case ok := <-done:
		if ok {
			t.Error("Next returned a result after the parent context was cancelled")
		}
	case <-time.After(deadline):
		t.Fatal("Next still blocked after the parent context was cancelled")
	}
	o.Wait()
	if sawCancel.Load() != 3 {
		t.Errorf("%d tasks saw the cancellation, want 3", sawCancel.Load())
	}
	noLeaks(t, baseline)
}

func TestEmptyAndAbortBeforeStart(t *testing.T) {
	baseline := gleak.Goroutines()
	for _, tasks := range [][]Task[int]{nil, {}} {
		o := NewOrdered(context.Background(), tasks, 1, 1)
		if _, ok := o.Next(); ok {
			t.Error("Next on no tasks returned true")
		}
		o.Wait()
		o.Abort()
	}

	ran := false
	o := NewOrdered(context.Background(), []Task[int]{func(context.Context, *Gate) int { ran = true; return 1 }}, 1, 1)
	o.Abort()
	if _, ok := o.Next(); ok {
		t.Error("Next after Abort returned true")
	}
	o.Wait()
	if ran {
		t.Error("a task ran although the stream was aborted before Next")
	}
	noLeaks(t, baseline)
}

func TestNewOrderedPanicsOnBadBounds(t *testing.T) {
	ok := func(context.Context, *Gate) int { return 0 }
	tests := []struct {
		tasks               []Task[int]
		buffer, concurrency int
		want                string
	}{
		{nil, 0, 1, "stream.NewOrdered: buffer (0) and concurrency (1) must be at least 1"},
		{nil, 1, 0, "stream.NewOrdered: buffer (1) and concurrency (0) must be at least 1"},
		{nil, -1, 2, "stream.NewOrdered: buffer (-1) and concurrency (2) must be at least 1"},
		{[]Task[int]{ok, nil}, 1, 1, "stream.NewOrdered: task 1 is nil"},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if got := recover(); got != tt.want {
					t.Errorf("NewOrdered(%d tasks, buffer %d, concurrency %d) panicked with %v, want %q", len(tt.tasks), tt.buffer, tt.concurrency, got, tt.want)
				}
			}()
			NewOrdered(context.Background(), tt.tasks, tt.buffer, tt.concurrency)
		}()
	}
}

func TestNilGate(t *testing.T) {
	var g *Gate
	if err := g.Pass(context.Background()); err != nil {
		t.Errorf("nil Gate Pass = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Pass(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("nil Gate Pass with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestGatePassCancelledWhileClosed(t *testing.T) {
	g := newGate()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Pass(ctx) }()
	eventually(t, "Pass to block", func() bool { return g.blocked() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Pass = %v, want context.Canceled", err)
	}
	if g.blocked() != 0 {
		t.Errorf("%d still blocked after Pass returned", g.blocked())
	}
}
