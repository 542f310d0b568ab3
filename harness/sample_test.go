package harness_test

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
)

// lastPoint polls s until a sample satisfies cond.
func waitSample(t *testing.T, s *harness.Sampler, what string, cond func(harness.Point) bool) {
	t.Helper()
	waitFor(t, what, func() bool {
		p, ok := s.Last()
		return ok && cond(p)
	})
}

// Three zombies that are reaped before the run ends: the final counts are
// clean, the peak is not.
func TestSampleTimeline(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	const every = 5 * time.Millisecond
	s := sample(t, ctxFor(t, time.Minute), before, harness.PollEvery(every))
	t.Cleanup(func() { s.Stop() })
	waitSample(t, s, "the first sample", func(harness.Point) bool { return true })

	var zs []child
	for range 3 {
		zs = append(zs, spawn(t, run, spawnOpts{}, "true"))
	}
	for _, z := range zs {
		waitState(t, z, 'Z')
	}
	waitSample(t, s, "a sample with the three zombies", func(p harness.Point) bool { return p.Zombies == 3 })
	for _, z := range zs {
		z.wait(t)
	}
	waitSample(t, s, "a sample after the reap", func(p harness.Point) bool { return p.Children == 0 })
	tl := s.Stop()

	if tl.Every != every || tl.Failed != 0 || tl.Busy <= 0 || tl.CPU <= 0 || tl.Samples < len(tl.Points) {
		t.Errorf("Every %v (want %v), Failed %d (want 0), Busy %v and CPU %v (want > 0), Samples %d (want >= %d points)", tl.Every, every, tl.Failed, tl.Busy, tl.CPU, tl.Samples, len(tl.Points))
	}
	if tl.Peak.Children != 3 || tl.Peak.Zombies != 3 || tl.Peak.Escaped != 0 {
		t.Errorf("Peak = %+v, want 3 children, 3 zombies, 0 escaped", tl.Peak)
	}
	if n := len(tl.Points); n < 3 || tl.Points[0].Children != 0 || tl.Points[n-1].Children != 0 {
		t.Fatalf("Points = %v, want at least 3, starting and ending with no children", tl.Points)
	}
	for i := 1; i < len(tl.Points); i++ {
		prev, p := tl.Points[i-1], tl.Points[i]
		if p.At <= prev.At {
			t.Errorf("point %d at %v, not after %v", i, p.At, prev.At)
		}
		last := i == len(tl.Points)-1
		same := p.Children == prev.Children && p.Zombies == prev.Zombies && p.Escaped == prev.Escaped && p.FDs == prev.FDs
		if same && !last {
			t.Errorf("point %d repeats the counts of point %d: %v", i, i-1, tl.Points)
		}
	}
	if peak := tl.Peak.At; peak <= 0 || peak > tl.Points[len(tl.Points)-1].At {
		t.Errorf("Peak.At = %v, want within the run", peak)
	}
	if again := s.Stop(); !reflect.DeepEqual(again, tl) {
		t.Errorf("second Stop = %+v, want the same timeline %+v", again, tl)
	}

	b, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\{"every_ns":5000000,"points":\[\{"at_ns":\d+,"children":0,"zombies":0,"escaped":0,"fds":\d+\},.*\],"peak":\{"at_ns":\d+,"children":3,"zombies":3,"escaped":0,"fds":\d+\},"samples":\d+,"failed":0,"busy_ns":\d+,"cpu_ns":\d+\}$`)
	if !re.Match(b) {
		t.Errorf("JSON %s does not match %s", b, re)
	}
	if s := tl.String(); !regexpMatch(`^peak 3 children \(3 zombies\), 0 escaped, \d+ fds over \d+ samples every 5ms \(cpu \S+\)$`, s) {
		t.Errorf("String() = %q", s)
	}
}

func TestSampleStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := sample(t, ctx, take(t))
	waitSample(t, s, "the first sample", func(harness.Point) bool { return true })
	cancel()
	done := make(chan harness.Timeline)
	go func() { done <- s.Stop() }()
	select {
	case tl := <-done:
		if tl.Every != 25*time.Millisecond || tl.Samples == 0 {
			t.Errorf("Every %v (want the default %v), Samples %d (want > 0)", tl.Every, 25*time.Millisecond, tl.Samples)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return after the context ended")
	}
}

// TestSampleTakesItsFirstSampleAtOnce: the first sample is in before
// Sample returns, so a command that exits at once (before a goroutine
// could look) still has its start in the timeline (leakgate run's chart of
// a 15 ms command).
func TestSampleTakesItsFirstSampleAtOnce(t *testing.T) {
	s := sample(t, context.Background(), take(t), harness.PollEvery(time.Hour))
	if _, ok := s.Last(); !ok {
		t.Fatal("no sample yet when Sample returned")
	}
	if tl := s.Stop(); tl.Samples != 1 || len(tl.Points) != 1 {
		t.Errorf("after an immediate Stop: %d samples, %d points; want the first one", tl.Samples, len(tl.Points))
	}
}
