package backup_test

import (
	"os"
	"testing"

	"github.com/leakgate/leakgate/harness"
)

// TestMain runs the tests under a subreaper (harness.RunReaped): orphans of
// the storage commands are reaped at once, and anything tagged with a run
// of this binary is swept when it exits.
func TestMain(m *testing.M) { os.Exit(harness.RunReaped(m.Run)) }
