package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/shellquote"
)

// guardCommand is the internal subcommand a run's guard runs as:
// `leakgate guard RUN-ID FOLDER…` (see gate.RunGuard).
const guardCommand = "guard"

func guardMain(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "leakgate guard: internal: started by `leakgate run` with a run id")
		return 2
	}
	return gate.RunGuard(os.Stdin, stderr, args[0], args[1:]...)
}

// sweep is `leakgate sweep [-dry-run] [-grace D] [-timeout D] RUN`.
func sweep(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 10*time.Second, "give up waiting for the killed processes after this long")
	dry := fs.Bool("dry-run", false, "list what matches; signal nothing")
	grace := fs.Duration("grace", 2*time.Second, "after SIGTERM, wait this long before SIGKILL")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if *grace <= 0 || *timeout <= 0 {
		return fmt.Errorf("%w: sweep: -grace %v and -timeout %v must be > 0", errUsage, *grace, *timeout)
	}
	arg := fs.Arg(0)
	snap, err := harness.Take(harness.WithMarker(arg))
	if arg == "" {
		return fmt.Errorf("%w: sweep: an empty run id would match every tagged run", errUsage)
	}
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	var tagged []harness.Proc
	for _, p := range snap.Descendants { // a test calling sweep in-process
		if strings.HasPrefix(p.Marker, arg) {
			tagged = append(tagged, p)
		}
	}
	procs, root, err := oneRun(arg, append(tagged, snap.Escaped...))
	if err != nil {
		return err
	}
	if len(procs) == 0 {
		fmt.Fprintf(stdout, "no process is tagged with run %s\n", arg)
		return nil
	}
	verb := "will end"
	if *dry {
		verb = "would end"
	}
	fmt.Fprintf(stdout, "run %s: %s %d processes:\n", root, verb, len(procs))
	for _, p := range procs {
		fmt.Fprintf(stdout, "  pid %d %q [%s] %s (run %s)\n", p.Pid, p.Name, p.State, shellquote.Join(p.Cmdline), p.Marker)
	}
	if *dry {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	s, err := harness.Sweep(ctx, harness.Marker{ID: root}, harness.Snapshot{}, harness.TermFirst(*grace))
	fmt.Fprintf(stdout, "ended after SIGTERM: %d; needed SIGKILL: %d\n", len(s.Terminated), len(s.Killed))
	for _, p := range s.Killed {
		fmt.Fprintf(stdout, "killed %s\n", p)
	}
	return err
}

// oneRun keeps the processes whose marker arg names at a component
// boundary (the whole marker, or a prefix followed by '/' or '.', or
// ending in one) and checks that they belong to one run: the shortest
// matched marker, and runs nested under it ("<run>/…"). It returns them
// and that run's id.
func oneRun(arg string, tagged []harness.Proc) ([]harness.Proc, string, error) {
	var procs []harness.Proc
	var markers, partial []string
	for _, p := range tagged {
		rest, ok := strings.CutPrefix(p.Marker, arg)
		if !ok {
			continue
		}
		if boundary := rest == "" || strings.HasSuffix(arg, "/") || strings.HasSuffix(arg, ".") || rest[0] == '/' || rest[0] == '.'; !boundary {
			partial = append(partial, p.Marker)
			continue
		}
		procs = append(procs, p)
		if !slices.Contains(markers, p.Marker) {
			markers = append(markers, p.Marker)
		}
	}
	if len(procs) == 0 && len(partial) > 0 {
		slices.Sort(partial)
		return nil, "", fmt.Errorf("%w: sweep: %q ends inside a run id (%s): give a whole run id, or a prefix ending at '/' or '.'", errUsage, arg, strings.Join(slices.Compact(partial), ", "))
	}
	if len(procs) == 0 {
		return nil, arg, nil
	}
	slices.SortFunc(markers, func(a, b string) int { return len(a) - len(b) })
	root := markers[0]
	var others []string
	for _, m := range markers[1:] {
		if m != root && !strings.HasPrefix(m, root+"/") {
			others = append(others, m)
		}
	}
	if len(others) > 0 {
		return nil, "", fmt.Errorf("%w: sweep: %q names %d runs (%s, %s): give one whole run id", errUsage, arg, len(others)+1, root, strings.Join(others, ", "))
	}
	slices.SortFunc(procs, func(a, b harness.Proc) int { return int(a.Pid - b.Pid) })
	return procs, root, nil
}
