package scenarios_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/leakgate/leakgate/harness"
)

// TestMain runs the suite under harness.RunReaped: a subreaper parent that
// reaps every orphan the restore leaves at once (they count as escaped from
// here) and sweeps anything tagged with this process's runs when it exits.
func TestMain(m *testing.M) { os.Exit(harness.RunReaped(m.Run)) }

// TestScenarios runs the Ginkgo suite. A spec's "expectation" entry, and
// the message of a leak assertion, cite the facts they rest on as §N, a
// section of docs/backup-cli.md: "§1 tokio" and "§1 Go" are the two halves
// of its §1.4 (what dropping a child does), "§7" is the group kill.
func TestScenarios(t *testing.T) {
	RegisterFailHandler(Fail)
	// Under -p, Ginkgo's default output interceptor makes a fresh pipe for
	// the next spec in the background: two fds of this process appearing in
	// the middle of a measured spec. Our specs capture their children's
	// output themselves, so interception is off.
	suiteConfig, reporterConfig := GinkgoConfiguration()
	suiteConfig.OutputInterceptorMode = "none"
	RunSpecs(t, "leakgate scenarios", suiteConfig, reporterConfig)
}

// w is the world every spec shares: built once by process 1, read by all.
var w world

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	built, err := buildWorld(ctx)
	Expect(err).NotTo(HaveOccurred())
	data, err := json.Marshal(built)
	Expect(err).NotTo(HaveOccurred())
	return data
}, func(data []byte) {
	Expect(json.Unmarshal(data, &w)).To(Succeed())
	Expect(w.load()).To(Succeed())
}, NodeTimeout(5*time.Minute))

// Every spec cleans up after itself; this is the last line of defence, and
// the place a leak of our own shows up with its report even under
// `ginkgo -p` (which discards the RunReaped wrapper's own output).
var _ = SynchronizedAfterSuite(func(ctx SpecContext) {
	sweepCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	sweep, err := harness.Sweep(sweepCtx, harness.Marker{ID: harness.ProcessMarker()}, harness.Snapshot{})
	Expect(err).NotTo(HaveOccurred())
	Expect(sweep.Killed).To(BeEmpty(), "processes of this suite were still running after every spec had cleaned up")
}, func() {
	gexec.CleanupBuildArtifacts()
	if w.Root != "" {
		Expect(os.RemoveAll(w.Root)).To(Succeed())
	}
}, NodeTimeout(time.Minute))
