package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
)

// syncBuffer is a strings.Builder safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startGate starts `leakgate run --json FILE -- ARGS` (its stderr to
// stderr, if not nil) with its own TMPDIR
// and an outer run marker, and waits until the command has started a
// process named ready. It returns the gate, the outer marker (every
// process of the run carries it) and the JSON report's path.
func startGate(t *testing.T, stderr io.Writer, ready string, args ...string) (*exec.Cmd, harness.Marker, string) {
	t.Helper()
	outer := harness.NewMarker(t.Name())
	tmp := t.TempDir()
	jsonPath := filepath.Join(tmp, "report.json")
	cmd := exec.Command(bin(t, "leakgate"), append([]string{"run", "--json", jsonPath, "--"}, args...)...)
	cmd.Env = append(os.Environ(), outer.Env(), "TMPDIR="+tmp)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := harness.Sweep(ctx, outer, harness.Snapshot{}); err != nil {
			t.Error(err)
		}
	})
	if !poll.Until(context.Background(), 30*time.Second, func() bool { return tagged(outer, ready) }) {
		t.Fatalf("the command did not start %s within 30s", ready)
	}
	return cmd, outer, jsonPath
}

// tagged reports whether a live process named name (any, if "") carries
// run's marker.
func tagged(run harness.Marker, name string) bool {
	snap, err := harness.Take(harness.WithMarker(run.ID))
	if err != nil {
		return true
	}
	for _, p := range append(snap.Descendants, snap.Escaped...) {
		if strings.HasPrefix(p.Marker, run.ID) && p.State != "Z" && (name == "" || p.Name == name) {
			return true
		}
	}
	return false
}

// waitExit waits up to limit for cmd to exit and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var xe *exec.ExitError
		if err != nil && !errors.As(err, &xe) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("leakgate did not exit within %v", limit)
		return -1
	}
}

// A command that ignores SIGINT and SIGTERM: the first signal is passed
// on and changes nothing; the second kills the command's tree at once.
// The gate exits, writes its report, and nothing of the run is left.
func TestSecondSignalKillsTheTree(t *testing.T) {
	var stderr syncBuffer
	cmd, outer, jsonPath := startGate(t, &stderr, "sleep", "sh", "-c", `trap "" INT TERM; sleep 60 & sleep 60`)
	cmd.Process.Signal(syscall.SIGINT)
	if !poll.Until(context.Background(), 30*time.Second, func() bool { return strings.Contains(stderr.String(), "passed SIGINT on") }) {
		t.Fatalf("leakgate did not say it passed SIGINT on; stderr:\n%s", stderr.String())
	}
	if !tagged(outer, "sleep") {
		t.Fatal("the first signal ended the command; it should ignore it")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	code := waitExit(t, cmd, 30*time.Second)
	var rep gate.Report
	data, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("exit %d; report %s: %v", code, jsonPath, err)
	}
	if code != 1 || rep.Pass || rep.Status.Signal != "SIGKILL" {
		t.Errorf("exit %d, status %+v, pass %v; want exit 1, the command killed by SIGKILL", code, rep.Status, rep.Pass)
	}
	if rep.SettleMS != 0 || len(rep.Survivors) > 0 && !strings.Contains(rep.String(), "no settle window") {
		t.Errorf("after a second signal the report claims a settle window:\n%s", &rep)
	}
	if len(rep.Cleanup.Terminated) != 0 {
		t.Errorf("after a second signal the cleanup sent SIGTERM first (%v); want SIGKILL at once", rep.Cleanup.Terminated)
	}
	if tagged(outer, "") {
		t.Errorf("a process of the run outlived the gate after the second signal")
	}
}

// A SIGKILLed gate cannot clean up itself: the command dies with it
// (PDEATHSIG), its guard kills every process carrying the run's marker
// and removes the run's temporary folders.
func TestKilledGateLeavesNothing(t *testing.T) {
	cmd, outer, _ := startGate(t, nil, "sleep", "sh", "-c", `sleep 60 & sleep 60 & wait`)
	tmp := strings.TrimPrefix(cmd.Env[len(cmd.Env)-1], "TMPDIR=")
	if entries, _ := filepath.Glob(filepath.Join(tmp, "leakgate-*")); len(entries) == 0 {
		t.Fatalf("no leakgate-* folder in %s while the gate runs: the test does not look where the gate writes", tmp)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	waitExit(t, cmd, 30*time.Second)
	if !poll.Until(context.Background(), 30*time.Second, func() bool { return !tagged(outer, "") }) {
		t.Errorf("processes of the run outlived the SIGKILLed gate by 30s")
	}
	if !poll.Until(context.Background(), 30*time.Second, func() bool {
		left, _ := filepath.Glob(filepath.Join(tmp, "leakgate-*"))
		return len(left) == 0
	}) {
		left, _ := filepath.Glob(filepath.Join(tmp, "leakgate-*"))
		t.Errorf("the SIGKILLed gate's folders stayed: %v", left)
	}
}
