package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
)

// These tests run the built restore binary (restoreBin, built by TestMain)
// against a local-folder config whose commands stall on demand, and signal
// it.

// restoreBin is the path of the restore binary TestMain built.
var restoreBin string

// buildRestoreBin builds this command into a temp dir and sets restoreBin;
// the returned func removes it.
func buildRestoreBin() (func(), error) {
	dir, err := os.MkdirTemp("", "restore-bin-")
	if err != nil {
		return nil, err
	}
	restoreBin = filepath.Join(dir, "restore")
	if out, err := exec.Command("go", "build", "-o", restoreBin, ".").CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("go build -o %s .: %w\n%s", restoreBin, err, out)
	}
	return func() { _ = os.RemoveAll(dir) }, nil
}

// stallConfig is folderConfig with two hooks: a read whose handle matches
// the glob $STALL_READS runs `sleep 300` first (a hung download: bash with a
// sleeping child), and list_metadata_files does the same when
// $STALL_LIST=y. With $STALL_LIST=zombie, list_metadata_files leaves a
// process in its group whose parent (in a group of its own) never reaps
// it: killed, it stays a zombie member, and a killgroup close waits its
// full wait delay (5s) for the group to empty.
const stallConfig = `env_vars:
  - {key: FOLDER, value: %q}
commands:
  create_backup: 'cd "$FOLDER" && mkdir "$BACKUP_NAME" && echo "$BACKUP_NAME"'
  create_for_write: 'cd "$FOLDER/$BACKUP_HANDLE" && echo "$BACKUP_HANDLE/$FILE_NAME" && exec >&- && gzip -c > "$FILE_NAME"'
  open_for_read: 'case "$FILE_HANDLE" in ${STALL_READS:-/}) sleep 300;; esac; cat "$FOLDER/$FILE_HANDLE" | gzip -cd'
  save_metadata_line: 'cd "$FOLDER" && mkdir -p metadata && echo "metadata/$FILE_NAME" && exec >&- && gzip -c > "metadata/$FILE_NAME"'
  list_metadata_files: 'case "${STALL_LIST:-}" in y) sleep 300;; zombie) perl -e "\$pg = getpgrp(); setpgrp(0, 0); if (!fork) { setpgrp(0, \$pg); sleep 300; exit } sleep 300";; esac; cd "$FOLDER" && (test -d metadata && cd metadata && ls -1 || exec) | while read f; do echo "metadata/$f"; done'
`

// inFlight is --concurrent-downloads in these tests: this many chunk reads
// stall at once.
const inFlight = 2

// stallStore writes stallConfig over a fresh folder holding a small backup.
func stallStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "stall.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, stallConfig, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd("make-backup", "--command-adapter-config", cfg, "--cleanup-policy", "killgroup",
		"--manifests", "4", "--chunks", "2", "--records", "3", "--record-size", "1024"); code != 0 {
		t.Fatalf("make-backup: exit %d\n%s", code, stderr)
	}
	return cfg
}

// binRun is one run of the restore binary.
type binRun struct {
	run    harness.Marker
	cmd    *exec.Cmd
	stderr string // path of its stderr log
	done   chan struct{}
	before harness.Snapshot
}

// startBin starts restoreBin with args, the run marker and env in its
// environment, and registers a cleanup that kills it if it is still running,
// waits for it, and kills and reaps whatever the run left.
func startBin(t *testing.T, env []string, args ...string) *binRun {
	t.Helper()
	return startBinIn(t, "", env, args...)
}

// startBinIn is startBin with the binary's working directory dir ("": ours).
func startBinIn(t *testing.T, dir string, env []string, args ...string) *binRun {
	t.Helper()
	return startBinCmd(t, dir, restoreBin, env, args...)
}

// startBinCmd is startBin for another program (e.g. bash wrapping the
// binary in a resource limit), with the same marker and cleanup.
func startBinCmd(t *testing.T, dir, prog string, env []string, args ...string) *binRun {
	t.Helper()
	b := &binRun{run: harness.NewMarker(t.Name()), stderr: filepath.Join(t.TempDir(), "stderr.log"), done: make(chan struct{})}
	var err error
	if b.before, err = harness.Take(harness.WithMarker(b.run.ID)); err != nil {
		t.Fatal(err)
	}
	errFile, err := os.Create(b.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	b.cmd = exec.Command(prog, args...)
	// Its own TMPDIR, removed with the test: a bin/restore killed (or
	// stopped by a second signal) mid-restore cannot remove its temporary
	// metadata cache itself.
	b.cmd.Env = append(append(os.Environ(), b.run.Env(), "TMPDIR="+t.TempDir()), env...)
	b.cmd.Stderr = errFile
	b.cmd.Dir = dir
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Kill()
			<-b.done
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := harness.Sweep(ctx, b.run, b.before); err != nil {
			t.Error(err)
		}
	})
	return b
}

// log is what the binary wrote to stderr so far.
func (b *binRun) log() string {
	data, _ := os.ReadFile(b.stderr)
	return string(data)
}

// wait waits for the binary to exit, failing the test after deadline.
func (b *binRun) wait(t *testing.T) *os.ProcessState {
	t.Helper()
	select {
	case <-b.done:
		return b.cmd.ProcessState
	case <-time.After(pollDeadline):
		t.Fatalf("restore did not exit within %v; stderr:\n%s", pollDeadline, b.log())
		return nil
	}
}

// pollDeadline bounds every wait in these tests: a failure bound, not a
// timing target.
const pollDeadline = 30 * time.Second

// survivors counts, by command name, the live (not zombie) processes
// carrying the run's marker other than the binary itself, wherever they
// are.
func (b *binRun) survivors(t *testing.T) map[string]int {
	t.Helper()
	snap, err := harness.Take(harness.WithMarker(b.run.ID))
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, p := range append(snap.Descendants, snap.Escaped...) {
		if p.Marker == b.run.ID && p.State != "Z" && int(p.Pid) != b.cmd.Process.Pid {
			n[p.Name]++
		}
	}
	return n
}

// waitUntil polls cond (internal/poll) until it returns "" or pollDeadline
// passes; then it fails with cond's last description.
func waitUntil(t *testing.T, what string, cond func() string) {
	t.Helper()
	var msg string
	if !poll.Until(context.Background(), pollDeadline, func() bool { msg = cond(); return msg == "" }) {
		t.Fatalf("waiting for %s: %s", what, msg)
	}
}

// waitSleeping waits until n stalled commands (sleep) of the run are alive.
func (b *binRun) waitSleeping(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d stalled reads in flight", n), func() string {
		if got := b.survivors(t)["sleep"]; got != n {
			return fmt.Sprintf("%d sleeping; stderr:\n%s", got, b.log())
		}
		return ""
	})
}

func bootstrapArgs(cfg, policy string, extra ...string) []string {
	return append([]string{"bootstrap-db", "--command-adapter-config", cfg, "--cleanup-policy", policy,
		"--concurrent-downloads", fmt.Sprint(inFlight)}, extra...)
}

// TestSignalStopsRestore: the first SIGINT or SIGTERM cancels the restore,
// which closes every reader in flight per policy and exits 128+n with a
// message naming the signal. Under killgroup nothing it started survives;
// under drop each stalled read lives on (docs/backup-cli.md#drop: a
// stalled child never exits).
func TestSignalStopsRestore(t *testing.T) {
	cfg := stallStore(t)
	for _, tc := range []struct {
		sig    syscall.Signal
		policy string
		code   int
		left   map[string]int // live tagged processes after the exit
	}{
		{syscall.SIGINT, "killgroup", 130, map[string]int{}},
		{syscall.SIGTERM, "killgroup", 143, map[string]int{}},
		{syscall.SIGTERM, "drop", 143, map[string]int{"bash": inFlight, "sleep": inFlight}},
	} {
		name := signalName(tc.sig)
		t.Run(name+"/"+tc.policy, func(t *testing.T) {
			b := startBin(t, []string{"STALL_READS=*.chunk"}, bootstrapArgs(cfg, tc.policy)...)
			b.waitSleeping(t, inFlight)
			if err := b.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			st := b.wait(t)
			log := b.log()
			if st.ExitCode() != tc.code {
				t.Errorf("exit %v, want %d; stderr:\n%s", st, tc.code, log)
			}
			for _, want := range []string{
				"restore: received " + name + ": stopping",
				fmt.Sprintf("restore: stopped by %s (exit %d): restore: context canceled", name, tc.code),
			} {
				if !strings.Contains(log, want) {
					t.Errorf("stderr lacks %q:\n%s", want, log)
				}
			}
			if got := b.survivors(t); !equalCounts(got, tc.left) {
				t.Errorf("after the exit, live processes of the run: %v, want %v", got, tc.left)
			}
		})
	}
}

// TestSecondSignalKillsAtOnce: a second SIGTERM while the first one's stop
// cannot proceed kills the process by the signal's default action. The
// stop is stuck here because the first signal's killgroup cleanup of
// list_metadata_files waits for a zombie member of its group
// (STALL_LIST=zombie) for its 5s wait delay.
func TestSecondSignalKillsAtOnce(t *testing.T) {
	cfg := stallStore(t)
	b := startBin(t, []string{"STALL_LIST=zombie"}, bootstrapArgs(cfg, "killgroup")...)
	waitUntil(t, "list_metadata_files's two perl processes", func() string {
		if got := b.survivors(t)["perl"]; got != 2 {
			return fmt.Sprintf("%d perl processes; stderr:\n%s", got, b.log())
		}
		return ""
	})
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the first signal's message", func() string {
		if log := b.log(); !strings.Contains(log, "received SIGTERM: stopping") {
			return "stderr so far:\n" + log
		}
		return ""
	})
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("second SIGTERM: %v (did the first one end the process? stderr:\n%s)", err, b.log())
	}
	st := b.wait(t)
	ws, _ := st.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("ended with %v, want killed by SIGTERM; stderr:\n%s", st, b.log())
	}
	if log := b.log(); strings.Contains(log, "stopped by") {
		t.Errorf("the second signal let the command finish its stop:\n%s", log)
	}

	// Killed at once, it could not remove its temporary metadata cache:
	// the next bin/restore in the same TMPDIR does (its owner is dead).
	tmp := ""
	for _, kv := range b.cmd.Env {
		if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok {
			tmp = v // the last one counts
		}
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "leakgate-metadata-*"))
	if len(left) != 1 {
		t.Fatalf("want the killed run's one temporary metadata cache in %s, found %v", tmp, left)
	}
	next := startBin(t, []string{"TMPDIR=" + tmp}, bootstrapArgs(cfg, "killgroup")...)
	if st := next.wait(t); !st.Success() {
		t.Fatalf("the next restore: %v; stderr:\n%s", st, next.log())
	}
	if _, err := os.Stat(left[0]); !os.IsNotExist(err) {
		t.Errorf("the next restore left the dead run's %s in place (%v)", left[0], err)
	}
}

// TestSIGKILLSurvivors: SIGKILL runs no cleanup, so the stalled reads
// survive even under killgroup; --pdeathsig takes bash with it but not
// bash's child (here sleep, in a real config the storage CLI and gzip);
// --guard kills them all.
func TestSIGKILLSurvivors(t *testing.T) {
	cfg := stallStore(t)
	for _, tc := range []struct {
		option string
		left   map[string]int
	}{
		{"", map[string]int{"bash": inFlight, "sleep": inFlight}},
		{"--pdeathsig", map[string]int{"sleep": inFlight}},
		{"--guard", map[string]int{}},
	} {
		t.Run("option="+tc.option, func(t *testing.T) {
			var extra []string
			if tc.option != "" {
				extra = append(extra, tc.option)
			}
			b := startBin(t, []string{"STALL_READS=*.chunk"}, bootstrapArgs(cfg, "killgroup", extra...)...)
			b.waitSleeping(t, inFlight)
			if err := b.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			st := b.wait(t)
			if ws, _ := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("ended with %v, want killed by SIGKILL", st)
			}
			// What dies, dies at once (the kernel's parent-death signal, the
			// guard's sweep); what survives is stalled for 300s.
			waitUntil(t, fmt.Sprintf("survivors %v", tc.left), func() string {
				if got := b.survivors(t); !equalCounts(got, tc.left) {
					return fmt.Sprintf("live processes of the run: %v, want %v; stderr:\n%s", got, tc.left, b.log())
				}
				return ""
			})
			if tc.option == "--guard" && !strings.Contains(b.log(), fmt.Sprintf("killed %d processes it started and left running", 2*inFlight)) {
				t.Errorf("the guard did not report its sweep:\n%s", b.log())
			}
		})
	}
}

// TestRunExitCodeForSignal: run maps a context cancelled by a signal to
// 128+n and names the signal, whatever the command's own outcome.
func TestRunExitCodeForSignal(t *testing.T) {
	cfg := folderConfig(t)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGINT, 130},
		{syscall.SIGTERM, 143},
	} {
		t.Run(signalName(tc.sig), func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(&signalError{tc.sig})
			var out, errOut strings.Builder
			code := run(ctx, []string{"bootstrap-db", "--command-adapter-config", cfg}, &out, &errOut)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut.String())
			}
			if want := "stopped by " + signalName(tc.sig); !strings.Contains(errOut.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
			}
		})
	}
	// A context cancelled for another reason is an ordinary failure.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut strings.Builder
	if code := run(ctx, []string{"bootstrap-db", "--command-adapter-config", cfg}, &out, &errOut); code != 1 {
		t.Errorf("plain cancel: exit %d, want 1; stderr:\n%s", code, errOut.String())
	}
}

// TestGuardRejectsBadArguments: the internal guard command checks its
// arguments before waiting on stdin.
func TestGuardRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{{"guard"}, {"guard", "nothex", "1"}, {"guard", strings.Repeat("a", 32)}} {
		code, _, stderr := runCmd(args...)
		if code != 2 || !strings.Contains(stderr, "internal command, started by --guard") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and the guard's usage", args, code, stderr)
		}
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
