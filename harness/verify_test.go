package harness_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
)

// noAutoGC turns the automatic garbage collector off for the test, so that
// an fd only a finalizer closes stays open until the test collects.
func noAutoGC(t *testing.T) {
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

func TestVerifyNoneEveryKind(t *testing.T) {
	noAutoGC(t)
	run := harness.NewMarker(t.Name())
	before := take(t, harness.WithGoroutines())
	sweepAfter(t, run, before)
	opts := []harness.Option{harness.Quiet(100 * time.Millisecond), harness.Within(5 * time.Second)}

	var clean recorder
	harness.VerifyNone(&clean, before, opts...)
	if len(clean.errors) != 0 {
		t.Fatalf("VerifyNone before any leak: %q", clean.errors)
	}

	z := spawn(t, run, spawnOpts{}, "true")
	harness.Remember(z.pid, []string{"true"}, "spawn")
	waitState(t, z, 'Z')
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	dropped := openAndDrop(t, os.DevNull)
	release := leakGoroutine(t)

	var tb recorder
	harness.VerifyNone(&tb, before, opts...)
	rn, wn := strconv.Itoa(int(r.Fd())), strconv.Itoa(int(w.Fd()))
	re := regexp.MustCompile(`^expected no leaks since baseline \(\d+ children, \d+ fds, \d+ goroutines\); found 5:\n` +
		`  pid ` + strconv.Itoa(z.pid) + ` \[Z zombie\] ppid ` + self + ` \(harness\.test\), pgid \d+, age \d+\.\ds\n` +
		`      spawned as: true   \(from spawn\)\n` +
		`  fd ` + rn + ` -> pipe:\[\d+\]; other end: fd ` + wn + ` \(this process\)\n` +
		`  fd ` + wn + ` -> pipe:\[\d+\]; other end: fd ` + rn + ` \(this process\)\n` +
		`  fd ` + strconv.Itoa(dropped) + ` -> /dev/null: closed only by the garbage collector: code that relies on finalizers\n` +
		`  goroutine \d+ \[chan receive\]: \S+harness_test\.leakGoroutine\.func1, created by \S+ at harness/goroutines_test\.go:\d+$`)
	if len(tb.errors) != 1 || !re.MatchString(tb.errors[0]) {
		t.Errorf("VerifyNone errors %q; want one matching\n%s", tb.errors, re)
	}

	// Known leaks can be ignored.
	var ignoring recorder
	harness.VerifyNone(&ignoring, before, append(opts,
		harness.IgnoringProcs(gomega.HaveField("Cmdline", gomega.Equal([]string{"true"}))),
		harness.IgnoringFDs(gomega.HaveField("Kind", harness.FDPipe)),
		harness.IgnoringGoroutines("github.com/leakgate/leakgate/harness_test.leakGoroutine.func1"),
	)...)
	if len(ignoring.errors) != 0 {
		t.Errorf("VerifyNone ignoring the child, the pipe and the goroutine: %q", ignoring.errors)
	}

	release()
	r.Close()
	w.Close()
	cleanup(t, run, before)
	var after recorder
	harness.VerifyNone(&after, before, opts...)
	if len(after.errors) != 0 {
		t.Errorf("VerifyNone after cleaning up: %q", after.errors)
	}
}

// fakeM is a testing.M whose Run is given.
type fakeM func() int

func (m fakeM) Run() int { return m() }

// held keeps what verifyMode's fixtures leak reachable.
var held []any

// verifyMode runs harness.VerifyTestMain over a fake test run that leaks
// (or not), in the RunReaped inner process of a wrapper a test started.
func verifyMode(mode string) {
	debug.SetGCPercent(-1) // the dropped file stays open until VerifyTestMain collects
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "verify fixture:", err)
		os.Exit(2)
	}
	startSleep := func(tagged bool) {
		env := os.Environ()
		sys := &syscall.SysProcAttr{}
		if tagged {
			// The wrapper sweeps it.
			env = append(env, harness.NewMarker("verify").Env())
		} else {
			// Nothing sweeps an untagged sleep: it must not outlive this
			// process.
			sys.Pdeathsig = syscall.SIGKILL
		}
		if _, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "300"}, &syscall.ProcAttr{Env: env, Sys: sys}); err != nil {
			fail(err)
		}
	}
	switch mode {
	case "verify-clean":
		harness.VerifyTestMain(fakeM(func() int { return 0 }))
	case "verify-leak", "verify-failing":
		harness.VerifyTestMain(fakeM(func() int {
			startSleep(true)
			r, w, err := os.Pipe()
			if err != nil {
				fail(err)
			}
			held = append(held, r, w)
			if f, err := os.Open(os.DevNull); err != nil {
				fail(err)
			} else {
				_ = f.Fd() // dropped unclosed
			}
			go func() { select {} }()
			if mode == "verify-failing" {
				return 1
			}
			return 0
		}), harness.Quiet(100*time.Millisecond))
	case "verify-ignored", "verify-ignorable":
		m := fakeM(func() int {
			startSleep(false)
			f, err := os.Open(os.DevNull)
			if err != nil {
				fail(err)
			}
			held = append(held, f)
			return 0
		})
		if mode == "verify-ignorable" {
			harness.VerifyTestMain(m, harness.Quiet(100*time.Millisecond))
		}
		harness.VerifyTestMain(m, harness.Quiet(100*time.Millisecond),
			harness.IgnoringProcs(gomega.HaveField("Cmdline", gomega.Equal([]string{"sleep", "300"}))),
			harness.IgnoringFDs(gomega.HaveField("Target", gomega.MatchRegexp(`^/dev/null$`))))
	}
	fail(fmt.Errorf("VerifyTestMain returned"))
}

func TestVerifyTestMain(t *testing.T) {
	tests := []struct {
		mode     string
		wantCode int
		stderr   string // regexp; "" = empty stderr
	}{
		{"verify-clean", 0, ""},
		{"verify-ignored", 0, ""},
		// the same leaks, not ignored
		{"verify-ignorable", harness.ExitLeaked, `^harness\.VerifyTestMain: the tests passed but left leaks behind: expected no leaks since baseline \(0 children, \d+ fds, \d+ goroutines\); found 2:\n` +
			`  pid \d+ \[S sleeping\] ppid \d+ \(harness\.test\), pgid \d+, age \d+\.\ds\n` +
			`      spawned as: sleep 300\n` +
			`  fd \d+ -> /dev/null\n$`},
		{"verify-leak", harness.ExitLeaked, `^harness\.VerifyTestMain: the tests passed but left leaks behind: expected no leaks since baseline \(0 children, \d+ fds, \d+ goroutines\); found 5:\n` +
			`  pid \d+ \[S sleeping\] ppid \d+ \(harness\.test\), pgid \d+, age \d+\.\ds\n` +
			`      spawned as: sleep 300\n` +
			`  fd \d+ -> pipe:\[\d+\]; other end: fd \d+ \(this process\)\n` +
			`  fd \d+ -> pipe:\[\d+\]; other end: fd \d+ \(this process\)\n` +
			`  fd \d+ -> /dev/null: closed only by the garbage collector: code that relies on finalizers\n` +
			`  goroutine \d+ \[select \(no cases\)\]: \S+verifyMode\S*, created by \S+verifyMode\S* at harness/verify_test\.go:\d+\n` +
			// then the wrapper sweeps the tagged sleep
			`harness\.RunReaped: run \S+: the test process \(pid \d+\) exited with code 3 and left 1 tagged process behind; killed and reaped:\n`},
		{"verify-failing", 1, `^harness\.RunReaped: run \S+: the test process \(pid \d+\) exited with code 1 and left 1 tagged process behind`},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cmd := wrapperCmd(t, tt.mode)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			code := exitCode(t, cmd.Run())
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			switch {
			case tt.stderr == "" && stderr.Len() != 0:
				t.Errorf("stderr = %q, want empty", stderr.String())
			case tt.stderr != "" && !regexp.MustCompile(tt.stderr).Match(stderr.Bytes()):
				t.Errorf("stderr\n%s\ndoes not match\n%s", stderr.String(), tt.stderr)
			}
		})
	}
}
