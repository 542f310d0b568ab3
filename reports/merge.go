package reports

import (
	"cmp"
	"slices"
	"strings"
)

// ReadAll reads one or more Ginkgo JSON reports, e.g. the reports of the
// shards of one run (make scenarios SHARD=i/n), and merges them into one
// Results, as if one run had made them all:
//
//	results, err := reports.ReadAll("shard1/scenarios.json", "shard2/scenarios.json")
//
// A spec is known by its full text and location. A spec that several
// reports hold counts once: the outcome that is not "skipped" wins (a shard
// skips the specs of the other shards), else the first. Specs come in a
// stable order (by text, then location) whatever the order of the reports;
// run times add up; the merged run succeeded only if every report did.
func ReadAll(paths ...string) (*Results, error) {
	var all []*Results
	for _, p := range paths {
		r, err := Read(p)
		if err != nil {
			return nil, err
		}
		all = append(all, r)
	}
	return Merge(all...), nil
}

// Merge merges results as ReadAll does: reports.Merge(a, b).
func Merge(all ...*Results) *Results {
	out := &Results{Succeeded: true}
	index := map[[2]string]int{}
	for _, r := range all {
		out.RunTime += r.RunTime
		out.Succeeded = out.Succeeded && r.Succeeded
		for _, f := range r.SuiteFailures {
			if !slices.Contains(out.SuiteFailures, f) {
				out.SuiteFailures = append(out.SuiteFailures, f)
			}
		}
		for _, s := range r.Specs {
			key := [2]string{s.Text, specLocation(s)}
			i, seen := index[key]
			switch {
			case !seen:
				index[key] = len(out.Specs)
				out.Specs = append(out.Specs, s)
			case out.Specs[i].State == "skipped" && s.State != "skipped":
				out.Specs[i] = s
			}
		}
	}
	slices.SortStableFunc(out.Specs, func(a, b Spec) int {
		return cmp.Or(strings.Compare(a.Text, b.Text), strings.Compare(specLocation(a), specLocation(b)))
	})
	slices.Sort(out.SuiteFailures)
	return out
}

// specLocation is where a spec is declared: Location without the failure's
// line (a failed spec's Location is where it failed).
func specLocation(s Spec) string {
	if s.Declared != "" {
		return s.Declared
	}
	return s.Location
}
