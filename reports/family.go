package reports

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// familyTitles names the families the suite has today; any other family
// is titled by its labels.
var familyTitles = map[string]string{
	"restore":        "restore",
	"backup":         "backup (write path)",
	"cancel":         "bin/restore stopped by a signal",
	"real-cli":       "real CLIs against the object server",
	"audit-poc":      "the audit's proof of concept",
	"gate":           "leakgate run against bin/restore",
	"foreign · gate": "the matrix's foreign-binary option (leakgate run)",
	"roundtrip":      "the shipped configs, backup then restore",
	"resume":         "restore resumed after a failure",
	"scale":          "restore at scale",
	"realworld":      "real programs under leakgate run",
}

// Family is one kind of run: the specs that carry the same bare labels
// ("backup", "real-cli"; none for the restore matrix), drawn as one grid per
// config (and subject): rows by their other labels' values, columns by
// policy.
type Family struct {
	Name  string // the bare labels joined by " · ", or "restore"
	Title string
	Grids []*Grid
}

// Grid is one table of a family.
type Grid struct {
	Key     string   // "config: s3", "config: s3 · subject: tokio"
	RowHead string   // the row labels' keys joined by " · ", e.g. "fault"
	ColHead string   // the column label's key: "policy", or "variant"
	Columns []string // its values, in known order; "–" for specs without one
	Rows    []Row
}

// Row is one row of a grid: Cells align with the grid's Columns; a nil
// cell has no spec.
type Row struct {
	Name  string
	Cells []*Spec
}

// Families sorts the specs that recorded leak counts or carry a policy
// label into families and grids, in a stable order: the restore matrix
// first, then the other families by name.
//
//	for _, f := range reports.Families(results.Specs) { fmt.Println(f.Title, len(f.Grids)) }
func Families(specs []Spec) []Family {
	byFamily := map[string]map[string][]*Spec{}
	for i := range specs {
		s := &specs[i]
		if _, ok := s.Labels[LabelPolicy]; !ok && s.Leaks == nil {
			continue
		}
		name, grid := familyOf(*s), gridOf(*s)
		if byFamily[name] == nil {
			byFamily[name] = map[string][]*Spec{}
		}
		byFamily[name][grid] = append(byFamily[name][grid], s)
	}
	var out []Family
	for _, name := range ordered(keys(byFamily), []string{"restore"}) {
		f := Family{Name: name, Title: familyTitles[name]}
		if f.Title == "" {
			f.Title = name
		}
		for _, key := range ordered(keys(byFamily[name]), nil) {
			f.Grids = append(f.Grids, newGrid(key, byFamily[name][key]))
		}
		out = append(out, f)
	}
	return out
}

// familyOf is the spec's bare labels, sorted and joined, or "restore".
func familyOf(s Spec) string {
	var bare []string
	for k, v := range s.Labels {
		if v == "" {
			bare = append(bare, k)
		}
	}
	if len(bare) == 0 {
		return "restore"
	}
	slices.Sort(bare)
	return strings.Join(bare, " · ")
}

// gridOf is the spec's config and subject: "config: s3".
func gridOf(s Spec) string {
	var parts []string
	for _, k := range []string{LabelConfig, LabelSubject} {
		if v, ok := s.Labels[k]; ok {
			parts = append(parts, k+": "+v)
		}
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " · ")
}

// columnKey is the label whose values are a grid's columns: policy, or
// variant for specs without a policy (another subject's variants).
func columnKey(specs []*Spec) string {
	for _, k := range []string{LabelPolicy, LabelVariant} {
		for _, s := range specs {
			if _, ok := s.Labels[k]; ok {
				return k
			}
		}
	}
	return LabelPolicy
}

// rowKeys are the label keys that name a row: every key:value label of the
// grid's specs except the column key, config and subject, in a stable order.
func rowKeys(specs []*Spec, col string) []string {
	set := map[string]bool{}
	for _, s := range specs {
		for k, v := range s.Labels {
			if v != "" && k != col && k != LabelConfig && k != LabelSubject {
				set[k] = true
			}
		}
	}
	return ordered(set, []string{LabelFault, "signal", "option"})
}

func newGrid(key string, specs []*Spec) *Grid {
	col := columnKey(specs)
	rk := rowKeys(specs, col)
	g := &Grid{Key: key, RowHead: strings.Join(rk, " · "), ColHead: col}
	rowName := func(s *Spec) string {
		parts := make([]string, len(rk))
		for i, k := range rk {
			parts[i] = cmpOr(s.Labels[k], "–")
		}
		return strings.Join(parts, " · ")
	}
	cols := map[string]bool{}
	rows := map[string]bool{}
	cells := map[[2]string]*Spec{}
	clash := false
	for _, s := range specs {
		c := cmpOr(s.Labels[col], "–")
		cols[c], rows[rowName(s)] = true, true
		k := [2]string{rowName(s), c}
		clash = clash || cells[k] != nil
		cells[k] = s
	}
	if clash || len(rk) == 0 {
		// Labels do not tell these specs apart: one row per spec text.
		g.RowHead = cmpOr(g.RowHead+" · spec", "spec")
		rows, cells = map[string]bool{}, map[[2]string]*Spec{}
		for _, s := range specs {
			name := strings.TrimPrefix(rowName(s)+" · "+s.Leaf, " · ")
			if len(rk) == 0 {
				name = s.Leaf
			}
			rows[name] = true
			cells[[2]string{name, cmpOr(s.Labels[col], "–")}] = s
		}
		g.RowHead = strings.TrimPrefix(g.RowHead, " · ")
	}
	g.Columns = ordered(cols, knownOrder[col])
	for _, r := range orderedRows(rows, append(rk, "spec")) {
		row := Row{Name: r}
		for _, c := range g.Columns {
			row.Cells = append(row.Cells, cells[[2]string{r, c}])
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}

func cmpOr(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// CellID is the spec's anchor in the HTML report, stable across runs:
// "c-" and a hash of its full text. index.html#c-… opens its detail.
func CellID(s Spec) string {
	h := fnv.New64a()
	h.Write([]byte(s.Text))
	return fmt.Sprintf("c-%016x", h.Sum64())
}

// Leaked is the leak class of counts, by what is worst: "escaped",
// "zombies", "children", "fds", or "clean"; "none" for nil.
func Leaked(l *Leaks) string {
	switch {
	case l == nil:
		return "none"
	case l.Escaped > 0:
		return "escaped"
	case l.Zombies > 0:
		return "zombies"
	case l.Children > 0:
		return "children"
	case l.FDs > 0:
		return "fds"
	}
	return "clean"
}
