package explore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/faults"
)

func TestEntryRoundTrip(t *testing.T) {
	plan, _ := faults.Parse("test", `stall on="*/8-.chunk"; reset op=list`)
	e := &Entry{Plan: plan, Subject: []string{"--subject", "restore", "--manifests", "3"},
		Expect: "fail leak", Defect: "killgroup-forgets-on-two-faults", Reason: "a test"}
	path := filepath.Join(t.TempDir(), "e.plan")
	if err := os.WriteFile(path, []byte(e.Text("a comment")), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEntry(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Plan.String() != plan.String() || strings.Join(got.Subject, " ") != strings.Join(e.Subject, " ") ||
		got.Expect != e.Expect || got.Defect != e.Defect || got.Reason != e.Reason {
		t.Errorf("read back %+v, wrote %+v", got, e)
	}
}

func TestCorpusErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"bad-expect.plan": "# expect: maybe\nreset\n",
		"bad-plan.plan":   "# expect: pass\nstal\n",
		"no-expect.plan":  "reset\n",
	} {
		sub := filepath.Join(dir, strings.TrimSuffix(name, ".plan"))
		os.Mkdir(sub, 0o755)
		os.WriteFile(filepath.Join(sub, name), []byte(text), 0o644)
		_, err := Corpus(sub)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

// TestShippedCorpus: every entry of testdata/explore reads, and its plan
// is in canonical form.
func TestShippedCorpus(t *testing.T) {
	entries, err := Corpus("../testdata/explore")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no corpus entries")
	}
	for _, e := range entries {
		if len(e.Subject) == 0 {
			t.Errorf("%s: no subject", e.Path)
		}
		if e.Plan.String() != canonical(e.Plan).String() || len(e.Plan.Rules) == 0 {
			t.Errorf("%s: plan %q is empty or not canonical", e.Path, e.Plan)
		}
	}
}
