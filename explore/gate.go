package explore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/leakgate/leakgate/journal"
)

// Tools are the binaries explore drives: leakgate (whose `run` is the gate)
// and fakecli (linked as the storage CLIs' personas).
//
//	t := explore.Tools{Leakgate: "bin/leakgate", Fakecli: "bin/fakecli"}
type Tools struct {
	Leakgate, Fakecli string
	// Env is laid over the gate's environment (e.g. LEAKGATE_STALL_CAP, a
	// seeded defect's switch); fault variables of explore's own
	// environment are never passed on.
	Env []string
}

// gated is one command to run under the gate.
type gated struct {
	args    []string
	bucket  string
	faults  string // fault spec text; "" for none
	dir     string // where gate.json, journal.jsonl and output.log go
	name    string // file name prefix in dir ("run", "resume")
	timeout time.Duration
	env     []string // laid over Tools.Env
}

// verdict is the part of the gate's JSON report explore judges.
type verdict struct {
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures"`
	Status   struct {
		Code     int    `json:"code"`
		Signal   string `json:"signal"`
		TimedOut bool   `json:"timed_out"`
	} `json:"status"`
	output  string               // the command's stdout and stderr
	journal []journal.Invocation // fakecli's journal of the run
}

// exit is the command's exit status, -1 for a signal.
func (v verdict) exit() int {
	if v.Status.Signal != "" {
		return -1
	}
	return v.Status.Code
}

// leakSettle is the gate's settle window for explore's runs: long enough
// for a killed group to be reaped, short enough to keep runs fast.
const leakSettle = 500 * time.Millisecond

// gate runs g under `leakgate run --json` and reads its verdict. This is
// explore's one use of the gate: it goes through the leakgate binary, so
// the gate's internals stay its own.
func (t Tools) gate(ctx context.Context, g gated) (verdict, error) {
	var v verdict
	report := filepath.Join(g.dir, g.name+"-gate.json")
	jpath := filepath.Join(g.dir, g.name+"-journal.jsonl")
	out := filepath.Join(g.dir, g.name+"-output.log")
	args := []string{"run", "--json", report, "--journal", jpath, "--command-output", out,
		"--settle", leakSettle.String(), "--bucket", g.bucket}
	if t.Fakecli != "" {
		args = append(args, "--fakecli", t.Fakecli)
	}
	if g.timeout > 0 {
		args = append(args, "--timeout", g.timeout.String())
	}
	if g.faults != "" {
		args = append(args, "--faults", g.faults)
	}
	cmd := exec.CommandContext(ctx, t.Leakgate, append(append(args, "--"), g.args...)...)
	cmd.Env = append(t.environ(), g.env...)
	human, err := cmd.CombinedOutput()
	// leakgate run exits 1 when the gate fails: a verdict, not an error.
	var xe *exec.ExitError
	if err != nil && !(errors.As(err, &xe) && xe.ExitCode() == 1) {
		return v, fmt.Errorf("leakgate run %s: %w\n%s", strings.Join(g.args, " "), err, human)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		return v, fmt.Errorf("leakgate run: read its report: %w", err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("leakgate run: report %s: %w", report, err)
	}
	if b, err := os.ReadFile(out); err == nil {
		v.output = string(b)
	}
	v.journal, _ = journal.Read(jpath) // a run killed early may leave none
	return v, nil
}

// faultEnv are the variables of explore's own environment that would
// change what fakecli does: never passed on.
var faultEnv = []string{"LEAKGATE_FAULTS", "LEAKGATE_FAULT_PLAN", "LEAKGATE_BUCKET", "LEAKGATE_JOURNAL", EnvSeededDefect}

// environ is explore's environment without faultEnv, then t.Env.
func (t Tools) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(faultEnv, k) {
			env = append(env, kv)
		}
	}
	return append(env, t.Env...)
}

// faulted lists the handles the journal shows a fault rule hit, sorted.
func faulted(invs []journal.Invocation) []string {
	var hs []string
	for _, inv := range invs {
		if inv.Fault != "" && inv.Handle != "" {
			hs = append(hs, inv.Handle)
		}
	}
	return SortedHandles(hs)
}
