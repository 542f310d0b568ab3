package ownedtemp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/leakgate/leakgate/internal/procfs"
)

// A folder whose owner is dead is removed; one whose owner runs, one of
// another kind and one not of this naming are left alone.
func TestRemoveStale(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	mine, err := Mkdir("test")
	if err != nil {
		t.Fatal(err)
	}
	if !Is(mine, "test") || Is(mine, "run") {
		t.Errorf("Is(%s): want kind test only", mine)
	}
	// A dead owner: a child that has exited and been reaped.
	c := exec.Command("true")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := procfs.ReadStat(int32(c.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	c.Wait()
	dead := filepath.Join(os.TempDir(), fmt.Sprintf("leakgate-test-%d.%d-1", st.Pid, st.StartTicks))
	// Alive pid, other start time: the pid was reused.
	reused := filepath.Join(os.TempDir(), fmt.Sprintf("leakgate-test-%d.%d-2", os.Getpid(), 1))
	otherKind := filepath.Join(os.TempDir(), fmt.Sprintf("leakgate-other-%d.%d-3", st.Pid, st.StartTicks))
	foreign := filepath.Join(os.TempDir(), "leakgate-test-notes")
	for _, d := range []string{dead, reused, otherKind, foreign} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removed := RemoveStale("test")
	slices.Sort(removed)
	want := []string{dead, reused}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("RemoveStale = %v, want %v", removed, want)
	}
	for _, d := range []string{mine, otherKind, foreign} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
