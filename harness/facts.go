package harness

import (
	"slices"
	"time"
)

// Fact is what a caller knows of one process a run started, beyond what
// /proc shows: typically one invocation from a fault injector's journal
// (harness does not read journals itself):
//
//	facts = append(facts, harness.Fact{Pid: inv.PID, Started: inv.Start, Argv: inv.Argv, Fault: inv.Fault, Source: "journal"})
//	leaks = leaks.Annotate(facts...)
type Fact struct {
	// Pid is the process the fact is about.
	Pid int
	// Started is when the process recorded the fact about itself (it was
	// running by then); zero if unknown. Annotate uses it against pid
	// reuse: a fact recorded before the process started (give or take
	// factSlack) is about an earlier process with the same pid.
	Started time.Time
	// Argv is the command line the process ran with, as it recorded it.
	Argv []string
	// Fault is the fault injected into the process ("" if none).
	Fault string
	// Source names where the fact comes from in reports, e.g. "journal"
	// ("" becomes "caller").
	Source string
	// HeldUntil says the process is held still on purpose, from when the
	// fact was given until then: a fault injector is stalling it (fakecli
	// pausing itself, a server holding back the response it waits for).
	// Leaks.Stuck takes it as evidence that the process will not change
	// before then. Zero: nothing is said.
	HeldUntil time.Time
}

// factSlack is how much earlier than a process's start (as this process
// computes it from /proc, to 10ms, against a boot time estimated to 10ms)
// a fact about it may say it started.
const factSlack = 100 * time.Millisecond

// Annotate returns l with each leaked process (child or escaped) paired
// with the fact about it, if any (Proc.Fact): the fact with the same pid
// recorded earliest at or after the process started (so a fact about an
// earlier process that had the same pid is not used; facts without a
// Started time are used only when none has one). A process without a
// command line (a zombie nobody described) gets the fact's Argv, shown as
// "(from <source>)". The report then shows the fault:
//
//	pid 4244 [S sleeping] ppid 1, pgid 4242, age 1.1s — escaped its parent (tagged run r17)
//	    spawned as: fakecli cp s3://b/e1/x/3-.chunk -   fault: stall after=8KiB
//
// Annotate is pure: it reads no files.
func (l Leaks) Annotate(facts ...Fact) Leaks {
	if len(facts) == 0 {
		return l
	}
	byPid := map[int32][]Fact{}
	for _, f := range facts {
		if f.Pid > 0 && f.Pid <= 1<<31-1 {
			byPid[int32(f.Pid)] = append(byPid[int32(f.Pid)], f)
		}
	}
	annotate := func(ps []Proc) []Proc {
		if len(ps) == 0 {
			return ps
		}
		out := slices.Clone(ps)
		for i := range out {
			f, ok := factFor(out[i], byPid[out[i].Pid])
			if !ok {
				continue
			}
			if f.Source == "" {
				f.Source = "caller"
			}
			f.Argv = slices.Clone(f.Argv)
			out[i].Fact = &f
			if len(out[i].Cmdline) == 0 && len(f.Argv) > 0 {
				out[i].Cmdline, out[i].CmdlineFrom = slices.Clone(f.Argv), f.Source
			}
		}
		return out
	}
	l.Children = annotate(l.Children)
	l.Escaped = annotate(l.Escaped)
	return l
}

// factFor picks the fact about p among facts with its pid.
func factFor(p Proc, facts []Fact) (Fact, bool) {
	var best, untimed *Fact
	for i := range facts {
		f := &facts[i]
		if f.Started.IsZero() {
			if untimed == nil {
				untimed = f
			}
			continue
		}
		if !p.Started.IsZero() && f.Started.Before(p.Started.Add(-factSlack)) {
			continue // about an earlier process with this pid
		}
		if best == nil || f.Started.Before(best.Started) {
			best = f
		}
	}
	switch {
	case best != nil:
		return *best, true
	case untimed != nil:
		return *untimed, true
	}
	return Fact{}, false
}
