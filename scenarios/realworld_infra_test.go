package scenarios_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/procfs"
)

// The realworld specs' infrastructure: the programs they need from the
// machine, the Go programs they build, and each run's world (a folder
// holding its HOME, GNUPGHOME, TMUX_TMPDIR, SCREENDIR, XDG_RUNTIME_DIR and
// TMPDIR, so that no daemon touches the user's state and runs in parallel
// never meet).

// envRealworld set to "require" (as .ci/run does) turns a missing program
// into a failure instead of a skip.
const envRealworld = "LEAKGATE_REALWORLD"

// rwPrograms are the programs the corpus runs, by the path Debian installs
// them at (.ci/install-realworld installs them); the commands find them
// on rwPath.
var rwPrograms = []string{
	"/usr/bin/ssh-agent", "/usr/bin/ssh-keygen", "/usr/bin/gpg-agent", "/usr/bin/gpgconf", "/usr/bin/gpg-connect-agent",
	"/usr/bin/tmux", "/usr/bin/screen", "/usr/bin/dbus-launch", "/usr/bin/dbus-daemon",
	"/usr/bin/git", "/usr/lib/git-core/git-credential-cache--daemon", "/usr/bin/make", "/usr/bin/xargs",
	"/usr/bin/timeout", "/usr/bin/parallel", "/usr/bin/python3", "/usr/bin/curl", "/bin/tar", "/bin/gzip",
	"/bin/bash", "/bin/sh", "/usr/bin/seq", "/usr/bin/sort",
}

// rwPath is the commands' PATH: Debian's programs only (no pyenv shim, no
// other toolchain's bash, whatever the host's PATH holds).
const rwPath = "/usr/bin:/bin:/usr/sbin:/sbin"

// rwTools is what the realworld specs need from the machine, found once
// per test process.
type rwTools struct {
	cmdctx   string // testdata/realworld/cmdctx, built
	goBin    string // the go command that built it (the corpus runs `go version`)
	testdata string // testdata/realworld, absolute
	missing  string // which programs are not installed; "" if all are
	broken   string // what went wrong setting up; "" if nothing
}

var (
	rwOnce sync.Once
	rwTool rwTools
	// realworldPart is the corpus's optional part: its real programs.
	realworldPart = &optionalPart{what: "the realworld programs", env: envRealworld, family: "realworld"}
)

// realworldTools finds the programs and builds the corpus's Go program,
// once per process, into the suite's temp dir (removed after the suite).
func realworldTools() *rwTools {
	rwOnce.Do(func() {
		t := &rwTool
		missing := notExecutable(rwPrograms...)
		if out, err := exec.Command("/usr/bin/parallel", "--version").Output(); err == nil && !strings.HasPrefix(string(out), "GNU parallel") {
			missing = append(missing, "GNU parallel (/usr/bin/parallel is another one: moreutils'?)")
		}
		if len(missing) > 0 {
			t.missing = fmt.Sprintf("%s not installed (`make realworld-programs` installs them from Debian; .ci/run runs it)", strings.Join(missing, ", "))
			return
		}
		t.broken = t.build()
	})
	return &rwTool
}

// build builds testdata/realworld/cmdctx; "" if all went well, else what
// failed.
func (t *rwTools) build() string {
	var err error
	if t.goBin, err = exec.LookPath("go"); err != nil {
		return "no go on PATH: " + err.Error()
	}
	if t.testdata, err = filepath.Abs(filepath.Join("..", "testdata", "realworld")); err != nil {
		return err.Error()
	}
	dir := filepath.Join(w.Root, fmt.Sprintf("realworld-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err.Error()
	}
	t.cmdctx = filepath.Join(dir, "cmdctx")
	if out, err := exec.Command(t.goBin, "build", "-o", t.cmdctx, "github.com/leakgate/leakgate/testdata/realworld/cmdctx").CombinedOutput(); err != nil {
		return fmt.Sprintf("build cmdctx: %v: %s", err, out)
	}
	return ""
}

// requireRealworld skips the spec (with the reason) if a program is
// missing, or fails it if LEAKGATE_REALWORLD=require.
func requireRealworld() *rwTools {
	t := realworldTools()
	if t.broken != "" {
		Fail("setting up the realworld programs: " + t.broken)
	}
	realworldPart.require(t.missing)
	return t
}

// rwRun is one run of a corpus entry: its folder, and the run marker its
// leakgate carries (the gate nests the command's marker under it, so
// that a check by marker sees every process of the run).
type rwRun struct {
	dir    string
	run    harness.Marker
	before harness.Snapshot
}

// newRWRun makes the run's folder under the suite's temp dir (short: a
// unix socket's path must fit in 108 bytes) with the daemons' folders in
// it, takes the baseline, and registers the cleanup: sweep whatever still
// carries the marker (the last line of defence: the gate ends its run
// itself), then remove the folder with every socket the daemons left.
func newRWRun(name string) *rwRun {
	dir, err := os.MkdirTemp(w.Root, "rw-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	for sub, mode := range map[string]os.FileMode{"home": 0o755, "tmp": 0o755, "tmux": 0o755, "gnupg": 0o700, "screen": 0o700, "xdg": 0o700} {
		// MkdirAll's mode is cut by the umask; GnuPG and screen refuse a
		// folder others can read.
		Expect(os.Mkdir(filepath.Join(dir, sub), mode)).To(Succeed())
		Expect(os.Chmod(filepath.Join(dir, sub), mode)).To(Succeed())
	}
	r := &rwRun{dir: dir, run: harness.NewMarker("realworld-" + name)}
	r.before, err = harness.Take(harness.WithMarker(r.run.ID))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) {
		sweep, err := harness.Sweep(ctx, r.run, r.before)
		Expect(err).NotTo(HaveOccurred(), "cleanup of run %s", r.run)
		if !sweep.Empty() {
			AddReportEntry("cleanup", fmt.Sprintf("killed %d, reaped %d", len(sweep.Killed), len(sweep.Reaped)))
		}
	})
	return r
}

// env is the environment of leakgate and so of the command: this
// process's, without what would let a program find or touch the user's
// state (HOME, agents' sockets, XDG folders, git's and Python's
// variables, an outer LEAKGATE_ variable), with the run's folders, rwPath
// and the run's marker.
func (r *rwRun) env() []string {
	drop := regexp.MustCompile(`^(LEAKGATE_|GIT_|PYTHON|XDG_|SSH_|GPG_|GNUPG|DBUS_|TMUX|STY=|WINDOW=|SCREENDIR=|DISPLAY=|HOME=|TMPDIR=|SHELL=|PATH=)`)
	var env []string
	for _, kv := range os.Environ() {
		if !drop.MatchString(kv) {
			env = append(env, kv)
		}
	}
	return append(env,
		"PATH="+rwPath,
		"HOME="+filepath.Join(r.dir, "home"),
		"TMPDIR="+filepath.Join(r.dir, "tmp"),
		"GNUPGHOME="+filepath.Join(r.dir, "gnupg"),
		"TMUX_TMPDIR="+filepath.Join(r.dir, "tmux"),
		"SCREENDIR="+filepath.Join(r.dir, "screen"),
		"XDG_RUNTIME_DIR="+filepath.Join(r.dir, "xdg"),
		"SHELL=/bin/sh",
		"GIT_CONFIG_NOSYSTEM=1",
		r.run.Env(),
	)
}

// leftovers lists what of the run is still there after leakgate exited:
// processes carrying the run's marker (its tree in this process's, or
// anywhere else), and the reported pids that still exist under the same
// name.
func (r *rwRun) leftovers(rep gate.Report) []string {
	now, err := harness.Take(harness.WithMarker(r.run.ID))
	Expect(err).NotTo(HaveOccurred())
	l := harness.Diff(r.before, now)
	var out []string
	for _, p := range append(l.Children, l.Escaped...) {
		out = append(out, fmt.Sprintf("pid %d %q (%s) carries the run's marker", p.Pid, p.Name, p.State))
	}
	for _, p := range append(append([]gate.Process{}, rep.Survivors...), rep.Escaped...) {
		if name := procfs.Comm(int32(p.Pid)); name == p.Name {
			out = append(out, fmt.Sprintf("reported pid %d %q is still there", p.Pid, name))
		}
	}
	return out
}

// sockets lists the unix sockets under the run's folder, relative to it:
// what the daemons left after the gate's SIGTERM.
func (r *rwRun) sockets() []string {
	var out []string
	_ = filepath.WalkDir(r.dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSocket != 0 {
			rel, _ := filepath.Rel(r.dir, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// rwLabel names a leaked process as the corpus's wants do: its comm and
// how the gate judged it, alive, zombie, or reaped (died while the
// command ran, reaped by the gate): "tmux: server:alive".
func rwLabel(p gate.Process) string {
	switch p.State {
	case "Z":
		return p.Name + ":zombie"
	case "X":
		return p.Name + ":reaped"
	}
	return p.Name + ":alive"
}

// rwMatch matches an rwLabel against a want: "comm:alive", "comm:zombie",
// "comm:reaped", "comm:dead" (zombie or reaped) or "comm:any".
func rwMatch(want string) types.GomegaMatcher {
	i := strings.LastIndexByte(want, ':')
	comm, state := regexp.QuoteMeta(want[:i]), want[i+1:]
	switch state {
	case "dead":
		return MatchRegexp(`^` + comm + `:(zombie|reaped)$`)
	case "any":
		return MatchRegexp(`^` + comm + `:(alive|zombie|reaped)$`)
	}
	return Equal(want)
}

// rwLabels returns the labels of ps, without those some matcher of maybe
// matches (processes the gate may or may not see; see rwWant.maybe).
func rwLabels(ps []gate.Process, maybe []string) []string {
	out := []string{}
	for _, p := range ps {
		l := rwLabel(p)
		skip := false
		for _, m := range maybe {
			if ok, _ := rwMatch(m).Match(l); ok {
				skip = true
			}
		}
		if !skip {
			out = append(out, l)
		}
	}
	return out
}

// rwMatchers turns wants into matchers for ConsistOf.
func rwMatchers(wants []string) []any {
	out := make([]any, len(wants))
	for i, s := range wants {
		out[i] = rwMatch(s)
	}
	return out
}
