package adapter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/internal/procfs"
)

// This file holds the tests' process plumbing: reading /proc, polling with a
// deadline, and a lab that records everything a test starts and kills and
// reaps it in t.Cleanup.

// testMarker is set in every child these tests start (value: the test
// binary's pid), so that a leftover can be told apart from other processes.
const testMarker = "LEAKGATE_ADAPTER_TEST"

// pollDeadline bounds every wait for a process state change in these tests.
// It is a failure bound, not a timing target.
const pollDeadline = 20 * time.Second

// procInfo is one /proc/<pid>/stat line, the fields the tests use.
type procInfo struct {
	pid   int
	comm  string
	state string
	ppid  int
	pgrp  int
	start uint64 // starttime in clock ticks: tells a pid's reuse apart
}

func (p procInfo) String() string {
	return fmt.Sprintf("pid %d [%s %s] ppid %d pgrp %d", p.pid, p.state, p.comm, p.ppid, p.pgrp)
}

// readProc reads pid's stat line; ok is false if the pid does not exist.
func readProc(pid int) (procInfo, bool) {
	st, err := procfs.ReadStat(int32(pid))
	if err != nil {
		return procInfo{}, false
	}
	return procInfo{pid: pid, comm: st.Comm, state: string(st.State), ppid: int(st.PPid), pgrp: int(st.Pgrp), start: st.StartTicks}, true
}

// allProcs reads every process in /proc.
func allProcs() []procInfo {
	pids, err := procfs.Pids()
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, pid := range pids {
		if p, ok := readProc(int(pid)); ok {
			out = append(out, p)
		}
	}
	return out
}

// descendants returns every process below root, following ppid links.
func descendants(root int) []procInfo {
	procs := allProcs()
	kids := map[int][]procInfo{}
	for _, p := range procs {
		kids[p.ppid] = append(kids[p.ppid], p)
	}
	var out []procInfo
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, k := range kids[pid] {
			out = append(out, k)
			queue = append(queue, k.pid)
		}
	}
	return out
}

// current re-reads p; ok is false when p is gone (reaped, or its pid reused).
func current(p procInfo) (procInfo, bool) {
	now, ok := readProc(p.pid)
	if !ok || now.start != p.start {
		return procInfo{}, false
	}
	return now, true
}

// present reports whether p still exists in any state, zombie included.
func present(p procInfo) bool { _, ok := current(p); return ok }

// running reports whether p exists and is not a zombie.
func running(p procInfo) bool {
	now, ok := current(p)
	return ok && now.state != "Z" && now.state != "X"
}

// groupEmpty reports whether kill(-pgid, 0) says the group has no member.
func groupEmpty(pgid int) bool { return errors.Is(unix.Kill(-pgid, 0), unix.ESRCH) }

// waitUntil polls cond (internal/poll) until it holds or pollDeadline
// passes.
func waitUntil(cond func() bool) bool {
	return poll.Until(context.Background(), pollDeadline, cond)
}

// goroutineID returns the calling goroutine's id, from its stack header
// ("goroutine 42 [running]:").
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// readBlocked reports whether goroutine id is parked in (*Reader).Read
// waiting for the pipe (state "IO wait").
func readBlocked(id string) bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	for g := range strings.SplitSeq(string(buf[:n]), "\n\n") {
		if strings.HasPrefix(g, "goroutine "+id+" [IO wait") && strings.Contains(g, "adapter.(*Reader).Read(") {
			return true
		}
	}
	return false
}

// fdSet maps this process's open fds to their targets, leaving out the Go
// netpoller's eventpoll/eventfd.
func fdSet(t *testing.T) map[string]string {
	t.Helper()
	fds, err := procfs.SelfFDs()
	if err != nil {
		t.Fatalf("list fds: %v", err)
	}
	out := map[string]string{}
	for _, fd := range fds {
		switch fd.Target {
		case "anon_inode:[eventpoll]", "anon_inode:[eventfd]":
			continue
		}
		out[strconv.Itoa(fd.Num)] = fd.Target
	}
	return out
}

// lab records what a test starts and kills and reaps all of it in
// t.Cleanup, even when the test fails.
type lab struct {
	t   *testing.T
	dir string

	mu     sync.Mutex
	spawns []spawned
	kids   []*child
	procs  []procInfo
}

// spawned is an OnSpawn record with bash's /proc identity.
type spawned struct {
	Spawn
	proc procInfo
	ok   bool
}

func newLab(t *testing.T) *lab {
	l := &lab{t: t, dir: t.TempDir()}
	t.Cleanup(l.cleanup)
	return l
}

// adapter returns an Adapter with the given policy and commands, recording
// every spawn. Commands left empty run `exit 99`.
func (l *lab) adapter(p Policy, cmds Commands, env ...EnvVar) *Adapter {
	for _, c := range []*string{&cmds.CreateBackup, &cmds.CreateForWrite, &cmds.OpenForRead, &cmds.SaveMetadataLine, &cmds.ListMetadataFiles} {
		if *c == "" {
			*c = "exit 99"
		}
	}
	return &Adapter{
		Config:    &Config{EnvVars: env, Commands: cmds, Source: l.t.Name()},
		Policy:    p,
		Env:       append(os.Environ(), testMarker+"="+strconv.Itoa(os.Getpid())),
		WaitDelay: pollDeadline,
		OnSpawn:   l.onSpawn,
	}
}

func (l *lab) onSpawn(s Spawn) {
	p, ok := readProc(s.Pid)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spawns = append(l.spawns, spawned{Spawn: s, proc: p, ok: ok})
}

// open runs open_for_read and registers the child for cleanup.
func (l *lab) open(a *Adapter, handle string) *Reader {
	l.t.Helper()
	r, err := a.OpenForRead(context.Background(), handle)
	if err != nil {
		l.t.Fatalf("OpenForRead(%q): %v", handle, err)
	}
	l.keep(r.c)
	return r
}

// keep registers a child for cleanup.
func (l *lab) keep(c *child) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kids = append(l.kids, c)
}

// tree waits until bash (pid) has descendants with all the given command
// names (e.g. "sleep", "cat" of `sleep 300 | cat`), records them for
// cleanup and returns them by name.
func (l *lab) tree(pid int, comms ...string) map[string]procInfo {
	l.t.Helper()
	found := map[string]procInfo{}
	ok := waitUntil(func() bool {
		clear(found)
		for _, d := range descendants(pid) {
			if slices.Contains(comms, d.comm) {
				found[d.comm] = d
			}
		}
		return len(found) == len(comms)
	})
	l.mu.Lock()
	for _, p := range found {
		l.procs = append(l.procs, p)
	}
	l.mu.Unlock()
	if !ok {
		l.t.Fatalf("bash pid %d: want descendants %v, found %v", pid, comms, found)
	}
	return found
}

// bash returns the /proc record of the spawn with the given pid.
func (l *lab) bash(pid int) procInfo {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.spawns {
		if s.Pid == pid && s.ok {
			return s.proc
		}
	}
	l.t.Fatalf("no spawn record for pid %d", pid)
	return procInfo{}
}

// cleanup kills every group, tracked descendant and child, reaps the
// children, and waits until all of it is gone from /proc.
func (l *lab) cleanup() {
	l.mu.Lock()
	spawns, kids, procs := slices.Clone(l.spawns), slices.Clone(l.kids), slices.Clone(l.procs)
	l.mu.Unlock()
	for _, s := range spawns {
		if s.Pgid == s.Pid {
			_ = unix.Kill(-s.Pgid, unix.SIGKILL)
		}
	}
	// Leaves first, so that a live bash reaps its own pipeline.
	for _, p := range procs {
		if present(p) {
			_ = unix.Kill(p.pid, unix.SIGKILL)
		}
	}
	for _, c := range kids {
		_ = c.cmd.Process.Kill()
		c.closePipes()
		c.startWait()
		select {
		case <-c.waitDone:
		case <-time.After(pollDeadline):
			l.t.Errorf("cleanup: bash pid %d not reaped", c.pid)
		}
	}
	var all []procInfo
	for _, s := range spawns {
		if s.ok {
			all = append(all, s.proc)
		}
	}
	all = append(all, procs...)
	// Done means reaped, or dead and left to a parent other than us (init
	// or a dying bash): only our own children are ours to reap.
	done := func(p procInfo) bool {
		now, ok := current(p)
		return !ok || (now.state == "Z" && now.ppid != os.Getpid())
	}
	if !waitUntil(func() bool { return !slices.ContainsFunc(all, func(p procInfo) bool { return !done(p) }) }) {
		var left []string
		for _, p := range all {
			if now, ok := current(p); ok {
				left = append(left, now.String())
			}
		}
		l.t.Errorf("cleanup: processes still present: %v", left)
	}
	for _, s := range spawns {
		if s.Pgid == s.Pid && !waitUntil(func() bool { return groupEmpty(s.Pgid) }) {
			l.t.Errorf("cleanup: process group %d not empty: %v", s.Pgid, groupMembers(s.Pgid))
		}
	}
}
