package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
	for _, args := range [][]string{nil, {"nope"}, {"summary"}, {"sweep"}, {"sweep", ""}, {"summary", "-x", "r.json"}} {
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

	// Two reports (shards) merged; the HTML page and the findings written.
	other := filepath.Join(dir, "shard2.json")
	suites[0].SpecReports[0].LeafNodeText = "another cell"
	suites[0].SpecReports[0].LeafNodeLabels = []string{"fault:stall", "policy:killgroup", "config:s3"}
	data, _ = json.Marshal(suites)
	os.WriteFile(other, data, 0o644)
	page, findings := filepath.Join(dir, "out", "index.html"), filepath.Join(dir, "out", "FINDINGS.md")
	code, out, stderr = leakgate("summary", "-html", page, "-findings", findings, report, other)
	if code != 0 {
		t.Fatalf("two reports: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "| stall | ✓ 3/0/0/1 · 40 | ✓ 3/0/0/1 · 40 |") || !strings.Contains(out, "2 specs: 2 passed") {
		t.Errorf("merged summary lacks both cells:\n%s", out)
	}
	if html, err := os.ReadFile(page); err != nil || !strings.Contains(string(html), `data-family="restore"`) {
		t.Errorf("-html: %v\n%.300s", err, html)
	}
	if md, err := os.ReadFile(findings); err != nil || !strings.Contains(string(md), "# Findings") {
		t.Errorf("-findings: %v\n%.300s", err, md)
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

// TestSweep: sweep names one run, at a component boundary, lists what it
// matches first, and with -dry-run signals nothing.
func TestSweep(t *testing.T) {
	start := func(r harness.Marker) (*exec.Cmd, chan error) {
		cmd := exec.Command("sleep", "300")
		cmd.Env = append(os.Environ(), r.Env())
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }() // reap it as soon as sweep ends it
		t.Cleanup(func() {
			cmd.Process.Kill()
			select { // already taken by the spec if it checked how it ended
			case <-waited:
			case <-time.After(10 * time.Second):
			}
		})
		return cmd, waited
	}
	r1, r2 := harness.NewMarker("sweep-test"), harness.NewMarker("sweep-test")
	c1, w1 := start(r1)
	c2, _ := start(r2)
	for _, tc := range []struct {
		arg, want string
	}{
		{harness.ProcessMarker(), "names 2 runs"},                          // both runs of this process
		{harness.ProcessMarker()[:3], "ends inside a run id"},              // "lgx": not a boundary
		{strings.TrimSuffix(r1.ID, "sweep-test") + "sweep", "ends inside"}, // cut inside the last component
	} {
		if code, _, stderr := leakgate("sweep", tc.arg); code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("sweep %q: exit %d, stderr %q; want 2 and %q", tc.arg, code, stderr, tc.want)
		}
	}
	code, out, stderr := leakgate("sweep", "-dry-run", r1.ID)
	if code != 0 || !strings.Contains(out, "would end 1 processes") || !strings.Contains(out, fmt.Sprintf("pid %d ", c1.Process.Pid)) {
		t.Errorf("dry run: exit %d, out %q, stderr %q", code, out, stderr)
	}
	// A prefix that ends at a boundary and names one run: r1 without its
	// last component.
	prefix := strings.TrimSuffix(r1.ID, "sweep-test")
	code, out, stderr = leakgate("sweep", prefix)
	if code != 0 || !strings.Contains(out, "will end 1 processes") || !strings.Contains(out, "ended after SIGTERM: 1") {
		t.Fatalf("sweep %s: exit %d, out %q, stderr %q", prefix, code, out, stderr)
	}
	if err := <-w1; err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("r1's sleep ended with %v, want terminated by SIGTERM", err)
	}
	if err := c2.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("r2's sleep was touched: %v", err)
	}
}
