package gate

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leakgate/leakgate/fakecli/fakeenv"
	"github.com/leakgate/leakgate/gate/selfreport"
	"github.com/leakgate/leakgate/harness"
)

func TestConfigDefaultsAndErrors(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.txt")
	os.WriteFile(plan, []byte("# ok\nstall fro=1s\n"), 0o644)
	for _, tc := range []struct {
		name string
		c    Config
		want string // "" = valid
	}{
		{"no command", Config{}, "no command"},
		{"empty command", Config{Args: []string{""}}, "no command"},
		{"negative settle", Config{Args: []string{"true"}, Settle: -time.Second}, "settle -1s is negative"},
		{"bad faults", Config{Args: []string{"true"}, Faults: "stal on=x"}, `faults:1:1: unknown fault "stal"`},
		{"bad plan", Config{Args: []string{"true"}, FaultPlan: plan}, "plan.txt:2:7"},
		{"missing plan", Config{Args: []string{"true"}, FaultPlan: filepath.Join(dir, "nope")}, "nope"},
		{"bucket not a folder", Config{Args: []string{"true"}, Bucket: plan}, "bucket " + plan + " is not a folder"},
		{"faults too big for the environment", Config{Args: []string{"true"}, Faults: "stall on=*x\n# " + strings.Repeat("x", 140<<10)},
			"--faults: LEAKGATE_FAULTS=… is 143390 bytes, over the 131071 bytes one environment variable may hold (Linux MAX_ARG_STRLEN, name and = included); put the rules in a file and pass that with --fault-plan FILE"},
		{"valid", Config{Args: []string{"true"}, Bucket: dir, Faults: "stall on=*x"}, ""},
	} {
		got, err := tc.c.withDefaults()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v; want ErrConfig containing %q", tc.name, err, tc.want)
		case tc.want == "":
			if got.Settle != DefaultSettle || got.Every != DefaultEvery || got.FDQuiet != DefaultFDQuiet || got.Env == nil {
				t.Errorf("%s: defaults not filled: %+v", tc.name, got)
			}
		}
	}
}

func TestCommandEnv(t *testing.T) {
	c := Config{
		Env: []string{
			"HOME=/home/x", "PATH=/usr/bin:/bin", harness.MarkerEnv + "=outer/1.2.spec",
			harness.ReapedEnv + "=lgabc", fakeenv.Journal + "=/old/journal", fakeenv.Faults + "=stall",
			fakeenv.Bucket + "=/old/bucket", selfreport.Env + "=/old/self",
		},
		PersonaDir: "/p", Bucket: "/b",
	}
	run := harness.Marker{ID: "outer/1.2.spec/gate.9.1."}
	env := commandEnv(c, run, "/j/journal.jsonl", "/j/self.jsonl")
	want := []string{
		"HOME=/home/x", fakeenv.Faults + "=stall",
		"PATH=/p:/usr/bin:/bin", fakeenv.Bucket + "=/b",
		fakeenv.Journal + "=/j/journal.jsonl", selfreport.Env + "=/j/self.jsonl",
		harness.MarkerEnv + "=outer/1.2.spec/gate.9.1.",
	}
	if !slices.Equal(env, want) {
		t.Errorf("env:\n got %q\nwant %q", env, want)
	}
}

func TestRunFor(t *testing.T) {
	a, b := runFor([]string{harness.MarkerEnv + "=outer/1.2.spec"}), runFor([]string{harness.MarkerEnv + "=outer/1.2.spec"})
	for _, r := range []harness.Marker{a, b} {
		if !strings.HasPrefix(r.ID, "outer/1.2.spec/gate.") || !strings.HasSuffix(r.ID, ".") {
			t.Errorf("nested run %q: want outer/1.2.spec/gate.<pid>.<n>.", r.ID)
		}
	}
	if a.ID == b.ID || strings.HasPrefix(a.ID, b.ID) || strings.HasPrefix(b.ID, a.ID) {
		t.Errorf("nested runs %q and %q: one is a prefix of the other", a.ID, b.ID)
	}
	if fresh := runFor([]string{"HOME=/"}); !strings.HasPrefix(fresh.ID, harness.ProcessMarker()) {
		t.Errorf("fresh run %q does not start with this process's marker %q", fresh.ID, harness.ProcessMarker())
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	personas := filepath.Join(dir, "personas")
	os.Mkdir(personas, 0o755)
	os.WriteFile(filepath.Join(personas, "aws"), []byte("#!/bin/sh\n"), 0o755)
	env := []string{"PATH=" + personas + ":/usr/bin:/bin"}
	if got, err := lookPath("aws", env); err != nil || got != filepath.Join(personas, "aws") {
		t.Errorf("lookPath(aws) = %q, %v", got, err)
	}
	if got, err := lookPath("./x/y", env); err != nil || got != "./x/y" {
		t.Errorf("lookPath(./x/y) = %q, %v", got, err)
	}
	if _, err := lookPath("no-such-command-xyz", env); !errors.Is(err, ErrStart) {
		t.Errorf("lookPath(missing) = %v, want ErrStart", err)
	}
}
