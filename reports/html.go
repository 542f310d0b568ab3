package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/leakgate/leakgate/harness"
)

//go:embed page.tmpl
var pageText string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"leaked": Leaked,
	"cellID": func(s *Spec) string { return CellID(*s) },
	"mark":   func(s *Spec) string { return mark(*s) },
	"held":   func(s *Spec) bool { return s.Passed() || s.State == "skipped" || s.State == "pending" },
	"counts": func(l *Leaks) string { return l.String() },
	"anchor": func(name string) string { return strings.Trim(nonWord.ReplaceAllString(name, "-"), "-") },
	"fd":     func(fd harness.FD) string { return fd.String() },
}).Parse(pageText))

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// pageData is what page.tmpl renders.
type pageData struct {
	Title    string
	Pass     bool
	Counts   string
	Families []Family
	Failures []string
	Details  []detailView
}

// detailView is one detail section: a spec's, or a gate run's.
type detailView struct {
	ID, Title, Verdict, Failure string
	Single                      bool
	Labels                      []string
	D                           Detail
	Rows                        []countsRow
	Chart                       template.HTML
}

type countsRow struct {
	Name string
	L    *Leaks
}

// HTML writes results as one self-contained page: every family as grids
// (see Families), each cell opening its detail (timeline chart, leaked
// process tree, expectation, replay command). It loads nothing: no
// script, no stylesheet, no font; charts are inline SVG.
//
//	err := reports.HTML(f, results)
func HTML(w io.Writer, r *Results) error {
	d := pageData{Title: "leakgate scenarios", Pass: r.Succeeded, Families: Families(r.Specs)}
	passed, failed, skipped := tally(r.Specs)
	d.Pass = d.Pass && failed == 0
	d.Counts = fmt.Sprintf("%d specs: %d passed, %d failed, %d skipped; suite time %s.",
		len(r.Specs), passed, failed, skipped, r.RunTime.Round(100e6))
	d.Failures = append(d.Failures, r.SuiteFailures...)
	for _, f := range d.Families {
		for _, g := range f.Grids {
			for _, row := range g.Rows {
				for _, s := range row.Cells {
					if s != nil {
						d.Details = append(d.Details, specView(*s))
					}
				}
			}
		}
	}
	for _, s := range r.Specs {
		if !s.Passed() && s.State != "skipped" && s.State != "pending" {
			d.Failures = append(d.Failures, fmt.Sprintf("%s (%s) at %s: %s", s.Text, s.State, s.Location, s.Failure))
		}
	}
	if err := page.Execute(w, d); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	return nil
}

// WriteHTML writes HTML(r) to path, creating its folder; the write is
// atomic (temp file + rename).
//
//	err := reports.WriteHTML("reports/out/index.html", results)
func WriteHTML(path string, r *Results) error {
	return writeAtomic(path, func(w io.Writer) error { return HTML(w, r) })
}

func tally(specs []Spec) (passed, failed, skipped int) {
	for _, s := range specs {
		switch {
		case s.Passed():
			passed++
		case s.State == "skipped" || s.State == "pending":
			skipped++
		default:
			failed++
		}
	}
	return passed, failed, skipped
}

// specView is the detail of one spec.
func specView(s Spec) detailView {
	v := detailView{ID: CellID(s), Title: s.Text, Failure: s.Failure, D: s.Detail}
	v.Verdict = "expectation held (spec passed)"
	switch {
	case s.State == "skipped" || s.State == "pending":
		v.Verdict = "skipped"
	case !s.Passed():
		v.Verdict = "expectation NOT held (spec " + s.State + ")"
	}
	for k, val := range s.Labels {
		v.Labels = append(v.Labels, strings.TrimSuffix(k+":"+val, ":"))
	}
	slices.Sort(v.Labels)
	for _, r := range []countsRow{{"settled", s.Leaks}, {"at return", s.Detail.AtReturn}, {"peak", s.Detail.Peak}} {
		if r.L != nil {
			v.Rows = append(v.Rows, r)
		}
	}
	if tl := s.Detail.Timeline; tl != nil && len(tl.Points) > 0 {
		v.Chart = Chart(*tl, s.Detail.Events)
	}
	if v.D.Replay == "" {
		v.D.Replay = Replay(s)
	}
	return v
}

// Replay is the shell command that runs spec s again, alone:
// go tool ginkgo --focus '^…$' ./scenarios.
func Replay(s Spec) string {
	return shellQuote([]string{"go", "tool", "ginkgo", "--focus", "^" + regexp.QuoteMeta(s.Text) + "$", "./scenarios"})
}

// writeAtomic writes a file through a temp file in its folder and a rename.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
