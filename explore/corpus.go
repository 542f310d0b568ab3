package explore

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/leakgate/leakgate/faults"
)

// Entry is a plan file: fault-spec text with a header of "# key: value"
// comment lines that say how to replay it. Findings are written in this
// form, and the regression corpus (testdata/explore) is made of them:
//
//	# subject: --subject restore --config testdata/configs/local.yaml --policy killgroup --manifests 3 --concurrency 2
//	# expect: fail leak
//	# defect: killgroup-forgets-on-two-faults
//	# reason: the seeded defect: killgroup forgets a reader once two reads failed
//	stall on="*/4-.chunk"; reset on="*.meta"
//
// Keys: subject (explore flags), expect ("pass", or "fail" and the
// property), defect (LEAKGATE_SEEDED_DEFECT for the replay), reason (why
// the entry is kept). faults.Load reads the same file as a plan: the header
// is comments.
type Entry struct {
	Path    string
	Plan    *faults.Plan
	Subject []string
	Expect  string // "pass" or "fail PROPERTY"
	Defect  string
	Reason  string
}

// ReadEntry reads a plan file and its header (every key optional; a
// corpus entry needs expect).
//
//	e, err := explore.ReadEntry("testdata/explore/two-faults.plan")
func ReadEntry(path string) (*Entry, error) {
	plan, err := faults.Load(path)
	if err != nil {
		return nil, err
	}
	e := &Entry{Path: path, Plan: plan}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		key, val, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "#"), ":")
		if !strings.HasPrefix(sc.Text(), "# ") || !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "subject":
			e.Subject = strings.Fields(val)
		case "expect":
			if val != "pass" && !strings.HasPrefix(val, "fail ") {
				return nil, fmt.Errorf("%s:%d: expect: want \"pass\" or \"fail PROPERTY\", got %q", path, line, val)
			}
			e.Expect = val
		case "defect":
			e.Defect = val
		case "reason":
			e.Reason = val
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return e, nil
}

// Corpus reads every *.plan file under dir, sorted by name.
//
//	entries, err := explore.Corpus("testdata/explore")
func Corpus(dir string) ([]*Entry, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.plan"))
	if err != nil {
		return nil, err
	}
	var out []*Entry
	for _, p := range paths {
		e, err := ReadEntry(p)
		if err != nil {
			return nil, err
		}
		if e.Expect == "" {
			return nil, fmt.Errorf("%s: no \"# expect:\" line (pass, or fail PROPERTY)", p)
		}
		out = append(out, e)
	}
	return out, nil
}

// Text renders e as a plan file.
func (e *Entry) Text(comments ...string) string {
	var b strings.Builder
	for _, c := range comments {
		fmt.Fprintf(&b, "# %s\n", c)
	}
	fmt.Fprintf(&b, "# subject: %s\n# expect: %s\n", strings.Join(e.Subject, " "), e.Expect)
	if e.Defect != "" {
		fmt.Fprintf(&b, "# defect: %s\n", e.Defect)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, "# reason: %s\n", e.Reason)
	}
	fmt.Fprintf(&b, "%s\n", e.Plan)
	return b.String()
}

// save writes a finding under s.Dir: NAME.plan (a corpus entry) and
// NAME/ (the evidence of its last failing run: gate reports, journals,
// output), NAME being the property and the run index.
func (s *Search) save(f *Finding) error {
	name := fmt.Sprintf("%s-seed%d-run%d", f.Property, s.Seed, f.Run)
	f.PlanFile = filepath.Join(s.Dir, name+".plan")
	plan, err := faults.Parse("plan", f.Plan)
	if err != nil {
		return err
	}
	e := &Entry{Plan: plan, Subject: f.flags, Expect: "fail " + f.Property, Defect: s.Defect}
	f.Replay = "leakgate explore --replay " + f.PlanFile + " " + strings.Join(e.Subject, " ")
	text := e.Text("leakgate explore finding: "+f.Outcome.String(),
		fmt.Sprintf("drawn as run %d of seed %d: %s", f.Run, s.Seed, f.Original),
		"replay: "+f.Replay)
	if err := os.WriteFile(f.PlanFile, []byte(text), 0o644); err != nil {
		return fmt.Errorf("explore: save finding: %w", err)
	}
	if f.Outcome.Evidence != "" {
		if err := copyDir(f.Outcome.Evidence, filepath.Join(s.Dir, name)); err != nil {
			return fmt.Errorf("explore: save evidence: %w", err)
		}
		f.Outcome.Evidence = filepath.Join(s.Dir, name)
	}
	return nil
}

// copyDir copies the regular files of the tree src to dst (the target DB
// and caches included: small).
func copyDir(src, dst string) error {
	os.RemoveAll(dst)
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
}
