package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/gomega/gexec"
)

func TestExploreUsage(t *testing.T) {
	bucket := t.TempDir()
	for _, args := range [][]string{
		{"explore"},                                    // no command, no subject
		{"explore", "--", "true"},                      // no --bucket
		{"explore", "--subject", "nope"},               // unknown subject
		{"explore", "--subject", "restore", "--", "x"}, // both
		{"explore", "--shard", "3/2", "--bucket", bucket, "--", "true"},
		{"explore", "--shard", "x", "--bucket", bucket, "--", "true"},
		{"explore", "--need", "4", "--tries", "3", "--bucket", bucket, "--", "true"},
		{"explore", "--budget", "0", "--bucket", bucket, "--", "true"},
		{"explore", "--bucket", filepath.Join(bucket, "missing"), "--", "true"},
		{"explore", "--subject", "restore", "--objserver"},
		{"explore", "--bogus"},
	} {
		if code, _, stderr := leakgate(args...); code != 2 || !strings.Contains(stderr, "explore") {
			t.Errorf("leakgate %q: exit %d, stderr %q; want 2 and a message naming explore", args, code, stderr)
		}
	}
}

func TestParseShard(t *testing.T) {
	for in, ok := range map[string]bool{"": true, "1/1": true, "2/4": true, "0/4": false, "5/4": false, "1/0": false, "a/b": false, "3": false} {
		if _, err := parseShard(in); (err == nil) != ok {
			t.Errorf("parseShard(%q): %v, want ok=%v", in, err, ok)
		}
	}
}

// exploreBins builds leakgate, fakecli and restore into one folder.
func exploreBins(t *testing.T) (leakgateBin string, flags []string) {
	t.Helper()
	lg := bin(t, "leakgate")
	restore, err := gexec.Build("github.com/leakgate/leakgate/cmd/restore")
	if err != nil {
		t.Fatal(err)
	}
	return lg, []string{"--restore", restore, "--fakecli", bin(t, "fakecli")}
}

var planLine = regexp.MustCompile(`(?m)^run (\d+): (.*): (?:pass|[a-z-]+:).*$`)

// TestExploreSearchIsDeterministic: two searches of the same seed and runs
// check the same plans, and the restore subject passes them (no finding:
// exit 0) with the evidence folder cleaned up.
func TestExploreSearchIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs restores")
	}
	lg, binFlags := exploreBins(t)
	config, _ := filepath.Abs("../../testdata/configs/local.yaml")
	var plans [2][]string
	for i := range plans {
		out := t.TempDir()
		cmd := exec.Command(lg, append([]string{"explore", "--subject", "restore", "--config", config,
			"--seed", "1", "--runs", "3", "--manifests", "3", "--out", out, "--json", filepath.Join(out, "r.json")}, binFlags...)...)
		text, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("explore: %v\n%s", err, text)
		}
		for _, m := range planLine.FindAllStringSubmatch(string(text), -1) {
			plans[i] = append(plans[i], m[1]+": "+m[2])
		}
		slices.Sort(plans[i])
		if len(plans[i]) != 3 {
			t.Fatalf("want 3 runs, got %q in:\n%s", plans[i], text)
		}
		if _, err := os.Stat(filepath.Join(out, "r.json")); err != nil {
			t.Errorf("no --json result: %v", err)
		}
		if _, err := os.Stat(filepath.Join(out, "work")); !os.IsNotExist(err) {
			t.Errorf("the work folder is left behind: %v", err)
		}
	}
	if !slices.Equal(plans[0], plans[1]) {
		t.Errorf("the same seed and runs checked different plans:\n%q\n%q", plans[0], plans[1])
	}
}

// TestExploreReplay: a corpus entry of a seeded defect fails its replay
// with the defect switched on (exit 1) and passes without it (exit 0).
func TestExploreReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs restores")
	}
	lg, binFlags := exploreBins(t)
	entry, _ := filepath.Abs("../../testdata/explore/wrong-after-reset-retry.plan")
	config, _ := filepath.Abs("../../testdata/configs/local.yaml")
	for _, defect := range []string{"wrong-after-reset-retry", ""} {
		cmd := exec.Command(lg, append([]string{"explore", "--replay", entry, "--subject", "restore",
			"--config", config, "--manifests", "3", "--concurrency", "1", "--tries", "2", "--need", "2"}, binFlags...)...)
		cmd.Env = append(os.Environ(), "LEAKGATE_SEEDED_DEFECT="+defect)
		text, err := cmd.CombinedOutput()
		code := 0
		if xe, ok := err.(*exec.ExitError); ok {
			code = xe.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"": 0, "wrong-after-reset-retry": 1}[defect]
		if code != want || !strings.Contains(string(text), map[int]string{0: "PASS", 1: "FAIL"}[want]) {
			t.Errorf("replay with defect %q: exit %d, want %d:\n%s", defect, code, want, text)
		}
	}
}
