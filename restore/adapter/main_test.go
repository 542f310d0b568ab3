package adapter

import (
	"os"
	"testing"

	"github.com/leakgate/leakgate/harness"
)

// TestMain runs the tests under a subreaper (harness.RunReaped), so the
// grandchildren that KillGroup kills are reaped at once instead of by this
// machine's slow pid 1, and anything a failed test left is swept.
func TestMain(m *testing.M) { os.Exit(harness.RunReaped(m.Run)) }
