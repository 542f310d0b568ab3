package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/harness"
)

// GateHTML writes one `leakgate run` report as a page with the same detail
// view a scenario cell has: the command's timeline (its exit marked), the
// processes it left as a tree, its leaked fds, the verdict and the command
// line that runs it again (args: leakgate run's arguments).
//
//	err := reports.GateHTML(f, rep, os.Args[2:])
func GateHTML(w io.Writer, rep *gate.Report, args []string) error {
	v := gateView(rep, args)
	d := pageData{Title: "leakgate run", Pass: rep.Pass, Details: []detailView{v}}
	d.Counts = fmt.Sprintf("%s: %s after %s; settle window %s.", shellQuote(rep.Command), rep.Status,
		time.Duration(rep.RanMS)*time.Millisecond, time.Duration(rep.SettleMS)*time.Millisecond)
	if err := page.Execute(w, d); err != nil {
		return fmt.Errorf("render gate html report: %w", err)
	}
	return nil
}

// WriteGateHTML writes GateHTML to path, atomically.
//
//	err := reports.WriteGateHTML("gate.html", rep, os.Args[2:])
func WriteGateHTML(path string, rep *gate.Report, args []string) error {
	return writeAtomic(path, func(w io.Writer) error { return GateHTML(w, rep, args) })
}

// gateView is the detail of a gate report.
func gateView(rep *gate.Report, args []string) detailView {
	v := detailView{ID: "run", Title: shellQuote(rep.Command), Single: true}
	v.Verdict = "gate passed: no leak"
	if !rep.Pass {
		v.Verdict = "gate failed"
		v.Failure = strings.Join(rep.Failures, "; ")
	}
	v.Labels = []string{"run:" + rep.Run, "status:" + rep.Status.String()}
	var nodes []*Node
	for i, list := range [][]gate.Process{rep.Survivors, rep.Escaped} {
		for _, p := range list {
			nodes = append(nodes, &Node{Pid: p.Pid, PPid: p.PPid, Pgid: p.Pgid, State: p.State, Name: p.Name,
				Spawned: p.Cmdline, SpawnedFrom: p.CmdlineFrom, Fault: p.Fault, Escaped: i == 1})
		}
	}
	v.D.Procs = forest(nodes)
	for _, fd := range rep.FDs.Leaked {
		v.D.FDs = append(v.D.FDs, harness.FD{Num: fd.Num, Kind: harness.FDKind(fd.Kind), Target: fd.Target})
	}
	zombies := 0
	for _, p := range rep.Survivors {
		if p.State == "Z" {
			zombies++
		}
	}
	settled := &Leaks{Children: len(rep.Survivors), Zombies: zombies, Escaped: len(rep.Escaped), FDs: len(rep.FDs.Leaked), Spawned: rep.Journal.Invocations}
	p := rep.Timeline.Peak
	v.Rows = []countsRow{{"settled", settled}, {"peak", &Leaks{Children: p.Children, Zombies: p.Zombies, Escaped: p.Escaped, FDs: p.FDs, Spawned: rep.Journal.Invocations}}}
	if len(rep.Timeline.Points) > 0 {
		v.D.Timeline = &rep.Timeline
		v.Chart = Chart(rep.Timeline, []Event{{Name: "command exited: " + rep.Status.String(), At: time.Duration(rep.RanMS) * time.Millisecond}})
	}
	v.D.Replay = shellQuote(append([]string{"leakgate", "run"}, args...))
	v.D.Expectation = "the command leaves no process, escapes nothing and leaks no fd (package gate's contract)"
	v.D.Entries = []Entry{{Name: "report", Text: rep.String()}}
	if len(rep.Journal.Notable) > 0 {
		v.D.Entries = append(v.D.Entries, Entry{Name: "journal: notable invocations", Text: strings.Join(rep.Journal.Notable, "\n")})
	}
	return v
}
