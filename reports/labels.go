package reports

import (
	"slices"
	"strings"
)

// The label vocabulary of the scenario suite: a matrix spec carries one
// label per key, "key:value" (see Label); the summary groups and orders its
// tables by them.
const (
	LabelFault  = "fault"  // the injected fault cell: none, truncate, stall, …
	LabelPolicy = "policy" // the CommandAdapter cleanup policy: drop, abandon, kill, killgroup
	LabelConfig = "config" // the CommandAdapter config: local, s3, …
	LabelSignal = "signal" // the signal that stops bin/restore: TERM, KILL
	LabelOption = "option" // bin/restore's child-cleanup option: none, pdeathsig, guard
	// A spec of another implementation of the restore (subject:tokio, the
	// Rust/tokio subject) carries its subject, its variant (what a dropped
	// reader does there) and the restore matrix's fault and config labels.
	LabelSubject = "subject" // the other implementation: tokio
	LabelVariant = "variant" // what a dropped reader does there: shipped, audit-fix, kill-on-drop, group
)

// knownOrder lists, per label key, the values in the order specs and
// tables list them; values not listed come after these, alphabetically.
// It is the only such list: the scenarios take their fault, option and
// variant orders from it (InOrder, Order).
var knownOrder = map[string][]string{
	LabelFault:   {"none", "truncate", "stall", "stall-headers", "corrupt", "reset", "status", "exit", "exit-early"},
	LabelPolicy:  {"drop", "abandon", "kill", "killgroup"},
	LabelSignal:  {"TERM", "KILL"},
	LabelOption:  {"none", "pdeathsig", "guard"},
	LabelVariant: {"shipped", "audit-fix", "kill-on-drop", "group"},
}

// Label renders the label of value under key:
//
//	reports.Label(reports.LabelFault, "stall") // "fault:stall"
func Label(key, value string) string { return key + ":" + value }

// Order returns the known values of key in their order (a copy), e.g.
// Order(LabelOption) == []string{"none", "pdeathsig", "guard"}.
func Order(key string) []string { return slices.Clone(knownOrder[key]) }

// InOrder returns values sorted as specs and tables list key's values:
// known ones in their order, then the others alphabetically.
//
//	reports.InOrder(reports.LabelFault, slices.Collect(maps.Keys(rules)))
func InOrder(key string, values []string) []string {
	set := make(map[string]bool, len(values))
	for _, v := range values {
		set[v] = true
	}
	return ordered(set, knownOrder[key])
}

// splitLabel splits "fault:stall" into its key and value; a label without a
// colon is a key with value "".
func splitLabel(l string) (key, value string) {
	k, v, _ := strings.Cut(l, ":")
	return k, v
}
