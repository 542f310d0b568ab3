package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/leakgate/leakgate/harness"
)

// recorded is the recorded report of a real run (trimmed: a few cells of
// every family), the same one the browser spec renders.
const recorded = "testdata/scenarios.json"

// shardOf mirrors the suite's sharding hook (scenarios/suite_test.go): FNV-1a
// of the full text modulo n.
func shardOf(text string, n uint32) uint32 {
	h := fnv.New32a()
	h.Write([]byte(text))
	return h.Sum32() % n
}

// splitShards writes the recorded report as n shards' reports: in shard i
// the specs of the other shards are skipped, as the hook skips them.
func splitShards(t *testing.T, n uint32) []string {
	t.Helper()
	data, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := range n {
		var suites []types.Report
		if err := json.Unmarshal(data, &suites); err != nil {
			t.Fatal(err)
		}
		for si := range suites {
			suites[si].RunTime /= time.Duration(n)
			for j, sr := range suites[si].SpecReports {
				if sr.LeafNodeType == types.NodeTypeIt && shardOf(sr.FullText(), n) != i {
					suites[si].SpecReports[j] = types.SpecReport{
						ContainerHierarchyTexts: sr.ContainerHierarchyTexts, LeafNodeText: sr.LeafNodeText,
						LeafNodeType: sr.LeafNodeType, LeafNodeLocation: sr.LeafNodeLocation,
						LeafNodeLabels: sr.LeafNodeLabels, ContainerHierarchyLabels: sr.ContainerHierarchyLabels,
						State: types.SpecStateSkipped,
					}
				}
			}
		}
		out, err := json.Marshal(suites)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), fmt.Sprintf("shard%d.json", i+1))
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestMergedShardsGiveTheFullRunsSummary(t *testing.T) {
	full, err := ReadAll(recorded)
	if err != nil {
		t.Fatal(err)
	}
	shards := splitShards(t, 2)
	one, err := ReadAll(shards[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, skipped := tally(one.Specs); skipped == 0 {
		t.Fatal("shard 1 alone skips nothing: the split is not a split")
	}
	for _, order := range [][]string{shards, {shards[1], shards[0]}} {
		merged, err := ReadAll(order...)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := Summary(merged), Summary(full); got != want {
			t.Errorf("merged summary (%v) differs from the full run's:\n--- merged\n%s\n--- full\n%s", order, got, want)
		}
		var got, want bytes.Buffer
		if err := HTML(&got, merged); err != nil {
			t.Fatal(err)
		}
		if err := HTML(&want, full); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("merged HTML differs from the full run's (%d vs %d bytes)", got.Len(), want.Len())
		}
		got.Reset()
		want.Reset()
		if err := Findings(&got, merged); err != nil {
			t.Fatal(err)
		}
		if err := Findings(&want, full); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("merged findings differ from the full run's:\n%s\n---\n%s", got.String(), want.String())
		}
	}
}

func TestHTMLIsSelfContainedAndHasEveryCell(t *testing.T) {
	r, err := ReadAll(recorded)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	// Nothing is fetched: no external resource of any kind.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//|@import|url\(`).FindString(page); m != "" {
		t.Errorf("the page refers to something outside it: %q", m)
	}
	fams := Families(r.Specs)
	if len(fams) < 5 {
		t.Errorf("families: got %d, want the recorded run's (restore, backup, cancel, real-cli, audit-poc, …)", len(fams))
	}
	for _, f := range fams {
		if !strings.Contains(page, fmt.Sprintf(`data-family="%s"`, f.Name)) {
			t.Errorf("no grid section for family %q", f.Name)
		}
		for _, g := range f.Grids {
			for _, row := range g.Rows {
				for _, s := range row.Cells {
					if s == nil {
						continue
					}
					id := CellID(*s)
					if !strings.Contains(page, `href="#`+id+`"`) || !strings.Contains(page, `id="`+id+`"`) {
						t.Errorf("cell %s (%s) lacks its link or its detail", id, s.Text)
					}
				}
			}
		}
	}
	for _, want := range []string{`<svg class="chart"`, `<ul class="tree">`, "spawned as: ", "go tool ginkgo --focus"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestTreeNestsByParentAndAttributes(t *testing.T) {
	l := harness.Leaks{
		Self: 100,
		Children: []harness.Proc{
			{Pid: 10, PPid: 100, State: "S", Name: "bash", Cmdline: []string{"bash", "-c", "aws s3 cp x - | gzip -cd"}, CmdlineFrom: "spawn"},
			{Pid: 12, PPid: 10, State: "Z", Name: "gzip"},
			{Pid: 11, PPid: 10, State: "S", Name: "aws", Cmdline: []string{"aws", "s3", "cp", "x", "-"},
				Fact: &harness.Fact{Argv: []string{"fakecli", "cp", "x", "-"}, Fault: "stall after=8KiB", Source: "journal"}},
		},
		Escaped: []harness.Proc{{Pid: 20, PPid: 1, State: "S", Name: "aws"}},
		FDs:     []harness.FD{{Num: 17, Kind: harness.FDPipe, Target: "pipe:[5]", Peers: []harness.Peer{{Pid: 11, Name: "aws", FD: 1}}}},
	}
	roots := Tree(l)
	if len(roots) != 2 || roots[0].Pid != 10 || roots[1].Pid != 20 || !roots[1].Escaped {
		t.Fatalf("roots: %+v", roots)
	}
	kids := roots[0].Kids
	if len(kids) != 2 || kids[0].Pid != 11 || kids[1].Pid != 12 {
		t.Fatalf("bash's kids: %+v", kids)
	}
	aws := kids[0]
	if aws.Fault != "stall after=8KiB" || aws.RanAs() != "fakecli cp x -" || aws.RanFrom != "journal" {
		t.Errorf("aws attribution: %+v", aws)
	}
	if len(aws.Peers) != 1 || aws.Peers[0] != "fd 17 (pipe:[5]) as its fd 1" {
		t.Errorf("aws peers: %q", aws.Peers)
	}
	if kids[1].Command() != "?" {
		t.Errorf("a zombie without a command line: got %q, want ?", kids[1].Command())
	}
}

func TestTreeSurvivesAParentLoop(t *testing.T) {
	roots := Tree(harness.Leaks{Children: []harness.Proc{{Pid: 5, PPid: 6}, {Pid: 6, PPid: 5}, {Pid: 7, PPid: 7}}})
	n := 0
	var count func([]*Node)
	count = func(ns []*Node) {
		for _, x := range ns {
			n++
			count(x.Kids)
		}
	}
	count(roots)
	if n != 3 || len(roots) == 0 {
		t.Errorf("got %d nodes in %d roots, want all 3", n, len(roots))
	}
}

func TestChartMarksEvents(t *testing.T) {
	tl := harness.Timeline{Points: []harness.Point{{At: 0}, {At: time.Second, Children: 3, Zombies: 1, FDs: 6}, {At: 2 * time.Second, Children: 2}}}
	svg := string(Chart(tl, []Event{{Name: "first error", At: 1500 * time.Millisecond}, {Name: "abort: run returned", At: 2 * time.Second}}))
	for _, want := range []string{`class="series children"`, `class="series zombies"`, `class="series escaped"`, `class="series fds"`, ">first error<", ">abort: run returned<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q:\n%s", want, svg)
		}
	}
	// The step to 3 children at 1s: the line holds 0 until x(1s), then rises.
	if !regexp.MustCompile(`points="40\.0,\d+\.0 (332\.0),\d+\.0 (332\.0),`).MatchString(svg) {
		t.Errorf("children's line is not a step at 1s:\n%s", svg)
	}
}

func TestGridsByLabels(t *testing.T) {
	leaks := &Leaks{Children: 1}
	specs := []Spec{
		{Text: "a", Leaf: "a", Labels: map[string]string{"fault": "stall", "policy": "drop", "config": "s3"}, Leaks: leaks},
		{Text: "b", Leaf: "b", Labels: map[string]string{"fault": "stall", "variant": "shipped", "subject": "tokio", "config": "s3"}, Leaks: leaks},
		{Text: "c", Leaf: "c", Labels: map[string]string{"fault": "none", "variant": "group", "subject": "tokio", "config": "s3"}, Leaks: leaks},
		{Text: "d", Leaf: "d", Labels: map[string]string{"backup": "", "policy": "kill", "config": "local"}, Leaks: leaks},
		{Text: "e", Leaf: "e", Labels: map[string]string{"backup": "", "policy": "kill", "config": "local"}, Leaks: leaks},
		{Text: "f", Leaf: "f", Labels: map[string]string{"unit": ""}},
	}
	fams := Families(specs)
	if len(fams) != 2 || fams[0].Name != "restore" || fams[1].Name != "backup" {
		t.Fatalf("families: %+v", fams)
	}
	restore := fams[0].Grids
	if len(restore) != 2 || restore[0].Key != "config: s3" || restore[1].Key != "config: s3 · subject: tokio" {
		t.Fatalf("restore grids: %+v", restore)
	}
	tokio := restore[1]
	if tokio.ColHead != "variant" || strings.Join(tokio.Columns, ",") != "shipped,group" || tokio.RowHead != "fault" || len(tokio.Rows) != 2 {
		t.Errorf("tokio grid: %+v", tokio)
	}
	// Labels do not tell d and e apart: one row per spec text.
	b := fams[1].Grids[0]
	if b.RowHead != "spec" || len(b.Rows) != 2 || b.Rows[0].Name != "d" || b.Rows[1].Cells[0].Text != "e" {
		t.Errorf("backup grid: %+v", b)
	}
}
