// Command leakgate runs a command under a leak gate, reads scenario results
// and cleans up after runs.
//
//	leakgate run [flags] -- CMD ARGS…
//	leakgate summary [-o summary.md] [-html index.html] [-findings FINDINGS.md] REPORT.json…
//	leakgate sweep [-dry-run] [-grace 2s] [-timeout 10s] RUN
//	leakgate explore [flags] -- CMD ARGS…   (see explore.go)
//
// run starts CMD with a run marker in its environment (and, when asked,
// fakecli's personas first on PATH, the fault plan, journal and bucket),
// samples it while it runs, lets what it left settle after it exits, ends
// everything the run left (SIGTERM, then SIGKILL), and reports: the human
// report on stderr, JSON with --json (see run.go for the streams). It exits 0
// when the gate passes, 1 when it fails (a leak, a timeout, or a failed
// command with --require-success), 2 on a usage error or when CMD could not
// be started. What counts as a leak is package gate's contract: see
// `go doc github.com/leakgate/leakgate/gate`.
//
// summary prints the fault × policy matrix of Ginkgo JSON reports as
// Markdown (and writes it to -o), the HTML report (-html) and the audit's
// findings as measured (-findings); several reports (the shards of one run)
// are merged into one first. It exits 1 if the reports show a failure.
// sweep ends every process of one run, anywhere on the machine: RUN is a
// whole run id or a prefix of one that ends at a component boundary ('/'
// or '.') and names one run (with the runs nested under it); it lists what
// matches before it signals anything, and with -dry-run only lists. It
// exits 1 if any survive. Usage errors exit 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/leakgate/leakgate/reports"
)

func main() {
	guardExe, _ = os.Executable() // the binary, not a test: run may start its guard
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  leakgate run [flags] -- CMD ARGS…        run CMD under the leak gate ('leakgate run -h' for flags)
  leakgate summary [-o FILE] [-html FILE] [-findings FILE] REPORT.json…
                                           print the scenario matrix of ginkgo JSON reports (merged)
  leakgate sweep [-dry-run] [-grace D] [-timeout D] RUN
                                           end every process tagged with one run (SIGTERM, then SIGKILL)
  leakgate explore [flags] -- CMD ARGS…    search fault plans for leaks and wrong results, shrink what fails ('leakgate explore -h')
`

var errUsage = errors.New("usage")

// errFailed marks a command that ran and found a failure: exit 1 without
// another message.
var errFailed = errors.New("failed")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = runCmd(args[1:], stdout, stderr)
	case "explore":
		err = exploreCmd(args[1:], stdout, stderr)
	case "summary":
		err = summary(args[1:], stdout, stderr)
	case "sweep":
		err = sweep(args[1:], stdout, stderr)
	case guardCommand: // internal: the run's guard, started by `leakgate run`
		return guardMain(args[1:], stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "leakgate: %v\n%s", err, usage)
		return 2
	case errors.Is(err, errNothingRan):
		fmt.Fprintf(stderr, "leakgate: %v\n", err)
		return 2
	case errors.Is(err, errFailed):
		return 1
	default:
		fmt.Fprintf(stderr, "leakgate: %v\n", err)
		return 1
	}
}

func parse(fs *flag.FlagSet, args []string, operands int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != operands {
		return fmt.Errorf("%w: %s takes %d operand(s), got %d", errUsage, fs.Name(), operands, fs.NArg())
	}
	return nil
}

func summary(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "also write the summary to `FILE`")
	html := fs.String("html", "", "write the self-contained HTML report to `FILE` (e.g. reports/out/index.html)")
	findings := fs.String("findings", "", "write the audit findings, as measured, to `FILE` (e.g. reports/out/FINDINGS.md)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: summary takes one or more REPORT.json (several are merged, e.g. shards of one run)", errUsage)
	}
	results, err := reports.ReadAll(fs.Args()...)
	if err != nil {
		return err
	}
	text := reports.Summary(results)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	}
	if *html != "" {
		if err := reports.WriteHTML(*html, results); err != nil {
			return err
		}
	}
	if *findings != "" {
		if err := reports.WriteFindings(*findings, results); err != nil {
			return err
		}
	}
	fmt.Fprint(stdout, text)
	if !results.Succeeded {
		return errFailed
	}
	return nil
}
