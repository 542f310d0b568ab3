package reports

import (
	"fmt"
	"strings"
)

// peer pairs a Go policy column of the restore matrix with a subject's
// variant that claims the same behaviour.
type peer struct{ policy, variant string }

// subjectPeers lists, per subject, the columns the side-by-side table
// shows: the Go port's emulation beside the real thing.
var subjectPeers = map[string][]peer{
	"tokio": {{"drop", "shipped"}, {"kill", "audit-fix"}, {"kill", "kill-on-drop"}, {"killgroup", "group"}},
}

// isSubject reports whether s is a cell of a subject's matrix (a subject
// and a fault label): sideBySide shows it, not a table or the list of
// other specs. A subject's other specs (its audit-poc row) are listed.
func isSubject(s Spec) bool {
	_, subject := s.Labels[LabelSubject]
	_, fault := s.Labels[LabelFault]
	return subject && fault
}

// withoutSubjects is specs without the subjects' matrix specs.
func withoutSubjects(specs []Spec) []Spec {
	out := make([]Spec, 0, len(specs))
	for _, s := range specs {
		if !isSubject(s) {
			out = append(out, s)
		}
	}
	return out
}

// sideBySide renders, per subject and config, the restore matrix's Go
// cells beside the subject's: one row per fault, one column per peer pair,
// each cell "Go · subject · verdict". The verdict compares what was left
// once settled, by shape (compareCells): "same" or "DIFFERS". Counts are
// shown but not compared: the Go matrix measures in-process, the subject
// under `leakgate run`, whose survivors are the Go cells' children. A differing cell is either fixed in
// the Go port or explained by the subject cell's expectation entry.
//
//	b.WriteString(sideBySide(r.Specs))
func sideBySide(specs []Spec) string {
	var b strings.Builder
	for _, subject := range ordered(keys(subjectPeers), nil) {
		goCells, subCells := map[string]map[cellKey]Spec{}, map[string]map[cellKey]Spec{}
		for _, s := range specs {
			fault, config := s.Labels[LabelFault], s.Labels[LabelConfig]
			if fault == "" || config == "" {
				continue
			}
			if v, ok := s.Labels[LabelVariant]; ok && s.Labels[LabelSubject] == subject {
				put(subCells, config, cellKey{fault, v}, s)
			} else if p, ok := s.Labels[LabelPolicy]; ok && len(s.Labels) == 3 {
				put(goCells, config, cellKey{fault, p}, s) // the restore matrix: exactly fault, policy, config
			}
		}
		if len(subCells) == 0 {
			continue
		}
		differ := 0
		for _, config := range ordered(keys(subCells), nil) {
			pairs := subjectPeers[subject]
			fmt.Fprintf(&b, "\n## side by side: Go port vs %s subject, config: %s\n\n%s\n\n| fault |", subject, config, sideBySideHelp)
			for _, p := range pairs {
				fmt.Fprintf(&b, " Go %s · %s %s |", p.policy, subject, p.variant)
			}
			fmt.Fprintf(&b, "\n|---|%s\n", strings.Repeat("---|", len(pairs)))
			faults := map[string]bool{}
			for k := range subCells[config] {
				faults[k.row] = true
			}
			for _, fault := range ordered(faults, knownOrder[LabelFault]) {
				fmt.Fprintf(&b, "| %s |", fault)
				for _, p := range pairs {
					g, okg := goCells[config][cellKey{fault, p.policy}]
					s, oks := subCells[config][cellKey{fault, p.variant}]
					text, differs := compareCells(g, okg, s, oks)
					if differs {
						differ++
					}
					fmt.Fprintf(&b, " %s |", text)
				}
				b.WriteString("\n")
			}
		}
		fmt.Fprintf(&b, "\n%d cell(s) differ between the Go port and the %s subject; each is explained by the subject cell's `expectation` entry.\n", differ, subject)
	}
	return b.String()
}

// sideBySideHelp says how to read a side-by-side table.
const sideBySideHelp = "Each cell reads `Go cell · subject cell · verdict`. The Go cell is the restore matrix's, " +
	"measured in the test process once settled; the subject's ran under `leakgate run`: its children are the gate's " +
	"survivors, its escaped every process that escaped the tree alive at any time, its fds the command's as the gate " +
	"judged them (a tokio runtime's SIGCHLD socket pair and its dup, opened at the first spawn, count 3). " +
	"The verdict compares shapes (whether any process was left in the tree, whether any escaped), not counts."

func put(m map[string]map[cellKey]Spec, config string, k cellKey, s Spec) {
	if m[config] == nil {
		m[config] = map[cellKey]Spec{}
	}
	m[config][k] = s
}

// compareCells renders one side-by-side cell and says whether the two
// differ: their shapes differ, where a shape says whether processes were
// left in the tree (children; the gate's survivors) and whether any escaped
// it (orphaned alive while the restore ran).
func compareCells(g Spec, okg bool, s Spec, oks bool) (string, bool) {
	if !okg || !oks || g.Leaks == nil || s.Leaks == nil {
		return fmt.Sprintf("%s · %s · –", cellText(specsOf(g, okg)), cellText(specsOf(s, oks))), false
	}
	shape := func(l *Leaks) [2]bool { return [2]bool{l.Children > 0, l.Escaped > 0} }
	verdict, differs := "same", false
	if shape(g.Leaks) != shape(s.Leaks) {
		verdict, differs = "DIFFERS", true
	}
	return fmt.Sprintf("%s · %s · %s", cellText([]Spec{g}), cellText([]Spec{s}), verdict), differs
}

func specsOf(s Spec, ok bool) []Spec {
	if !ok {
		return nil
	}
	return []Spec{s}
}
