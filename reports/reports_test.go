package reports

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

func spec(text string, state types.SpecState, leaks *Leaks, labels ...string) types.SpecReport {
	sr := types.SpecReport{
		LeafNodeType:     types.NodeTypeIt,
		LeafNodeText:     text,
		LeafNodeLabels:   labels,
		LeafNodeLocation: types.CodeLocation{FileName: "/x/scenarios/matrix_test.go", LineNumber: 42},
		State:            state,
		RunTime:          1500 * time.Millisecond,
	}
	if leaks != nil {
		sr.ReportEntries = types.ReportEntries{{Name: EntryName, Value: types.WrapEntryValue(*leaks)}}
	}
	if state == types.SpecStateFailed {
		sr.Failure = types.Failure{
			Message:  "expected no leaks since baseline (0 children, 9 fds); found 2:\n  pid 1 …",
			Location: types.CodeLocation{FileName: "/x/scenarios/matrix_test.go", LineNumber: 99},
		}
	}
	return sr
}

func writeReport(t *testing.T, suites []types.Report) string {
	t.Helper()
	data, err := json.Marshal(suites)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scenarios.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadAndSummary(t *testing.T) {
	path := writeReport(t, []types.Report{{
		SuiteSucceeded: false,
		RunTime:        83 * time.Second,
		SpecReports: types.SpecReports{
			{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed},
			spec("none drop", types.SpecStatePassed, &Leaks{Spawned: 41}, "fault:none", "policy:drop", "config:s3"),
			spec("stall drop", types.SpecStatePassed, &Leaks{Children: 3, Escaped: 0, FDs: 1, Spawned: 30}, "fault:stall", "policy:drop", "config:s3"),
			spec("stall killgroup", types.SpecStateFailed, &Leaks{Children: 2, Zombies: 1, Spawned: 30}, "fault:stall", "policy:killgroup", "config:s3"),
			spec("stall kill local", types.SpecStatePassed, &Leaks{Spawned: 12}, "fault:stall", "policy:kill", "config:local"),
			spec("audit poc abandon", types.SpecStatePassed, &Leaks{Children: 32, Zombies: 32, FDs: 96, Spawned: 32}, "audit-poc", "policy:abandon"),
			spec("no counts", types.SpecStatePassed, nil),
			spec("backup stall drop", types.SpecStatePassed, &Leaks{Children: 1, FDs: 1, Spawned: 9}, "backup", "fault:stall", "policy:drop", "config:s3"),
			spec("cancel kill guard", types.SpecStatePassed, &Leaks{Spawned: 29}, "cancel", "signal:KILL", "option:guard", "policy:kill", "config:s3"),
			spec("cancel term none", types.SpecStatePassed, &Leaks{Escaped: 16, Spawned: 29}, "cancel", "signal:TERM", "option:none", "policy:kill", "config:s3"),
		},
	}})
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.Specs), 9; got != want {
		t.Fatalf("specs: got %d, want %d", got, want)
	}
	s := r.Specs[1]
	if s.Labels["fault"] != "stall" || s.Labels["policy"] != "drop" || s.Labels["config"] != "s3" {
		t.Errorf("labels: got %v", s.Labels)
	}
	if s.Leaks == nil || *s.Leaks != (Leaks{Children: 3, FDs: 1, Spawned: 30}) {
		t.Errorf("leaks: got %+v", s.Leaks)
	}
	if r.Specs[5].Leaks != nil {
		t.Errorf("spec without entry got leaks %+v", r.Specs[5].Leaks)
	}

	sum := Summary(r)
	for _, want := range []string{
		"# leakgate scenarios: FAIL",
		"9 specs: 8 passed, 1 failed, 0 skipped; suite time 1m23s.",
		"## backup (write path), config: s3\n\n| fault \\ policy | drop |\n|---|---|\n| stall | ✓ 1/0/0/1 · 9 |\n",
		"## bin/restore stopped by a signal, config: s3\n\n| signal · option \\ policy | kill |\n|---|---|\n| TERM · none | ✓ 0/0/16/0 · 29 |\n| KILL · guard | ✓ 0/0/0/0 · 29 |\n",
		"## restore, config: local",
		"| fault \\ policy | kill |",
		"## restore, config: s3",
		"| fault \\ policy | drop | killgroup |",
		"| none | ✓ 0/0/0/0 · 41 | – |",
		"| stall | ✓ 3/0/0/1 · 30 | ✗ 2/1/0/0 · 30 |",
		"- ✓ audit poc abandon: 32/32/0/96 · 32",
		"- stall killgroup (failed) at /x/scenarios/matrix_test.go:99: expected no leaks since baseline (0 children, 9 fds); found 2:",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	// local comes before s3: configs are listed alphabetically.
	if regexp.MustCompile(`(?s)restore, config: s3.*restore, config: local`).MatchString(sum) {
		t.Errorf("configs out of order:\n%s", sum)
	}
	if strings.Contains(sum, "no counts") {
		t.Errorf("a spec without counts and without failure should not be listed:\n%s", sum)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"SpecReports": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("truncated JSON: got %v, want an error naming %s", err, bad)
	}
	if _, err := Read(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
	empty := writeReport(t, []types.Report{{SuiteSucceeded: true}})
	if _, err := Read(empty); !errors.Is(err, ErrNoSpecs) {
		t.Errorf("empty report: got %v, want ErrNoSpecs", err)
	}
	badEntry := writeReport(t, []types.Report{{SpecReports: types.SpecReports{{
		LeafNodeType: types.NodeTypeIt, LeafNodeText: "odd", State: types.SpecStatePassed,
		ReportEntries: types.ReportEntries{{Name: EntryName, Value: types.WrapEntryValue("not counts")}},
	}}}})
	if _, err := Read(badEntry); err == nil || !strings.Contains(err.Error(), `spec "odd"`) {
		t.Errorf("bad entry: got %v, want an error naming the spec", err)
	}
}

func TestMergeBench(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "bench.json")
	if err := MergeBench(path, map[string]any{"a": 1.5, "b": 2}); err != nil {
		t.Fatal(err)
	}
	if err := MergeBench(path, map[string]any{"b": 3, "c": "x"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": 1.5, "b": 3.0, "c": "x"}
	if len(got) != len(want) || got["a"] != want["a"] || got["b"] != want["b"] || got["c"] != want["c"] {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := os.WriteFile(path, []byte("[1]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := MergeBench(path, map[string]any{"a": 1}); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("got %v, want a not-an-object error", err)
	}
}

func TestLabelVocabulary(t *testing.T) {
	if got := Label(LabelFault, "stall"); got != "fault:stall" {
		t.Errorf("Label = %q, want fault:stall", got)
	}
	got := InOrder(LabelFault, []string{"zeta", "exit", "none", "reset", "corrupt", "alpha"})
	if want := []string{"none", "corrupt", "reset", "exit", "alpha", "zeta"}; !slices.Equal(got, want) {
		t.Errorf("InOrder = %v, want %v", got, want)
	}
	o := Order(LabelOption)
	o[0] = "changed"
	if again := Order(LabelOption); again[0] != "none" {
		t.Errorf("Order returned the shared slice: %v", again)
	}
}

func TestSummaryTimeByFamily(t *testing.T) {
	in := func(family, text string, d time.Duration, labels ...string) types.SpecReport {
		sr := spec(text, types.SpecStatePassed, nil, labels...)
		sr.ContainerHierarchyTexts, sr.RunTime = []string{family, "a context"}, d
		return sr
	}
	skipped := in("the matrix", "skipped", time.Hour)
	skipped.State = types.SpecStateSkipped
	path := writeReport(t, []types.Report{{SuiteSucceeded: true, RunTime: time.Minute, SpecReports: types.SpecReports{
		in("the matrix", "none drop", 2*time.Second), in("the matrix", "stall drop", 5*time.Second), skipped,
		in("at scale", "scale", 40*time.Second), spec("top-level", types.SpecStatePassed, nil),
	}}})
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Specs[0].Family != "the matrix" || r.Specs[4].Family != "" {
		t.Errorf("families: got %q, %q", r.Specs[0].Family, r.Specs[4].Family)
	}
	sum := Summary(r)
	want := "## time by family\n\n| family | specs run | spec time (sum) | longest spec |\n|---|---|---|---|\n" +
		"| at scale | 1 | 40s | 40s |\n| the matrix | 2 | 7s | 5s |\n| (outside any container) | 1 | 1.5s | 1.5s |\n"
	if !strings.Contains(sum, want) {
		t.Errorf("summary lacks %q:\n%s", want, sum)
	}
}

// TestSummaryFoldsRepetitions: runs of one repeated spec ("NAME (run I of
// N)") with the same mark and counts are listed once; a run that differs
// keeps its own line.
func TestSummaryFoldsRepetitions(t *testing.T) {
	leak := &Leaks{Escaped: 2}
	other := &Leaks{Escaped: 1}
	path := writeReport(t, []types.Report{{SuiteSucceeded: true, SpecReports: types.SpecReports{
		spec("ssh-agent (run 1 of 3)", types.SpecStatePassed, leak),
		spec("ssh-agent (run 2 of 3)", types.SpecStatePassed, &Leaks{Escaped: 2}),
		spec("ssh-agent (run 3 of 3)", types.SpecStatePassed, leak),
		spec("tmux (run 1 of 2)", types.SpecStatePassed, leak),
		spec("tmux (run 2 of 2)", types.SpecStatePassed, other),
		spec("a lone spec", types.SpecStatePassed, leak),
	}}})
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := Summary(r)
	for _, want := range []string{
		"- ✓ ssh-agent (3 runs, each): " + leak.String() + "\n",
		"- ✓ tmux (run 1 of 2): " + leak.String() + "\n",
		"- ✓ tmux (run 2 of 2): " + other.String() + "\n",
		"- ✓ a lone spec: " + leak.String() + "\n",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	if strings.Contains(sum, "ssh-agent (run") {
		t.Errorf("the ssh-agent runs are listed one by one:\n%s", sum)
	}
}
