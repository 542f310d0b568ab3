package harness_test

import (
	"os"
	"testing"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/procfs"
)

// TestSnapshotReadsTreeOnly: under RunReaped a snapshot finds descendants
// from the tree down and escaped processes in the wrapper's tree (see
// TestMarkerPrefix for one found there), so a cold snapshot reads the
// environ of far fewer processes than the machine runs.
func TestSnapshotReadsTreeOnly(t *testing.T) {
	if os.Getenv(harness.ReapedEnv) == "" {
		t.Skip("needs the RunReaped wrapper as subreaper")
	}
	if !harness.TreeOnlyForTest() {
		t.Fatal("under RunReaped, snapshots still scan every process")
	}
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	c := spawn(t, run, spawnOpts{}, "sleep", "300")
	waitState(t, c, 'S')
	harness.ForgetForTest()
	s := take(t)
	found := false
	for _, p := range s.Descendants {
		found = found || p.Pid == int32(c.pid)
	}
	if !found {
		t.Errorf("descendants %v lack the sleep, pid %d", s.Descendants, c.pid)
	}
	pids, err := procfs.Pids()
	if err != nil {
		t.Fatal(err)
	}
	if got := harness.RegistrySizeForTest(); len(pids) > 100 && got > len(pids)/2 {
		t.Errorf("a cold snapshot read %d processes' environ of the machine's %d", got, len(pids))
	}
}
