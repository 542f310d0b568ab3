// Command restore is leakgate's port of `aptos-db-tool restore bootstrap-db`
// for epoch-ending history, with a choice of child-cleanup policy, plus a
// fixture writer.
//
//	restore bootstrap-db --command-adapter-config s3.yaml --concurrent-downloads 8 \
//	    --metadata-cache-dir /tmp/meta --cleanup-policy killgroup --read-timeout 30s
//	restore make-backup --command-adapter-config local.yaml --manifests 12 --chunks 3 \
//	    --records 8 --record-size 16384
//
// Exit status: 0 on success, 1 when the restore (or backup) fails, 2 on a
// usage error (bad flag, a numeric flag above its bound, unreadable or
// malformed config, a --metadata-cache-dir holding files the cache did not
// write), 130 or 143 when stopped by SIGINT or SIGTERM.
//
// # Bounds
//
// Every read of outside input is bounded, and past the bound the command
// fails with an error naming the command or file and the bound: the
// listing --max-listing-bytes (64 MiB), a manifest --max-manifest-bytes
// (16 MiB), a metadata file's download --max-metadata-file-bytes (64 MiB),
// all of a run's metadata downloads --max-metadata-download-bytes (1 GiB),
// a printed handle 64 KiB, the config 1 MiB, a record 64 MiB, a chunk the
// records its manifest's range names. The target DB needs room: a batch is
// refused unless twice its size and 8 MiB are free.
//
// # Metadata cache
//
// --metadata-cache-dir is a folder the cache owns: it must be missing,
// empty, or one the cache made (it holds .leakgate-metadata-cache, which
// records every file the cache wrote). The cache deletes only files it
// recorded, and its own .download-* temp files; a folder with other files
// and no marker is refused.
//
// # Stopping
//
// The first SIGINT or SIGTERM cancels the command at whatever step it is:
// restore.Run closes every reader in flight, and a one-shot command
// (list_metadata_files, create_backup, save_metadata_line,
// backup_metadata_file) or a config read from a FIFO is stopped, each child
// meeting --cleanup-policy as on an error; the command returns (deferred closes run), a message names the signal, and
// the exit status is 128+n (130, 143). A second SIGINT or SIGTERM during
// that cleanup kills the process at once by the signal's default action,
// skipping the rest of it. SIGKILL runs no cleanup at all: under every
// policy the children in flight survive it, unless
//
//   - --pdeathsig: the kernel SIGKILLs each bash when bin/restore dies
//     (PR_SET_PDEATHSIG). It reaches bash and what bash execs, not bash's
//     children: the storage CLI and gzip of a pipeline live on.
//   - --guard: a watchdog child (`restore guard`, in its own process group)
//     holds a pipe that only bin/restore writes to; when bin/restore ends,
//     however it ends, the guard reads EOF and SIGKILLs every process whose
//     environment carries this run's RESTORE_GUARD token: every child and
//     grandchild. On a normal exit bin/restore waits for that sweep, so
//     under --guard nothing it started outlives it, whatever the policy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == guardCommand {
		// The guard keeps the default signal dispositions: it has nothing
		// to stop cleanly, and a signal aimed at it means "die now".
		os.Exit(runGuard(os.Args[2:], os.Stdin, os.Stderr))
	}
	ctx, stop := handleSignals(context.Background(), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  restore bootstrap-db --command-adapter-config FILE [flags]   restore and verify epoch-ending history
  restore make-backup  --command-adapter-config FILE [flags]   write a synthetic epoch-ending backup
Run 'restore COMMAND -h' for a command's flags.
`

// errUsage marks errors that exit 2.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "bootstrap-db":
		if err = seeded(); err == nil { // test-only: see seeded.go
			err = bootstrapDB(ctx, args[1:], stdout, stderr)
		}
	case "make-backup":
		err = makeBackup(ctx, args[1:], stdout, stderr)
	case guardCommand:
		return runGuard(args[1:], os.Stdin, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "restore: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if gerr := stopGuard(); gerr != nil {
		err = errors.Join(err, fmt.Errorf("--guard: %w", gerr))
	}
	if se := stoppedBy(ctx); se != nil {
		if err == nil {
			fmt.Fprintf(stderr, "restore: %s arrived as the command finished; exiting %d\n", signalName(se.sig), se.exitCode())
		} else {
			fmt.Fprintf(stderr, "restore: stopped by %s (exit %d): %v\n", signalName(se.sig), se.exitCode(), err)
		}
		return se.exitCode()
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "restore: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "restore: %v\n", err)
		return 1
	}
}

// common holds the flags both commands share.
type common struct {
	config    string
	policy    string
	timeout   time.Duration
	pdeathsig bool
	guard     bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "command-adapter-config", "", "CommandAdapter config `FILE` (YAML), as aptos-db-tool takes it (required)")
	fs.StringVar(&c.policy, "cleanup-policy", adapter.Drop.String(),
		"what happens to a child whose reader is dropped before EOF: "+policyNames()+" (drop is what the real tool does)")
	fs.DurationVar(&c.timeout, "read-timeout", 0, "give up on a read that gets no data for this long (0: wait forever, as shipped)")
	fs.BoolVar(&c.pdeathsig, "pdeathsig", false,
		"have the kernel SIGKILL each child bash when this process dies, even by SIGKILL (PR_SET_PDEATHSIG; bash only: a pipeline's other processes survive)")
	fs.BoolVar(&c.guard, "guard", false,
		"start a watchdog process that kills every process this one started and left running, when this one ends however it ends (SIGKILL included)")
}

// adapter loads the config and builds the adapter, starting the guard for
// --guard; its errors are usage errors, but for the guard's.
func (c *common) adapter(ctx context.Context) (*adapter.Adapter, error) {
	if c.config == "" {
		return nil, fmt.Errorf("%w: --command-adapter-config is required", errUsage)
	}
	if err := checkDuration("--read-timeout", c.timeout); err != nil {
		return nil, err
	}
	cfg, err := adapter.LoadConfigContext(ctx, c.config)
	if errors.Is(err, adapter.ErrCancelled) {
		return nil, err // stopped, not misused
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	p, err := adapter.ParsePolicy(c.policy)
	if err != nil {
		return nil, fmt.Errorf("%w: --cleanup-policy: %w", errUsage, err)
	}
	a := &adapter.Adapter{Config: cfg, Policy: p, ReadTimeout: c.timeout}
	if c.pdeathsig {
		a.Pdeathsig = syscall.SIGKILL
	}
	if c.guard {
		g, err := startGuard()
		if err != nil {
			return nil, fmt.Errorf("--guard: %w", err)
		}
		a.Env = append(os.Environ(), g.env())
	}
	return a, nil
}

func policyNames() string {
	var names []string
	for _, p := range adapter.Policies() {
		names = append(names, p.String())
	}
	return strings.Join(names, ", ")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("restore "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args and rejects positional leftovers.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func bootstrapDB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bootstrap-db", stderr)
	var c common
	c.register(fs)
	concurrency := fs.Int("concurrent-downloads", runtime.NumCPU(), fmt.Sprintf("number of concurrent downloads (manifests and metadata files), 1..%d", maxConcurrency))
	var lim limits
	lim.register(fs)
	cacheDir := fs.String("metadata-cache-dir", "", "metadata cache `DIR` (default: a temporary directory)")
	targetDB := fs.String("target-db-dir", "",
		"target DB `DIR`: a pebble DB (created if missing) that receives the verified ledger infos, one atomic batch per manifest; "+
			"re-running into it resumes after the manifests it holds (default: verify only, write nothing)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkInt("--concurrent-downloads", int64(*concurrency), 1, maxConcurrency); err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	a, err := c.adapter(ctx)
	if err != nil {
		return err
	}
	a.MaxOutput, a.MaxOutputSetting = lim.listing, "--max-listing-bytes"
	opts := restore.Options{Adapter: a, Concurrency: *concurrency, MetadataCacheDir: *cacheDir, TargetDBDir: *targetDB,
		MaxManifestLen: lim.manifest, MaxMetadataLen: lim.metadata, MaxMetadataDownload: lim.download}
	if *targetDB != "" {
		// One line per manifest on stderr, as the real tool logs each
		// epoch-ending restore: an operator (or a test) sees how far a
		// restore got before it was stopped.
		opts.Progress = func(p restore.Progress) {
			what := "written to"
			if p.Skipped {
				what = "skipped: already in"
			}
			fmt.Fprintf(stderr, "restore: manifest %s: epochs %d..%d %s %s\n", p.Manifest, p.FirstEpoch, p.LastEpoch, what, *targetDB)
		}
	}
	start := time.Now()
	res, err := restore.Run(ctx, opts)
	if errors.Is(err, restore.ErrCacheDir) {
		return fmt.Errorf("%w: --metadata-cache-dir: %w", errUsage, err)
	}
	if err = afterRestore(*targetDB, err); err != nil { // test-only: see seeded.go
		return err
	}
	db := "verify only, no --target-db-dir"
	if *targetDB != "" {
		db = fmt.Sprintf("%d manifests written to %s, %d skipped (already there)", res.Manifests, *targetDB, res.Skipped)
	}
	fmt.Fprintf(stdout, "restored epochs %d..%d: %d manifests, %d chunks, %d ledger infos, %d waypoints verified (last %s); %s; in %s\n",
		res.FirstEpoch, res.LastEpoch, res.Manifests, res.Chunks, res.LedgerInfos, res.Waypoints, res.LastWaypoint,
		db, time.Since(start).Round(time.Millisecond))
	return nil
}

func makeBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("make-backup", stderr)
	var c common
	c.register(fs)
	var spec fixture.Spec
	fs.IntVar(&spec.Manifests, "manifests", 12, "epoch-ending backups (manifests) to write")
	fs.IntVar(&spec.ChunksPerManifest, "chunks", 3, "chunk files per manifest")
	fs.IntVar(&spec.RecordsPerChunk, "records", 8, "ledger infos (epochs) per chunk")
	fs.IntVar(&spec.RecordSize, "record-size", 16<<10, fmt.Sprintf("minimum bytes per record, 1..%d (record.DefaultMaxLen/4: a restore reads it under the record cap)", maxRecordSize))
	// On the write path the policy applies to the upload in flight when the
	// backup fails (its writer dropped before the shutdown).
	fs.Lookup("cleanup-policy").Usage = "what happens to an upload's child (create_for_write) dropped before its shutdown when the backup fails: " +
		policyNames() + " (drop is what the real tool does: a child still reading gets EOF and may store a truncated object)"
	writeTimeout := fs.Duration("write-timeout", 0, "give up on an upload whose command takes no data for this long, or has not exited this long after its data ended (0: wait forever, as shipped)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkSpec(spec); err != nil {
		return err
	}
	if err := checkDuration("--write-timeout", *writeTimeout); err != nil {
		return err
	}
	a, err := c.adapter(ctx)
	if err != nil {
		return err
	}
	a.WriteTimeout = *writeTimeout
	b, err := fixture.Write(ctx, a, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d manifests (%d epochs, %d chunks) and %d metadata files\n",
		len(b.Manifests), b.Epochs(), len(b.Manifests)*spec.ChunksPerManifest, len(b.Metadata))
	return nil
}
