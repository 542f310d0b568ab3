package harness_test

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
)

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

func TestTakeSelf(t *testing.T) {
	s := take(t)
	if s.Self != int32(os.Getpid()) {
		t.Errorf("Self = %d, want %d", s.Self, os.Getpid())
	}
	if s.Marker != harness.ProcessMarker() {
		t.Errorf("Marker = %q, want ProcessMarker() %q", s.Marker, harness.ProcessMarker())
	}
	if !slices.IsSortedFunc(s.FDs, func(a, b harness.FD) int { return a.Num - b.Num }) {
		t.Errorf("FDs not sorted by number: %v", s.FDs)
	}
	nums := map[int]bool{}
	for _, fd := range s.FDs {
		nums[fd.Num] = true
	}
	for _, std := range []int{0, 1, 2} {
		if !nums[std] {
			t.Errorf("fd %d missing from %v", std, s.FDs)
		}
	}
	if s2 := take(t, harness.WithMarker("")); s2.Marker != "" || len(s2.Escaped) != 0 {
		t.Errorf("WithMarker(\"\"): Marker %q, Escaped %v; want none", s2.Marker, s2.Escaped)
	}
}

// Take runs while 200 short-lived children come and go: it never fails, and
// (under -race) never races.
func TestTakeWithVanishingProcesses(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for range 200 {
			if err := runTrue(run); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	takes := 0
	for {
		select {
		case <-done:
			wg.Wait()
			if takes == 0 {
				t.Fatal("no snapshot taken while children ran")
			}
			if l := harness.Diff(before, take(t)); !l.Empty() {
				t.Errorf("after all children were waited: %s", l)
			}
			return
		default:
		}
		s, err := harness.Take()
		if err != nil {
			t.Fatalf("Take during churn: %v", err)
		}
		_ = harness.Diff(before, s).Attribute().String()
		takes++
	}
}

func TestMarkerPrefix(t *testing.T) {
	if os.Getenv(harness.ReapedEnv) == "" {
		t.Skip("needs the RunReaped wrapper as subreaper")
	}
	runA := harness.NewMarker("a")
	runB := harness.NewMarker("b")
	foreign := harness.Marker{ID: "lgforeign0000/1.1.x"}
	before := take(t)
	for _, r := range []harness.Marker{runA, runB, foreign} {
		sweepAfter(t, r, before)
	}
	escape := func(r harness.Marker) {
		c := spawn(t, r, spawnOpts{}, "bash", "-c", "sleep 300 & exit 0")
		c.wait(t)
		waitFor(t, "the escaped sleep of "+r.ID, func() bool {
			for _, p := range take(t, harness.WithMarker(r.ID)).Escaped {
				if p.Name == "sleep" {
					return true
				}
			}
			return false
		})
	}
	escape(runB)
	escape(foreign)

	markers := func(ps []harness.Proc) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Marker)
		}
		return out
	}
	tests := []struct {
		name string
		opts []harness.Option
		want []string
	}{
		{"run A sees none", []harness.Option{harness.WithMarker(runA.ID)}, nil},
		{"run B sees its own", []harness.Option{harness.WithMarker(runB.ID)}, []string{runB.ID}},
		{"foreign sees its own", []harness.Option{harness.WithMarker(foreign.ID)}, []string{foreign.ID}},
		{"default: this process's runs only", nil, []string{runB.ID}},
		{"none", []harness.Option{harness.WithMarker("")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := markers(take(t, tt.opts...).Escaped)
			if !slices.Equal(got, tt.want) {
				t.Errorf("escaped markers = %q, want %q", got, tt.want)
			}
		})
	}
}

// runTrue starts `true` tagged with run and waits for it. It reports errors
// instead of failing, so goroutines can call it.
func runTrue(run harness.Marker) error {
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{Env: append(os.Environ(), run.Env())})
	if err != nil {
		return err
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
