package scenarios_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/reports"
)

// The realworld corpus (label realworld): real programs nobody here wrote,
// from Debian (.ci/install-realworld), each run rwRuns times under
// `bin/leakgate run --json`: daemonizers, supervisors that kill their
// group, fan-out tools, Python and Go programs that spawn children, and
// clean everyday tools. Each entry's truth was taken without leakgate
// (strace -f -e trace=process in the background, and a /proc probe of
// what was left and where it was reparented); testdata/realworld/truth.md
// holds the evidence, the entry's truth field says it in a line. The spec
// checks that the gate agrees: the verdict, each leaked process by name
// and by how it was judged (survivor or escaped; alive, zombie, or dead
// during the run), the fds, the command's own status, and that nothing of
// the run is left after the gate exits.

// rwRuns is how many times each entry runs, each run its own spec.
const rwRuns = 3

// rwSettle is the gate's settle window for the corpus. Half the default
// (2s), to keep the family fast: the gate files a process at the
// command's exit stop, and none of these programs has a parent still
// being torn down after it, the one case the window is for. A repetition
// of the family with the default window gave the same verdicts and labels
// (see truth.md).
const rwSettle = time.Second

// rwEntry is one program of the corpus. In argv, {dir} is the run's folder,
// {testdata} testdata/realworld, {cmdctx} the built cmdctx and {go} the go
// command.
type rwEntry struct {
	name  string
	kind  string // label kind:…: daemonizer, supervisor, fan-out, python, go, everyday
	argv  []string
	stdin string                  // the command's stdin; "": none
	setup func(dir string) string // prepares the run's folder before the gate runs; may be nil
	truth string                  // what the probes showed, without leakgate
	want  rwWant                  // what the gate must say
	check func(g gated, r rwRun)  // more checks, by pid, from what the program itself printed; may be nil
}

// rwWant is the gate's expected judgement of an entry. Processes are named
// by comm and state (see rwMatch): "sleep:alive", "true:zombie",
// "sleep:reaped", "cat:dead", "go:any".
type rwWant struct {
	pass      bool
	status    string   // the command's own status: "exit 0", "exit 124", "killed by SIGKILL"
	survivors []string // left by the command as it exited
	escaped   []string // alive outside the command's tree while it ran
	// maybe are escaped processes the gate may or may not see: alive
	// outside the tree for less than one look (about a millisecond), they
	// are filed escaped if a look caught them, else as dead orphans.
	maybe []string
	fds   int // fds the command leaked (held at exit after resting)
}

// sleepPipeline is the pipeline the supervisors run.
const sleepPipeline = "sleep 100 | cat"

// rwCorpus is the corpus, by kind.
var rwCorpus = []rwEntry{
	// Daemonizers.
	{
		name: "ssh-agent -s", kind: "daemonizer",
		argv:  []string{"ssh-agent", "-s", "-a", "{dir}/agent.sock"},
		truth: "forks once; the parent prints SSH_AGENT_PID and exits; the agent (setsid) is orphaned by that exit",
		want:  rwWant{status: "exit 0", survivors: []string{"ssh-agent:alive"}},
		check: pidPrinted(`SSH_AGENT_PID=(\d+)`, "ssh-agent"),
	},
	{
		name: "gpg-agent --daemon", kind: "daemonizer",
		argv:  []string{"gpg-agent", "--daemon"},
		truth: "GnuPG 2.2: forks once and the parent exits at once; the agent (setsid) is orphaned by that exit: a survivor, not escaped",
		want:  rwWant{status: "exit 0", survivors: []string{"gpg-agent:alive"}},
	},
	{
		name: "gpg-connect-agent /bye (autostart)", kind: "daemonizer",
		argv:  []string{"gpg-connect-agent", "/bye"},
		truth: "starts `gpg-agent --daemon` and waits for it; that one forks the agent and exits: orphaned ~8 ms before gpg-connect-agent exits",
		want:  rwWant{status: "exit 0", escaped: []string{"gpg-agent:alive"}},
		check: cmdlineHas("gpg-agent", "--daemon"),
	},
	{
		name: "gpgconf --launch gpg-agent", kind: "daemonizer",
		argv:  []string{"gpgconf", "--launch", "gpg-agent"},
		truth: "gpgconf → gpg-connect-agent → gpg-agent --daemon → the agent, orphaned ~9 ms before gpgconf exits",
		want:  rwWant{status: "exit 0", escaped: []string{"gpg-agent:alive"}},
		check: cmdlineHas("gpg-agent", "--daemon"),
	},
	{
		name: "tmux new -d", kind: "daemonizer",
		argv:  []string{"tmux", "-L", "x", "-f", "/dev/null", "new", "-d"},
		truth: "the client forks, the child forks the server and exits: the server is orphaned ~30 ms before the client exits; the server's shell is its child",
		want:  rwWant{status: "exit 0", escaped: []string{"tmux: server:alive", "sh:alive"}},
		check: childOf("sh", "tmux: server"),
	},
	{
		name: "screen -dmS", kind: "daemonizer",
		argv:  []string{"screen", "-dmS", "x"},
		truth: "forks once and the parent exits at once: SCREEN (setsid) is orphaned by that exit, with its shell below it",
		want:  rwWant{status: "exit 0", survivors: []string{"screen:alive", "sh:alive"}},
		check: childOf("sh", "screen"),
	},
	{
		name: "dbus-launch", kind: "daemonizer",
		argv:  []string{"dbus-launch", "--config-file={dir}/session.conf", "--sh-syntax"},
		setup: writeSessionConf,
		truth: "dbus-daemon --fork's parent exits: the daemon is orphaned ~2.5 ms before dbus-launch exits; a dbus-launch child is orphaned ~1.5 ms before and exits ~1 ms later",
		want:  rwWant{status: "exit 0", escaped: []string{"dbus-daemon:alive"}, maybe: []string{"dbus-launch:dead"}},
		check: pidPrinted(`DBUS_SESSION_BUS_PID=(\d+)`, "dbus-daemon"),
	},
	{
		name: "git credential approve (credential-cache)", kind: "daemonizer",
		argv:  []string{"git", "-c", "credential.helper=cache --socket {dir}/cache/socket", "credential", "approve"},
		stdin: "protocol=https\nhost=example.com\nusername=leakgate\npassword=secret\n\n",
		truth: "git → sh → git credential-cache, which forks git credential-cache--daemon and exits: orphaned ~35 ms before git exits",
		want:  rwWant{status: "exit 0", escaped: []string{"git:alive"}},
		check: cmdlineHas("git", "credential-cache--daemon"),
	},

	// Supervisors that kill their group.
	{
		name: "timeout (SIGTERM to its group)", kind: "supervisor",
		argv:  []string{"timeout", "0.2", "bash", "-c", sleepPipeline},
		truth: "kills bash, then its group (itself included: it ignores it), waits for bash and exits 124; sleep and cat die of SIGTERM",
		want:  rwWant{pass: true, status: "exit 124"},
	},
	{
		name: "timeout -s KILL", kind: "supervisor",
		argv:  []string{"timeout", "-s", "KILL", "0.2", "bash", "-c", sleepPipeline},
		truth: "kills bash, then its group with itself: everything dies of SIGKILL",
		want:  rwWant{pass: true, status: "killed by SIGKILL"},
	},
	{
		name: "timeout --foreground", kind: "supervisor",
		argv:  []string{"timeout", "--foreground", "0.2", "bash", "-c", sleepPipeline},
		truth: "kills bash alone and exits 124: sleep and cat are orphaned alive before it exits",
		want:  rwWant{status: "exit 124", escaped: []string{"sleep:alive", "cat:alive"}},
	},

	// Fan-out tools, clean and leaking.
	{
		name: "xargs -P2", kind: "fan-out",
		argv:  []string{"xargs", "-a", "{dir}/input", "-P", "2", "-n", "1", "sleep"},
		setup: writeFile("input", "0.1\n0.1\n0.1\n0.1\n"),
		truth: "runs four sleeps two at a time and waits for each",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "xargs -P2 sh -c 'sleep &'", kind: "fan-out",
		argv:  []string{"xargs", "-a", "{dir}/input", "-P", "2", "-I{}", "sh", "-c", "sleep 100 &"},
		setup: writeFile("input", "1\n2\n"),
		truth: "each sh starts a sleep and exits; xargs reaps it: both sleeps orphaned alive before xargs exits",
		want:  rwWant{status: "exit 0", escaped: []string{"sleep:alive", "sleep:alive"}},
	},
	{
		name: "make -j2", kind: "fan-out",
		argv:  []string{"make", "-s", "-j2", "-f", "{testdata}/Makefile", "all"},
		truth: "four recipes, two at a time, each waited for",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "make -j2, recipes 'sleep &'", kind: "fan-out",
		argv:  []string{"make", "-s", "-j2", "-f", "{testdata}/Makefile", "leak"},
		truth: "each recipe's sh starts a sleep and exits: both sleeps orphaned alive before make exits",
		want:  rwWant{status: "exit 0", escaped: []string{"sleep:alive", "sleep:alive"}},
	},
	{
		name: "parallel -j2", kind: "fan-out",
		argv:  []string{"parallel", "--will-cite", "-j2", "sleep", ":::", "0.1", "0.1", "0.1"},
		truth: "three jobs, two at a time, each in its own process group, each waited for",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "parallel -j2 'sleep &'", kind: "fan-out",
		argv:  []string{"parallel", "--will-cite", "-j2", "sleep 10{} &", ":::", "0", "1"},
		truth: "each job's sh starts a sleep and exits: both sleeps orphaned alive before parallel exits",
		want:  rwWant{status: "exit 0", escaped: []string{"sleep:alive", "sleep:alive"}},
	},

	// Python (Debian's python3).
	{
		name: "python: Popen not waited", kind: "python",
		argv:  []string{"python3", "-c", `import subprocess; subprocess.Popen(["sleep", "100"])`},
		truth: "Popen's __del__ polls once (WNOHANG) and python exits: sleep is orphaned alive by that exit",
		want:  rwWant{status: "exit 0", survivors: []string{"sleep:alive"}},
	},
	{
		name: "python: a child never waited for", kind: "python",
		argv:  []string{"python3", "-c", `import os; pid = os.posix_spawn("/bin/true", ["true"], os.environ); os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)`},
		truth: "true exits and python exits without reaping it: a zombie, handed to the reaper",
		want:  rwWant{status: "exit 0", survivors: []string{"true:zombie"}},
	},
	{
		name: "python: subprocess.run", kind: "python",
		argv:  []string{"python3", "-c", `import subprocess; subprocess.run(["sleep", "0.1"], check=True)`},
		truth: "waits for sleep",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "python: a child reaped late", kind: "python",
		argv:  []string{"python3", "-c", `import os, subprocess, time; p = subprocess.Popen(["true"]); os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT); time.sleep(0.3); p.wait()`},
		truth: "true is a zombie for 300 ms, then python reaps it and exits",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "python: a listening socket closed in teardown", kind: "python",
		argv:  []string{"python3", "-c", `import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); time.sleep(0.8)`},
		truth: "the interpreter's teardown closes the socket (fd 3) ~2 ms before exit_group",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "python: a listening socket held at os._exit", kind: "python",
		argv:  []string{"python3", "-c", `import os, socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); time.sleep(0.8); os._exit(0)`},
		truth: "no close of the socket before exit_group",
		want:  rwWant{status: "exit 0", fds: 1},
	},

	// Go: exec.CommandContext on `bash -c 'sleep N | cat'` (testdata/realworld/cmdctx).
	{
		name: "go: CommandContext, file stdout", kind: "go",
		argv:  []string{"{cmdctx}", "-stdout", "file"},
		truth: "at the deadline Cancel kills bash alone; Wait returns; sleep and cat are orphaned alive before the program exits",
		want:  rwWant{status: "exit 0", escaped: []string{"sleep:alive", "cat:alive"}},
	},
	{
		name: "go: CommandContext, pipe stdout (Wait hangs, golang/go#23019)", kind: "go",
		argv:  []string{"{cmdctx}", "-stdout", "pipe", "-sleep", "1"},
		truth: "bash killed at 200 ms; Wait hangs until cat closes the pipe, after sleep 1 ends (~1 s): sleep and cat ran orphaned, and died, while the program ran",
		want:  rwWant{status: "exit 0", escaped: []string{"sleep:reaped", "cat:dead"}},
	},
	{
		name: "go: CommandContext with WaitDelay", kind: "go",
		argv:  []string{"{cmdctx}", "-stdout", "pipe", "-waitdelay", "100ms"},
		truth: "bash killed at 200 ms; WaitDelay closes the pipe 100 ms later and Wait returns: sleep and cat are orphaned alive before the program exits",
		want:  rwWant{status: "exit 0", escaped: []string{"sleep:alive", "cat:alive"}},
	},
	{
		name: "go: CommandContext killing the process group", kind: "go",
		argv:  []string{"{cmdctx}", "-stdout", "pipe", "-group", "-waitdelay", "1s"},
		truth: "Setpgid, and Cancel kills the group: bash, sleep and cat die of SIGKILL together",
		want:  rwWant{pass: true, status: "exit 0"},
	},

	// Everyday tools.
	{
		name: "git init and commit", kind: "everyday",
		argv:  []string{"sh", "-c", "git init -q {dir}/repo && git -C {dir}/repo -c user.name=lg -c user.email=lg@example.com commit -q --allow-empty -m first && git -C {dir}/repo log --oneline"},
		truth: "every git waited for",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "tar -czf (tar and gzip)", kind: "everyday",
		argv:  []string{"tar", "-czf", "{dir}/testdata.tgz", "-C", "{testdata}", "."},
		truth: "tar forks gzip and waits for it",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "curl file://", kind: "everyday",
		argv:  []string{"curl", "-sS", "-o", "{dir}/os-release", "file:///etc/os-release"},
		truth: "no child",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "ssh-keygen", kind: "everyday",
		argv:  []string{"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "{dir}/key"},
		truth: "no child",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "seq | sort | tail", kind: "everyday",
		argv:  []string{"sh", "-c", "seq 1000 | sort -n | tail -1"},
		truth: "sh waits for the whole pipeline",
		want:  rwWant{pass: true, status: "exit 0"},
	},
	{
		name: "go version, telemetry off", kind: "everyday",
		argv:  []string{"{go}", "version"},
		setup: writeFile("home/.config/go/telemetry/mode", "off\n"),
		truth: "no child",
		want:  rwWant{pass: true, status: "exit 0"},
	},
}

var _ = Describe("real programs under leakgate run", Label("realworld"), func() {
	for _, e := range rwCorpus {
		for i := 1; i <= rwRuns; i++ {
			It(fmt.Sprintf("%s (run %d of %d)", e.name, i, rwRuns), Label(reports.Label("kind", e.kind)), SpecTimeout(time.Minute),
				func(ctx SpecContext) { runRealworld(ctx, e) })
		}
	}
})

// runRealworld runs one entry under the gate and checks its judgement.
func runRealworld(ctx SpecContext, e rwEntry) {
	t := requireRealworld()
	r := newRWRun(e.name)
	if e.setup != nil {
		e.setup(r.dir)
	}
	argv := make([]string, len(e.argv))
	for i, a := range e.argv {
		argv[i] = strings.NewReplacer("{dir}", r.dir, "{testdata}", t.testdata, "{cmdctx}", t.cmdctx, "{go}", t.goBin).Replace(a)
	}
	call := leakgateCall{
		env:  r.env(),
		json: filepath.Join(r.dir, "gate.json"),
		flags: []string{"--settle", rwSettle.String(), "--timeout", "30s",
			"--command-output", filepath.Join(r.dir, "output.log")},
		argv:    argv,
		explain: func() string { return r.output() },
	}
	if e.stdin != "" {
		in, err := os.Open(writeFile("stdin", e.stdin)(r.dir))
		Expect(err).NotTo(HaveOccurred())
		defer in.Close()
		call.stdin = in
	}
	AddReportEntry("truth", e.truth)
	g := leakgateRun(ctx, call)
	AddReportEntry("gate", g.text)
	AddReportEntry(reports.EntryName, g.counts())
	pk := g.report.Timeline.Peak
	AddReportEntry(peakEntry, reports.Leaks{Children: pk.Children, Zombies: pk.Zombies, Escaped: pk.Escaped, FDs: pk.FDs})
	if socks := r.sockets(); len(socks) > 0 {
		AddReportEntry("sockets left", strings.Join(socks, " "))
	}

	rep := g.report
	why := fmt.Sprintf("truth: %s\ngate:\n%s\noutput:\n%s", e.truth, g.text, r.output())
	Expect(rep.Status.String()).To(Equal(e.want.status), "the command's own status\n%s", why)
	Expect(rep.Pass).To(Equal(e.want.pass), "the verdict\n%s", why)
	Expect(rwLabels(rep.Survivors, nil)).To(ConsistOf(rwMatchers(e.want.survivors)...), "survivors\n%s", why)
	Expect(rwLabels(rep.Escaped, e.want.maybe)).To(ConsistOf(rwMatchers(e.want.escaped)...), "escaped\n%s", why)
	Expect(rep.FDs.Leaked).To(HaveLen(e.want.fds), "leaked fds\n%s", why)
	Expect(rep.FDs.Source).To(Equal("exit"), "the fds judged at the exit stop\n%s", why)
	if e.want.fds > 0 {
		Expect(rep.FDs.Leaked[0].Kind).To(Equal("socket"), why)
	}
	if e.check != nil {
		e.check(g, *r)
	}
	checkEnded(rep, why)
	Expect(r.leftovers(rep)).To(BeEmpty(), "nothing of the run is left after leakgate exits\n%s", why)
}

// checkEnded checks that the gate says how each leaked process ended: an
// escaped process that died while the command ran was reaped then; a
// process alive when judged was ended by the cleanup (SIGTERM, SIGKILL
// after the grace) or exited by itself before the cleanup signalled it
// (screen's shell ignores SIGTERM and dies of the SIGHUP screen sends it as
// it exits, sometimes before the cleanup's SIGTERM reaches it); a zombie
// was reaped in the cleanup.
func checkEnded(rep gate.Report, why string) {
	Expect(rep.Cleanup.Error).To(BeEmpty(), why)
	for _, p := range append(append([]gate.Process{}, rep.Survivors...), rep.Escaped...) {
		switch p.State {
		case "X":
			Expect(p.Ended).To(Equal(gate.EndedDuringRun), "pid %d %s\n%s", p.Pid, p.Name, why)
		case "Z":
			Expect(p.Ended).To(Equal(gate.EndedReaped), "pid %d %s\n%s", p.Pid, p.Name, why)
		default:
			Expect(p.Ended).To(BeElementOf(gate.EndedTerm, gate.EndedKill, gate.EndedExited), "pid %d %s\n%s", p.Pid, p.Name, why)
		}
	}
}

// output is what the command wrote (--command-output).
func (r *rwRun) output() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "output.log"))
	return string(b)
}

// writeFile returns a setup that writes content to name under the run's
// folder (making its folders) and returns its path.
func writeFile(name, content string) func(dir string) string {
	return func(dir string) string {
		p := filepath.Join(dir, name)
		Expect(os.MkdirAll(filepath.Dir(p), 0o755)).To(Succeed())
		Expect(os.WriteFile(p, []byte(content), 0o644)).To(Succeed())
		return p
	}
}

// writeSessionConf writes a session bus configuration that listens in the
// run's folder: Debian's session.conf listens under /tmp.
func writeSessionConf(dir string) string {
	return writeFile("session.conf", `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=`+dir+`/xdg</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`)(dir)
}

// leaked returns the leaked processes named comm, survivors and escaped.
func leaked(rep gate.Report, comm string) []gate.Process {
	var out []gate.Process
	for _, p := range append(append([]gate.Process{}, rep.Survivors...), rep.Escaped...) {
		if p.Name == comm {
			out = append(out, p)
		}
	}
	return out
}

// pidPrinted checks that the one leaked process named comm is the pid the
// program printed itself (the first group of re in its output).
func pidPrinted(re, comm string) func(gated, rwRun) {
	return func(g gated, r rwRun) {
		m := regexp.MustCompile(re).FindStringSubmatch(r.output())
		Expect(m).NotTo(BeNil(), "the program prints %s:\n%s", re, r.output())
		pid, _ := strconv.Atoi(m[1])
		ps := leaked(g.report, comm)
		Expect(ps).To(HaveLen(1), "one leaked %s:\n%s", comm, g.text)
		Expect(ps[0].Pid).To(Equal(pid), "the leaked %s is the one the program started (it printed %s):\n%s", comm, m[0], g.text)
	}
}

// cmdlineHas checks that every leaked process named comm has arg in its
// command line (as recorded: a zombie's is the one seen while it ran).
func cmdlineHas(comm, arg string) func(gated, rwRun) {
	return func(g gated, _ rwRun) {
		ps := leaked(g.report, comm)
		Expect(ps).NotTo(BeEmpty(), g.text)
		for _, p := range ps {
			Expect(p.Cmdline).To(ContainElement(arg), "pid %d %s:\n%s", p.Pid, comm, g.text)
		}
	}
}

// childOf checks that the leaked process named child is the child of the
// leaked process named parent.
func childOf(child, parent string) func(gated, rwRun) {
	return func(g gated, _ rwRun) {
		c, p := leaked(g.report, child), leaked(g.report, parent)
		Expect(c).To(HaveLen(1), g.text)
		Expect(p).To(HaveLen(1), g.text)
		Expect(c[0].PPid).To(Equal(p[0].Pid), "%s (pid %d) is the child of %s (pid %d):\n%s", child, c[0].Pid, parent, p[0].Pid, g.text)
	}
}
