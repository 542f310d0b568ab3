package gate

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/gate/selfreport"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/internal/shellquote"
	"github.com/leakgate/leakgate/journal"
)

// Report is what Run found. Its JSON form is `leakgate run --json`'s output
// (fields in lower_snake_case, durations in milliseconds unless the field
// name says _ns); String is the human report:
//
//	rep, err := gate.Run(ctx, cfg)
//	data, _ := json.Marshal(rep)
//	if !rep.Pass { fmt.Print(rep) }
type Report struct {
	Command []string  `json:"command"`
	Pid     int       `json:"pid"`
	Run     string    `json:"run"` // LEAKGATE_RUN of the command's processes
	Started time.Time `json:"started"`
	RanMS   int64     `json:"ran_ms"` // from start to exit (or to the timeout kill)
	Status  Status    `json:"status"`
	// Exit says how the command's exit was seen: ExitTraced (stopped at
	// its exit: fds and orphans judged exactly), ExitNotStopped or
	// ExitUntraced (fds and orphans judged from the samples).
	Exit string `json:"exit"`
	// Personas are the fakecli personas first on the command's PATH
	// (Config.PersonaDir); empty when the command's PATH was left alone.
	Personas []string `json:"personas"`
	// Pass is the verdict; Failures say why it is false, one line each.
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures"`
	// SettleMS is the settle window the verdict waited: Config.Settle, or
	// 0 when a second signal made the gate kill the tree at once.
	SettleMS int64 `json:"settle_ms"`
	// Survivors are processes of the command's tree that were still there
	// when the settle window ended, having been left behind when the
	// command exited: alive (orphaned) or zombie (never reaped).
	Survivors []Process `json:"survivors"`
	// Escaped are processes that were alive outside the command's tree
	// while it ran: orphaned to the gate alive (whether or not they died
	// later), or carrying the run's marker anywhere else when the settle
	// window ended.
	Escaped []Process `json:"escaped"`
	// OrphansReaped counts the processes that came to the gate already dead
	// while the command ran (killed along with their parent, as a process
	// group is): the gate reaped them as init would. Not leaks.
	OrphansReaped int `json:"orphans_reaped"`
	// FDs is the judgement of the command's own fds.
	FDs FDVerdict `json:"fds"`
	// Timeline is harness.Sample's record of the command while it ran: its
	// descendants, zombies, escaped processes and new fds (peak and steps).
	Timeline harness.Timeline `json:"timeline"`
	// SelfReported are the leaks the command reported about itself
	// (selfreport.Env).
	SelfReported []selfreport.Leak `json:"self_reported"`
	Journal      Journal           `json:"journal"`
	Cleanup      Cleanup           `json:"cleanup"`
}

// Status is how the command ended: if !rep.Status.OK() { … }.
type Status struct {
	Code     int    `json:"code"`             // exit status; -1 if it died of a signal
	Signal   string `json:"signal,omitempty"` // the signal's name (e.g. "SIGKILL"), if it died of one
	TimedOut bool   `json:"timed_out"`        // the gate killed it at the timeout
	// Interrupted: the gate killed it because Run's context ended.
	Interrupted bool `json:"interrupted"`
}

// String renders the status: "exit 1", "killed by SIGKILL (timed out)".
func (s Status) String() string {
	var out string
	if s.Signal != "" {
		out = "killed by " + s.Signal
	} else {
		out = "exit " + strconv.Itoa(s.Code)
	}
	if s.TimedOut {
		out += " (timed out)"
	}
	if s.Interrupted {
		out += " (interrupted)"
	}
	return out
}

// OK reports whether the command exited with status 0 on its own (not
// killed by the gate): rep.Status.OK().
func (s Status) OK() bool { return s.Signal == "" && s.Code == 0 && !s.TimedOut && !s.Interrupted }

func statusOf(ws syscall.WaitStatus, timedOut, interrupted bool) Status {
	s := Status{Code: ws.ExitStatus(), TimedOut: timedOut, Interrupted: interrupted}
	if ws.Signaled() {
		s.Code = -1
		s.Signal = unix.SignalName(ws.Signal())
		if s.Signal == "" {
			s.Signal = ws.Signal().String()
		}
	}
	return s
}

// Process is one leaked process in a Report: for _, p := range
// rep.Survivors { fmt.Println(p.Text) }.
type Process struct {
	Pid         int      `json:"pid"`
	PPid        int      `json:"ppid"`
	Pgid        int      `json:"pgid"`
	State       string   `json:"state"` // /proc state letter: S, R, D, Z, …
	Name        string   `json:"name"`
	Cmdline     []string `json:"cmdline"`
	CmdlineFrom string   `json:"cmdline_from"` // "proc", "spawn", "earlier snapshot", "journal", or "" if unknown
	Marker      string   `json:"marker"`       // its LEAKGATE_RUN, if known
	Fault       string   `json:"fault,omitempty"`
	// Reaped: it escaped alive, died while the command ran and was reaped
	// by the gate (State is then "X").
	Reaped bool `json:"reaped,omitempty"`
	// Ended says how it ended, one of the Ended* values: on its own while
	// the command ran, or in the cleanup (after SIGTERM, by SIGKILL,
	// reaped as the zombie it was judged, or exited by itself before the
	// cleanup signalled it and reaped).
	Ended string `json:"ended"`
	// Note adds what the gate saw of it, if anything ("escaped at 12ms;
	// …").
	Note    string `json:"note,omitempty"`
	history string // harness.Proc.String: spawned as, ran as, fault
	// Text is the rendering of the report's lists: its name (comm) and
	// command line as they are, the state it was judged in and how it
	// ended, then its history (harness.Proc.String, with the journal's
	// facts).
	Text string `json:"text"`
}

// How a leaked process ended (Process.Ended).
const (
	EndedDuringRun  = "died while the command ran; reaped by the gate"
	EndedTerm       = "ended by SIGTERM in the cleanup"
	EndedKill       = "killed by SIGKILL in the cleanup"
	EndedReaped     = "zombie, reaped in the cleanup"
	EndedExited     = "exited by itself before the cleanup signalled it; reaped in the cleanup" // judged alive, a zombie by the cleanup
	EndedUnknown    = "gone before the cleanup"
	EndedNotStopped = "still there after the cleanup"
)

// How the command's exit was seen (Report.Exit).
const (
	ExitTraced     = "traced"      // stopped at its exit by ptrace: exact
	ExitNotStopped = "not stopped" // traced, but killed by SIGKILL: no exit stop; sampled
	ExitUntraced   = "untraced"    // ptrace refused: sampled
)

func processOf(p harness.Proc) Process {
	out := Process{
		Pid: int(p.Pid), PPid: int(p.PPid), Pgid: int(p.Pgid), State: p.State, Name: p.Name,
		Cmdline: p.Cmdline, CmdlineFrom: p.CmdlineFrom, Marker: p.Marker, history: p.String(),
	}

	if out.Cmdline == nil {
		out.Cmdline = []string{}
	}
	if p.Fact != nil {
		out.Fault = p.Fact.Fault
	}
	out.render()
	return out
}

// stateWord is the one vocabulary of states, for the timeline, the lists
// and the verdict: alive, zombie (dead, not reaped) or dead (reaped).
func stateWord(state string) string {
	switch state {
	case "Z":
		return "zombie"
	case "X":
		return "dead"
	}
	return "alive (" + state + " " + procfs.StateName(state) + ")"
}

// render sets Text: the process by its own name (comm) and its command line
// as judged, the state it was judged in and how it ended, then its history
// (how it was spawned, what the journal says).
func (p *Process) render() {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d %q", p.Pid, p.Name)
	if len(p.Cmdline) > 0 && p.CmdlineFrom == "proc" {
		fmt.Fprintf(&b, ": %s", shellquote.Join(p.Cmdline))
	}
	fmt.Fprintf(&b, "\n      judged %s, ppid %d, pgid %d", stateWord(p.State), p.PPid, p.Pgid)
	if p.Ended != "" {
		fmt.Fprintf(&b, "; %s", p.Ended)
	}
	if p.Note != "" {
		fmt.Fprintf(&b, "\n      %s", p.Note)
	}
	if _, history, ok := strings.Cut(p.history, "\n"); ok {
		fmt.Fprintf(&b, "\n%s", history)
	}
	p.Text = b.String()
}

// ended converts leftovers to Processes, each with how the cleanup ended it.
func ended(ps []harness.Proc, cl Cleanup) []Process {
	how := map[int]string{}
	for _, pid := range cl.Reaped {
		how[pid] = EndedReaped
	}
	for _, pid := range cl.Killed {
		how[pid] = EndedKill
	}
	for _, pid := range cl.Terminated {
		how[pid] = EndedTerm
	}
	out := make([]Process, 0, len(ps))
	for _, hp := range ps {
		p := processOf(hp)
		p.Ended = how[p.Pid]
		switch {
		case p.Ended == "":
			p.Ended = EndedUnknown
		case p.Ended == EndedReaped && p.State != "Z":
			p.Ended = EndedExited
		}
		p.render()
		out = append(out, p)
	}
	return out
}

// Journal summarises the fakecli journal of the run (see package journal):
// rep.Journal.Invocations.
type Journal struct {
	Path        string `json:"path"`
	Kept        bool   `json:"kept"` // false: a temporary file, removed
	Invocations int    `json:"invocations"`
	Faulted     int    `json:"faulted"` // invocations a fault rule matched
	Failed      int    `json:"failed"`  // ended with a non-zero status
	Unended     int    `json:"unended"` // no end entry: killed (by the cleanup, or earlier)
	// Notable lists every faulted, failed or unended invocation
	// (journal.Invocation.String).
	Notable []string `json:"notable"`
	Error   string   `json:"error,omitempty"`
}

func summariseJournal(path string, kept bool, invs []journal.Invocation, err error) Journal {
	j := Journal{Path: path, Kept: kept, Invocations: len(invs), Notable: []string{}}
	if err != nil {
		j.Error = err.Error()
	}
	for _, inv := range invs {
		notable := false
		if inv.Fault != "" {
			j.Faulted++
			notable = true
		}
		if !inv.Ended {
			j.Unended++
			notable = true
		} else if inv.Exit != 0 {
			j.Failed++
			notable = true
		}
		if notable {
			j.Notable = append(j.Notable, inv.String())
		}
	}
	return j
}

// Cleanup is what the gate killed and reaped after judging:
// len(rep.Cleanup.Killed).
type Cleanup struct {
	// Terminated are the pids that ended within the grace after SIGTERM.
	Terminated []int  `json:"terminated"`
	Killed     []int  `json:"killed"` // pids that needed SIGKILL
	Reaped     []int  `json:"reaped"` // zombie pids the gate reaped
	Error      string `json:"error,omitempty"`
}

// Leaks counts the leaks: survivors, escaped, leaked fds and self-reported
// findings: if rep.Leaks() > 0 { … }. A timeout or a failed command is not a
// leak (see Failures).
func (r *Report) Leaks() int {
	return len(r.Survivors) + len(r.Escaped) + len(r.FDs.Leaked) + len(r.SelfReported)
}

// judge fills Pass and Failures.
func (r *Report) judge(requireSuccess bool) {
	r.Failures = []string{}
	add := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	if n := len(r.Survivors); n > 0 {
		add("%s outlived the command and %s (%s)", plural(n, "process", "processes"), r.settleWindow(), plural(countZombies(r.Survivors), "zombie", "zombies"))
	}
	if n := len(r.Escaped); n > 0 {
		add("%s escaped the command's tree while it ran (%d still alive)", plural(n, "process", "processes"), countAlive(r.Escaped))
	}
	if n := len(r.FDs.Leaked); n > 0 {
		add("%s of the command leaked: %s", plural(n, "fd", "fds"), r.FDs.Why)
	}
	if n := len(r.SelfReported); n > 0 {
		add("%s reported by the command itself", plural(n, "leak", "leaks"))
	}
	switch {
	case r.Status.TimedOut:
		add("timed out after %s: killed", ms(r.RanMS))
	case r.Status.Interrupted:
		add("interrupted after %s: killed", ms(r.RanMS))
	case requireSuccess && !r.Status.OK():
		add("the command failed (%s) and success is required", r.Status)
	}
	if r.Cleanup.Error != "" {
		add("cleanup failed: %s", r.Cleanup.Error)
	}
	r.Pass = len(r.Failures) == 0
}

// settleWindow names the window the verdict waited: "the 2s settle
// window", or none after a second signal.
func (r *Report) settleWindow() string {
	if r.SettleMS == 0 {
		return "no settle window (a second signal: the gate killed the tree at once)"
	}
	return "the " + ms(r.SettleMS) + " settle window"
}

// exitLine says how the command's exit was seen.
func (r *Report) exitLine() string {
	switch r.Exit {
	case ExitTraced:
		return "stopped at its exit (ptrace): fds and orphans judged as it exited"
	case ExitNotStopped:
		return "not stopped at its exit (killed by SIGKILL): fds and orphans judged from the samples"
	}
	return "untraced (ptrace refused): fds and orphans judged from the samples"
}

func countAlive(ps []Process) int {
	n := 0
	for _, p := range ps {
		if p.State != "Z" && p.State != "X" {
			n++
		}
	}
	return n
}

func countZombies(ps []Process) int {
	n := 0
	for _, p := range ps {
		if p.State == "Z" {
			n++
		}
	}
	return n
}

// String is the human report:
//
//	leakgate: FAIL: 2 leaks
//	  - 1 process outlived the command and the 2s settle window (1 zombie)
//	  …
//	command: selftest-leaky -mode zombie (pid 4100, run lg3f…/77.1.gate)
//	status:  exit 0 after 120ms
//	…
func (r *Report) String() string {
	var b strings.Builder
	r.writeVerdict(&b)
	r.writeRun(&b)
	r.writeProcs(&b)
	r.writeFDs(&b)
	r.writeJournal(&b)
	r.writeCleanup(&b)
	return b.String()
}

// writeVerdict writes the verdict line and each failure.
func (r *Report) writeVerdict(b *strings.Builder) {
	if r.Pass {
		fmt.Fprintf(b, "leakgate: PASS: no leaks\n")
		return
	}
	fmt.Fprintf(b, "leakgate: FAIL: %s\n", plural(r.Leaks(), "leak", "leaks"))
	for _, f := range r.Failures {
		fmt.Fprintf(b, "  - %s\n", f)
	}
}

// writeRun writes the command, its status, how its exit was seen and the
// timeline's peaks.
func (r *Report) writeRun(b *strings.Builder) {
	fmt.Fprintf(b, "command: %s (pid %d, run %s)\n", shellquote.JoinMax(r.Command, 400), r.Pid, r.Run)
	fmt.Fprintf(b, "status:  %s after %s\n", r.Status, ms(r.RanMS))
	fmt.Fprintf(b, "exit:    %s\n", r.exitLine())
	if len(r.Personas) > 0 {
		fmt.Fprintf(b, "personas first on PATH: %s\n", strings.Join(r.Personas, " "))
	}
	fmt.Fprintf(b, "during the run: peak %s (%s) over %d samples every %s; %s escaped, %s reaped dead\n",
		plural(r.Timeline.Peak.Children, "descendant", "descendants"), plural(r.Timeline.Peak.Zombies, "zombie", "zombies"),
		r.Timeline.Samples, r.Timeline.Every, plural(len(r.Escaped), "process", "processes"), plural(r.OrphansReaped, "orphan", "orphans"))
}

// writeProcs writes the survivors, the escaped processes and the orphans
// reaped dead.
func (r *Report) writeProcs(b *strings.Builder) {
	procs := func(title string, ps []Process) {
		if len(ps) == 0 {
			return
		}
		fmt.Fprintf(b, "%s (%d):\n", title, len(ps))
		for _, p := range ps {
			fmt.Fprintf(b, "  %s\n", p.Text)
		}
	}
	procs("survivors: left when the command exited, still there after "+r.settleWindow(), r.Survivors)
	procs("escaped: alive outside the command's tree while it ran", r.Escaped)
	if r.OrphansReaped > 0 {
		fmt.Fprintf(b, "orphans reaped while the command ran: %d (dead when they came to the gate: not leaks)\n", r.OrphansReaped)
	}
}

// writeFDs writes the fd verdict, the new fds and the self-reported leaks.
func (r *Report) writeFDs(b *strings.Builder) {
	fmt.Fprintf(b, "fds: %s\n", r.FDs.Why)
	if len(r.FDs.New) > 0 {
		verb := "new at the last sample"
		if len(r.FDs.Leaked) > 0 {
			verb = "leaked"
		}
		fmt.Fprintf(b, "  %s (%s after start, %d samples):\n", verb, ms(r.FDs.LastSampleMS), r.FDs.Samples)
		for _, fd := range r.FDs.New {
			fmt.Fprintf(b, "    %s\n", fd)
		}
	}
	if len(r.SelfReported) > 0 {
		fmt.Fprintf(b, "self-reported (%s):\n", selfreport.Env)
		for _, l := range r.SelfReported {
			fmt.Fprintf(b, "  %s\n", strings.ReplaceAll(l.String(), "\n", "\n    "))
		}
	}
}

// writeJournal writes the fakecli journal's summary.
func (r *Report) writeJournal(b *strings.Builder) {
	j := r.Journal
	where := j.Path
	if !j.Kept {
		where = "(temporary)"
	}
	fmt.Fprintf(b, "journal %s: %s, %d faulted, %d failed, %d unended\n", where, plural(j.Invocations, "invocation", "invocations"), j.Faulted, j.Failed, j.Unended)
	for _, n := range j.Notable {
		fmt.Fprintf(b, "  %s\n", n)
	}
	if j.Error != "" {
		fmt.Fprintf(b, "  error: %s\n", j.Error)
	}
}

// writeCleanup writes what the cleanup did: who ended on SIGTERM, who
// needed SIGKILL.
func (r *Report) writeCleanup(b *strings.Builder) {
	fmt.Fprintf(b, "cleanup: %d ended after SIGTERM, %d needed SIGKILL, %d zombies reaped", len(r.Cleanup.Terminated), len(r.Cleanup.Killed), len(r.Cleanup.Reaped))
	if len(r.Cleanup.Terminated) > 0 {
		fmt.Fprintf(b, "; SIGTERM: %v", r.Cleanup.Terminated)
	}
	if len(r.Cleanup.Killed) > 0 {
		fmt.Fprintf(b, "; SIGKILL: %v", r.Cleanup.Killed)
	}
	if r.Cleanup.Error != "" {
		fmt.Fprintf(b, "; error: %s", r.Cleanup.Error)
	}
	b.WriteString("\n")
}
