package harness_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
)

// childrenUsage is the resource usage of this process's waited-for
// children: it changes whenever a child of this process is reaped.
func childrenUsage(t *testing.T) unix.Rusage {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_CHILDREN, &ru); err != nil {
		t.Fatal(err)
	}
	return ru
}

// Measuring never starts a process: no child of this process is waited
// for (RUSAGE_CHILDREN unchanged) and none is left (no new descendant)
// across every measuring entry point.
func TestMeasuringSpawnsNothing(t *testing.T) {
	before := take(t, harness.WithGoroutines())
	r, w, err := os.Pipe() // a leaked pipe, so Attribute scans every fd table
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	usage := childrenUsage(t)

	for range 20 {
		take(t)
	}
	take(t, harness.WithGoroutines(), harness.WithMarker(""))
	take(t, harness.Of(os.Getppid()), harness.WithMarker(harness.ProcessMarker()))
	leaks := harness.Diff(before, take(t)).Attribute().Annotate(harness.Fact{Pid: 1, Argv: []string{"x"}})
	if len(leaks.FDs) != 2 || len(leaks.FDs[0].Peers) != 1 {
		t.Errorf("want the pipe's two fds, attributed:\n%s", leaks)
	}
	_ = leaks.CheckFinalizers().String()
	harness.Remember(os.Getpid(), []string{"x"}, "test")
	s := sample(t, context.Background(), before, harness.PollEvery(time.Millisecond))
	waitSample(t, s, "a sample", func(p harness.Point) bool { return p.FDs >= 2 })
	s.Stop()
	_, _ = harness.Settle(ctxFor(t, time.Second), before, harness.Quiet(time.Millisecond))
	var rec recorder
	harness.VerifyNone(&rec, before, harness.Quiet(time.Millisecond), harness.IgnoringFDs(gomega.HaveField("Kind", harness.FDPipe)))

	if got := childrenUsage(t); got != usage {
		t.Errorf("a child was reaped while measuring: RUSAGE_CHILDREN went from %+v to %+v", usage, got)
	}
	if l := harness.Diff(before, take(t)); len(l.Children) != 0 || len(l.Escaped) != 0 {
		t.Errorf("a process appeared while measuring:\n%s", l)
	}
	if len(rec.errors) != 0 {
		t.Errorf("VerifyNone: %q", rec.errors)
	}
}

// Hundreds of descendants, in a tree (bash and its 300 sleeps): every
// snapshot sees every one, with its command line and marker.
func TestHundredsOfDescendants(t *testing.T) {
	const n = 300
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	s := sample(t, ctxFor(t, time.Minute), before, harness.PollEvery(10*time.Millisecond))
	t.Cleanup(func() { s.Stop() })
	bash := spawn(t, run, spawnOpts{setpgid: true}, "bash", "-c", fmt.Sprintf("for i in $(seq %d); do sleep 300 & done; wait", n))
	t.Cleanup(func() { unix.Kill(-bash.pid, unix.SIGKILL) })

	sleeps := func(snap harness.Snapshot) int {
		k := 0
		for _, p := range snap.Descendants {
			if p.Name == "sleep" && slices.Equal(p.Cmdline, []string{"sleep", "300"}) && p.Marker == run.ID && p.Pgid == int32(bash.pid) {
				k++
			}
		}
		return k
	}
	waitFor(t, "the sleeps to start", func() bool { return sleeps(take(t)) == n })
	for i := range 5 {
		snap := take(t)
		l := harness.Diff(before, snap)
		if got := sleeps(snap); got != n || len(l.Children) != n+1 || len(l.Escaped) != 0 {
			t.Errorf("snapshot %d: %d sleeps (want %d), %d children (want %d), %d escaped (want 0)", i, got, n, len(l.Children), n+1, len(l.Escaped))
		}
	}
	waitSample(t, s, "a sample of every child", func(p harness.Point) bool { return p.Children == n+1 })
	cleanup(t, run, before)
	if tl := s.Stop(); tl.Peak.Children != n+1 || tl.Failed != 0 {
		t.Errorf("timeline peak %d children (want %d), %d failed samples (want 0)", tl.Peak.Children, n+1, tl.Failed)
	}
	expectCleanSince(t, before)
}

// An exec keeps pid and start time but replaces command line and
// environment: a snapshot after it reads them afresh.
func TestExecIsSeen(t *testing.T) {
	run := harness.NewMarker(t.Name())
	other := harness.NewMarker(t.Name() + "-after-exec")
	before := take(t)
	sweepAfter(t, run, before)
	sweepAfter(t, other, before)
	cmd := exec.Command("bash", "-c", `read go; exec env `+other.Env()+` sleep 300`)
	cmd.Env = append(os.Environ(), run.Env())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := int32(cmd.Process.Pid)
	find := func() harness.Proc {
		for _, p := range take(t).Descendants {
			if p.Pid == pid {
				return p
			}
		}
		return harness.Proc{}
	}
	var p harness.Proc
	waitFor(t, "bash to run", func() bool { p = find(); return p.Name == "bash" })
	if p.Marker != run.ID || p.Cmdline[0] != "bash" {
		t.Errorf("before exec: marker %q cmdline %q, want %q and bash", p.Marker, p.Cmdline, run.ID)
	}
	started := p.Started
	io.WriteString(stdin, "go\n")
	// The comm changes before the exec has set up the new image's
	// arguments and environment: in that window a snapshot shows the new
	// name with what it last read (CmdlineFrom "earlier snapshot"). Wait
	// for the exec to finish.
	waitFor(t, "the exec", func() bool { p = find(); return p.Name == "sleep" && p.CmdlineFrom == "proc" })
	if p.Marker != other.ID || !slices.Equal(p.Cmdline, []string{"sleep", "300"}) || !p.Started.Equal(started) {
		t.Errorf("after exec: marker %q cmdline %q started %v; want %q, [sleep 300], %v", p.Marker, p.Cmdline, p.Started, other.ID, started)
	}
}

// Snapshots from several goroutines, and a sampler, while 300 children
// come and go: no error, the one stable child in every snapshot with its
// command line (no false negative), and nothing left once the churn is
// over (no false positive).
func TestConcurrentMeasuringUnderChurn(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	stable := spawn(t, run, spawnOpts{}, "sleep", "300")
	waitState(t, stable, 'S')
	s := sample(t, ctxFor(t, time.Minute), before, harness.PollEvery(2*time.Millisecond))
	t.Cleanup(func() { s.Stop() })

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for range 300 {
			if err := runTrue(run); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var mu sync.Mutex
	snaps := 0
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				snap, err := harness.Take()
				if err != nil {
					t.Errorf("Take during churn: %v", err)
					return
				}
				found := slices.ContainsFunc(snap.Descendants, func(p harness.Proc) bool {
					return p.Pid == int32(stable.pid) && p.Marker == run.ID && slices.Equal(p.Cmdline, []string{"sleep", "300"})
				})
				if !found {
					t.Errorf("a snapshot misses the stable child %d", stable.pid)
					return
				}
				_ = harness.Diff(before, snap).Attribute().String()
				mu.Lock()
				snaps++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if snaps == 0 {
		t.Fatal("no snapshot taken during the churn")
	}
	tl := s.Stop()
	if tl.Failed != 0 || tl.Peak.Children < 1 {
		t.Errorf("timeline: %d failed samples, peak %d children; want 0 and at least the stable child", tl.Failed, tl.Peak.Children)
	}
	stable.kill()
	if l := harness.Diff(before, take(t)); !l.Empty() {
		t.Errorf("after the churn and the stable child are gone:\n%s", l)
	}
}

// Two test processes measuring at once (as under ginkgo -p), each with its
// own children and an escaped process of its own: each sees exactly its
// own.
func TestSeveralProcessesMeasuring(t *testing.T) {
	if !reaped() {
		t.Skip("needs the RunReaped wrapper as subreaper")
	}
	const procs = 3
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*strings.Builder, procs)
	for i := range cmds {
		cmds[i] = wrapperCmd(t, "measure-own")
		outs[i] = &strings.Builder{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("measuring process %d: %v\n%s", i, err, outs[i])
		} else if !regexp.MustCompile(`(?m)^measured own: 20 children, 1 escaped, 20 snapshots$`).MatchString(outs[i].String()) {
			t.Errorf("measuring process %d said:\n%s", i, outs[i])
		}
	}
}

// measureOwn is the "measure-own" test mode: 20 tagged children and one
// escaped process, checked by 20 snapshots while sibling processes do the
// same. It returns the exit code.
func measureOwn() int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "measure-own: "+format+"\n", args...)
		return 1
	}
	run := harness.NewMarker("own")
	before, err := harness.Take()
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		harness.Sweep(ctx, run, before)
	}()
	env := append(os.Environ(), run.Env())
	for range 20 {
		if _, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "300"}, &syscall.ProcAttr{Env: env}); err != nil {
			return fail("%v", err)
		}
	}
	// One escaped: bash's sleep, orphaned to the wrapper.
	cmd := exec.Command("bash", "-c", "sleep 300 & echo started")
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fail("%v", err)
	}
	if err := cmd.Start(); err != nil {
		return fail("%v", err)
	}
	bufio.NewReader(out).ReadString('\n')
	cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n < 20; {
		snap, err := harness.Take()
		if err != nil {
			return fail("%v", err)
		}
		l := harness.Diff(before, snap)
		ready := len(l.Children) == 20 && len(l.Escaped) == 1
		for _, p := range slices.Concat(l.Children, l.Escaped) {
			if p.Marker != run.ID {
				return fail("pid %d (%s) carries marker %q, not this process's %q", p.Pid, p.Name, p.Marker, run.ID)
			}
			if p.Name != "sleep" {
				ready = false // not exec'd yet
			}
		}
		if ready {
			n++
		} else if n > 0 {
			return fail("snapshot %d: %d children, %d escaped; want 20 and 1:\n%s", n, len(l.Children), len(l.Escaped), l)
		} else if time.Now().After(deadline) {
			return fail("never saw 20 children and 1 escaped:\n%s", l)
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
	fmt.Println("measured own: 20 children, 1 escaped, 20 snapshots")
	return 0
}

// A sampler reads /proc in another goroutine while snapshots are taken:
// the files it has open at that instant are never reported as leaked fds.
func TestSamplerFDsAreNotLeaks(t *testing.T) {
	before := take(t)
	var samplers []*harness.Sampler
	for range 2 {
		s := sample(t, ctxFor(t, time.Minute), before, harness.PollEvery(time.Nanosecond))
		t.Cleanup(func() { s.Stop() })
		samplers = append(samplers, s)
	}
	for _, s := range samplers {
		waitSample(t, s, "a sample", func(harness.Point) bool { return true })
	}
	for i := range 100 {
		if l := harness.Diff(before, take(t)); !l.Empty() {
			t.Fatalf("snapshot %d while sampling:\n%s", i, l)
		}
	}
	for _, s := range samplers {
		if tl := s.Stop(); tl.Peak.FDs != 0 || tl.Failed != 0 {
			t.Errorf("a sampler saw %d leaked fds (want 0: those of the others), %d failed samples", tl.Peak.FDs, tl.Failed)
		}
	}
}
