package harness

import (
	"os"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/leakgate/leakgate/internal/procfs"
)

// reaperEnv carries the RunReaped wrapper's pid to the inner process, which
// trusts it only if it is its parent's: a program the inner starts inherits
// the variable but has another parent.
const reaperEnv = "LEAKGATE_REAPER"

// reaperPID is the RunReaped wrapper above this process (a child subreaper,
// the caller's parent), 0 when there is none.
var reaperPID atomic.Int32

// noteReaper records the wrapper's pid in the inner process of RunReaped.
func noteReaper() {
	if pid, err := strconv.Atoi(os.Getenv(reaperEnv)); err == nil && pid == os.Getppid() {
		reaperPID.Store(int32(pid))
	}
}

// localTree reads the process tree around self from the tree down instead
// of from every process on the machine: self's descendants through
// /proc/<pid>/task/<tid>/children, its parent through its stat line,
// and, when escaped processes are asked for (marker set), the rest of the
// RunReaped wrapper's tree. Under the wrapper an orphan of self's tree is
// reparented to the wrapper (the nearest child subreaper), so every process
// that escaped self's tree by being orphaned is in the wrapper's tree; so the
// cost of a snapshot follows the size of these trees, not the machine's
// process count. ok is false when only a scan of every process can find an
// escaped process: a marker is asked for and there is no wrapper, or self is
// not the caller (Of). pids lists every process read, sorted.
//
//	if pids, t, ok := localTree(self, caller, marker); ok { … }
func localTree(self, caller int32, marker string) (pids []int32, t tree, ok bool) {
	reaper := reaperPID.Load()
	if self != caller || (marker != "" && reaper == 0) {
		return nil, tree{}, false
	}
	t = tree{stats: map[int32]procfs.Stat{}, desc: map[int32]bool{}, anc: map[int32]bool{}}
	if st, err := procfs.ReadStat(self); err == nil {
		t.stats[self] = st
	}
	// Of the ancestors only the parent is read: it is the wrapper (the
	// wrapper's pid is trusted only while it is the parent, noteReaper),
	// whose name is the parent name of every escaped process; no process
	// above it is in the trees walked below, so none needs excluding.
	if p := t.stats[self].PPid; p > 0 {
		if st, err := procfs.ReadStat(p); err == nil {
			t.anc[p], t.stats[p] = true, st
		}
	}
	t.walk(self, self, true)
	if marker != "" {
		t.walk(reaper, self, false)
	}
	for pid := range t.stats {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids, t, true
}

// walk reads the stat lines of root's descendants, breadth first, skipping
// skip's subtree unless skip is root; desc marks them as self's descendants.
func (t tree) walk(root, skip int32, desc bool) {
	queue := []int32{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		kids, err := procfs.Children(pid)
		if err != nil {
			continue // vanished: its children, if any, were reparented
		}
		for _, k := range kids {
			if k == skip && skip != root || t.desc[k] {
				continue
			}
			st, err := procfs.ReadStat(k)
			if err != nil {
				continue
			}
			if !t.anc[k] {
				t.stats[k] = st
			}
			if desc {
				t.desc[k] = true
			}
			queue = append(queue, k)
		}
	}
}
