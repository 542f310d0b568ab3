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

	"github.com/leakgate/leakgate/gate"
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
outlived it or escaped its tree, fds it leaked, leaks it reported itself
(LEAKGATE_SELF_REPORT), and the fakecli journal. See
'go doc github.com/leakgate/leakgate/gate' for what counts as a leak.
Exit status: 0 no leak, 1 the gate failed (a leak, a timeout, or a failed
command with --require-success), 2 usage error or CMD could not be started.

`

// runCmd is `leakgate run [flags] -- CMD ARGS…`.
func runCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c gate.Config
	personas := fs.String("personas", "", "put `DIR` (fakecli persona links: aws, gsutil, fakecli, …) first on the command's PATH")
	fakecliBin := fs.String("fakecli", "", "make persona links to the fakecli binary `FILE` and put them first on PATH (default: fakecli beside leakgate, if there)")
	fs.StringVar(&c.Bucket, "bucket", "", "LEAKGATE_BUCKET for the command: the bucket `DIR` fakecli serves")
	fs.StringVar(&c.Faults, "faults", "", "LEAKGATE_FAULTS for the command: a fault `SPEC`")
	fs.StringVar(&c.FaultPlan, "fault-plan", "", "LEAKGATE_FAULT_PLAN for the command: a fault plan `FILE`")
	fs.StringVar(&c.Journal, "journal", "", "LEAKGATE_JOURNAL for the command: a journal `FILE`, kept (default: a temporary file, removed)")
	fs.DurationVar(&c.Settle, "settle", gate.DefaultSettle, "after the command exits, a process of its run still there after this long is a leak")
	fs.DurationVar(&c.Timeout, "timeout", 0, "kill the command (SIGKILL) after this long and fail (0: no limit)")
	fs.DurationVar(&c.Every, "every", gate.DefaultEvery, "sampling interval while the command runs")
	fs.DurationVar(&c.FDQuiet, "fd-quiet", gate.DefaultFDQuiet, "judge the command's fds only if it was at rest this long at its last sample")
	fs.Var((*regexps)(&c.IgnoreFDs), "ignore-fd", "never count an fd whose readlink target matches `REGEXP` (repeatable)")
	fs.BoolVar(&c.RequireSuccess, "require-success", false, "fail the gate if the command exits non-zero or dies of a signal")
	jsonOut := fs.String("json", "", "write the report as JSON to `FILE` (\"-\": to stdout, instead of the human report)")
	output := fs.String("command-output", "", "send the command's stdout and stderr to `FILE` (default: leakgate's own)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	c.Args = fs.Args()
	if len(c.Args) == 0 {
		return fmt.Errorf("%w: run: no command given (leakgate run [flags] -- CMD ARGS…)", errUsage)
	}
	if *personas != "" && *fakecliBin != "" {
		return fmt.Errorf("%w: run: give --personas or --fakecli, not both", errUsage)
	}

	c.PersonaDir = *personas
	if c.PersonaDir == "" {
		bin := *fakecliBin
		if bin == "" {
			bin = besideMe("fakecli")
		}
		if bin != "" {
			dir, err := os.MkdirTemp("", "leakgate-personas-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if err := gate.LinkPersonas(bin, dir); err != nil {
				return fmt.Errorf("%w: run: --fakecli: %w", errUsage, err)
			}
			c.PersonaDir = dir
		}
	}
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return fmt.Errorf("%w: run: --command-output: %w", errUsage, err)
		}
		defer f.Close()
		c.Stdout, c.Stderr = f, f
	}

	rep, err := gate.Run(context.Background(), c)
	switch {
	case errors.Is(err, gate.ErrConfig):
		return fmt.Errorf("%w: run: %w", errUsage, err)
	case errors.Is(err, gate.ErrStart):
		return fmt.Errorf("%w: run: %w", errNothingRan, err)
	case err != nil:
		return fmt.Errorf("run: %w", err)
	}
	if *jsonOut != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("run: report: %w", err)
		}
		data = append(data, '\n')
		if *jsonOut == "-" {
			stdout.Write(data)
		} else if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			fmt.Fprint(stdout, rep)
			return fmt.Errorf("run: --json: %w", err)
		}
	}
	if *jsonOut != "-" {
		fmt.Fprint(stdout, rep)
	}
	if !rep.Pass {
		return errFailed
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
