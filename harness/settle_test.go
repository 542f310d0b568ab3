package harness_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
)

func TestSettleChildReapedSoonIsEmpty(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	c := spawn(t, run, spawnOpts{}, "sleep", "0.1")
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.wait(t)
	}()
	t.Cleanup(func() { <-done })

	leaks, err := harness.Settle(ctxFor(t, 10*time.Second), before)
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if !leaks.Empty() {
		t.Errorf("Settle: want no leaks, got:\n%s", leaks)
	}
	if !c.gone() {
		t.Errorf("Settle returned empty while pid %d is still present", c.pid)
	}
}

func TestSettleStableZombie(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	z := spawn(t, run, spawnOpts{}, "true")
	waitState(t, z, 'Z')

	leaks, err := harness.Settle(ctxFor(t, 10*time.Second), before, harness.Quiet(100*time.Millisecond))
	if err != nil {
		t.Fatalf("Settle: %v (want a stable leak before the deadline)", err)
	}
	if len(leaks.Children) != 1 || leaks.Children[0].Pid != int32(z.pid) || leaks.Children[0].State != "Z" {
		t.Errorf("Settle: want the zombie %d as the only leak, got:\n%s", z.pid, leaks)
	}
	if len(leaks.Zombies()) != 1 {
		t.Errorf("Leaks.Zombies() = %v, want one", leaks.Zombies())
	}
}

func TestSettleDeadline(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	c := spawn(t, run, spawnOpts{}, "sleep", "300")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	leaks, err := harness.Settle(ctx, before, harness.Quiet(time.Hour))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Settle error = %v, want context.DeadlineExceeded", err)
	}
	if len(leaks.Children) != 1 || leaks.Children[0].Pid != int32(c.pid) {
		t.Errorf("Settle: want the last state (the sleep), got:\n%s", leaks)
	}
}

func TestVerifyNone(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)

	rec := &recorder{}
	harness.VerifyNone(rec, before)
	if len(rec.errors) != 0 {
		t.Errorf("VerifyNone on a clean state reported %q", rec.errors)
	}

	z := spawn(t, run, spawnOpts{}, "true")
	waitState(t, z, 'Z')
	rec = &recorder{}
	harness.VerifyNone(rec, before, harness.Quiet(50*time.Millisecond))
	if len(rec.errors) != 1 || !regexpMatch(header(1)+`  pid \d+ \[Z zombie\]`, rec.errors[0]) {
		t.Errorf("VerifyNone with a zombie reported %q", rec.errors)
	}
}

type recorder struct{ errors []string }

func (r *recorder) Helper() {}
func (r *recorder) Error(args ...any) {
	for _, a := range args {
		if s, ok := a.(string); ok {
			r.errors = append(r.errors, s)
		} else if e, ok := a.(error); ok {
			r.errors = append(r.errors, e.Error())
		}
	}
}
