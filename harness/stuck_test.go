package harness_test

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/procfs"
)

// heldFact is a fact saying pid is held still on purpose for a day.
func heldFact(pid int) harness.Fact {
	return harness.Fact{Pid: pid, Source: "journal", HeldUntil: time.Now().Add(24 * time.Hour)}
}

// leaksNow is what leaked since before, right now.
func leaksNow(t *testing.T, before harness.Snapshot) harness.Leaks {
	t.Helper()
	return harness.Diff(before, take(t))
}

func TestStuckHeldByAFact(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	c := spawn(t, run, spawnOpts{}, "sleep", "300")
	leaks := leaksNow(t, before)
	horizon := time.Now().Add(time.Second)

	if st := leaks.Stuck(horizon); st.All() || len(st.Unproven) != 1 {
		t.Errorf("a sleeping process nothing speaks for: Stuck = %+v; want it unproven", st)
	}
	if st := leaks.Annotate(heldFact(c.pid)).Stuck(horizon); !st.All() || !strings.Contains(st.Proven[0], "held still on purpose") {
		t.Errorf("a process held still for a day: Stuck = %+v; want it proven", st)
	}
	short := harness.Fact{Pid: c.pid, HeldUntil: time.Now().Add(10 * time.Millisecond)}
	if st := leaks.Annotate(short).Stuck(horizon); st.All() {
		t.Errorf("held for 10ms, horizon 1s: Stuck = %+v; want it unproven", st)
	}
}

// startPipeline starts `sleep 300 | cat` under bash (which then waits for
// both) and returns bash, sleep and cat once cat sleeps reading the pipe.
func startPipeline(t *testing.T, run harness.Marker) (shell child, sleep, cat int) {
	t.Helper()
	shell = spawn(t, run, spawnOpts{}, "bash", "-c", "sleep 300 | cat; true")
	waitFor(t, "the pipeline's cat reading", func() bool {
		kids, _ := procfs.Children(int32(shell.pid))
		sleep, cat = 0, 0
		for _, k := range kids {
			switch procfs.Comm(k) {
			case "sleep":
				sleep = int(k)
			case "cat":
				cat = int(k)
			}
		}
		w, _ := procfs.Waiting(int32(cat))
		b, _ := procfs.Waiting(int32(shell.pid))
		return sleep != 0 && cat != 0 && w == procfs.WaitPipeRead && b == procfs.WaitChild
	})
	return shell, sleep, cat
}

func TestStuckPipeline(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	shell, sleep, cat := startPipeline(t, run)
	leaks := leaksNow(t, before)
	if len(leaks.Children) != 3 {
		t.Fatalf("want bash, sleep and cat leaked, got:\n%s", leaks)
	}
	horizon := time.Now().Add(time.Second)

	if st := leaks.Stuck(horizon); len(st.Proven) != 0 || len(st.Unproven) != 3 {
		t.Errorf("nothing says sleep is held: Stuck =\n%s\nwant all three unproven", st)
	}
	st := leaks.Annotate(heldFact(sleep)).Stuck(horizon)
	if !st.All() {
		t.Fatalf("sleep held, cat reading only from it, bash waiting for both: Stuck =\n%s\nwant all proven", st)
	}
	for _, want := range []string{
		"pid " + itoa(sleep) + " (sleep): held still on purpose",
		"pid " + itoa(cat) + " (cat): sleeps on pipe:[",
		"pid " + itoa(shell.pid) + " (bash): waits for its children",
	} {
		if !slices.ContainsFunc(st.Proven, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("Stuck.Proven = %q; want a line %q…", st.Proven, want)
		}
	}
}

func TestStuckNotWhileWeHoldTheOtherEnd(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	c, _ := catOnOurPipe(t, run)
	waitFor(t, "cat reading our pipe", func() bool { w, _ := procfs.Waiting(int32(c.pid)); return w == procfs.WaitPipeRead })

	st := harness.Diff(before, take(t)).Annotate(heldFact(os.Getpid())).Stuck(time.Now().Add(time.Second))
	if st.All() || !slices.ContainsFunc(st.Unproven, func(u string) bool {
		return strings.HasPrefix(u, "pid "+itoa(c.pid)+" (cat) [S]: sleeps on a pipe read, but something it waits on is not proven")
	}) {
		t.Errorf("we hold cat's write end and may write: Stuck =\n%s\nwant cat unproven", st)
	}
	if !slices.ContainsFunc(st.Unproven, func(u string) bool { return strings.Contains(u, "may close it") }) {
		t.Errorf("our write end is a leaked fd nothing proves: Stuck =\n%s", st)
	}
}

func TestStuckNeverAZombie(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	z := spawn(t, run, spawnOpts{}, "true")
	waitState(t, z, 'Z')
	st := leaksNow(t, before).Annotate(heldFact(z.pid)).Stuck(time.Now())
	if st.All() || len(st.Unproven) != 1 || !strings.Contains(st.Unproven[0], "a zombie's parent may reap it") {
		t.Errorf("a zombie: Stuck = %+v; want it unproven", st)
	}
}

func TestStuckPidfdAThreadWaitsOn(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)

	unwaited := execCommand("sleep", "300")
	unwaited.Env = append(os.Environ(), run.Env())
	if err := unwaited.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	defer func() { unwaited.Process.Kill(); <-waited }()
	leaks := leaksNow(t, before)
	st := leaks.Annotate(heldFact(unwaited.Process.Pid)).Stuck(time.Now().Add(time.Second))
	if st.All() || !slices.ContainsFunc(st.Unproven, func(u string) bool { return strings.Contains(u, "that no thread waits on") }) {
		t.Errorf("an os.Process nobody waits for holds a pidfd the garbage collector may close: Stuck =\n%s", st)
	}

	go func() { unwaited.Wait(); close(waited) }()
	waitFor(t, "a thread waiting on the pidfd", func() bool {
		return leaksNow(t, before).Annotate(heldFact(unwaited.Process.Pid)).Stuck(time.Now().Add(time.Second)).All()
	})
	st = leaksNow(t, before).Annotate(heldFact(unwaited.Process.Pid)).Stuck(time.Now().Add(time.Second))
	if !slices.ContainsFunc(st.Proven, func(p string) bool {
		return strings.Contains(p, "a pidfd a thread waits on (waitid) for stuck pid "+itoa(unwaited.Process.Pid))
	}) {
		t.Errorf("Stuck =\n%s\nwant the pidfd proven", st)
	}
}

func TestSettleOnEvidence(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	_, sleep, _ := startPipeline(t, run)
	facts := harness.WithFacts(func() []harness.Fact { return []harness.Fact{heldFact(sleep)} })

	// An hour's quiet window: only the evidence can end this Settle
	// before its context does.
	leaks, err := harness.Settle(ctxFor(t, 30*time.Second), before, harness.OnEvidence(), harness.Quiet(time.Hour), facts)
	if err != nil || len(leaks.Children) != 3 || !strings.HasPrefix(leaks.Settled, "proven stuck:\n") {
		t.Fatalf("Settle = %v; Settled %q, leaks:\n%s\nwant the pipeline, proven stuck", err, leaks.Settled, leaks)
	}
	if i := slices.IndexFunc(leaks.Children, func(p harness.Proc) bool { return p.Pid == int32(sleep) }); i < 0 || leaks.Children[i].Fact == nil {
		t.Errorf("the returned leaks are annotated with the facts: %+v", leaks.Children)
	}

	leaks, err = harness.Settle(ctxFor(t, 30*time.Second), before, harness.OnEvidence(), harness.Quiet(200*time.Millisecond))
	if err != nil || !strings.HasPrefix(leaks.Settled, "unchanged for 200ms; not proven stuck:\n") {
		t.Errorf("Settle without facts = %v; Settled %q; want the quiet window, and what was not proven", err, leaks.Settled)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSettleOnEvidenceWaitsForActivity: a leaked process that keeps
// moving data (cat copying lines we write every 20ms) stays in state S
// throughout; with OnEvidence its read and write calls count as change,
// so the quiet window starts only once the lines stop.
func TestSettleOnEvidenceWaitsForActivity(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	_, w := catOnOurPipe(t, run)

	lastWrite := make(chan time.Time, 1)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for range 50 { // a second of lines
			<-tick.C
			w.Write([]byte("line\n"))
		}
		lastWrite <- time.Now()
	}()
	leaks, err := harness.Settle(ctxFor(t, 30*time.Second), before, harness.OnEvidence(), harness.Quiet(500*time.Millisecond))
	returned := time.Now()
	last := <-lastWrite
	if err != nil || !strings.HasPrefix(leaks.Settled, "unchanged for 500ms") {
		t.Fatalf("Settle = %v, Settled %q; want the quiet window (we hold cat's write end: nothing proves it)", err, leaks.Settled)
	}
	if returned.Before(last) {
		t.Errorf("Settle returned while cat was still copying lines (returned %v before the last line)", last.Sub(returned))
	}
}

// catOnOurPipe starts cat (carrying run's marker) reading a pipe whose
// only write end is w, ours, with its output to /dev/null; w is closed when
// the test ends.
func catOnOurPipe(t *testing.T, run harness.Marker) (child, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	c := spawn(t, run, spawnOpts{files: []uintptr{r.Fd(), null.Fd(), null.Fd()}}, "cat")
	r.Close()
	return c, w
}
