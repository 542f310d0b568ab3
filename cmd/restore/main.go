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
// usage error (bad flag, unreadable or malformed config).
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
	"time"

	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
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
		err = bootstrapDB(ctx, args[1:], stdout, stderr)
	case "make-backup":
		err = makeBackup(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "restore: unknown command %q\n%s", args[0], usage)
		return 2
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
	config  string
	policy  string
	timeout time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "command-adapter-config", "", "CommandAdapter config `FILE` (YAML), as aptos-db-tool takes it (required)")
	fs.StringVar(&c.policy, "cleanup-policy", adapter.Drop.String(),
		"what happens to a child whose reader is dropped before EOF: "+policyNames()+" (drop is what the real tool does)")
	fs.DurationVar(&c.timeout, "read-timeout", 0, "give up on a read that gets no data for this long (0: wait forever, as shipped)")
}

// adapter loads the config and builds the adapter; its errors are usage errors.
func (c *common) adapter() (*adapter.Adapter, error) {
	if c.config == "" {
		return nil, fmt.Errorf("%w: --command-adapter-config is required", errUsage)
	}
	cfg, err := adapter.LoadConfig(c.config)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	p, err := adapter.ParsePolicy(c.policy)
	if err != nil {
		return nil, fmt.Errorf("%w: --cleanup-policy: %w", errUsage, err)
	}
	if c.timeout < 0 {
		return nil, fmt.Errorf("%w: --read-timeout must not be negative", errUsage)
	}
	return &adapter.Adapter{Config: cfg, Policy: p, ReadTimeout: c.timeout}, nil
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
	concurrency := fs.Int("concurrent-downloads", runtime.NumCPU(), "number of concurrent downloads (manifests and metadata files)")
	cacheDir := fs.String("metadata-cache-dir", "", "metadata cache `DIR` (default: a temporary directory)")
	targetDB := fs.String("target-db-dir", "", "target DB `DIR` (accepted; this version verifies but writes no DB)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *concurrency < 1 {
		return fmt.Errorf("%w: --concurrent-downloads must be at least 1, got %d", errUsage, *concurrency)
	}
	a, err := c.adapter()
	if err != nil {
		return err
	}
	if *targetDB != "" {
		fmt.Fprintf(stderr, "restore: note: --target-db-dir %s: this version verifies the backup but writes no DB\n", *targetDB)
	}
	start := time.Now()
	res, err := restore.Run(ctx, restore.Options{Adapter: a, Concurrency: *concurrency, MetadataCacheDir: *cacheDir})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored epochs %d..%d: %d manifests, %d chunks, %d ledger infos, %d waypoints verified (last %s) in %s\n",
		res.FirstEpoch, res.LastEpoch, res.Manifests, res.Chunks, res.LedgerInfos, res.Waypoints, res.LastWaypoint,
		time.Since(start).Round(time.Millisecond))
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
	fs.IntVar(&spec.RecordSize, "record-size", 16<<10, "minimum bytes per record")
	if err := parse(fs, args); err != nil {
		return err
	}
	if spec.Manifests < 1 || spec.ChunksPerManifest < 1 || spec.RecordsPerChunk < 1 || spec.RecordSize < 1 {
		return fmt.Errorf("%w: --manifests, --chunks, --records and --record-size must each be at least 1", errUsage)
	}
	a, err := c.adapter()
	if err != nil {
		return err
	}
	b, err := fixture.Write(ctx, a, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d manifests (%d epochs, %d chunks) and %d metadata files\n",
		len(b.Manifests), b.Epochs(), len(b.Manifests)*spec.ChunksPerManifest, len(b.Metadata))
	return nil
}
