package harness_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
)

func TestCleanupSurvivors(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	c := spawn(t, run, spawnOpts{}, "sleep", "300")
	waitState(t, c, 'S')

	// With ctx already done, the first pass kills the sleep but cannot see it
	// gone: it survives this call.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sw, err := harness.Sweep(ctx, run, before)
	var se *harness.SurvivorsError
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Cleanup error = %v, want a *SurvivorsError wrapping context.Canceled", err)
	}
	if len(se.Survivors) != 1 || se.Survivors[0].Pid != int32(c.pid) || se.Run != run.ID {
		t.Errorf("survivors = %v of run %s, want pid %d of run %s", se.Survivors, se.Run, c.pid, run.ID)
	}
	re := `^harness: sweep run ` + regexp.QuoteMeta(run.ID) + `: 1 process survived: pid ` + strconv.Itoa(c.pid) + ` \(sleep\) \[S sleeping\] ppid ` + self + `: context canceled$`
	if !regexpMatch(re, err.Error()) {
		t.Errorf("error %q does not match %s", err, re)
	}
	if len(sw.Killed) != 1 {
		t.Errorf("Killed = %v, want the sleep", sw.Killed)
	}

	// The SIGKILL takes effect asynchronously: a snapshot that reads only
	// this test's tree can come before it does.
	waitState(t, c, 'Z')
	sw = cleanup(t, run, before)
	if len(sw.Killed) != 0 || len(sw.Reaped) != 1 {
		t.Errorf("second Cleanup: %+v, want only the reaping of the killed sleep", sw)
	}
	if !c.gone() {
		t.Errorf("pid %d still present", c.pid)
	}
	if sw = cleanup(t, run, before); !sw.Empty() {
		t.Errorf("third Cleanup did %+v, want nothing", sw)
	}
}

func TestCleanupNoRun(t *testing.T) {
	if _, err := harness.Sweep(context.Background(), harness.Marker{}, take(t)); !errors.Is(err, harness.ErrOption) {
		t.Errorf("Sweep(Marker{}) error = %v, want ErrOption", err)
	}
}

// Cleanup leaves alone another run's process, live or zombie (whose marker
// the registry remembers).
func TestCleanupSparesOtherRuns(t *testing.T) {
	mine := harness.NewMarker(t.Name() + "-mine")
	other := harness.NewMarker(t.Name() + "-other")
	before := take(t)
	sweepAfter(t, other, before)
	c := spawn(t, other, spawnOpts{}, "sleep", "300")
	waitState(t, c, 'S')
	take(t) // a snapshot sees it alive and remembers its marker

	if sw := cleanup(t, mine, before); !sw.Empty() {
		t.Errorf("Cleanup(mine) did %+v to another run's live process", sw)
	}
	if c.gone() {
		t.Fatalf("Cleanup(mine) killed pid %d of another run", c.pid)
	}
	if err := unix.Kill(c.pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, 'Z')
	if sw := cleanup(t, mine, before); !sw.Empty() {
		t.Errorf("Cleanup(mine) did %+v to another run's zombie", sw)
	}
	if c.gone() {
		t.Fatalf("Cleanup(mine) reaped pid %d of another run", c.pid)
	}
	if sw := cleanup(t, other, before); len(sw.Reaped) != 1 {
		t.Errorf("Cleanup(other) did %+v, want the zombie reaped", sw)
	}
}
