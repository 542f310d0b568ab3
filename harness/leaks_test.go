package harness_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
)

var (
	self    = strconv.Itoa(os.Getpid())
	selfStr = regexp.QuoteMeta
)

// header is the report's first line for n leaks.
func header(n int) string {
	return `^expected no leaks since baseline \(\d+ children, (\d+ escaped, )?\d+ fds\); found ` + strconv.Itoa(n) + `:\n`
}

// expectCleanSince fails if Diff(before, now) is not empty.
func expectCleanSince(t *testing.T, before harness.Snapshot) {
	t.Helper()
	if l := harness.Diff(before, take(t)); !l.Empty() {
		t.Errorf("Diff after cleanup is not empty:\n%s", l)
	}
}

func cleanup(t *testing.T, run harness.Marker, before harness.Snapshot) harness.Swept {
	t.Helper()
	sw, err := harness.Sweep(ctxFor(t, 10*time.Second), run, before)
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	return sw
}

func TestZombieChild(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)

	z := spawn(t, run, spawnOpts{}, "true")
	harness.Remember(z.pid, []string{"true"}, "spawn")
	waitState(t, z, 'Z')

	leaks := harness.Diff(before, take(t))
	if len(leaks.Children) != 1 || len(leaks.Escaped) != 0 || len(leaks.FDs) != 0 {
		t.Fatalf("want exactly one leaked child, got:\n%s", leaks)
	}
	c := leaks.Children[0]
	want := harness.Proc{Pid: int32(z.pid), PPid: int32(os.Getpid()), Pgid: int32(unix.Getpgrp()), State: "Z", Name: "true", Cmdline: []string{"true"}, CmdlineFrom: "spawn"}
	if c.Pid != want.Pid || c.PPid != want.PPid || c.Pgid != want.Pgid || c.State != want.State || c.Name != want.Name ||
		!slices.Equal(c.Cmdline, want.Cmdline) || c.CmdlineFrom != want.CmdlineFrom {
		t.Errorf("leaked child\n got %+v\nwant %+v", c, want)
	}
	if got := leaks.Zombies(); len(got) != 1 || got[0].Pid != c.Pid {
		t.Errorf("Zombies() = %v, want pid %d", got, c.Pid)
	}
	re := regexp.MustCompile(header(1) +
		`  pid ` + strconv.Itoa(z.pid) + ` \[Z zombie\] ppid ` + self + ` \(harness\.test\), pgid \d+, age \d+\.\ds\n` +
		`      spawned as: true   \(from spawn\)$`)
	if s := leaks.String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}

	sw := cleanup(t, run, before)
	if len(sw.Reaped) != 1 || sw.Reaped[0].Pid != int32(z.pid) {
		t.Errorf("Cleanup reaped %v, want pid %d", sw.Reaped, z.pid)
	}
	if !z.gone() {
		t.Errorf("zombie %d still present after Cleanup", z.pid)
	}
	expectCleanSince(t, before)
}

func TestStalledChild(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)

	c := spawn(t, run, spawnOpts{}, "sleep", "300")
	waitState(t, c, 'S')

	leaks := harness.Diff(before, take(t))
	if len(leaks.Children) != 1 || leaks.Count() != 1 {
		t.Fatalf("want exactly one leaked child, got:\n%s", leaks)
	}
	p := leaks.Children[0]
	if p.Pid != int32(c.pid) || p.State != "S" || p.PPid != int32(os.Getpid()) || p.Marker != run.ID ||
		!slices.Equal(p.Cmdline, []string{"sleep", "300"}) || p.CmdlineFrom != "proc" {
		t.Errorf("leaked child = %+v, want pid %d [S] ppid %d marker %s cmdline [sleep 300] from proc", p, c.pid, os.Getpid(), run.ID)
	}
	re := regexp.MustCompile(header(1) +
		`  pid ` + strconv.Itoa(c.pid) + ` \[S sleeping\] ppid ` + self + ` \(harness\.test\), pgid \d+, age \d+\.\ds\n` +
		`      spawned as: sleep 300$`)
	if s := leaks.String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}
	if len(leaks.Zombies()) != 0 {
		t.Errorf("Zombies() = %v, want none", leaks.Zombies())
	}

	sw := cleanup(t, run, before)
	if len(sw.Killed) != 1 || sw.Killed[0].Pid != int32(c.pid) {
		t.Errorf("Cleanup killed %v, want pid %d", sw.Killed, c.pid)
	}
	if len(sw.Reaped) != 1 || sw.Reaped[0].Pid != int32(c.pid) {
		t.Errorf("Cleanup reaped %v, want pid %d", sw.Reaped, c.pid)
	}
	expectCleanSince(t, before)
}

func TestOwnGroupKilledAsGroup(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)

	c := spawn(t, run, spawnOpts{setpgid: true}, "bash", "-c", "sleep 300 & sleep 300 & wait")
	waitFor(t, "bash and its two sleeps", func() bool {
		n := 0
		for _, p := range take(t).Descendants {
			if p.Pgid == int32(c.pid) && p.Name == "sleep" {
				n++
			}
		}
		return n == 2
	})
	leaks := harness.Diff(before, take(t))
	if len(leaks.Children) != 3 {
		t.Fatalf("want bash and two sleeps, got:\n%s", leaks)
	}
	sw := cleanup(t, run, before)
	if !slices.Equal(sw.Groups, []int32{int32(c.pid)}) {
		t.Errorf("Cleanup killed groups %v, want [%d]", sw.Groups, c.pid)
	}
	expectCleanSince(t, before)
}

func TestEscapedGrandchild(t *testing.T) {
	if os.Getenv(harness.ReapedEnv) == "" {
		t.Skip("needs the RunReaped wrapper as subreaper")
	}
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)

	bash := spawn(t, run, spawnOpts{}, "bash", "-c", "sleep 300 & exit 0")
	if ws := bash.wait(t); ws.ExitStatus() != 0 {
		t.Fatalf("bash exited %v", ws)
	}
	var now harness.Snapshot
	waitFor(t, "the escaped sleep to exec", func() bool {
		now = take(t)
		return len(now.Escaped) == 1 && now.Escaped[0].Name == "sleep"
	})
	leaks := harness.Diff(before, now)
	if len(leaks.Escaped) != 1 || leaks.Count() != 1 {
		t.Fatalf("want exactly one escaped process, got:\n%s", leaks)
	}
	e := leaks.Escaped[0]
	if e.PPid != int32(os.Getppid()) || e.Marker != run.ID || !slices.Equal(e.Cmdline, []string{"sleep", "300"}) || e.State != "S" && e.State != "R" {
		t.Errorf("escaped = %+v, want ppid %d (the wrapper), marker %s, cmdline [sleep 300]", e, os.Getppid(), run.ID)
	}
	re := regexp.MustCompile(header(1) +
		`  pid ` + strconv.Itoa(int(e.Pid)) + ` \[[SR] \w+\] ppid ` + strconv.Itoa(os.Getppid()) + ` \(harness\.test\), pgid \d+, age \d+\.\ds — escaped its parent \(tagged run ` + regexp.QuoteMeta(run.ID) + `\)\n` +
		`      spawned as: sleep 300$`)
	if s := leaks.String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}

	sw := cleanup(t, run, before)
	if len(sw.Killed) != 1 || sw.Killed[0].Pid != e.Pid {
		t.Errorf("Cleanup killed %v, want pid %d", sw.Killed, e.Pid)
	}
	expectCleanSince(t, before)
	if l := take(t, harness.WithMarker(run.ID)); len(l.Escaped) != 0 {
		t.Errorf("still escaped after Cleanup: %v", l.Escaped)
	}
}

func TestLeakedPipe(t *testing.T) {
	before := take(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	rn, wn := int(r.Fd()), int(w.Fd())

	leaks := harness.Diff(before, take(t))
	if len(leaks.FDs) != 2 || leaks.Count() != 2 {
		t.Fatalf("want the two pipe fds, got:\n%s", leaks)
	}
	target := leaks.FDs[0].Target
	for i, want := range []int{min(rn, wn), max(rn, wn)} {
		fd := leaks.FDs[i]
		if fd.Num != want || fd.Kind != harness.FDPipe || fd.Target != target || !regexp.MustCompile(`^pipe:\[\d+\]$`).MatchString(fd.Target) {
			t.Errorf("leaked fd %d = %+v, want fd %d, a pipe, same target", i, fd, want)
		}
	}
	q := regexp.QuoteMeta(target)
	re := regexp.MustCompile(header(2) +
		`  fd ` + strconv.Itoa(rn) + ` -> ` + q + `; other end: fd ` + strconv.Itoa(wn) + ` \(this process\)\n` +
		`  fd ` + strconv.Itoa(wn) + ` -> ` + q + `; other end: fd ` + strconv.Itoa(rn) + ` \(this process\)$`)
	if rn > wn {
		t.Fatalf("read end %d after write end %d: unexpected numbering", rn, wn)
	}
	if s := leaks.Attribute().String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}
	r.Close()
	w.Close()
	expectCleanSince(t, before)
}

func TestLeakedPipeOtherEndInChild(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	c := spawn(t, run, spawnOpts{files: []uintptr{r.Fd()}}, "sleep", "300")
	r.Close()
	waitState(t, c, 'S')

	leaks := harness.Diff(before, take(t)).Attribute()
	if len(leaks.FDs) != 1 || len(leaks.Children) != 1 {
		t.Fatalf("want the write end and the child, got:\n%s", leaks)
	}
	re := regexp.MustCompile(`\n  fd ` + strconv.Itoa(int(w.Fd())) + ` -> pipe:\[\d+\]; other end: pid ` + strconv.Itoa(c.pid) + ` \(sleep\) fd 0$`)
	if s := leaks.String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}
	w.Close()
	cleanup(t, run, before)
	expectCleanSince(t, before)
}

func TestLeakedFile(t *testing.T) {
	dir := t.TempDir()
	before := take(t)
	f, err := os.Create(filepath.Join(dir, "leak.txt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	path, err := filepath.EvalSymlinks(f.Name())
	if err != nil {
		t.Fatal(err)
	}

	leaks := harness.Diff(before, take(t))
	if len(leaks.FDs) != 1 || leaks.Count() != 1 {
		t.Fatalf("want exactly the file's fd, got:\n%s", leaks)
	}
	want := harness.FD{Num: int(f.Fd()), Kind: harness.FDFile, Target: path}
	if got := leaks.FDs[0]; got.Num != want.Num || got.Kind != want.Kind || got.Target != want.Target {
		t.Errorf("leaked fd = %+v, want %+v", got, want)
	}
	re := regexp.MustCompile(header(1) + `  fd ` + strconv.Itoa(int(f.Fd())) + ` -> ` + regexp.QuoteMeta(path) + `$`)
	if s := leaks.String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}
	f.Close()
	expectCleanSince(t, before)
}

func TestCleanTwins(t *testing.T) {
	t.Run("child started and waited", func(t *testing.T) {
		before := take(t)
		c := spawn(t, harness.Marker{}, spawnOpts{}, "true")
		c.wait(t)
		if l := harness.Diff(before, take(t)); !l.Empty() {
			t.Errorf("want no leaks, got:\n%s", l)
		}
	})
	t.Run("exec.Cmd run", func(t *testing.T) {
		before := take(t)
		if err := execCommand("true").Run(); err != nil {
			t.Fatal(err)
		}
		if l := harness.Diff(before, take(t)); !l.Empty() {
			t.Errorf("want no leaks, got:\n%s", l)
		}
	})
	t.Run("pipe closed", func(t *testing.T) {
		before := take(t)
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		w.Close()
		if l := harness.Diff(before, take(t)); !l.Empty() {
			t.Errorf("want no leaks, got:\n%s", l)
		}
	})
}

// An exec.Cmd started and not waited holds a pidfd (Go 1.23+): it shows up
// as a child and as an fd.
func TestUnwaitedCmdHoldsPidfd(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	cmd := execCommand("sleep", "300")
	cmd.Env = append(os.Environ(), run.Env())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	leaks := harness.Diff(before, take(t))
	if len(leaks.Children) != 1 || leaks.Children[0].Pid != int32(cmd.Process.Pid) {
		t.Errorf("want the sleep as the leaked child, got:\n%s", leaks)
	}
	pidfds := 0
	for _, fd := range leaks.FDs {
		if fd.Kind == harness.FDPidfd {
			pidfds++
		}
	}
	if pidfds != 1 {
		t.Errorf("want one leaked pidfd, got:\n%s", leaks)
	}
	cmd.Process.Kill()
	cmd.Wait()
	expectCleanSince(t, before)
}

// A child seen alive by a snapshot keeps its command line once it is a
// zombie, from the registry.
func TestZombieCmdlineFromEarlierSnapshot(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	c := spawn(t, run, spawnOpts{files: []uintptr{r.Fd()}}, "head", "-c", "1")
	r.Close()
	waitState(t, c, 'S')
	if l := harness.Diff(before, take(t)); len(l.Children) != 1 || l.Children[0].CmdlineFrom != "proc" {
		t.Fatalf("want the live head, cmdline from proc:\n%s", l)
	}
	w.Close() // head reads EOF and exits
	waitState(t, c, 'Z')
	l := harness.Diff(before, take(t))
	if len(l.Children) != 1 {
		t.Fatalf("want the zombie head:\n%s", l)
	}
	z := l.Children[0]
	if z.State != "Z" || !slices.Equal(z.Cmdline, []string{"head", "-c", "1"}) || z.CmdlineFrom != "earlier snapshot" || z.Marker != run.ID {
		t.Errorf("zombie = %+v, want state Z, cmdline [head -c 1] from earlier snapshot, marker %s", z, run.ID)
	}
	if s := l.String(); !regexpMatch(`\n      spawned as: head -c 1   \(from earlier snapshot\)$`, s) {
		t.Errorf("report does not name the source:\n%s", s)
	}
	sw := cleanup(t, run, before)
	if len(sw.Reaped) != 1 {
		t.Errorf("Cleanup reaped %v, want the head", sw.Reaped)
	}
	expectCleanSince(t, before)
}
