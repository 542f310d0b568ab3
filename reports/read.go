package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// ErrNoSpecs is returned by Read when a report holds no specs at all.
var ErrNoSpecs = errors.New("report holds no specs")

// Spec is one spec's outcome, as the summary needs it.
type Spec struct {
	// Text is the spec's full text (containers and leaf).
	Text string
	// Family is the text of the spec's outermost container, "" for a spec
	// outside any: the summary's time table adds up by it.
	Family string
	// Labels maps a label's key to its value: "fault:stall" gives
	// Labels["fault"] == "stall"; a label without a colon maps to "".
	Labels map[string]string
	// State is Ginkgo's spec state: "passed", "failed", "skipped", ….
	State string
	// Leaks is the spec's "leaks" report entry, nil if it recorded none.
	Leaks *Leaks
	// RunTime is how long the spec ran.
	RunTime time.Duration
	// Failure is the first line of the failure message, "" if it passed.
	Failure string
	// Location is the file:line of the failure, or of the spec.
	Location string
	// Declared is the file:line where the spec is declared.
	Declared string
	// Leaf is the spec's own text (the It or table entry), without its
	// containers.
	Leaf string
	// Detail holds the spec's other report entries, decoded: timeline,
	// peak, counts at return, expectation, attribution and the rest as text.
	Detail Detail
}

// Passed reports whether the spec passed.
func (s Spec) Passed() bool { return s.State == types.SpecStatePassed.String() }

// Results is what a Ginkgo JSON report says about a run.
type Results struct {
	// Specs are the run's It specs, in report order.
	Specs []Spec
	// RunTime is the wall-clock time of the suites, summed over suites.
	RunTime time.Duration
	// Succeeded is false if any suite failed (including setup failures
	// that no spec shows).
	Succeeded bool
	// SuiteFailures are failure messages of suite-level nodes
	// (BeforeSuite, AfterSuite, …), first line each.
	SuiteFailures []string
}

// Read loads a Ginkgo JSON report (ginkgo --json-report), keeping the It
// specs and the failures of suite-level nodes.
//
//	results, err := reports.Read("reports/out/scenarios.json")
//
// A "leaks" entry whose value does not decode is an error naming the spec.
func Read(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ginkgo report: %w", err)
	}
	var suites []types.Report
	if err := json.Unmarshal(data, &suites); err != nil {
		return nil, fmt.Errorf("read ginkgo report %s: %w", path, err)
	}
	r := &Results{Succeeded: true}
	for _, suite := range suites {
		r.RunTime += suite.RunTime
		r.Succeeded = r.Succeeded && suite.SuiteSucceeded
		for _, sr := range suite.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt {
				if sr.Failed() {
					msg, _, _ := strings.Cut(strings.TrimSpace(sr.FailureMessage()), "\n")
					r.SuiteFailures = append(r.SuiteFailures, fmt.Sprintf("%s at %s: %s", sr.LeafNodeType, sr.FailureLocation(), msg))
				}
				continue
			}
			s, err := specOf(sr)
			if err != nil {
				return nil, fmt.Errorf("read ginkgo report %s: %w", path, err)
			}
			r.Specs = append(r.Specs, s)
		}
	}
	if len(r.Specs) == 0 && len(r.SuiteFailures) == 0 {
		return nil, fmt.Errorf("read ginkgo report %s: %w", path, ErrNoSpecs)
	}
	return r, nil
}

func specOf(sr types.SpecReport) (Spec, error) {
	s := Spec{
		Text:     sr.FullText(),
		Labels:   map[string]string{},
		State:    sr.State.String(),
		RunTime:  sr.RunTime,
		Location: sr.LeafNodeLocation.String(),
		Leaf:     sr.LeafNodeText,
		Declared: sr.LeafNodeLocation.String(),
	}
	if len(sr.ContainerHierarchyTexts) > 0 {
		s.Family = sr.ContainerHierarchyTexts[0]
	}
	for _, l := range sr.Labels() {
		k, v := splitLabel(l)
		s.Labels[k] = v
	}
	if sr.Failed() {
		msg, _, _ := strings.Cut(strings.TrimSpace(sr.FailureMessage()), "\n")
		s.Failure = msg
		s.Location = sr.FailureLocation().String()
	}
	for _, e := range sr.ReportEntries {
		if e.Name != EntryName {
			if err := s.Detail.add(e); err != nil {
				return Spec{}, fmt.Errorf("spec %q: %w", s.Text, err)
			}
			continue
		}
		var l Leaks
		if err := json.Unmarshal([]byte(e.Value.AsJSON), &l); err != nil {
			return Spec{}, fmt.Errorf("spec %q: report entry %q: %w", s.Text, EntryName, err)
		}
		s.Leaks = &l
	}
	return s, nil
}
