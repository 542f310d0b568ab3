package sweep

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/leakgate/leakgate/internal/procfs"
)

// start starts argv with extra environment entries; the test's cleanup
// kills and waits for it whatever happens.
func start(t *testing.T, env []string, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// targetOf reads pid's stat now.
func targetOf(t *testing.T, pid int) Target {
	t.Helper()
	boot, err := procfs.BootTime()
	if err != nil {
		t.Fatal(err)
	}
	st, err := procfs.ReadStat(int32(pid))
	if err != nil {
		t.Fatal(err)
	}
	return TargetOf(boot, st)
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestTaggedKillsEveryTaggedProcess: two tagged sleeps are killed, an
// untagged one and one with another tag value are not.
func TestTaggedKillsEveryTaggedProcess(t *testing.T) {
	const key = "SWEEP_TEST_TAG"
	a := start(t, []string{key + "=t1"}, "sleep", "300")
	b := start(t, []string{key + "=t1"}, "sleep", "300")
	other := start(t, []string{key + "=t2"}, "sleep", "300")
	plain := start(t, nil, "sleep", "300")
	res, err := Run(within(t, 10*time.Second), Tagged(key, "t1"), Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := map[int32]bool{}
	for _, k := range res.Killed {
		got[k.Pid] = true
	}
	if len(res.Killed) != 2 || !got[int32(a.Process.Pid)] || !got[int32(b.Process.Pid)] {
		t.Errorf("Killed = %v, want pids %d and %d", res.Killed, a.Process.Pid, b.Process.Pid)
	}
	for _, c := range []*exec.Cmd{other, plain} {
		if st, err := procfs.ReadStat(int32(c.Process.Pid)); err != nil || st.State == 'Z' {
			t.Errorf("pid %d (not tagged t1) was hit: %v %c", c.Process.Pid, err, st.State)
		}
	}
}

// TestRunReapsZombieChildren: a child the finder names is killed, then
// reaped by pid once it is a zombie.
func TestRunReapsZombieChildren(t *testing.T) {
	c := start(t, nil, "sleep", "300")
	pid := int32(c.Process.Pid)
	find := func() ([]Target, error) {
		boot, _ := procfs.BootTime()
		st, err := procfs.ReadStat(pid)
		if errors.Is(err, procfs.ErrGone) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []Target{TargetOf(boot, st)}, nil
	}
	res, err := Run(within(t, 10*time.Second), find, Options{Every: time.Millisecond})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Killed) != 1 || len(res.Reaped) != 1 || res.Reaped[0].Pid != pid {
		t.Errorf("Run = killed %v, reaped %v; want pid %d killed and reaped", res.Killed, res.Reaped, pid)
	}
	if _, err := procfs.ReadStat(pid); !errors.Is(err, procfs.ErrGone) {
		t.Errorf("pid %d still present after the sweep: %v", pid, err)
	}
}

// TestGraceSendsSIGTERMFirst: a process ignoring SIGTERM dies of the
// SIGKILL sent Grace later, never sooner.
func TestGraceSendsSIGTERMFirst(t *testing.T) {
	const key = "SWEEP_TEST_GRACE"
	c := start(t, []string{key + "=g"}, "sh", "-c", `trap "" TERM; exec sleep 300`)
	// Wait until sh has set the trap and exec'd sleep.
	ctx := within(t, 10*time.Second)
	for {
		if st, err := procfs.ReadStat(int32(c.Process.Pid)); err == nil && st.Comm == "sleep" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("sh did not exec sleep")
		case <-time.After(time.Millisecond): // poll interval
		}
	}
	const grace = 200 * time.Millisecond
	began := time.Now()
	res, err := Run(ctx, Tagged(key, "g"), Options{Every: 5 * time.Millisecond, Grace: grace})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(began); took < grace {
		t.Errorf("the process ignoring SIGTERM was gone after %v, before the grace of %v", took, grace)
	}
	if len(res.Termed) != 1 || len(res.Killed) != 1 || len(res.EndedOnTerm()) != 0 {
		t.Errorf("Termed = %v, Killed = %v, EndedOnTerm = %v; want the one process sent both signals", res.Termed, res.Killed, res.EndedOnTerm())
	}
	if err := c.Wait(); err == nil || c.ProcessState.String() != "signal: killed" {
		t.Errorf("sleep ended with %v, want killed by SIGKILL", c.ProcessState)
	}
}

// TestGraceEndsOnSIGTERM: a process that exits on SIGTERM is never sent
// SIGKILL, and the result says it ended on SIGTERM.
func TestGraceEndsOnSIGTERM(t *testing.T) {
	const key = "SWEEP_TEST_GRACE_TERM"
	c := start(t, []string{key + "=g"}, "sleep", "300")
	res, err := Run(within(t, 10*time.Second), Tagged(key, "g"), Options{Every: 5 * time.Millisecond, Grace: time.Minute})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Killed) != 0 || len(res.EndedOnTerm()) != 1 || res.EndedOnTerm()[0].Pid != int32(c.Process.Pid) {
		t.Errorf("Killed = %v, EndedOnTerm = %v; want pid %d ended on SIGTERM alone", res.Killed, res.EndedOnTerm(), c.Process.Pid)
	}
	if err := c.Wait(); err == nil || c.ProcessState.String() != "signal: terminated" {
		t.Errorf("sleep ended with %v, want terminated by SIGTERM", c.ProcessState)
	}
}

// TestStaleTargetIsNeverSignalled: a target whose start time does not match
// the process now holding its pid (a reused pid) is left alone, and Run
// reports it as a survivor when ctx ends.
func TestStaleTargetIsNeverSignalled(t *testing.T) {
	c := start(t, nil, "sleep", "300")
	stale := targetOf(t, c.Process.Pid)
	stale.Started = stale.Started.Add(-time.Hour)
	_, err := Run(within(t, 100*time.Millisecond), func() ([]Target, error) { return []Target{stale}, nil }, Options{})
	var se *SurvivorsError
	if !errors.As(err, &se) || len(se.Survivors) != 1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want a SurvivorsError naming the stale target after the deadline", err)
	}
	if st, err := procfs.ReadStat(int32(c.Process.Pid)); err != nil || st.State == 'Z' {
		t.Errorf("the process behind the stale target was signalled: %v %c", err, st.State)
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{{Every: -1}, {Grace: -time.Second}} {
		if _, err := Run(context.Background(), func() ([]Target, error) { return nil, nil }, o); !errors.Is(err, ErrOption) {
			t.Errorf("Run(%+v) = %v, want ErrOption", o, err)
		}
	}
}

func TestFinderErrorEndsTheSweep(t *testing.T) {
	boom := errors.New("boom")
	if _, err := Run(context.Background(), func() ([]Target, error) { return nil, boom }, Options{}); !errors.Is(err, boom) {
		t.Errorf("Run = %v, want the finder's error", err)
	}
}

// TestDescendantsSweepsWhatIsNew: a child started after the baseline is
// killed and reaped, one from before is left alone.
func TestDescendantsSweepsWhatIsNew(t *testing.T) {
	oldChild := start(t, nil, "sleep", "300")
	self := int32(os.Getpid())
	baseline, err := Descendants(self, nil)()
	if err != nil {
		t.Fatal(err)
	}
	inBaseline := map[key]bool{}
	for _, b := range baseline {
		inBaseline[b.key()] = true
	}
	fresh := start(t, nil, "sleep", "300")
	res, err := Run(within(t, 10*time.Second), Descendants(self, func(pid int32, started time.Time) bool {
		return inBaseline[key{pid, started.UnixNano()}]
	}), Options{Every: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !slices.ContainsFunc(res.Killed, func(k Target) bool { return k.Pid == int32(fresh.Process.Pid) }) {
		t.Errorf("Killed = %v, want the new sleep %d among them", res.Killed, fresh.Process.Pid)
	}
	if st, err := procfs.ReadStat(int32(oldChild.Process.Pid)); err != nil || st.State == 'Z' {
		t.Errorf("the baseline's child was hit: %v %c", err, st.State)
	}
}
