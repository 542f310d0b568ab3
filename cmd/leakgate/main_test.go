package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega/gexec"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/reports"
)

func TestMain(m *testing.M) {
	os.Exit(harness.RunReaped(func() int {
		code := m.Run()
		gexec.CleanupBuildArtifacts()
		return code
	}))
}

func leakgate(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"summary"}, {"summary", "a", "b"}, {"sweep"}, {"sweep", ""}, {"summary", "-x", "r.json"}} {
		if code, _, stderr := leakgate(args...); code != 2 || !strings.Contains(stderr, "usage") {
			t.Errorf("leakgate %q: exit %d, stderr %q; want 2 and the usage", args, code, stderr)
		}
	}
}

func TestSummary(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "scenarios.json")
	suites := []types.Report{{SuiteSucceeded: true, SpecReports: types.SpecReports{{
		LeafNodeType: types.NodeTypeIt, LeafNodeText: "cell", State: types.SpecStatePassed,
		LeafNodeLabels: []string{"fault:stall", "policy:drop", "config:s3"},
		ReportEntries:  types.ReportEntries{{Name: reports.EntryName, Value: types.WrapEntryValue(reports.Leaks{Children: 3, FDs: 1, Spawned: 40})}},
	}}}}
	data, _ := json.Marshal(suites)
	os.WriteFile(report, data, 0o644)
	md := filepath.Join(dir, "summary.md")
	code, out, stderr := leakgate("summary", "-o", md, report)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "| stall | ✓ 3/0/0/1 · 40 |") {
		t.Errorf("summary lacks the cell:\n%s", out)
	}
	if written, _ := os.ReadFile(md); string(written) != out {
		t.Errorf("-o file differs from stdout")
	}

	suites[0].SuiteSucceeded = false
	data, _ = json.Marshal(suites)
	os.WriteFile(report, data, 0o644)
	if code, _, _ := leakgate("summary", report); code != 1 {
		t.Errorf("failed suite: exit %d, want 1", code)
	}
	if code, _, stderr := leakgate("summary", filepath.Join(dir, "missing.json")); code != 1 || !strings.Contains(stderr, "missing.json") {
		t.Errorf("missing report: exit %d, stderr %q", code, stderr)
	}
}

func TestSweepKillsTaggedProcesses(t *testing.T) {
	r := harness.NewMarker("sweep-test")
	cmd := exec.Command("sleep", "300")
	cmd.Env = append(os.Environ(), r.Env())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }() // reap it as soon as sweep kills it

	code, out, stderr := leakgate("sweep", r.ID)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "swept 1 processes") || !strings.Contains(out, "sleep 300") {
		t.Errorf("sweep output:\n%s", out)
	}
	if err := <-waited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("sleep ended with %v, want killed", err)
	}
}
