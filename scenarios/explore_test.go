package scenarios_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/explore"
	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
)

// corpusDir is the regression corpus of `leakgate explore`: minimal plans
// it found, each with what it must do now.
const corpusDir = "../testdata/explore"

// exploreTools are the gate and personas the explore specs drive.
func exploreTools(defect string) explore.Tools {
	t := explore.Tools{Leakgate: w.Bins["leakgate"], Fakecli: w.Bins["fakecli"], Env: []string{fakecli.EnvStallCap + "=1m"}}
	if defect != "" {
		t.Env = append(t.Env, explore.EnvSeededDefect+"="+defect)
	}
	return t
}

var _ = Describe("leakgate explore", Label("explore"), func() {
	entries, err := explore.Corpus(corpusDir)
	if err != nil {
		panic(err) // a malformed corpus entry: the tree does not build a suite
	}

	Describe("replays its regression corpus", func() {
		for _, e := range entries {
			It(fmt.Sprintf("%s: %s", filepath.Base(e.Path), e.Expect), SpecTimeout(3*time.Minute), func(ctx SpecContext) {
				AddReportEntry("plan", e.Plan.String())
				if e.Reason != "" {
					AddReportEntry("reason", e.Reason)
				}
				abs, err := filepath.Abs(e.Path)
				Expect(err).NotTo(HaveOccurred())
				args := append([]string{"explore", "--replay", abs, "--tries", "3", "--need", "2",
					"--restore", w.Bins["restore"], "--fakecli", w.Bins["fakecli"]}, e.Subject...)
				cmd := exec.CommandContext(ctx, w.Bins["leakgate"], args...)
				cmd.Dir = ".." // corpus entries name configs relative to the repository
				cmd.Env = append(os.Environ(), explore.EnvSeededDefect+"="+e.Defect)
				out, err := cmd.CombinedOutput()
				code := 0
				if xe, ok := err.(*exec.ExitError); ok {
					code = xe.ExitCode()
				} else {
					Expect(err).NotTo(HaveOccurred())
				}
				if e.Expect == "pass" {
					Expect(code).To(Equal(0), "the plan must pass now:\n%s", out)
					return
				}
				prop := strings.TrimPrefix(e.Expect, "fail ")
				Expect(code).To(Equal(1), "the plan must fail with %s:\n%s", prop, out)
				Expect(string(out)).To(MatchRegexp(`(?m)^FAIL: .*\b%s: `, prop))
			})
		}
	})

	// Each seeded defect (bin/restore under LEAKGATE_SEEDED_DEFECT) must be
	// found by a search from seed 1 and shrunk within the budget; the
	// minimal plan must fail with the defect and pass without it.
	DescribeTable("finds a seeded defect and shrinks it to its minimal plan",
		func(ctx SpecContext, defect, property string, minimal func(*faults.Plan, explore.Outcome)) {
			dir := GinkgoT().TempDir()
			config, err := filepath.Abs(configFiles["local"])
			Expect(err).NotTo(HaveOccurred())
			subject := explore.NewRestore(exploreTools(defect), w.Bins["restore"], config, "killgroup", dir)
			Expect(subject.Prepare(ctx)).To(Succeed())
			s := &explore.Search{Subject: subject, Seed: 1, Budget: 4 * time.Minute, Workers: 1, Dir: filepath.Join(dir, "out"),
				Defect: defect, Until: func(f explore.Finding) bool { return f.Property == property }}
			res, err := s.Run(ctx)
			Expect(err).NotTo(HaveOccurred())
			AddReportEntry("search", fmt.Sprintf("%d runs, %.1f runs/minute, %d findings in %.0fs", res.Runs, res.RunsPerMinute, len(res.Findings), res.Took))
			var found *explore.Finding
			for i, f := range res.Findings {
				if f.Property == property {
					found = &res.Findings[i]
				}
			}
			Expect(found).NotTo(BeNil(), "no %s finding within the budget: %+v", property, res)
			AddReportEntry("finding", fmt.Sprintf("%s (drawn as %s; shrunk in %s, %d runs) — %s",
				found.Plan, found.Original, found.ShrinkTook.Round(time.Millisecond), found.ShrinkRuns, found.Replay))
			Expect(found.Confirmed).To(BeTrue())
			plan, err := faults.Parse("finding", found.Plan)
			Expect(err).NotTo(HaveOccurred())
			minimal(plan, found.Outcome)

			By("replaying the minimal plan file without the defect: it passes")
			e, err := explore.ReadEntry(found.PlanFile)
			Expect(err).NotTo(HaveOccurred())
			Expect(e.Defect).To(Equal(defect))
			clean := explore.NewRestore(exploreTools(""), w.Bins["restore"], config, "killgroup", filepath.Join(dir, "clean"))
			clean.Manifests, clean.Concurrency = subjectParams(e.Subject)
			for range 2 {
				runDir := GinkgoT().TempDir()
				out, err := clean.Check(ctx, plan, runDir)
				Expect(err).NotTo(HaveOccurred())
				Expect(out.Failed()).To(BeFalse(), "without the defect %s must pass: %s", plan, out)
			}
		},
		Entry("killgroup forgets a reader once two reads failed", SpecTimeout(8*time.Minute),
			"killgroup-forgets-on-two-faults", explore.PropLeak, func(p *faults.Plan, out explore.Outcome) {
				Expect(len(out.Faulted)).To(BeNumerically(">=", 2), "one fault cannot trigger it: the run's faults hit %v", out.Faulted)
			}),
		Entry("a resume after a reset loses the last ledger info", SpecTimeout(8*time.Minute),
			"wrong-after-reset-retry", explore.PropResumeWrong, func(p *faults.Plan, out explore.Outcome) {
				Expect(p.Rules).To(HaveLen(1), "one failed read is enough: %s", p)
				Expect(p.Rules[0].On).NotTo(BeEmpty(), "a rule aimed at every read is not minimal: %s", p)
			}),
	)
})

// subjectParams reads --manifests and --concurrency from subject flags.
func subjectParams(flags []string) (manifests, concurrency int) {
	manifests, concurrency = 6, 4
	for i := 0; i+1 < len(flags); i++ {
		switch flags[i] {
		case "--manifests":
			fmt.Sscan(flags[i+1], &manifests)
		case "--concurrency":
			fmt.Sscan(flags[i+1], &concurrency)
		}
	}
	return manifests, concurrency
}
