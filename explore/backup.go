package explore

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/restore/adapter"
)

// Backup is the backup subject: `restore make-backup` (the write path) into
// a fresh bucket under the plan's faults, with the Restore subject's
// config, policy and backup shape. Its properties: under killgroup nothing
// leaks (the leaky policies as for Restore); the run ends within Timeout;
// exit 1 names a file, no other status but 0; and exit 0 only if what the
// bucket holds is complete and verifies: a restore from it without faults
// exits 0 with the DB of a clean backup's restore, key for key.
//
//	s := explore.NewBackup(explore.NewRestore(tools, "bin/restore", cfg, "killgroup", root))
type Backup struct{ *Restore }

// NewBackup returns the backup subject of r's config, policy and shape.
func NewBackup(r *Restore) *Backup { return &Backup{r} }

// Name says what the subject is.
func (b *Backup) Name() string { return "backup: " + b.Restore.Name() }

// Flags select this subject again.
func (b *Backup) Flags() []string {
	f := b.Restore.Flags()
	f[1] = "backup"
	return f
}

// Space is a clean backup's handles: a faulty one writes the same names.
func (b *Backup) Space() Space {
	sp := b.Restore.Space()
	sp.Writes = true
	return sp
}

// Smaller halves the manifests, then the concurrency.
func (b *Backup) Smaller() []Subject {
	var out []Subject
	for _, s := range b.Restore.Smaller() {
		out = append(out, &Backup{s.(*Restore)})
	}
	return out
}

// Check writes the backup under p into dir/bucket, then restores it.
func (b *Backup) Check(ctx context.Context, p *faults.Plan, dir string) (Outcome, error) {
	fx, err := b.fixture(ctx)
	if err != nil {
		return Outcome{}, err
	}
	bucket := filepath.Join(dir, "bucket")
	if err := os.MkdirAll(bucket, 0o755); err != nil {
		return Outcome{}, err
	}
	args := append(b.backupArgs(), "--write-timeout", b.ReadTimeout.String())
	v, err := b.Tools.gate(ctx, gated{args: args, bucket: bucket, faults: p.String(), dir: dir, name: "backup", timeout: b.Timeout})
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Exit: v.exit(), Evidence: dir, Faulted: faulted(v.journal)}
	b.judgeLeak(&out, v, "")
	switch {
	case v.Status.TimedOut:
	case out.Exit == 1:
		if !namesFile(v.output, fx.handles) && !strings.Contains(v.output, adapter.ParamBackupName+`="`) {
			out.breaks(PropUnnamed, "exit 1 and no file named in: %s", lastLine(v.output))
		}
	case out.Exit != 0:
		out.breaks(PropUnexpectedEnd, "exit %d %s: %s", out.Exit, v.Status.Signal, lastLine(v.output))
	default:
		target := filepath.Join(dir, "db")
		rv, err := b.Tools.gate(ctx, gated{args: b.args(target, filepath.Join(dir, "cache"), b.Concurrency),
			bucket: bucket, dir: dir, name: "restore", timeout: b.Timeout})
		if err != nil {
			return out, err
		}
		if rv.exit() != 0 {
			out.breaks(PropBackupBroken, "make-backup exited 0 but its bucket does not restore (exit %d): %s", rv.exit(), lastLine(rv.output))
		} else if diff := dbDiff(fx.clean, target); len(diff) > 0 {
			out.breaks(PropBackupBroken, "make-backup exited 0 but its bucket restores to another DB: %s", first(diff))
		}
	}
	return out, nil
}

// backupArgs is the make-backup command line of r's shape.
func (r *Restore) backupArgs() []string {
	return []string{r.Bin, "make-backup", "--command-adapter-config", r.Config, "--cleanup-policy", r.Policy,
		"--manifests", strconv.Itoa(r.Manifests), "--chunks", "2", "--records", "4", "--record-size", "1024"}
}
