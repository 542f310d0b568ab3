package explore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/db"
)

// Restore is the restore subject: `restore bootstrap-db` (Bin) into a
// fresh target DB, with Config and Policy, against a synthetic backup of
// Manifests manifests, under the plan's faults; when it fails, a resume
// into the same DB without faults. Its properties: under killgroup nothing
// leaks, in the faulty run or the resume (under the leaky policies a leak
// is expected only where the policy leaves a child it dropped early: see
// mayLeak); exit 0 only with a target DB key for key equal to a clean
// restore's, exit 1 with a message that names a file, no other status; the
// run ends within Timeout; after a failure, the resume exits 0 with the
// clean restore's DB.
//
//	s := explore.NewRestore(tools, "bin/restore", "testdata/configs/local.yaml", "killgroup", root)
//	out, err := s.Check(ctx, plan, dir)
type Restore struct {
	Tools       Tools
	Bin         string        // bin/restore
	Config      string        // CommandAdapter config file
	Policy      string        // --cleanup-policy
	Manifests   int           // manifests in the backup (make-backup --manifests)
	Concurrency int           // --concurrent-downloads
	ReadTimeout time.Duration // --read-timeout, so that a stall ends the restore
	Timeout     time.Duration // each run's limit
	fx          *fixtures
}

// NewRestore returns the restore subject with explore's defaults: 6
// manifests, concurrency 4, a 2s read timeout, a 30s run timeout; its
// backups are written under root (one bucket per manifest count).
func NewRestore(t Tools, bin, config, policy, root string) *Restore {
	return &Restore{Tools: t, Bin: bin, Config: config, Policy: policy, Manifests: 6, Concurrency: 4,
		ReadTimeout: 2 * time.Second, Timeout: 30 * time.Second, fx: &fixtures{root: root, m: map[int]*fixture{}}}
}

// fixtures are the backups of a subject and its smaller variants, written
// once each.
type fixtures struct {
	root string
	mu   sync.Mutex
	m    map[int]*fixture
}

// fixture is one backup: its bucket, its handles, the clean restore's DB.
type fixture struct {
	bucket  string
	handles []string
	clean   []db.KV
}

// Name says what the subject is.
func (r *Restore) Name() string {
	return fmt.Sprintf("restore %s policy=%s manifests=%d concurrency=%d read-timeout=%s",
		filepath.Base(r.Config), r.Policy, r.Manifests, r.Concurrency, r.ReadTimeout)
}

// Flags select this subject again.
func (r *Restore) Flags() []string {
	return []string{"--subject", "restore", "--config", relative(r.Config), "--policy", r.Policy,
		"--manifests", strconv.Itoa(r.Manifests), "--concurrency", strconv.Itoa(r.Concurrency),
		"--read-timeout", r.ReadTimeout.String()}
}

// Space is the backup's handles (written on first use).
func (r *Restore) Space() Space {
	fx, err := r.fixture(context.Background())
	if err != nil {
		return Space{}
	}
	return Space{Handles: fx.handles}
}

// Prepare writes the backup and the clean restore's DB, once.
func (r *Restore) Prepare(ctx context.Context) error {
	_, err := r.fixture(ctx)
	return err
}

// Smaller halves the manifests (to 2 at least), then the concurrency.
func (r *Restore) Smaller() []Subject {
	var out []Subject
	if m := r.Manifests / 2; m >= 2 {
		v := *r
		v.Manifests = m
		out = append(out, &v)
	}
	if c := r.Concurrency / 2; c >= 1 {
		v := *r
		v.Concurrency = c
		out = append(out, &v)
	}
	return out
}

// fixture writes (once) the backup of r.Manifests manifests and restores
// it cleanly.
func (r *Restore) fixture(ctx context.Context) (*fixture, error) {
	r.fx.mu.Lock()
	defer r.fx.mu.Unlock()
	if fx, ok := r.fx.m[r.Manifests]; ok {
		return fx, nil
	}
	dir := filepath.Join(r.fx.root, fmt.Sprintf("backup-%s-%d", strings.TrimSuffix(filepath.Base(r.Config), ".yaml"), r.Manifests))
	fx := &fixture{bucket: filepath.Join(dir, "bucket")}
	if err := os.MkdirAll(fx.bucket, 0o755); err != nil {
		return nil, fmt.Errorf("restore subject: %w", err)
	}
	v, err := r.Tools.gate(ctx, gated{args: r.backupArgs(), bucket: fx.bucket, dir: dir, name: "make-backup", timeout: time.Minute})
	if err != nil || v.exit() != 0 {
		return nil, fmt.Errorf("restore subject: make-backup failed (exit %d, %v):\n%s", v.exit(), err, v.output)
	}
	if fx.handles, err = bucketHandles(fx.bucket); err != nil {
		return nil, err
	}
	clean := filepath.Join(dir, "clean-db")
	v, err = r.Tools.gate(ctx, gated{args: r.args(clean, filepath.Join(dir, "clean-cache"), r.Concurrency),
		bucket: fx.bucket, dir: dir, name: "clean", timeout: time.Minute})
	if err != nil || v.exit() != 0 {
		return nil, fmt.Errorf("restore subject: the clean restore failed (exit %d, %v):\n%s", v.exit(), err, v.output)
	}
	if fx.clean, err = db.Dump(clean); err != nil {
		return nil, fmt.Errorf("restore subject: clean DB: %w", err)
	}
	r.fx.m[r.Manifests] = fx
	return fx, nil
}

// args is the bootstrap-db command line into target.
func (r *Restore) args(target, cache string, concurrency int) []string {
	return []string{r.Bin, "bootstrap-db", "--command-adapter-config", r.Config, "--cleanup-policy", r.Policy,
		"--concurrent-downloads", strconv.Itoa(concurrency), "--read-timeout", r.ReadTimeout.String(),
		"--metadata-cache-dir", cache, "--target-db-dir", target}
}

// Check runs the restore under p in dir, then (after a failure) the resume.
func (r *Restore) Check(ctx context.Context, p *faults.Plan, dir string) (Outcome, error) {
	fx, err := r.fixture(ctx)
	if err != nil {
		return Outcome{}, err
	}
	target, cache := filepath.Join(dir, "db"), filepath.Join(dir, "cache")
	v, err := r.Tools.gate(ctx, gated{args: r.args(target, cache, r.Concurrency), bucket: fx.bucket,
		faults: p.String(), dir: dir, name: "run", timeout: r.Timeout})
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Exit: v.exit(), Evidence: dir, Faulted: faulted(v.journal)}
	r.judgeLeak(&out, v, "")
	r.judgeExit(&out, v, fx, target)
	if out.Exit != 0 && !v.Status.TimedOut {
		rv, err := r.Tools.gate(ctx, gated{args: r.args(target, cache, r.Concurrency), bucket: fx.bucket,
			dir: dir, name: "resume", timeout: r.Timeout})
		if err != nil {
			return out, err
		}
		r.judgeResume(&out, rv, fx, target)
	}
	return out, nil
}

// judgeLeak applies the leak property to one gated run (what is "" for the
// faulty run, "resume" for the resume).
func (r *Restore) judgeLeak(out *Outcome, v verdict, what string) {
	if v.Status.TimedOut {
		out.breaks(PropTimeout, "%s did not end within %s", orRun(what), r.Timeout)
		return
	}
	if v.Pass {
		return
	}
	why := strings.Join(v.Failures, "; ")
	switch {
	case r.Policy == adapter.KillGroup.String() && what == "":
		out.breaks(PropLeak, "killgroup must leave nothing: %s", why)
	case r.Policy == adapter.KillGroup.String():
		out.breaks(PropResumeLeak, "the resume under killgroup: %s", why)
	case !r.mayLeak(v.exit()):
		out.breaks(PropUnexpected, "%s under %s leaked where it cannot (exit %d): %s", orRun(what), r.Policy, v.exit(), why)
	}
}

func orRun(what string) string {
	if what == "" {
		return "the run"
	}
	return "the " + what
}

// mayLeak says whether the policy can leak in a run that exited with
// status exit: drop and abandon leave a child they dropped before EOF,
// which happens only when the restore fails; kill leaves a pipeline's
// other processes, so only with a config whose open_for_read is a
// pipeline, and only when the restore fails; killgroup never leaks.
func (r *Restore) mayLeak(exit int) bool {
	switch r.Policy {
	case adapter.Drop.String(), adapter.Abandon.String():
		return exit != 0
	case adapter.Kill.String():
		return exit != 0 && r.pipeline()
	}
	return false
}

// pipeline reports whether the config's open_for_read is a shell pipeline.
func (r *Restore) pipeline() bool {
	cfg, err := adapter.LoadConfig(r.Config)
	return err == nil && strings.Contains(cfg.Commands.OpenForRead, "|")
}

// judgeExit applies the honest-outcome property to the faulty run.
func (r *Restore) judgeExit(out *Outcome, v verdict, fx *fixture, target string) {
	switch {
	case v.Status.TimedOut:
	case out.Exit == 0:
		if diff := dbDiff(fx.clean, target); len(diff) > 0 {
			out.breaks(PropDishonest, "exit 0 but the target DB is not the clean restore's: %s", first(diff))
		}
	case out.Exit == 1:
		if !namesFile(v.output, fx.handles) {
			out.breaks(PropUnnamed, "exit 1 and no file named in: %s", lastLine(v.output))
		}
	default:
		out.breaks(PropUnexpectedEnd, "exit %d %s: %s", out.Exit, v.Status.Signal, lastLine(v.output))
	}
}

// judgeResume applies the resume property.
func (r *Restore) judgeResume(out *Outcome, v verdict, fx *fixture, target string) {
	r.judgeLeak(out, v, "resume")
	switch {
	case v.Status.TimedOut:
	case v.exit() != 0:
		out.breaks(PropResumeFailed, "the resume without faults exited %d: %s", v.exit(), lastLine(v.output))
	default:
		if diff := dbDiff(fx.clean, target); len(diff) > 0 {
			out.breaks(PropResumeWrong, "the resume exited 0 but the DB is not the clean restore's: %s", first(diff))
		}
	}
}

// dbDiff compares the DB in dir with want, key for key.
func dbDiff(want []db.KV, dir string) []string {
	got, err := db.Dump(dir)
	if err != nil {
		return []string{fmt.Sprintf("cannot read the target DB: %v", err)}
	}
	return db.Diff(want, got)
}

func first(diff []string) string {
	if len(diff) == 1 {
		return diff[0]
	}
	return fmt.Sprintf("%s (and %d more differences)", diff[0], len(diff)-1)
}

// namesFile reports whether text names a file: one of handles (by its
// last two path elements), a handle or file name the adapter quotes
// (FILE_HANDLE="…", FILE_NAME="…"), or the metadata listing.
func namesFile(text string, handles []string) bool {
	for _, s := range []string{adapter.OpListMetadataFiles, adapter.ParamFileHandle + `="`, adapter.ParamFileName + `="`} {
		if strings.Contains(text, s) {
			return true
		}
	}
	for _, h := range handles {
		if strings.Contains(text, strings.TrimPrefix(handleGlob(h), "*")) {
			return true
		}
	}
	return false
}

// lastLine is the last non-empty line of text.
func lastLine(text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	return lines[len(lines)-1]
}

// bucketHandles lists the objects under bucket, relative to it, sorted.
func bucketHandles(bucket string) ([]string, error) {
	var hs []string
	err := filepath.WalkDir(bucket, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(bucket, p)
		hs = append(hs, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list the bucket %s: %w", bucket, err)
	}
	return SortedHandles(hs), nil
}

// relative is p relative to the working folder when it lies below it.
func relative(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}
