package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/leakgate/leakgate/explore"
	"github.com/leakgate/leakgate/fakecli/fakeenv"
	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/internal/ownedtemp"
)

const exploreUsage = `usage: leakgate explore [flags] -- CMD ARGS…
       leakgate explore --subject restore|backup [flags]
       leakgate explore --replay PLANFILE [flags] [-- CMD ARGS…]

Draws fault plans from --seed, runs each under the leak gate and checks the
run's properties (no leak, no timeout, a failure names a file; for the
restore subject also: exit 0 only with the clean restore's DB, and a resume
after a failure reaches it). A failing plan is shrunk to a minimal one, and
written with its evidence under --out. See 'go doc
github.com/leakgate/leakgate/explore'.
Exit status: 0 no failing plan found (but those --corpus knows), 1 one
was (or --replay failed), 2 usage error.

`

// exploreFlags are explore's flags.
type exploreFlags struct {
	bucket, subject, config, policy, replay, jsonOut, out, restore, fakecli, shard, corpus string
	objserver                                                                              bool
	seed                                                                                   int64
	runs, workers, tries, need, manifests, concurrency, maxRules                           int
	budget, timeout, readTimeout                                                           time.Duration
	quiet                                                                                  bool
}

func (f *exploreFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.bucket, "bucket", "", "the bucket `DIR` the command reads (for CMD; plans are drawn over its objects)")
	fs.Int64Var(&f.seed, "seed", 1, "the search's seed: the same seed and runs give the same plans")
	fs.IntVar(&f.runs, "runs", 0, "plans to check (0: until --budget is spent)")
	fs.DurationVar(&f.budget, "budget", 5*time.Minute, "stop searching (shrinking included) after this long (0: no limit, then --runs is required)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "each run's limit: a run still going after it is a finding")
	fs.StringVar(&f.shard, "shard", "", "check only part `i/n` of the runs (run indices ≡ i-1 mod n), to split a search across machines")
	fs.StringVar(&f.jsonOut, "json", "", "write the result (runs, runs per minute, findings) as JSON to `FILE`")
	fs.StringVar(&f.replay, "replay", "", "run the plan in `PLANFILE` (a finding or a corpus entry) --tries times instead of searching")
	fs.BoolVar(&f.objserver, "objserver", false, "act the plan's faults out in bin/objserver (beside leakgate) and give CMD its endpoint as ENDPOINT and R2_ENDPOINT_URL, for real CLIs")
	fs.StringVar(&f.subject, "subject", "", "`restore`: bin/restore bootstrap-db, resumed after a failure, DB compared with a clean restore's; "+
		"backup: bin/restore make-backup, its bucket restored and compared; default: CMD")
	fs.StringVar(&f.config, "config", "testdata/configs/local.yaml", "restore subject: the CommandAdapter config `FILE`")
	fs.StringVar(&f.policy, "policy", "killgroup", "restore subject: --cleanup-policy")
	fs.IntVar(&f.manifests, "manifests", 6, "restore subject: manifests in its synthetic backup")
	fs.IntVar(&f.concurrency, "concurrency", 4, "restore subject: --concurrent-downloads")
	fs.DurationVar(&f.readTimeout, "read-timeout", 2*time.Second, "restore subject: --read-timeout")
	fs.StringVar(&f.restore, "restore", "", "restore subject: the restore `BIN` (default: restore beside leakgate)")
	fs.StringVar(&f.fakecli, "fakecli", "", "the fakecli `BIN` for the personas (default: fakecli beside leakgate)")
	fs.IntVar(&f.workers, "workers", 2, "runs at a time")
	fs.IntVar(&f.tries, "tries", 3, "runs of each shrinking candidate (and of --replay)")
	fs.IntVar(&f.need, "need", 2, "of --tries runs, how many must fail for a candidate to count as failing")
	fs.IntVar(&f.maxRules, "max-rules", explore.DefaultMaxRules, "most rules per plan")
	fs.StringVar(&f.out, "out", "reports/out/explore", "where findings (plan files) and their evidence go")
	fs.BoolVar(&f.quiet, "quiet", false, "print findings only, not every run")
	fs.StringVar(&f.corpus, "corpus", "", "a regression corpus `DIR` (testdata/explore): a finding whose minimal plan and property an entry already holds is known, and does not make the exit status 1")
}

// exploreCmd is `leakgate explore`.
func exploreCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("explore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f exploreFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), exploreUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	shard, err := parseShard(f.shard)
	if err != nil {
		return err
	}
	if err := f.check(fs.Args()); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Named after this process: a later explore removes what a killed one
	// left (ownedtemp.RemoveStale).
	ownedtemp.RemoveStale("explore", "replay")
	root, err := ownedtemp.Mkdir("explore")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	subj, defect, err := f.subjectOf(ctx, fs.Args(), root)
	if err != nil {
		return err
	}
	if f.replay != "" {
		return replay(ctx, f, subj, stdout)
	}
	s := &explore.Search{Subject: subj, Seed: f.seed, Runs: f.runs, Budget: f.budget, Shard: shard,
		Workers: f.workers, Tries: f.tries, Need: f.need, Dir: f.out, MaxRules: f.maxRules, Defect: defect}
	if !f.quiet {
		s.Log = func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	}
	fmt.Fprintf(stdout, "explore: %s, seed %d, budget %s, %d workers\n", subj.Name(), f.seed, f.budget, f.workers)
	res, err := s.Run(ctx)
	if err != nil {
		return fmt.Errorf("explore: %w", err)
	}
	known, err := knownFindings(f.corpus)
	if err != nil {
		return fmt.Errorf("%w: explore: --corpus: %w", errUsage, err)
	}
	return report(res, known, f.jsonOut, stdout)
}

// knownFindings reads the corpus in dir ("" for none) as a set of
// "PROPERTY PLAN" keys of its failing entries.
func knownFindings(dir string) (map[string]bool, error) {
	known := map[string]bool{}
	if dir == "" {
		return known, nil
	}
	entries, err := explore.Corpus(dir)
	for _, e := range entries {
		if prop, ok := strings.CutPrefix(e.Expect, "fail "); ok {
			known[prop+" "+e.Plan.String()] = true
		}
	}
	return known, err
}

// check validates the flags against the operands.
func (f *exploreFlags) check(cmd []string) error {
	switch {
	case f.subject != "" && f.subject != "restore" && f.subject != "backup":
		return fmt.Errorf("%w: explore: --subject: unknown subject %q (known: backup, restore; or give -- CMD ARGS…)", errUsage, f.subject)
	case f.subject == "" && len(cmd) == 0:
		return fmt.Errorf("%w: explore: no command given (leakgate explore [flags] -- CMD ARGS…, or --subject restore)", errUsage)
	case f.subject != "" && len(cmd) > 0:
		return fmt.Errorf("%w: explore: give --subject or a command, not both", errUsage)
	case f.subject == "" && f.bucket == "":
		return fmt.Errorf("%w: explore: --bucket is required with a command", errUsage)
	case f.subject != "" && f.objserver:
		return fmt.Errorf("%w: explore: --objserver goes with a command (-- CMD ARGS…), not --subject", errUsage)
	case f.budget < 0 || f.timeout <= 0 || f.runs < 0 || f.workers < 1 || f.tries < 1 || f.need < 1 || f.need > f.tries:
		return fmt.Errorf("%w: explore: want --budget ≥ 0, --timeout > 0, --runs ≥ 0, --workers ≥ 1, 1 ≤ --need ≤ --tries", errUsage)
	case f.budget == 0 && f.runs == 0 && f.replay == "":
		return fmt.Errorf("%w: explore: --budget 0 needs --runs, or the search never ends", errUsage)
	case f.maxRules < 1 || f.manifests < 1 || f.concurrency < 1:
		return fmt.Errorf("%w: explore: --max-rules, --manifests and --concurrency must be at least 1", errUsage)
	}
	return nil
}

// parseShard parses "i/n" with 1 ≤ i ≤ n; "" is the whole search.
func parseShard(s string) (explore.Shard, error) {
	if s == "" {
		return explore.Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return explore.Shard{}, fmt.Errorf("%w: explore: --shard: want i/n with 1 ≤ i ≤ n, e.g. 2/4, got %q", errUsage, s)
	}
	return explore.Shard{I: i, N: n}, nil
}

// subjectOf builds the subject the flags name, and says which seeded
// defect (from the environment) it runs with.
func (f *exploreFlags) subjectOf(ctx context.Context, cmd []string, root string) (explore.Subject, string, error) {
	tools := explore.Tools{Leakgate: selfPath(), Fakecli: f.fakecli,
		Env: []string{fakeenv.StallCap + "=" + (2 * f.timeout).String()}}
	defect := os.Getenv(explore.EnvSeededDefect)
	if defect != "" {
		tools.Env = append(tools.Env, explore.EnvSeededDefect+"="+defect)
	}
	if f.subject == "" {
		bucket, err := filepath.Abs(f.bucket)
		if err != nil {
			return nil, "", err
		}
		if fi, err := os.Stat(bucket); err != nil || !fi.IsDir() {
			return nil, "", fmt.Errorf("%w: explore: --bucket %s: not a folder", errUsage, f.bucket)
		}
		c := &explore.Command{Tools: tools, Args: cmd, Bucket: bucket, Timeout: f.timeout}
		if f.objserver {
			c.Objserver = besideMe("objserver")
			if c.Objserver == "" {
				return nil, "", fmt.Errorf("%w: explore: --objserver: no objserver beside %s (make build)", errUsage, selfPath())
			}
		}
		return c, defect, nil
	}
	bin := f.restore
	if bin == "" {
		if bin = besideMe("restore"); bin == "" {
			return nil, "", fmt.Errorf("%w: explore: --subject %s: no restore beside %s; give --restore BIN", errUsage, f.subject, selfPath())
		}
	}
	config, err := filepath.Abs(f.config)
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(config); err != nil {
		return nil, "", fmt.Errorf("%w: explore: --config: %w", errUsage, err)
	}
	r := explore.NewRestore(tools, bin, config, f.policy, root)
	r.Manifests, r.Concurrency, r.ReadTimeout, r.Timeout = f.manifests, f.concurrency, f.readTimeout, f.timeout
	if err := r.Prepare(ctx); err != nil {
		return nil, "", fmt.Errorf("%w: explore: %w", errNothingRan, err)
	}
	if f.subject == "backup" {
		return explore.NewBackup(r), defect, nil
	}
	return r, defect, nil
}

// selfPath is this executable's path.
func selfPath() string {
	exe, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return exe
}

// replay runs a plan file's plan against the subject --tries times and
// fails if --need runs fail.
func replay(ctx context.Context, f exploreFlags, subj explore.Subject, stdout io.Writer) error {
	e, err := explore.ReadEntry(f.replay)
	if err != nil {
		return fmt.Errorf("%w: explore: --replay: %w", errUsage, err)
	}
	dir, err := ownedtemp.Mkdir("replay")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sh := &explore.Shrinker{Tries: f.tries, Need: f.need, Fails: func(ctx context.Context, s explore.Subject, p *faults.Plan) (explore.Outcome, error) {
		d, err := os.MkdirTemp(dir, "run-")
		if err != nil {
			return explore.Outcome{}, err
		}
		out, err := s.Check(ctx, p, d)
		if err == nil {
			fmt.Fprintf(stdout, "replay %s: %s\n", e.Plan, out)
		} else {
			fmt.Fprintf(stdout, "replay %s: error: %v\n", e.Plan, err)
		}
		return out, err
	}}
	failed, out := sh.Confirm(ctx, subj, e.Plan)
	if failed {
		fmt.Fprintf(stdout, "FAIL: %s failed %d of %d runs: %s\n", e.Plan, sh.Failures, sh.Runs, out)
		return errFailed
	}
	fmt.Fprintf(stdout, "PASS: %s failed %d of %d runs (%d needed to count)\n", e.Plan, sh.Failures, sh.Runs, f.need)
	return nil
}

// report prints the result (and writes it as JSON); a finding the corpus
// does not know is errFailed.
func report(res *explore.Result, known map[string]bool, jsonOut string, stdout io.Writer) error {
	fmt.Fprintf(stdout, "explore: %d runs in %.0fs (%.1f runs/minute), %d failed, %d errors, %d findings\n",
		res.Runs, res.Took, res.RunsPerMinute, res.Failed, res.Errors, len(res.Findings))
	if res.LastError != "" {
		fmt.Fprintf(stdout, "last error: %s\n", res.LastError)
	}
	for _, f := range res.Unconfirmed {
		fmt.Fprintf(stdout, "unconfirmed %s: %s (run %d failed, then too rarely to count: a timing accident?)\n", f.Property, f.Original, f.Run)
	}
	fresh := 0
	for _, f := range res.Findings {
		what := "FOUND"
		if known[f.Property+" "+f.Plan] {
			what = "known"
		} else {
			fresh++
		}
		fmt.Fprintf(stdout, "%s %s: %s — replay: %s (shrunk in %s, %d runs)\n",
			what, f.Property, f.Plan, f.Replay, f.ShrinkTook.Round(time.Millisecond), f.ShrinkRuns)
	}
	if jsonOut != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("explore: --json: %w", err)
		}
	}
	if fresh > 0 {
		return errFailed
	}
	return nil
}
