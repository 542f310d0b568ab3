package rusage

import (
	"os/exec"
	"testing"
)

// TestInheritedFollowsTheParentsPeak: after this process touches 64 MiB,
// a child that only execs true reports at least that much; MaxRSS reads a
// finished child's peak and is 0 without a status.
func TestInheritedFollowsTheParentsPeak(t *testing.T) {
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	if got := Inherited(); got < 64<<20 {
		t.Errorf("Inherited() = %d bytes after touching 64 MiB; want at least that", got)
	}
	_ = buf[len(buf)-1]
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if got := MaxRSS(cmd.ProcessState); got <= 0 {
		t.Errorf("MaxRSS = %d, want > 0", got)
	}
	if MaxRSS(nil) != 0 {
		t.Error("MaxRSS(nil) != 0")
	}
}
