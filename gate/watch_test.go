package gate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/internal/sweep"
)

// child starts `sleep 60` as a child of the test process (as an orphan is
// the gate's child) and returns its pid and stat; the test kills and reaps
// it if the code under test did not.
func child(t *testing.T) (int32, procfs.Stat) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := int32(cmd.Process.Pid)
	t.Cleanup(func() {
		_ = unix.Kill(int(pid), unix.SIGKILL)
		sweep.Reap(pid)
	})
	st, err := procfs.ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return pid, st
}

// killToZombie SIGKILLs pid and waits until it is a zombie, unreaped.
func killToZombie(t *testing.T, pid int32) harness.Proc {
	t.Helper()
	if err := unix.Kill(int(pid), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st procfs.Stat
	if !poll.Until(context.Background(), 10*time.Second, func() bool {
		var err error
		st, err = procfs.ReadStat(pid)
		return err == nil && st.State == 'Z'
	}) {
		t.Fatalf("pid %d is not a zombie 10s after SIGKILL", pid)
	}
	return harness.Proc{Pid: pid, PPid: st.PPid, Pgid: st.Pgrp, State: "Z", Name: st.Comm}
}

// TestForgiveDyingOrphan: an orphan the last look found dying (timeout's
// pipeline, SIGKILL pending as timeout exits) becomes a zombie only after
// the command's exit: it is a dead orphan, reaped and counted, not a
// survivor. A zombie never seen dying stays a survivor.
func TestForgiveDyingOrphan(t *testing.T) {
	w := newWatcher(0, time.Now(), nil, newFDTracker(nil))
	dying, st := child(t)
	st.Flags |= procfs.PFExiting // as the look at the exit stop found it
	w.adopt([]kid{{dying, st}}, 0)
	if len(w.escaped) != 0 || w.deadOrphans != 0 {
		t.Fatalf("a dying orphan was filed: escaped %v, dead %d", w.escaped, w.deadOrphans)
	}
	other, _ := child(t) // never seen by a look
	survivors := harness.Leaks{Children: []harness.Proc{killToZombie(t, dying), killToZombie(t, other)}}

	if n := forgiveDying(&survivors, w); n != 1 {
		t.Errorf("forgiveDying counted %d, want 1", n)
	}
	if len(survivors.Children) != 1 || survivors.Children[0].Pid != other {
		t.Errorf("survivors %v, want only pid %d (never seen dying)", survivors.Children, other)
	}
	if _, err := procfs.ReadStat(dying); err == nil {
		t.Errorf("pid %d was not reaped", dying)
	}
}

// TestReapDyingEscaped: an escaped process found dying at the last look
// (cat, exiting as the EOF it sent lets the command exit) died while the
// command ran: it is reported as such (state X), not as a zombie reaped
// in the cleanup.
func TestReapDyingEscaped(t *testing.T) {
	w := newWatcher(0, time.Now(), nil, newFDTracker(nil))
	pid, st := child(t)
	w.adopt([]kid{{pid, st}}, 10*time.Millisecond) // seen alive: escaped
	st.Flags |= procfs.PFExiting
	w.adopt([]kid{{pid, st}}, 500*time.Millisecond) // then found exiting
	escaped := harness.Leaks{Children: []harness.Proc{killToZombie(t, pid)}}

	w.reapDying(&escaped)
	if len(escaped.Children) != 0 {
		t.Fatalf("escaped zombies left: %v", escaped.Children)
	}
	gone, forgiven := w.gone(func(int32, unix.Signal) bool { return false })
	if forgiven != 0 || len(gone) != 1 {
		t.Fatalf("gone %v, forgiven %d; want the one escaped process", gone, forgiven)
	}
	p := gone[0]
	if p.Pid != int(pid) || p.State != "X" || !p.Reaped || p.Ended != EndedDuringRun || !strings.Contains(p.Note, "died at 500ms") {
		t.Errorf("got %+v; want pid %d dead during the run, at 500ms", p, pid)
	}
}

// TestRunEscapedKilledWithGroup: a process orphaned alive, then killed
// along with the command's process group by the command itself (timeout
// kills its child, then its group: the pipeline's members are orphans,
// alive, for a moment in between), died with the group: not a leak. The
// command receiving the group's signal is what tells it from
// TestRunEscapedThenDied, where the command kills the orphan alone.
func TestRunEscapedKilledWithGroup(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pid")
	script := `sh -c 'sleep 60 & echo $! > "$0"' "$1"
g=$(cat "$1")
sleep 0.5
trap 'echo got TERM' TERM
kill -TERM 0
while kill -0 $g 2>/dev/null; do sleep 0.01; done`
	rep := gateRun(t, Config{Args: []string{"bash", "-c", script, "bash", f}, Timeout: 20 * time.Second})
	if !rep.Pass || len(rep.Escaped) != 0 || rep.OrphansReaped != 1 {
		t.Errorf("want a pass, the sleep counted among the orphans reaped:\n%s", rep)
	}
	if data, _ := os.ReadFile(f); len(data) == 0 {
		t.Errorf("the command did not start its sleep")
	}
}

// TestRunSurvivorNamedAtExit: a child alive when the command exits that
// dies in the settle window is judged a zombie, whose /proc cmdline is
// empty: the report still gives its command line, read at the exit stop.
func TestRunSurvivorNamedAtExit(t *testing.T) {
	rep := gateRun(t, Config{Args: []string{"sh", "-c", "sleep 0.2 & exit 0"}, Settle: time.Second})
	if rep.Pass || len(rep.Survivors) != 1 {
		t.Fatalf("want one survivor:\n%s", rep)
	}
	s := rep.Survivors[0]
	if s.State != "Z" || strings.Join(s.Cmdline, " ") != "sleep 0.2" || s.CmdlineFrom != "exit stop" {
		t.Errorf("survivor %+v: want the zombie sleep, its command line from the exit stop", s)
	}
}
