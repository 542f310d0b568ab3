package reports

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A section is one family of matrices: its specs carry the section's label
// (none for the restore matrix), a policy and a config label, and the row
// labels; they get one table per config, rows by the row labels' values,
// columns by policy.
type section struct {
	label string   // the label that puts a spec in this section; "" for the restore matrix
	title string   // heading
	rows  []string // label keys whose values name a row
}

var sections = []section{
	{label: "", title: "restore", rows: []string{LabelFault}},
	{label: "backup", title: "backup (write path)", rows: []string{LabelFault}},
	{label: "cancel", title: "bin/restore stopped by a signal", rows: []string{LabelSignal, LabelOption}},
	{label: "real-cli", title: "real CLIs against the object server", rows: []string{LabelFault}},
}

// Summary renders results as Markdown: a headline with the counts, one
// fault × policy table per config whose cells read
// "✓ children/zombies/escaped/fds · spawned" (✗ when the cell's
// expectation failed), the other specs that recorded leak counts, and every
// failure with its location.
//
//	fmt.Print(reports.Summary(results))
func Summary(r *Results) string {
	var b strings.Builder
	headline(&b, r)
	tables, others := splitMatrix(withoutSubjects(r.Specs))
	for _, sec := range sections {
		matrixTables(&b, sec, tables[sec.title])
	}
	b.WriteString(sideBySide(r.Specs))
	familyTimes(&b, r.Specs)
	otherSpecs(&b, others)
	failures(&b, r)
	return b.String()
}

// headline writes the title with the verdict, the counts and the suite
// time, and the legend of the cells.
//
//	headline(&b, results)
func headline(b *strings.Builder, r *Results) {
	passed, failed, skipped := 0, 0, 0
	for _, s := range r.Specs {
		switch {
		case s.Passed():
			passed++
		case s.State == "skipped" || s.State == "pending":
			skipped++
		default:
			failed++
		}
	}
	verdict := "PASS"
	if !r.Succeeded || failed > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(b, "# leakgate scenarios: %s\n\n", verdict)
	fmt.Fprintf(b, "%d specs: %d passed, %d failed, %d skipped; suite time %s.\n\n",
		len(r.Specs), passed, failed, skipped, r.RunTime.Round(100*time.Millisecond))
	b.WriteString("Cells read `children/zombies/escaped/fds · spawned`: what the restore left behind after settling " +
		"(leaked descendants in any state, the zombies among them, tagged processes that escaped the test's tree, " +
		"net new fds), then how many storage CLI invocations it made. " +
		"✓ means the cell's expectation held (a leaky policy is expected to leak), ✗ that it did not.\n")
}

// matrixTables writes section sec's tables, one per config of byConfig
// (config → cell → specs, from splitMatrix): rows by the row labels'
// values, columns by policy, both in their known order.
//
//	matrixTables(&b, sections[0], tables[sections[0].title])
func matrixTables(b *strings.Builder, sec section, byConfig map[string]map[cellKey][]Spec) {
	for _, config := range ordered(keys(byConfig), nil) {
		cells := byConfig[config]
		rows, policies := map[string]bool{}, map[string]bool{}
		for k := range cells {
			rows[k.row], policies[k.policy] = true, true
		}
		ps := ordered(policies, knownOrder[LabelPolicy])
		rowHead := strings.Join(sec.rows, " · ")
		fmt.Fprintf(b, "\n## %s, config: %s\n\n| %s \\ policy | %s |\n|---|%s\n", sec.title, config, rowHead,
			strings.Join(ps, " | "), strings.Repeat("---|", len(ps)))
		for _, row := range orderedRows(rows, sec.rows) {
			line := make([]string, 0, len(ps))
			for _, p := range ps {
				line = append(line, cellText(cells[cellKey{row, p}]))
			}
			fmt.Fprintf(b, "| %s | %s |\n", row, strings.Join(line, " | "))
		}
	}
}

// otherSpecs lists the specs outside the tables that recorded leak
// counts, by text; nothing if there are none.
//
//	otherSpecs(&b, others)
func otherSpecs(b *strings.Builder, others []Spec) {
	if len(others) == 0 {
		return
	}
	slices.SortStableFunc(others, func(x, y Spec) int { return strings.Compare(x.Text, y.Text) })
	b.WriteString("\n## other specs with leak counts\n\n")
	for len(others) > 0 {
		base, _ := repetition(others[0].Text)
		n := 1
		for n < len(others) && sameOutcome(others[0], others[n], base) {
			n++
		}
		if n == 1 {
			fmt.Fprintf(b, "- %s %s: %s\n", mark(others[0]), others[0].Text, others[0].Leaks)
		} else {
			fmt.Fprintf(b, "- %s %s (%d runs, each): %s\n", mark(others[0]), base, n, others[0].Leaks)
		}
		others = others[n:]
	}
}

// repetitionText matches the text of one run of a repeated spec: "NAME
// (run I of N)".
var repetitionText = regexp.MustCompile(`^(.*) \(run \d+ of \d+\)$`)

// repetition splits text into the repeated spec's name and whether it is
// one run of a repeated spec ("ssh-agent (run 2 of 3)" → "ssh-agent").
func repetition(text string) (string, bool) {
	if m := repetitionText.FindStringSubmatch(text); m != nil {
		return m[1], true
	}
	return text, false
}

// sameOutcome reports whether s is another run of the repeated spec base
// with first's mark and leak counts, so the summary may list them once.
func sameOutcome(first, s Spec, base string) bool {
	name, ok := repetition(s.Text)
	return ok && name == base && mark(s) == mark(first) &&
		(s.Leaks == first.Leaks || s.Leaks != nil && first.Leaks != nil && *s.Leaks == *first.Leaks)
}

// failures lists the suite's failures, then each failed spec with its
// state, location and failure; nothing if there are none.
//
//	failures(&b, results)
func failures(b *strings.Builder, r *Results) {
	var failed []Spec
	for _, s := range r.Specs {
		if s.Passed() || s.State == "skipped" || s.State == "pending" {
			continue
		}
		failed = append(failed, s)
	}
	if len(failed) == 0 && len(r.SuiteFailures) == 0 {
		return
	}
	b.WriteString("\n## failures\n\n")
	for _, f := range r.SuiteFailures {
		fmt.Fprintf(b, "- %s\n", f)
	}
	for _, s := range failed {
		fmt.Fprintf(b, "- %s (%s) at %s: %s\n", s.Text, s.State, s.Location, s.Failure)
	}
}

// cellKey places a spec in a table: its row (the row labels' values joined
// by " · ") and its policy.
type cellKey struct{ row, policy string }

// splitMatrix sorts specs into section title → config → cell → specs, and
// the rest that recorded leak counts.
func splitMatrix(specs []Spec) (map[string]map[string]map[cellKey][]Spec, []Spec) {
	tables := map[string]map[string]map[cellKey][]Spec{}
	var others []Spec
	for _, s := range specs {
		sec, k, config, ok := place(s)
		if !ok {
			if s.Leaks != nil {
				others = append(others, s)
			}
			continue
		}
		if tables[sec.title] == nil {
			tables[sec.title] = map[string]map[cellKey][]Spec{}
		}
		if tables[sec.title][config] == nil {
			tables[sec.title][config] = map[cellKey][]Spec{}
		}
		tables[sec.title][config][k] = append(tables[sec.title][config][k], s)
	}
	return tables, others
}

// place finds a spec's section and cell: the first section whose label it
// carries (the restore matrix when it carries none of theirs) and whose row
// labels, policy and config it has.
func place(s Spec) (section, cellKey, string, bool) {
	sec := sections[0]
	for _, candidate := range sections[1:] {
		if _, ok := s.Labels[candidate.label]; ok {
			sec = candidate
			break
		}
	}
	policy, okp := s.Labels[LabelPolicy]
	config, okc := s.Labels[LabelConfig]
	if !okp || !okc {
		return section{}, cellKey{}, "", false
	}
	var row []string
	for _, key := range sec.rows {
		v, ok := s.Labels[key]
		if !ok {
			return section{}, cellKey{}, "", false
		}
		row = append(row, v)
	}
	return sec, cellKey{strings.Join(row, " · "), policy}, config, true
}

// orderedRows sorts row names made of the values of keys joined by " · ",
// each part by its key's known order.
func orderedRows(rows map[string]bool, keys []string) []string {
	out := make([]string, 0, len(rows))
	for r := range rows {
		out = append(out, r)
	}
	rank := func(row string) []int {
		parts := strings.Split(row, " · ")
		rs := make([]int, len(parts))
		for i, p := range parts {
			rs[i] = len(knownOrder[keys[min(i, len(keys)-1)]])
			if j := slices.Index(knownOrder[keys[min(i, len(keys)-1)]], p); j >= 0 {
				rs[i] = j
			}
		}
		return rs
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := slices.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

func cellText(specs []Spec) string {
	if len(specs) == 0 {
		return "–"
	}
	s := specs[0]
	text := mark(s)
	if s.Leaks != nil {
		text += " " + s.Leaks.String()
	} else if !s.Passed() {
		text += " " + s.State
	}
	if len(specs) > 1 {
		text += fmt.Sprintf(" (+%d more)", len(specs)-1)
	}
	return text
}

func mark(s Spec) string {
	switch {
	case s.Passed():
		return "✓"
	case s.State == "skipped" || s.State == "pending":
		return "–"
	default:
		return "✗"
	}
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// ordered lists set's members: those in known first, in known's order, then
// the rest alphabetically.
func ordered(set map[string]bool, known []string) []string {
	var out []string
	for _, k := range known {
		if set[k] {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range set {
		if !slices.Contains(known, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// familyTimes writes the time table: per family (outermost container), the
// specs that ran, their summed run time and the longest one, longest family
// first. With ginkgo -procs=N the sums add up to about N × the suite time.
//
//	familyTimes(&b, results.Specs)
func familyTimes(b *strings.Builder, specs []Spec) {
	type fam struct {
		name     string
		n        int
		sum, max time.Duration
	}
	byName := map[string]*fam{}
	var fams []*fam
	for _, s := range specs {
		if s.State == "skipped" || s.State == "pending" {
			continue
		}
		name := cmp.Or(s.Family, "(outside any container)")
		f := byName[name]
		if f == nil {
			f = &fam{name: name}
			byName[name] = f
			fams = append(fams, f)
		}
		f.n++
		f.sum += s.RunTime
		f.max = max(f.max, s.RunTime)
	}
	if len(fams) == 0 {
		return
	}
	slices.SortStableFunc(fams, func(x, y *fam) int { return int(y.sum - x.sum) })
	b.WriteString("\n## time by family\n\n| family | specs run | spec time (sum) | longest spec |\n|---|---|---|---|\n")
	for _, f := range fams {
		fmt.Fprintf(b, "| %s | %d | %s | %s |\n", f.name, f.n,
			f.sum.Round(100*time.Millisecond), f.max.Round(100*time.Millisecond))
	}
}
