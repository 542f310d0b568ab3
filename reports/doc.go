// Package reports turns scenario results into something a machine and a
// person can read: the per-spec leak counts that every scenario spec records
// as a Ginkgo report entry named "leaks", read back from Ginkgo's JSON report,
// and a Markdown summary of the fault × policy matrix.
//
// A scenario spec records its counts with
//
//	AddReportEntry(reports.EntryName, reports.Leaks{Children: 3, Zombies: 3, Spawned: 40})
//
// and `leakgate summary reports/out/scenarios.json` prints the matrix:
//
//	results, err := reports.Read("reports/out/scenarios.json")
//	fmt.Print(reports.Summary(results))
package reports
