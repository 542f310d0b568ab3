package gate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.RunReaped(m.Run)) }

// gateRun runs c under the gate with short windows, and checks that the
// gate left nothing behind in this process's tree.
func gateRun(t *testing.T, c Config) *Report {
	t.Helper()
	before, err := harness.Take()
	if err != nil {
		t.Fatal(err)
	}
	if c.Settle == 0 {
		c.Settle = 300 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, c)
	if err != nil {
		t.Fatalf("gate.Run(%q): %v", c.Args, err)
	}
	harness.VerifyNone(t, before)
	return rep
}

func TestRunUntaggedSurvivor(t *testing.T) {
	// env -i drops the marker: the gate still sees the orphan (its child
	// now) and kills it.
	rep := gateRun(t, Config{Args: []string{"sh", "-c", "env -i /bin/sleep 60 & echo $! > " + filepath.Join(t.TempDir(), "pid")}})
	if rep.Pass || len(rep.Survivors) != 1 || len(rep.Escaped) != 0 {
		t.Fatalf("want one survivor:\n%s", rep)
	}
	s := rep.Survivors[0]
	if s.Name != "sleep" || s.State == "Z" || s.Marker != "" || s.PPid != os.Getpid() {
		t.Errorf("survivor %+v: want a live untagged sleep, orphaned to the gate (pid %d)", s, os.Getpid())
	}
	if len(rep.Cleanup.Terminated) != 1 || rep.Cleanup.Terminated[0] != s.Pid || len(rep.Cleanup.Killed) != 0 || s.Ended != EndedTerm {
		t.Errorf("cleanup terminated %v, killed %v, survivor ended %q; want [%d] ended by SIGTERM", rep.Cleanup.Terminated, rep.Cleanup.Killed, s.Ended, s.Pid)
	}
}

// A leftover that ignores SIGTERM gets SIGKILL after the grace, and the
// report says which needed which: the daemon that exits on SIGTERM is
// listed as terminated, the stubborn one as killed.
func TestRunCleanupEscalates(t *testing.T) {
	dir := t.TempDir()
	script := `(trap "" TERM; echo ready > ` + filepath.Join(dir, "stubborn") + `; exec sleep 60) & ` +
		`sleep 60 & ` +
		`while [ ! -s ` + filepath.Join(dir, "stubborn") + ` ]; do :; done`
	rep := gateRun(t, Config{Args: []string{"sh", "-c", script}})
	if rep.Pass || len(rep.Survivors) != 2 {
		t.Fatalf("want two survivors:\n%s", rep)
	}
	if len(rep.Cleanup.Terminated) != 1 || len(rep.Cleanup.Killed) != 1 {
		t.Fatalf("cleanup terminated %v, killed %v; want one of each:\n%s", rep.Cleanup.Terminated, rep.Cleanup.Killed, rep)
	}
	for _, s := range rep.Survivors {
		want := EndedTerm
		if s.Pid == rep.Cleanup.Killed[0] {
			want = EndedKill
		}
		if s.Ended != want {
			t.Errorf("survivor pid %d ended %q, want %q:\n%s", s.Pid, s.Ended, want, rep)
		}
	}
	if !strings.Contains(rep.String(), "1 ended after SIGTERM, 1 needed SIGKILL") {
		t.Errorf("the report does not say which needed SIGKILL:\n%s", rep)
	}
}

func TestRunTimeout(t *testing.T) {
	rep := gateRun(t, Config{Args: []string{"sleep", "60"}, Timeout: 200 * time.Millisecond})
	if rep.Pass || !rep.Status.TimedOut || rep.Status.Signal != "SIGKILL" || rep.FDs.Judged {
		t.Errorf("want a failed gate, timed out, killed by SIGKILL, fds not judged:\n%s", rep)
	}
	if !strings.Contains(rep.String(), "timed out after") {
		t.Errorf("report does not say it timed out:\n%s", rep)
	}
}

func TestRunStatus(t *testing.T) {
	for _, require := range []bool{false, true} {
		rep := gateRun(t, Config{Args: []string{"sh", "-c", "exit 3"}, RequireSuccess: require})
		if rep.Status.Code != 3 || rep.Pass == require {
			t.Errorf("require %v: status %+v, pass %v:\n%s", require, rep.Status, rep.Pass, rep)
		}
	}
}

func TestRunStartErrors(t *testing.T) {
	for _, args := range [][]string{{"no-such-command-xyz"}, {"/no/such/file"}} {
		_, err := Run(context.Background(), Config{Args: args})
		if !errors.Is(err, ErrStart) {
			t.Errorf("Run(%q) = %v, want ErrStart", args, err)
		}
	}
	if _, err := Run(context.Background(), Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("Run(no args) = %v, want ErrConfig", err)
	}
}

// TestRunEnvironment checks the command's world: the variables the gate
// sets, the nested marker, and a self-report written by a shell.
func TestRunEnvironment(t *testing.T) {
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	personas := filepath.Join(dir, "personas")
	os.Mkdir(personas, 0o755)
	script := `echo "run=$LEAKGATE_RUN"; echo "bucket=$LEAKGATE_BUCKET"; echo "faults=$LEAKGATE_FAULTS"; echo "journal=$LEAKGATE_JOURNAL"; ` +
		`echo "reaped=${LEAKGATE_REAPED-unset}"; echo "path=$PATH"; ` +
		`echo '{"kind":"cache","detail":"3 entries never freed"}' >> "$LEAKGATE_SELF_REPORT"`
	env := append(os.Environ(), harness.MarkerEnv+"=outer/7.1.spec")
	rep := gateRun(t, Config{
		Args: []string{"sh", "-c", script}, Env: env, PersonaDir: personas, Bucket: dir,
		Faults: "stall on=*x", Journal: filepath.Join(dir, "journal.jsonl"), Stdout: out,
	})
	got, _ := os.ReadFile(out.Name())
	for _, want := range []string{
		"run=outer/7.1.spec/gate.", "bucket=" + dir + "\n", "faults=stall on=*x\n",
		"journal=" + filepath.Join(dir, "journal.jsonl") + "\n", "reaped=unset\n", "path=" + personas + ":",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the command's environment lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasPrefix(rep.Run, "outer/7.1.spec/gate.") {
		t.Errorf("run %q is not nested under the outer marker", rep.Run)
	}
	if rep.Pass || len(rep.SelfReported) != 1 || rep.SelfReported[0].Kind != "cache" {
		t.Errorf("want the self-reported leak:\n%s", rep)
	}
	if !rep.Journal.Kept || rep.Journal.Path != filepath.Join(dir, "journal.jsonl") {
		t.Errorf("journal %+v: want the given path, kept", rep.Journal)
	}
}

// TestRunDeadOrphansAreReaped: a process group killed at once (as the
// killgroup policy does) sends its dead grandchild to the gate, which reaps
// it as init would: not a leak.
func TestRunDeadOrphansAreReaped(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pid")
	// Like the killgroup policy, the command waits until the killed group
	// is gone, which takes the gate reaping the grandchild.
	script := `setsid sh -c 'sleep 60 & echo $! > "$0"; wait' "$1" &
pg=$!
while [ ! -s "$1" ]; do sleep 0.01; done
g=$(cat "$1")
kill -KILL -- -$pg
wait $pg
while kill -0 $g 2>/dev/null; do sleep 0.01; done`
	rep := gateRun(t, Config{Args: []string{"bash", "-c", script, "bash", f}, Timeout: 20 * time.Second})
	if !rep.Pass || rep.OrphansReaped != 1 || len(rep.Escaped) != 0 {
		t.Errorf("want a pass with 1 dead orphan reaped:\n%s", rep)
	}
}

// TestRunEscapedThenDied: an orphan alive outside the command's tree is a
// leak even if it dies (and the gate reaps it) before the command exits.
func TestRunEscapedThenDied(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pid")
	// The orphan runs for a second outside the command's tree (the gate
	// samples every 25ms), then the command kills it and waits until the
	// gate has reaped it.
	script := `sh -c 'sleep 60 & echo $! > "$0"' "$1"
g=$(cat "$1")
sleep 1
kill $g
while kill -0 $g 2>/dev/null; do sleep 0.01; done`
	rep := gateRun(t, Config{Args: []string{"bash", "-c", script, "bash", f}, Timeout: 20 * time.Second})
	data, _ := os.ReadFile(f)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if rep.Pass || len(rep.Escaped) != 1 || rep.Escaped[0].Pid != pid || !rep.Escaped[0].Reaped || rep.Escaped[0].State != "X" {
		t.Fatalf("want sleep (pid %d) escaped, then reaped:\n%s", pid, rep)
	}
	if !strings.Contains(rep.Escaped[0].Text, "judged dead") || rep.Escaped[0].Ended != EndedDuringRun || rep.Escaped[0].Name != "sleep" {
		t.Errorf("escaped %+v", rep.Escaped[0])
	}
}
