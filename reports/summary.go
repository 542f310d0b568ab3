package reports

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Matrix label keys: a matrix spec carries one label of each, "fault:stall".
const (
	LabelFault  = "fault"
	LabelPolicy = "policy"
	LabelConfig = "config"
)

// Known orders for the matrix axes; values not listed sort after these,
// alphabetically.
var (
	faultOrder  = []string{"none", "truncate", "stall", "corrupt", "exit"}
	policyOrder = []string{"drop", "abandon", "kill", "killgroup"}
)

// Summary renders results as Markdown: a headline with the counts, one
// fault × policy table per config whose cells read
// "✓ children/zombies/escaped/fds · spawned" (✗ when the cell's
// expectation failed), the other specs that recorded leak counts, and every
// failure with its location.
//
//	fmt.Print(reports.Summary(results))
func Summary(r *Results) string {
	var b strings.Builder
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
	fmt.Fprintf(&b, "# leakgate scenarios: %s\n\n", verdict)
	fmt.Fprintf(&b, "%d specs: %d passed, %d failed, %d skipped; suite time %s.\n\n",
		len(r.Specs), passed, failed, skipped, r.RunTime.Round(100*time.Millisecond))
	b.WriteString("Cells read `children/zombies/escaped/fds · spawned`: what the restore left behind after settling " +
		"(leaked descendants in any state, the zombies among them, tagged processes that escaped the test's tree, " +
		"net new fds), then how many storage CLI invocations it made. " +
		"✓ means the cell's expectation held (a leaky policy is expected to leak), ✗ that it did not.\n")

	matrix, others := splitMatrix(r.Specs)
	for _, config := range ordered(keys(matrix), nil) {
		cells := matrix[config]
		faults, policies := map[string]bool{}, map[string]bool{}
		for k := range cells {
			faults[k[0]], policies[k[1]] = true, true
		}
		fs, ps := ordered(faults, faultOrder), ordered(policies, policyOrder)
		fmt.Fprintf(&b, "\n## config: %s\n\n| fault \\ policy | %s |\n|---|%s\n", config,
			strings.Join(ps, " | "), strings.Repeat("---|", len(ps)))
		for _, f := range fs {
			row := make([]string, 0, len(ps))
			for _, p := range ps {
				row = append(row, cellText(cells[[2]string{f, p}]))
			}
			fmt.Fprintf(&b, "| %s | %s |\n", f, strings.Join(row, " | "))
		}
	}
	if len(others) > 0 {
		b.WriteString("\n## other specs with leak counts\n\n")
		for _, s := range others {
			fmt.Fprintf(&b, "- %s %s: %s\n", mark(s), s.Text, s.Leaks)
		}
	}
	if failed > 0 || len(r.SuiteFailures) > 0 {
		b.WriteString("\n## failures\n\n")
		for _, f := range r.SuiteFailures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		for _, s := range r.Specs {
			if s.Passed() || s.State == "skipped" || s.State == "pending" {
				continue
			}
			fmt.Fprintf(&b, "- %s (%s) at %s: %s\n", s.Text, s.State, s.Location, s.Failure)
		}
	}
	return b.String()
}

// splitMatrix sorts specs with leak counts into config → (fault, policy) →
// specs, and the rest that recorded counts.
func splitMatrix(specs []Spec) (map[string]map[[2]string][]Spec, []Spec) {
	matrix := map[string]map[[2]string][]Spec{}
	var others []Spec
	for _, s := range specs {
		f, okf := s.Labels[LabelFault]
		p, okp := s.Labels[LabelPolicy]
		c, okc := s.Labels[LabelConfig]
		switch {
		case okf && okp && okc:
			if matrix[c] == nil {
				matrix[c] = map[[2]string][]Spec{}
			}
			k := [2]string{f, p}
			matrix[c][k] = append(matrix[c][k], s)
		case s.Leaks != nil:
			others = append(others, s)
		}
	}
	return matrix, others
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
