package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/leakgate/leakgate/fakecli/fakeenv"
	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/internal/ownedtemp"
	"github.com/leakgate/leakgate/reports"
)

// errNothingRan marks a command that could not be started: exit 2.
var errNothingRan = errors.New("nothing ran")

// regexps is a repeatable flag of regular expressions.
type regexps []*regexp.Regexp

func (r *regexps) String() string {
	parts := make([]string, len(*r))
	for i, re := range *r {
		parts[i] = re.String()
	}
	return strings.Join(parts, ", ")
}

func (r *regexps) Set(s string) error {
	re, err := regexp.Compile(s)
	if err != nil {
		return err
	}
	*r = append(*r, re)
	return nil
}

const runUsage = `usage: leakgate run [flags] -- CMD ARGS…

Runs CMD under the leak gate and reports what it left: processes that
outlived it or escaped its tree, fds it held as it exited, leaks it
reported itself (LEAKGATE_SELF_REPORT), and the fakecli journal. See
'go doc github.com/leakgate/leakgate/gate' for what counts as a leak.

Streams: CMD gets leakgate's stdin, stdout and stderr. The human report
goes to stderr, after everything of the run has ended, so it never
interleaves with CMD's output. --json FILE writes the JSON report to FILE;
--json - writes it to stdout and sends CMD's stdout to stderr instead, so
that 'leakgate run --json - -- CMD | jq' always parses.

CMD's environment is left alone but for the run marker (LEAKGATE_RUN) and
LEAKGATE_SELF_REPORT: fakecli's personas go first on its PATH only when
asked (--fakecli, --personas, or implied by --faults, --fault-plan or
--bucket, with the fakecli beside leakgate).

A first SIGINT or SIGTERM is passed on to CMD's process group; a second
one kills its tree at once. If leakgate itself is killed, a guard process
ends what the run left.

Exit status: 0 no leak, 1 the gate failed (a leak, a timeout, or a failed
command with --require-success), 2 usage error (an unwritable --json
FILE included, found before CMD starts) or CMD could not be started.

`

// guardExe is the leakgate binary, set by main: `leakgate run` starts
// `guardExe guard …` as its guard (gate.Config.Guard). Empty in tests that
// call run in-process: no guard.
var guardExe string

// runFlags are `leakgate run`'s flags beyond gate.Config.
type runFlags struct {
	personas, fakecli, json, output, html string
}

// runCmd is `leakgate run [flags] -- CMD ARGS…`.
func runCmd(args []string, stdout, stderr io.Writer) error {
	c, f, err := parseRun(args, stderr)
	if err != nil {
		return err
	}
	cleanupPersonas, err := setPersonas(&c, f)
	if err != nil {
		return err
	}
	defer cleanupPersonas()
	report, err := openReport(f.json)
	if err != nil {
		return err
	}
	if err := checkWritable(f.html); err != nil {
		report.abandon()
		return fmt.Errorf("%w: run: --html: %w", errUsage, err)
	}
	closeStreams, err := setStreams(&c, f)
	if err != nil {
		report.abandon()
		return err
	}
	defer closeStreams()
	if guardExe != "" {
		c.Guard = []string{guardExe, guardCommand}
	}
	c.Notices = stderr
	rep, err := gate.Run(context.Background(), c)
	switch {
	case errors.Is(err, gate.ErrConfig):
		report.abandon()
		return fmt.Errorf("%w: run: %w", errUsage, err)
	case errors.Is(err, gate.ErrStart):
		report.abandon()
		return fmt.Errorf("%w: run: %w", errNothingRan, err)
	case err != nil:
		report.abandon()
		return fmt.Errorf("run: %w", err)
	}
	fmt.Fprint(stderr, rep)
	if err := report.write(rep, stdout); err != nil {
		return err
	}
	if f.html != "" {
		if err := reports.WriteGateHTML(f.html, rep, args); err != nil {
			return fmt.Errorf("run: --html: %w", err)
		}
	}
	if !rep.Pass {
		return errFailed
	}
	return nil
}

// parseRun parses the flags into a gate.Config.
func parseRun(args []string, stderr io.Writer) (gate.Config, runFlags, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c gate.Config
	var f runFlags
	fs.StringVar(&f.personas, "personas", "", "put `DIR` (fakecli persona links: aws, gsutil, fakecli, …) first on the command's PATH")
	fs.StringVar(&f.fakecli, "fakecli", "", "make persona links to the fakecli binary `FILE` and put them first on PATH")
	fs.StringVar(&c.Bucket, "bucket", "", "LEAKGATE_BUCKET for the command: the bucket `DIR` fakecli serves (implies the personas)")
	fs.StringVar(&c.Faults, "faults", "", "LEAKGATE_FAULTS for the command: a fault `SPEC` (implies the personas)")
	fs.StringVar(&c.FaultPlan, "fault-plan", "", "LEAKGATE_FAULT_PLAN for the command: a fault plan `FILE` (implies the personas)")
	fs.StringVar(&c.Journal, "journal", "", "LEAKGATE_JOURNAL for the command: a journal `FILE`, kept (default: a temporary file, removed)")
	fs.DurationVar(&c.Settle, "settle", gate.DefaultSettle, "after the command exits, a process of its run still there after this long is a leak")
	fs.DurationVar(&c.Timeout, "timeout", 0, "kill the command (SIGKILL) after this long and fail (0: no limit)")
	fs.DurationVar(&c.Every, "every", gate.DefaultEvery, "sampling interval while the command runs")
	fs.DurationVar(&c.FDQuiet, "fd-quiet", gate.DefaultFDQuiet, "when the command's exit cannot be traced: judge its fds only if it was at rest this long at its last sample")
	fs.Var((*regexps)(&c.IgnoreFDs), "ignore-fd", "never count an fd whose readlink target matches `REGEXP` (repeatable)")
	fs.BoolVar(&c.RequireSuccess, "require-success", false, "fail the gate if the command exits non-zero or dies of a signal")
	fs.StringVar(&f.html, "html", "", "also write the report as a self-contained HTML page (timeline, process tree) to `FILE`")
	fs.StringVar(&f.json, "json", "", "write the report as JSON to `FILE` (\"-\": to stdout, and the command's stdout to stderr)")
	fs.StringVar(&f.output, "command-output", "", "send the command's stdout and stderr to `FILE` (default: leakgate's own)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, f, err
		}
		return c, f, fmt.Errorf("%w: %w", errUsage, err)
	}
	c.Args = fs.Args()
	if len(c.Args) == 0 {
		return c, f, fmt.Errorf("%w: run: no command given (leakgate run [flags] -- CMD ARGS…)", errUsage)
	}
	if f.personas != "" && f.fakecli != "" {
		return c, f, fmt.Errorf("%w: run: give --personas or --fakecli, not both", errUsage)
	}
	return c, f, nil
}

// setPersonas sets c.PersonaDir when personas are asked for: --personas,
// --fakecli, or implied by --faults, --fault-plan or --bucket (the fakecli
// beside leakgate). It returns what removes the links it made.
func setPersonas(c *gate.Config, f runFlags) (func(), error) {
	c.PersonaDir = f.personas
	bin := f.fakecli
	implied := c.Faults != "" || c.FaultPlan != "" || c.Bucket != ""
	if c.PersonaDir != "" || (bin == "" && !implied) {
		return func() {}, nil
	}
	if bin == "" {
		if bin = besideMe("fakecli"); bin == "" {
			return nil, fmt.Errorf("%w: run: --faults, --fault-plan and --bucket are fakecli's: give --personas DIR or --fakecli FILE (no fakecli beside leakgate)", errUsage)
		}
	}
	dir, err := ownedtemp.Mkdir("personas")
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if err := fakeenv.LinkPersonas(bin, dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: run: --fakecli: %w", errUsage, err)
	}
	c.PersonaDir = dir
	c.GuardFolders = append(c.GuardFolders, dir)
	return func() { os.RemoveAll(dir) }, nil
}

// setStreams gives the command leakgate's streams, its stdout going to
// stderr when the JSON report takes stdout, or --command-output's file.
func setStreams(c *gate.Config, f runFlags) (func(), error) {
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if f.json == "-" {
		c.Stdout = os.Stderr
	}
	if f.output == "" {
		return func() {}, nil
	}
	out, err := os.Create(f.output)
	if err != nil {
		return nil, fmt.Errorf("%w: run: --command-output: %w", errUsage, err)
	}
	c.Stdout, c.Stderr = out, out
	return func() { out.Close() }, nil
}

// jsonReport is where the JSON report goes: nowhere, stdout ("-") or a
// file opened before the command starts (so that an unwritable path is a
// usage error, not a lost report).
type jsonReport struct {
	path    string
	f       *os.File
	created bool // the file did not exist: abandon removes it
}

// checkWritable proves, before the command starts, that a file can be
// written at path (written later, atomically, beside it): it creates and
// removes a temporary file in path's folder. An empty path is no file.
//
//	err := checkWritable("out/gate.html")
func checkWritable(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".leakgate-check-*")
	if err != nil {
		return fmt.Errorf("cannot write beside %s: %w", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func openReport(path string) (*jsonReport, error) {
	r := &jsonReport{path: path}
	if path == "" || path == "-" {
		return r, nil
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: run: --json: %w", errUsage, err)
	}
	r.f, r.created = f, errors.Is(statErr, os.ErrNotExist)
	return r, nil
}

// abandon closes the file and removes it if this run created it.
func (r *jsonReport) abandon() {
	if r.f == nil {
		return
	}
	r.f.Close()
	if r.created {
		os.Remove(r.path)
	}
}

// write writes the report as JSON.
func (r *jsonReport) write(rep *gate.Report, stdout io.Writer) error {
	if r.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		r.abandon()
		return fmt.Errorf("run: report: %w", err)
	}
	data = append(data, '\n')
	if r.f == nil {
		_, err = stdout.Write(data)
		return err
	}
	err = r.f.Truncate(0)
	if err == nil {
		_, err = r.f.Write(data)
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("run: --json: %w", err)
	}
	return nil
}

// besideMe returns the path of name in the folder of this executable, or ""
// if there is no such file.
func besideMe(name string) string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(exe), name)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return ""
	}
	return p
}
