// Package reports turns scenario results into something a machine and a
// person can read: the per-spec leak counts that every scenario spec records
// as a Ginkgo report entry named "leaks" (and its timeline, peak,
// expectation, attribution and events entries), read back from Ginkgo's JSON
// reports; a Markdown summary of the fault × policy matrix; a self-contained
// HTML report; and FINDINGS.md, the audit's claims as the run measured them.
//
// A scenario spec records its counts with
//
//	AddReportEntry(reports.EntryName, reports.Leaks{Children: 3, Zombies: 3, Spawned: 40})
//
// and `leakgate summary reports/out/scenarios.json` prints the matrix:
//
//	results, err := reports.ReadAll("reports/out/scenarios.json") // or several shards' reports
//	fmt.Print(reports.Summary(results))
//	err = reports.WriteHTML("reports/out/index.html", results)
//	err = reports.WriteFindings("reports/out/FINDINGS.md", results)
//
// The HTML page draws every family of specs (the specs sharing their bare
// labels: none for the restore matrix, "backup", "real-cli", …) as grids,
// one per config and subject label, rows by the other key:value labels
// (fault, signal · option, variant, …), columns by policy; a cell is coloured
// by the worst it leaked and framed red when its expectation failed. A
// cell's link (index.html#c-…, stable across runs) opens its detail: the
// timeline as an SVG chart with the fault's call, the first error and the
// abort marked, the leaked processes as a tree with their attribution, the
// expectation and the command that replays the cell. GateHTML gives one
// `leakgate run` the same detail view.
//
// Charts are SVG rendered here, not a charting library: a step chart of four
// integer series needs no interaction, and inline SVG keeps the page one
// file that opens offline and renders without script.
package reports
