package reports

import "fmt"

// EntryName is the name of the Ginkgo report entry that holds a spec's Leaks.
const EntryName = "leaks"

// Leaks is what one scenario spec left behind after settling, as counts. Its
// JSON form (integer fields children, zombies, escaped, fds, spawned) is the
// value of the spec's "leaks" report entry.
//
//	AddReportEntry(reports.EntryName, reports.Leaks{Children: 2, Zombies: 1, FDs: 4, Spawned: 37})
type Leaks struct {
	// Children counts leaked descendants of the test process, in any state.
	Children int `json:"children"`
	// Zombies counts the leaked descendants in state Z (a subset of Children).
	Zombies int `json:"zombies"`
	// Escaped counts processes tagged with the spec's run marker that are no
	// longer in the test process's tree (reparented to a subreaper or init).
	Escaped int `json:"escaped"`
	// FDs counts the test process's net new file descriptors after settling.
	FDs int `json:"fds"`
	// Spawned counts storage CLI invocations, from the fakecli journal.
	Spawned int `json:"spawned"`
}

// Zero reports whether nothing leaked (Spawned does not count as a leak).
func (l Leaks) Zero() bool {
	return l.Children == 0 && l.Zombies == 0 && l.Escaped == 0 && l.FDs == 0
}

// String is the compact form used in the summary's cells:
// children/zombies/escaped/fds, then the number of CLI invocations, e.g.
// "3/3/0/6 · 41".
func (l Leaks) String() string {
	return fmt.Sprintf("%d/%d/%d/%d · %d", l.Children, l.Zombies, l.Escaped, l.FDs, l.Spawned)
}
