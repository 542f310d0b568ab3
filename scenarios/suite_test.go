package scenarios_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
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
	if err := shard.parse(os.Getenv(shardEnv)); err != nil {
		t.Fatalf("%s: %v", shardEnv, err)
	}
	suiteConfig, reporterConfig := GinkgoConfiguration()
	suiteConfig.OutputInterceptorMode = "none"
	RunSpecs(t, "leakgate scenarios", suiteConfig, reporterConfig)
}

// shardEnv runs one stable part of the suite: LEAKGATE_SHARD=i/n (make
// scenarios SHARD=i/n) runs the specs whose full text hashes (FNV-1a) to i-1
// modulo n and skips the rest, so n jobs with i = 1…n run every spec exactly
// once; `leakgate summary` merges their reports. The specs of an Ordered
// container go together, by the text of their outermost container.
const shardEnv = "LEAKGATE_SHARD"

var shard shardSpec

type shardSpec struct{ i, n uint32 }

func (s *shardSpec) parse(v string) error {
	if v == "" {
		*s = shardSpec{1, 1}
		return nil
	}
	if _, err := fmt.Sscanf(v, "%d/%d", &s.i, &s.n); err != nil || s.n == 0 || s.i < 1 || s.i > s.n || fmt.Sprintf("%d/%d", s.i, s.n) != v {
		return fmt.Errorf("%q is not i/n with 1 ≤ i ≤ n", v)
	}
	return nil
}

// holds reports whether the current spec is in this shard.
func (s shardSpec) holds(r SpecReport) bool {
	key := r.FullText()
	if r.IsInOrderedContainer && len(r.ContainerHierarchyTexts) > 0 {
		key = r.ContainerHierarchyTexts[0]
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return h.Sum32()%s.n == s.i-1
}

var _ = BeforeEach(func() {
	if !shard.holds(CurrentSpecReport()) {
		Skip(fmt.Sprintf("not in shard %d/%d (%s)", shard.i, shard.n, shardEnv))
	}
})

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
