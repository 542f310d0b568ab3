package gate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/leakgate/leakgate/fakecli/fakeenv"
	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/gate/selfreport"
	"github.com/leakgate/leakgate/harness"
)

// Defaults of Config, in one place (Config{Settle: 0} means DefaultSettle).
const (
	// DefaultSettle is how long the gate waits after the command exited
	// for what it left to go away.
	DefaultSettle = 2 * time.Second
	// DefaultEvery is the sampling interval while the command runs.
	DefaultEvery = 25 * time.Millisecond
	// DefaultFDQuiet is how long the command must have been at rest at its
	// last sample for its fds to be judged.
	DefaultFDQuiet = 500 * time.Millisecond
	// cleanupLimit bounds the final cleanup.
	cleanupLimit = 10 * time.Second
)

// ErrConfig marks a Config that Run rejects before starting anything: a
// usage error. Test with errors.Is.
var ErrConfig = errors.New("bad gate configuration")

// ErrStart marks a command that could not be started (not found, not
// executable): nothing ran. Test with errors.Is.
var ErrStart = errors.New("cannot start the command")

// Config says what Run runs and how it judges it. Only Args is required:
//
//	rep, err := gate.Run(ctx, gate.Config{Args: []string{"bin/restore", "bootstrap-db", "--command-adapter-config", "s3.yaml"}, Faults: "stall on=*1-.chunk"})
type Config struct {
	// Args is the command and its arguments. A name without a slash is
	// looked up in the command's PATH (personas first).
	Args []string
	// Env is the environment the command's is built from; nil means
	// os.Environ(). Its LEAKGATE_RUN, if set, is the outer run the gate's
	// marker is nested under (see package doc).
	Env []string
	// PersonaDir is put first on the command's PATH ("" leaves PATH alone):
	// a folder of fakecli persona links (see fakeenv.LinkPersonas).
	PersonaDir string
	// Bucket, Faults, FaultPlan set LEAKGATE_BUCKET, LEAKGATE_FAULTS and
	// LEAKGATE_FAULT_PLAN (made absolute) for the command; "" keeps what
	// Env holds. Faults and the plan file are parsed first: a bad spec is
	// an ErrConfig naming its line and column.
	Bucket, Faults, FaultPlan string
	// Journal is LEAKGATE_JOURNAL, kept after Run; "" means a temporary
	// file, removed when Run returns (its contents are in the Report).
	Journal string
	// Settle is the settle window after the command exits (0:
	// DefaultSettle). A process of the run still present when it ends is a
	// leak.
	Settle time.Duration
	// Timeout kills the command (SIGKILL) if it runs longer; 0: no limit.
	// A timeout fails the gate.
	Timeout time.Duration
	// Every is the sampling interval (0: DefaultEvery).
	Every time.Duration
	// FDQuiet is how long the command must have been at rest at its last
	// sample for its fds to be judged (0: DefaultFDQuiet).
	FDQuiet time.Duration
	// IgnoreFDs are readlink targets never counted as the command's fd
	// leaks (Go's netpoller fds are always ignored).
	IgnoreFDs []*regexp.Regexp
	// RequireSuccess makes a non-zero exit status (or death by a signal)
	// fail the gate.
	RequireSuccess bool
	// Guard, if set, is the argv of a guard program Run starts first (the
	// leakgate binary's "guard" subcommand: see RunGuard), which ends what
	// is left of the run if the gate dies without cleaning up. Run appends
	// the run id and the run's folders (its own and GuardFolders).
	Guard        []string
	GuardFolders []string
	// Stdin, Stdout and Stderr are the command's; nil means /dev/null.
	// They are files, not writers, so that Run never waits for an orphan
	// that holds a copy of a pipe.
	Stdin, Stdout, Stderr *os.File
	// Notices, if set, is where Run says what it does while the command
	// runs, one line each: a signal passed on, the tree killed at a second
	// one. `leakgate run` sets its own stderr.
	Notices io.Writer
}

// notice writes one line to c.Notices, if set.
func (c Config) notice(format string, args ...any) {
	if c.Notices != nil {
		fmt.Fprintf(c.Notices, "leakgate: "+format+"\n", args...)
	}
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return c, fmt.Errorf("%w: no command to run", ErrConfig)
	}
	for name, d := range map[string]time.Duration{"settle": c.Settle, "timeout": c.Timeout, "every": c.Every, "fd quiet window": c.FDQuiet} {
		if d < 0 {
			return c, fmt.Errorf("%w: %s %v is negative", ErrConfig, name, d)
		}
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Every == 0 {
		c.Every = DefaultEvery
	}
	if c.FDQuiet == 0 {
		c.FDQuiet = DefaultFDQuiet
	}
	if c.Env == nil {
		c.Env = os.Environ()
	}
	if c.Faults != "" {
		if _, err := faults.Parse("faults", c.Faults); err != nil {
			return c, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		if err := fakeenv.CheckEnv(fakeenv.Faults, c.Faults); err != nil {
			return c, fmt.Errorf("%w: --faults: %w", ErrConfig, err)
		}
	}
	var err error
	if c.FaultPlan != "" {
		if _, err := faults.Load(c.FaultPlan); err != nil {
			return c, fmt.Errorf("%w: fault plan: %w", ErrConfig, err)
		}
		if c.FaultPlan, err = filepath.Abs(c.FaultPlan); err != nil {
			return c, fmt.Errorf("%w: fault plan: %w", ErrConfig, err)
		}
	}
	for what, dir := range map[string]*string{"bucket": &c.Bucket, "personas": &c.PersonaDir} {
		if *dir == "" {
			continue
		}
		if *dir, err = filepath.Abs(*dir); err != nil {
			return c, fmt.Errorf("%w: %s: %w", ErrConfig, what, err)
		}
		if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
			return c, fmt.Errorf("%w: %s %s is not a folder", ErrConfig, what, *dir)
		}
	}
	if c.Journal != "" {
		if c.Journal, err = filepath.Abs(c.Journal); err != nil {
			return c, fmt.Errorf("%w: journal: %w", ErrConfig, err)
		}
	}
	return c, nil
}

// nested counts the runs nested under an inherited marker in this process.
var nested atomic.Uint64

// runFor returns the gate's run marker: nested under env's LEAKGATE_RUN
// (an outer run, e.g. a test's) when there is one, so the outer run still
// owns and sweeps the command's processes; else a fresh harness.NewRun.
func runFor(env []string) harness.Marker {
	if outer := lookup(env, harness.MarkerEnv); outer != "" {
		return harness.Marker{ID: outer + "/gate." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(nested.Add(1), 10) + "."}
	}
	return harness.NewMarker("gate")
}

// lookup returns the last value of key in env, as os/exec would use it.
func lookup(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// commandEnv is the command's environment: c.Env without the variables the
// gate owns, then the gate's.
func commandEnv(c Config, run harness.Marker, journalPath, selfPath string) []string {
	owned := map[string]bool{
		harness.MarkerEnv: true, harness.ReapedEnv: true,
		fakeenv.Journal: true, selfreport.Env: true,
	}
	set := map[string]string{}
	if c.Bucket != "" {
		set[fakeenv.Bucket] = c.Bucket
	}
	if c.Faults != "" {
		set[fakeenv.Faults] = c.Faults
	}
	if c.FaultPlan != "" {
		set[fakeenv.FaultPlan] = c.FaultPlan
	}
	if c.PersonaDir != "" {
		path := c.PersonaDir
		if old := lookup(c.Env, "PATH"); old != "" {
			path += string(os.PathListSeparator) + old
		}
		set["PATH"] = path
	}
	env := make([]string, 0, len(c.Env)+len(set)+4)
	for _, kv := range c.Env {
		k, _, _ := strings.Cut(kv, "=")
		if owned[k] {
			continue
		}
		if _, ok := set[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range []string{"PATH", fakeenv.Bucket, fakeenv.Faults, fakeenv.FaultPlan} {
		if v, ok := set[k]; ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env,
		fakeenv.Journal+"="+journalPath,
		selfreport.Env+"="+selfPath,
		run.Env(),
	)
}

// lookPath finds name in the PATH of env, as a shell would; a name with a
// slash is used as given.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(lookup(env, "PATH")) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %q not found in the command's PATH", ErrStart, name)
}
