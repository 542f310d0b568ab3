package gate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/ownedtemp"
)

// The guard: nothing of a run survives its gate.
//
// A gate killed by SIGKILL runs no cleanup. The kernel ends the command
// itself (its parent-death signal, and PTRACE_O_EXITKILL), but not what the
// command started. With Config.Guard, Run starts a guard process first (in
// its own process group, so a terminal's Ctrl-C does not reach it) whose
// stdin is a pipe only the gate holds. When the gate ends, however it ends,
// the kernel closes that pipe; the guard reads EOF, kills every process
// carrying the run's marker (harness.Cleanup) and removes the run's
// temporary folders, then exits. On a normal return the gate has done all
// that already; it closes the pipe and waits for the guard (at most
// guardStopLimit). Limits: a process that dropped the marker (env -i) is
// not found by the guard; folders left by a gate that died without a
// guard are removed by the next gate (ownedtemp.RemoveStale).

// folderKinds are the ownedtemp kinds of a gate's temporary folders: the
// run's own and the persona links leakgate run makes.
var folderKinds = []string{"run", "personas"}

// guardStopLimit bounds the wait for the guard on a normal return.
const guardStopLimit = cleanupLimit + 5*time.Second

// guard is a running guard, as the gate sees it.
type guard struct {
	w      *os.File
	cmd    *exec.Cmd
	waited chan struct{}
}

// startGuard starts argv (the guard program, e.g. leakgate's own "guard"
// subcommand) with the run's id and folders as its operands.
func startGuard(argv []string, run harness.Marker, folders []string) (*guard, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	defer r.Close()
	args := append(append(append([]string{}, argv[1:]...), run.ID), folders...)
	cmd := exec.Command(argv[0], args...)
	cmd.Stdin, cmd.Stderr = r, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start the guard: %w", err)
	}
	g := &guard{w: w, cmd: cmd, waited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(g.waited) }()
	return g, nil
}

// stop closes the guard's pipe and waits for it to exit.
func (g *guard) stop() {
	g.w.Close()
	select {
	case <-g.waited:
	case <-time.After(guardStopLimit):
		_ = g.cmd.Process.Kill()
		<-g.waited
	}
}

// RunGuard is the guard's body: it waits for EOF on stdin (the gate is
// gone), then kills every process carrying the marker runID and removes
// folders (only gate folders: ownedtemp's names of folderKinds), and returns the exit
// status: 0, or 1 if something survived.
//
//	os.Exit(gate.RunGuard(os.Stdin, os.Stderr, runID, folders...))
func RunGuard(stdin io.Reader, stderr io.Writer, runID string, folders ...string) int {
	_, _ = io.Copy(io.Discard, bufio.NewReader(stdin))
	code := 0
	if runID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupLimit)
		defer cancel()
		s, err := harness.Sweep(ctx, harness.Marker{ID: runID}, harness.Snapshot{})
		for _, p := range s.Killed {
			fmt.Fprintf(stderr, "leakgate guard: the gate of run %s is gone: killed %s\n", runID, p)
		}
		if err != nil {
			fmt.Fprintf(stderr, "leakgate guard: %v\n", err)
			code = 1
		}
	}
	for _, f := range folders {
		if ownedtemp.Is(f, folderKinds...) {
			os.RemoveAll(f)
		}
	}
	return code
}

// personasIn lists the persona links in dir ("" gives none).
func personasIn(dir string) []string {
	out := []string{}
	if dir == "" {
		return out
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
