package reports

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/leakgate/leakgate/harness"
)

// Report entry names a measured spec records besides EntryName; Spec.Detail
// decodes them.
const (
	// TimelineEntry holds a harness.Timeline (JSON: every_ns, points, peak…).
	TimelineEntry = "timeline"
	// PeakEntry holds the timeline's peaks as Leaks.
	PeakEntry = "peak"
	// AtReturnEntry holds the Leaks the instant the run returned.
	AtReturnEntry = "at-return"
	// ExpectationEntry holds the cell's expectation: one line, its reason.
	ExpectationEntry = "expectation"
	// AttributionEntry holds the settled leaks: a harness.Leaks (its JSON
	// gives the process tree; its text the leak report), or only the text.
	AttributionEntry = "attribution"
	// EventsEntry holds the run's marked instants as []Event, on the
	// timeline's clock.
	EventsEntry = "events"
)

// Event is one marked instant of a run, on its timeline's clock (time since
// sampling started): the first error, the abort.
//
//	AddReportEntry(reports.EventsEntry, []reports.Event{{Name: "abort", At: 2 * time.Second}})
type Event struct {
	Name string        `json:"name"`
	At   time.Duration `json:"at_ns"`
}

// Entry is a report entry shown as text.
type Entry struct {
	Name, Text string
}

// Detail is what a cell's detail view shows of one measured run (a
// scenario spec, or one `leakgate run`).
type Detail struct {
	// Timeline is the sampled counts while the run ran; nil if none.
	Timeline *harness.Timeline
	// Events are marked instants on the timeline's clock.
	Events []Event
	// Peak and AtReturn are counts at the worst sample and when the run
	// returned; nil if not recorded.
	Peak, AtReturn *Leaks
	// Expectation is the cell's claim and its reason.
	Expectation string
	// Attribution is the settled leaks with their attribution; nil if the
	// run recorded only the text (AttributionText) or nothing leaked.
	Attribution *harness.Leaks
	// AttributionText is the leak report as text.
	AttributionText string
	// Procs are the leaked processes as a forest (see Tree); FDs the
	// leaked fds of the measuring process.
	Procs []*Node
	FDs   []harness.FD
	// Replay is a shell command that runs this cell again.
	Replay string
	// Entries are the other report entries, in recorded order.
	Entries []Entry
}

// add decodes one report entry into d.
func (d *Detail) add(e types.ReportEntry) error {
	raw := []byte(e.Value.AsJSON)
	var err error
	switch e.Name {
	case TimelineEntry:
		d.Timeline = &harness.Timeline{}
		err = json.Unmarshal(raw, d.Timeline)
	case EventsEntry:
		err = json.Unmarshal(raw, &d.Events)
	case PeakEntry:
		d.Peak = &Leaks{}
		err = json.Unmarshal(raw, d.Peak)
	case AtReturnEntry:
		d.AtReturn = &Leaks{}
		err = json.Unmarshal(raw, d.AtReturn)
	case ExpectationEntry:
		d.Expectation = e.Value.String()
	case AttributionEntry:
		d.AttributionText = e.Value.String()
		// The structure is a bonus over the text: a value that does not
		// decode (an older or newer harness) leaves the text alone.
		var l harness.Leaks
		if strings.HasPrefix(strings.TrimSpace(e.Value.AsJSON), "{") && json.Unmarshal(raw, &l) == nil {
			d.Attribution = &l
			d.Procs, d.FDs = Tree(l), l.FDs
		}
	default:
		d.Entries = append(d.Entries, Entry{Name: e.Name, Text: e.Value.String()})
	}
	if err != nil {
		return fmt.Errorf("report entry %q: %w", e.Name, err)
	}
	return nil
}

// Node is one leaked process in a tree, with its attribution.
type Node struct {
	Pid, PPid, Pgid int
	State, Name     string
	// Spawned is the command line as spawned (or as /proc shows it), and
	// SpawnedFrom where it came from ("proc", "spawn", …).
	Spawned     []string
	SpawnedFrom string
	// Ran is the command line as run, from the journal, when it differs.
	Ran     []string
	RanFrom string
	Fault   string
	// Escaped: the process left the measured tree (reparented).
	Escaped bool
	// Peers name the leaked fds of the measuring process whose other end
	// this process holds: "fd 17 (pipe:[88123]) as its fd 1".
	Peers []string
	Kids  []*Node
}

// Command is the spawned command line, shell-quoted, or "?" when none was
// recorded.
func (n *Node) Command() string {
	if len(n.Spawned) == 0 {
		return "?"
	}
	return shellQuote(n.Spawned)
}

// RanAs is the command line as run, shell-quoted, or "".
func (n *Node) RanAs() string {
	if len(n.Ran) == 0 {
		return ""
	}
	return shellQuote(n.Ran)
}

// StateName spells out the state letter.
func (n *Node) StateName() string { return stateName(n.State) }

// Tree arranges the leaked processes of l (children, then escaped) as a
// forest: a process whose parent also leaked is its child; the others are
// roots, in pid order. Each node carries its attribution.
//
//	for _, root := range reports.Tree(leaks) { fmt.Println(root.Pid, len(root.Kids)) }
func Tree(l harness.Leaks) []*Node {
	var nodes []*Node
	for i, list := range [][]harness.Proc{l.Children, l.Escaped} {
		for _, p := range list {
			n := &Node{Pid: int(p.Pid), PPid: int(p.PPid), Pgid: int(p.Pgid), State: p.State, Name: p.Name,
				Spawned: p.Cmdline, SpawnedFrom: p.CmdlineFrom, Escaped: i == 1}
			if f := p.Fact; f != nil {
				n.Fault = f.Fault
				if len(f.Argv) > 0 && !slices.Equal(f.Argv, p.Cmdline) {
					n.Ran, n.RanFrom = f.Argv, f.Source
				}
			}
			nodes = append(nodes, n)
		}
	}
	for _, fd := range l.FDs {
		for _, peer := range fd.Peers {
			for _, n := range nodes {
				if n.Pid == int(peer.Pid) {
					n.Peers = append(n.Peers, fmt.Sprintf("fd %d (%s) as its fd %d", fd.Num, fd.Target, peer.FD))
				}
			}
		}
	}
	return forest(nodes)
}

// forest links nodes by PPid and returns the roots, each level in pid order.
func forest(nodes []*Node) []*Node {
	byPid := map[int]*Node{}
	for _, n := range nodes {
		byPid[n.Pid] = n
	}
	var roots []*Node
	for _, n := range nodes {
		if parent, ok := byPid[n.PPid]; ok && !ancestor(n, parent, byPid) {
			parent.Kids = append(parent.Kids, n)
		} else {
			roots = append(roots, n)
		}
	}
	byPID := func(a, b *Node) int { return a.Pid - b.Pid }
	for _, n := range nodes {
		slices.SortFunc(n.Kids, byPID)
	}
	slices.SortFunc(roots, byPID)
	return roots
}

// ancestor reports whether n is p or one of p's ancestors among byPid: a
// parent link from p to n would close a loop (pids read at different
// instants can form one).
func ancestor(n, p *Node, byPid map[int]*Node) bool {
	for range len(byPid) + 1 {
		if p == n {
			return true
		}
		next, ok := byPid[p.PPid]
		if !ok {
			return false
		}
		p = next
	}
	return true
}
