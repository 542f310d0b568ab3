package harness_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/onsi/gomega/gleak"

	"github.com/leakgate/leakgate/harness"
)

// leakGoroutine starts a goroutine blocked on a channel until release is
// called: a deterministic goroutine leak.
func leakGoroutine(t *testing.T) (release func()) {
	ch := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ch
	}()
	closed := false
	release = func() {
		if !closed {
			closed = true
			close(ch)
			<-done
		}
	}
	t.Cleanup(release)
	return release
}

func TestGoroutineLeak(t *testing.T) {
	before := take(t, harness.WithGoroutines())
	if before.Goroutines == nil {
		t.Fatal("WithGoroutines: the snapshot holds no goroutines")
	}
	if s := take(t); s.Goroutines != nil {
		t.Errorf("Take without WithGoroutines recorded %d goroutines", len(s.Goroutines))
	}
	release := leakGoroutine(t)

	var leaks harness.Leaks
	waitFor(t, "the goroutine to block", func() bool {
		leaks = harness.Diff(before, take(t, harness.WithGoroutines()))
		return len(leaks.Goroutines) == 1 && leaks.Goroutines[0].State == "chan receive"
	})
	if leaks.Count() != 1 {
		t.Errorf("Count() = %d, want 1:\n%s", leaks.Count(), leaks)
	}
	re := regexp.MustCompile(`^expected no leaks since baseline \(\d+ children, \d+ fds, \d+ goroutines\); found 1:\n` +
		`  goroutine \d+ \[chan receive\]: github\.com/leakgate/leakgate/harness_test\.leakGoroutine\.func1, created by github\.com/leakgate/leakgate/harness_test\.leakGoroutine at harness/goroutines_test\.go:\d+$`)
	if s := leaks.String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}

	// Filters: gleak's own.
	for _, f := range []any{
		"github.com/leakgate/leakgate/harness_test.leakGoroutine.func1",
		gleak.IgnoringCreator("github.com/leakgate/leakgate/harness_test.leakGoroutine"),
	} {
		if l := harness.Diff(before, take(t, harness.WithGoroutines()), harness.IgnoringGoroutines(f)); len(l.Goroutines) != 0 {
			t.Errorf("IgnoringGoroutines(%v): still\n%s", f, l)
		}
	}
	// Only when both snapshots hold goroutines.
	if l := harness.Diff(before, take(t)); len(l.Goroutines) != 0 {
		t.Errorf("against a snapshot without goroutines: %v", l.Goroutines)
	}

	release()
	settled, err := harness.Settle(ctxFor(t, 10*time.Second), before)
	if err != nil || !settled.Empty() {
		t.Errorf("Settle after release: %v\n%s", err, settled)
	}
}

func TestIgnoringGoroutinesRefusesBadFilter(t *testing.T) {
	_, err := harness.Settle(ctxFor(t, time.Second), take(t), harness.IgnoringGoroutines(42))
	if !errors.Is(err, harness.ErrOption) || !regexpMatch(`want a string, \[\]gleak\.Goroutine or a Gomega matcher`, err.Error()) {
		t.Errorf("Settle(IgnoringGoroutines(42)) = %v, want ErrOption naming the accepted types", err)
	}
}
