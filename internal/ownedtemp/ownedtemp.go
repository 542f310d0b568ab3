// Package ownedtemp makes temporary folders named after the process that
// owns them (its pid and start time), so that a later run can remove the
// ones whose owner died without removing them (SIGKILL, a second Ctrl-C)
// and never touch one whose owner still runs:
//
//	ownedtemp.RemoveStale("run", "personas") // what dead gates left
//	dir, err := ownedtemp.Mkdir("run")       // $TMPDIR/leakgate-run-4242.98765-123456
//
// Only folders of this naming, of the calling user, in os.TempDir() are
// ever removed: nothing here deletes what leakgate did not write.
package ownedtemp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"

	"github.com/leakgate/leakgate/internal/procfs"
)

// name matches the folders Mkdir makes: leakgate-<kind>-<pid>.<start ticks>-<random>.
var name = regexp.MustCompile(`^leakgate-([a-z]+)-(\d+)\.(\d+)-[^/]+$`)

// Mkdir makes a temporary folder of kind (lower-case letters) for the
// calling process, named after it: dir, err := ownedtemp.Mkdir("metadata").
func Mkdir(kind string) (string, error) {
	st, err := procfs.ReadStat(int32(os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("temporary folder: %w", err)
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("leakgate-%s-%d.%d-", kind, st.Pid, st.StartTicks))
	if err != nil {
		return "", fmt.Errorf("temporary folder: %w", err)
	}
	return dir, nil
}

// Is reports whether path names a folder Mkdir made of one of kinds (by
// its base name): the check before removing a folder someone passed on.
//
//	if ownedtemp.Is(dir, "run", "personas") { os.RemoveAll(dir) }
func Is(path string, kinds ...string) bool {
	m := name.FindStringSubmatch(filepath.Base(path))
	return m != nil && slices.Contains(kinds, m[1])
}

// RemoveStale removes the folders of kinds in os.TempDir() that the calling
// user owns and whose owner process is provably dead: its pid is gone, or
// now names a process started at another time. It returns what it removed.
func RemoveStale(kinds ...string) []string {
	dir := os.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		m := name.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() || !slices.Contains(kinds, m[1]) {
			continue
		}
		if fi, err := e.Info(); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Getuid()) {
			continue
		}
		pid, perr := strconv.ParseInt(m[2], 10, 32)
		ticks, terr := strconv.ParseUint(m[3], 10, 64)
		if perr != nil || terr != nil {
			continue
		}
		if st, err := procfs.ReadStat(int32(pid)); err == nil && st.StartTicks == ticks {
			continue // its owner is alive
		} else if err != nil && !errors.Is(err, procfs.ErrGone) {
			continue // unreadable: not provably dead
		}
		p := filepath.Join(dir, e.Name())
		if os.RemoveAll(p) == nil {
			out = append(out, p)
		}
	}
	return out
}
