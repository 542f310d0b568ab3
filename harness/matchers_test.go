package harness_test

import (
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
)

// failures runs an assertion with a Gomega that records failure messages.
func failures(assert func(g Gomega)) []string {
	var msgs []string
	g := NewGomega(func(message string, _ ...int) { msgs = append(msgs, message) })
	g.SetDefaultEventuallyTimeout(300 * time.Millisecond)
	g.SetDefaultEventuallyPollingInterval(20 * time.Millisecond)
	assert(g)
	return msgs
}

func TestHaveLeaked(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)

	g := NewWithT(t)
	g.Expect(harness.Take()).ShouldNot(harness.HaveLeaked(before))
	g.Eventually(harness.Take).ShouldNot(harness.HaveLeaked(before))
	g.Expect(func() harness.Snapshot { s, _ := harness.Take(); return s }).ShouldNot(harness.HaveLeaked(before))
	g.Expect(func() (harness.Snapshot, error) { return harness.Take() }).ShouldNot(harness.HaveLeaked(before))

	z := spawn(t, run, spawnOpts{}, "true")
	harness.Remember(z.pid, []string{"true"}, "spawn")
	waitState(t, z, 'Z')

	g.Expect(harness.Take()).Should(harness.HaveLeaked(before))
	g.Expect(harness.Take()).ShouldNot(harness.HaveLeaked(before, harness.IgnoringProcs(HaveField("Pid", int32(z.pid)))))

	msgs := failures(func(g Gomega) { g.Eventually(harness.Take).ShouldNot(harness.HaveLeaked(before)) })
	re := regexp.MustCompile(`(?m)` + header(1)[1:] + `  pid ` + strconv.Itoa(z.pid) + ` \[Z zombie\] ppid ` + self + ` \(harness\.test\), pgid \d+, age \d+\.\ds\n` +
		`      spawned as: true   \(from spawn\)$`)
	if len(msgs) != 1 || !re.MatchString(msgs[0]) {
		t.Errorf("Eventually(Take).ShouldNot(HaveLeaked) failure %q does not match\n%s", msgs, re)
	}

	m := harness.HaveLeaked(take(t))
	if ok, err := m.Match(take(t)); ok || err != nil {
		t.Fatalf("HaveLeaked(now).Match(now) = %v, %v; want false", ok, err)
	}
	if got, want := m.FailureMessage(nil), `^expected leaks since baseline \(1 children, \d+ fds\); found none$`; !regexpMatch(want, got) {
		t.Errorf("FailureMessage = %q, want match %s", got, want)
	}
}

func TestHaveLeakedBadActual(t *testing.T) {
	before := take(t)
	tests := []struct {
		name   string
		actual any
		want   string
	}{
		{"string", "nope", `^HaveLeaked: actual must be a harness\.Snapshot, harness\.Leaks or a func returning a Snapshot \(e\.g\. harness\.Take\), got string$`},
		{"nil pointer", (*harness.Snapshot)(nil), `^HaveLeaked: actual is a nil \*harness\.Snapshot$`},
		{"func error", func() (harness.Snapshot, error) { return harness.Snapshot{}, errors.New("boom") }, `^HaveLeaked: boom$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := harness.HaveLeaked(before).Match(tt.actual)
			if err == nil || !regexpMatch(tt.want, err.Error()) {
				t.Errorf("Match(%T) error = %v, want match %s", tt.actual, err, tt.want)
			}
		})
	}
}

func TestHaveZombies(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	g := NewWithT(t)
	g.Expect(harness.Take()).ShouldNot(harness.HaveZombies())
	msgs := failures(func(g Gomega) { g.Expect(harness.Take()).Should(harness.HaveZombies()) })
	if len(msgs) != 1 || !regexpMatch(`^expected zombies in the snapshot of pid `+self+` \(0 descendants, 0 escaped\); found none$`, msgs[0]) {
		t.Errorf("Should(HaveZombies) failure = %q", msgs)
	}

	z := spawn(t, run, spawnOpts{}, "true")
	waitState(t, z, 'Z')
	g.Expect(harness.Take).Should(harness.HaveZombies())
	g.Expect(harness.Diff(before, take(t))).Should(harness.HaveZombies())
	g.Expect(harness.Diff(take(t), take(t))).ShouldNot(harness.HaveZombies())

	msgs = failures(func(g Gomega) { g.Expect(harness.Diff(before, take(t))).ShouldNot(harness.HaveZombies()) })
	re := `^expected no zombies in the leaks since baseline \(0 children, \d+ fds\); found 1:\n  pid ` + strconv.Itoa(z.pid) + ` \[Z zombie\] ppid ` + self + ` \(harness\.test\), pgid \d+, age \d+\.\ds\n      spawned as: \? \(true: no command line recorded\)$`
	if len(msgs) != 1 || !regexpMatch(re, msgs[0]) {
		t.Errorf("ShouldNot(HaveZombies) failure = %q, want match %s", msgs, re)
	}
}

func TestHaveEscaped(t *testing.T) {
	if !reaped() {
		t.Skip("needs the RunReaped wrapper as subreaper")
	}
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	g := NewWithT(t)
	g.Expect(harness.Take(harness.WithMarker(run.ID))).ShouldNot(harness.HaveEscaped())

	c := spawn(t, run, spawnOpts{}, "bash", "-c", "sleep 300 & exit 0")
	c.wait(t)
	g.Eventually(harness.Take).WithArguments(harness.WithMarker(run.ID)).Should(harness.HaveEscaped())
	g.Expect(harness.Diff(before, take(t))).Should(harness.HaveEscaped())

	msgs := failures(func(g Gomega) {
		g.Expect(harness.Take(harness.WithMarker(run.ID))).ShouldNot(harness.HaveEscaped())
	})
	re := `^expected no escaped processes in the snapshot of pid ` + self + ` \(0 descendants, 1 escaped\); found 1:\n  pid \d+ \[\w \w+\] ppid \d+ \(harness\.test\), pgid \d+, age \d+\.\ds — escaped its parent \(tagged run ` + regexp.QuoteMeta(run.ID) + `\)\n      spawned as: `
	if len(msgs) != 1 || !regexpMatch(re, msgs[0]) {
		t.Errorf("ShouldNot(HaveEscaped) failure = %q, want match %s", msgs, re)
	}
}
