package restore_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/db"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/manifest"
)

// hookedConfig is folderConfig with test hooks, each off unless its
// variable is set in the adapter's environment. Everything is still real
// bash, cat and gzip.
//
//   - TRACE=file: open_for_read appends its FILE_HANDLE to file.
//   - FAIL="h1 h2": open_for_read of a listed handle writes the file's
//     first 20 decoded bytes, then exits 7 (a download that breaks off).
//   - GATE=dir: open_for_read of a metadata file marks itself in flight in
//     dir/in, appends the number in flight to dir/counts, and waits for
//     dir/open to exist before serving.
//   - EXTRA_META="h1 h2": list_metadata_files lists these handles too.
const hookedConfig = `env_vars:
  - key: FOLDER
    value: %q
commands:
  create_backup: 'cd "$FOLDER" && mkdir "$BACKUP_NAME" && echo "$BACKUP_NAME"'
  create_for_write: 'cd "$FOLDER/$BACKUP_HANDLE" && test ! -f "$FILE_NAME" && echo "$BACKUP_HANDLE/$FILE_NAME" && exec >&- && gzip -c > "$FILE_NAME"'
  open_for_read: |
    if [ -n "${TRACE:-}" ]; then echo "$FILE_HANDLE" >> "$TRACE"; fi
    case " ${FAIL:-} " in *" $FILE_HANDLE "*) { cat "$FOLDER/$FILE_HANDLE" | gzip -cd | head -c 20; } || true; exit 7;; esac
    case "$FILE_HANDLE" in metadata/*)
      if [ -n "${GATE:-}" ]; then
        mkdir -p "$GATE/in"; touch "$GATE/in/$$"; ls "$GATE/in" | wc -l >> "$GATE/counts"
        until [ -e "$GATE/open" ]; do sleep 0.01; done
        rm "$GATE/in/$$"
      fi;;
    esac
    cat "$FOLDER/$FILE_HANDLE" | gzip -cd
  save_metadata_line: 'cd "$FOLDER" && mkdir -p metadata && echo "metadata/$FILE_NAME" && exec >&- && gzip -c > "metadata/$FILE_NAME"'
  list_metadata_files: |
    cd "$FOLDER"
    (test -d metadata && cd metadata && ls -1 || exec) | while read f; do echo "metadata/$f"; done
    for h in ${EXTRA_META:-}; do echo "$h"; done
`

// store is a folder bucket holding a backup, with the hooked config.
type store struct {
	folder string
	cfg    *adapter.Config
	b      *fixture.Backup
}

func newHookedStore(t *testing.T, spec fixture.Spec) *store {
	t.Helper()
	folder, cfg, b := writeStore(t, hookedConfig, spec)
	return &store{folder: folder, cfg: cfg, b: b}
}

// adapter is a KillGroup adapter whose children see env on top of ours.
func (s *store) adapter(t *testing.T, env ...string) *adapter.Adapter {
	return &adapter.Adapter{Config: s.cfg, Policy: adapter.KillGroup, Stderr: devNull(t), Env: append(os.Environ(), env...)}
}

// traced returns a TRACE setting and a function reading the handles read
// so far.
func traced(t *testing.T) (string, func() []string) {
	path := filepath.Join(t.TempDir(), "trace")
	return "TRACE=" + path, func() []string {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(data))
	}
}

// dump reads a DB for comparison.
func dump(t *testing.T, dir string) []db.KV {
	t.Helper()
	kvs, err := db.Dump(dir)
	if err != nil {
		t.Fatal(err)
	}
	return kvs
}

// sameDB fails the test unless the DBs in dirs want and got are equal key
// for key.
func sameDB(t *testing.T, want, got string) {
	t.Helper()
	if diff := db.Diff(dump(t, want), dump(t, got)); diff != nil {
		if len(diff) > 10 {
			diff = append(diff[:10], fmt.Sprintf("… %d more", len(diff)-10))
		}
		t.Errorf("the resumed DB differs from a clean restore's:\n%s", strings.Join(diff, "\n"))
	}
}

// cleanDB restores s into a fresh DB and returns its dir.
func cleanDB(t *testing.T, s *store) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clean-db")
	if _, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, TargetDBDir: dir}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// manifestsIn lists the DB's completion markers as "first..last" ranges,
// after checking the layout's invariants.
func manifestsIn(t *testing.T, dir string) []string {
	t.Helper()
	d, err := db.Open(dir, db.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	ms, err := d.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d..%d", m.FirstEpoch, m.LastEpoch))
	}
	return out
}

var resumeSpec = fixture.Spec{Manifests: 6, ChunksPerManifest: 2, RecordsPerChunk: 2, RecordSize: 512}

// TestResumeAfterFailure: a restore that fails in manifest 3 leaves
// manifests 0..2 in the DB, whatever the failure; the re-run skips them
// without reading them, reads manifests 3..5 once each, and ends with the
// DB a clean restore makes.
func TestResumeAfterFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(s *store) (env []string, undo func())
		want   string
	}{
		{
			name: "download exits 7",
			damage: func(s *store) ([]string, func()) {
				return []string{"FAIL=" + s.b.Manifests[3].Chunks[1]}, func() {}
			},
			want: "exited with status 7",
		},
		{
			name: "garbage record",
			damage: func(s *store) ([]string, func()) {
				h := s.b.Manifests[3].Chunks[0]
				orig, err := os.ReadFile(filepath.Join(s.folder, h))
				if err != nil {
					t.Fatal(err)
				}
				rewriteChunk(t, s.folder, h, func(recs [][]byte) [][]byte {
					recs[1] = bytes.Repeat([]byte{0xff}, len(recs[1]))
					return recs
				})
				return nil, func() {
					if err := os.WriteFile(filepath.Join(s.folder, h), orig, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: "record 2: ",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newHookedStore(t, resumeSpec)
			clean := cleanDB(t, s)
			target := filepath.Join(t.TempDir(), "db")
			cache := filepath.Join(t.TempDir(), "cache")

			env, undo := tc.damage(s)
			_, err := restore.Run(context.Background(), restore.Options{
				Adapter: s.adapter(t, env...), Concurrency: 3, TargetDBDir: target, MetadataCacheDir: cache,
			})
			if err == nil || !strings.Contains(err.Error(), "manifest "+s.b.Manifests[3].Handle) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want manifest 3's error containing %q", err, tc.want)
			}
			if got, want := manifestsIn(t, target), []string{"0..3", "4..7", "8..11"}; !slices.Equal(got, want) {
				t.Fatalf("the failed restore left manifests %q, want %q", got, want)
			}

			undo()
			trace, read := traced(t)
			var progress []restore.Progress
			res, err := restore.Run(context.Background(), restore.Options{
				Adapter: s.adapter(t, trace), Concurrency: 3, TargetDBDir: target, MetadataCacheDir: cache,
				Progress: func(p restore.Progress) { progress = append(progress, p) },
			})
			if err != nil {
				t.Fatal(err)
			}
			want := restore.Result{
				Manifests: 3, Chunks: 6, LedgerInfos: 12, Waypoints: 12, FirstEpoch: 0, LastEpoch: 23,
				LastWaypoint: res.LastWaypoint, Skipped: 3, SkippedLedgerInfos: 12,
			}
			if *res != want {
				t.Errorf("got %+v\nwant %+v", *res, want)
			}
			var wantRead []string
			for _, m := range s.b.Manifests[3:] {
				wantRead = append(wantRead, m.Handle)
				wantRead = append(wantRead, m.Chunks...)
			}
			got := read()
			slices.Sort(got)
			slices.Sort(wantRead)
			if !slices.Equal(got, wantRead) {
				t.Errorf("the resumed run read\n%q\nwant (manifests 3..5 only, each file once, metadata cached)\n%q", got, wantRead)
			}
			var wantProgress []restore.Progress
			for i, m := range s.b.Manifests {
				wantProgress = append(wantProgress, restore.Progress{
					Manifest: m.Handle, FirstEpoch: m.FirstEpoch, LastEpoch: m.LastEpoch, Skipped: i < 3, Written: i >= 3,
				})
			}
			if !slices.Equal(progress, wantProgress) {
				t.Errorf("progress:\n got %+v\nwant %+v", progress, wantProgress)
			}
			sameDB(t, clean, target)
		})
	}
}

// TestResumeOfACompleteDB: a re-run over a complete DB reads no manifest,
// changes nothing and reports every manifest skipped, with the last
// waypoint read from the DB.
func TestResumeOfACompleteDB(t *testing.T) {
	s := newHookedStore(t, resumeSpec)
	target := filepath.Join(t.TempDir(), "db")
	first, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, TargetDBDir: target})
	if err != nil {
		t.Fatal(err)
	}
	before := dump(t, target)
	trace, read := traced(t)
	res, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t, trace), Concurrency: 3, TargetDBDir: target})
	if err != nil {
		t.Fatal(err)
	}
	want := restore.Result{FirstEpoch: 0, LastEpoch: 23, LastWaypoint: first.LastWaypoint, Skipped: 6, SkippedLedgerInfos: 24}
	if *res != want {
		t.Errorf("got %+v\nwant %+v", *res, want)
	}
	for _, h := range read() {
		if !strings.HasPrefix(h, "metadata/") {
			t.Errorf("the re-run read %s: only metadata may be read", h)
		}
	}
	if diff := db.Diff(before, dump(t, target)); diff != nil {
		t.Errorf("the re-run changed the DB:\n%s", strings.Join(diff, "\n"))
	}
}

// TestResumeRefusesAnotherBackup: a DB restored from one backup is not
// continued with another whose manifests differ.
func TestResumeRefusesAnotherBackup(t *testing.T) {
	a := newHookedStore(t, resumeSpec)
	b := newHookedStore(t, fixture.Spec{Manifests: 3, ChunksPerManifest: 4, RecordsPerChunk: 2, RecordSize: 512})
	target := cleanDB(t, a)
	before := dump(t, target)
	_, err := restore.Run(context.Background(), restore.Options{Adapter: b.adapter(t), Concurrency: 3, TargetDBDir: target})
	if !errors.Is(err, restore.ErrTargetMismatch) || !strings.Contains(err.Error(), target) || !strings.Contains(err.Error(), "manifest/0 holds manifest") {
		t.Fatalf("got %v, want ErrTargetMismatch naming the DB and manifest/0", err)
	}
	if diff := db.Diff(before, dump(t, target)); diff != nil {
		t.Errorf("a refused restore changed the DB:\n%s", strings.Join(diff, "\n"))
	}
}

// TestResumeChecksTheDBsLastLedgerInfo: the resumed run re-reads the DB's
// last ledger info and refuses to continue a DB whose tail is damaged.
func TestResumeChecksTheDBsLastLedgerInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(p *pebble.DB) error
		want string
	}{
		{"record changed", func(p *pebble.DB) error {
			rec, closer, err := p.Get(db.LedgerInfoKey(11))
			if err != nil {
				return err
			}
			rec = append([]byte(nil), rec...)
			closer.Close()
			rec[len(rec)-1] ^= 1
			return p.Set(db.LedgerInfoKey(11), rec, pebble.Sync)
		}, "ledger_info/11: waypoint 11999:"},
		{"record not a ledger info", func(p *pebble.DB) error {
			return p.Set(db.LedgerInfoKey(11), []byte{0xff}, pebble.Sync)
		}, "ledger_info/11: decode ledger info"},
		{"record gone", func(p *pebble.DB) error {
			return p.Delete(db.LedgerInfoKey(11), pebble.Sync)
		}, "ledger_info/11: not found"},
		{"latest not the last marker", func(p *pebble.DB) error {
			return p.Delete(db.ManifestKey(8), pebble.Sync)
		}, "latest (epoch 11, manifest epoch_ending_8-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newHookedStore(t, resumeSpec)
			target := filepath.Join(t.TempDir(), "db")
			_, err := restore.Run(context.Background(), restore.Options{
				Adapter: s.adapter(t, "FAIL="+s.b.Manifests[3].Chunks[0]), Concurrency: 3, TargetDBDir: target,
			})
			if err == nil {
				t.Fatal("the damaged restore succeeded")
			}
			p, err := pebble.Open(target, &pebble.Options{Logger: quiet{}})
			if err != nil {
				t.Fatal(err)
			}
			err = tc.edit(p)
			if cerr := p.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			trace, read := traced(t)
			_, err = restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t, trace), Concurrency: 3, TargetDBDir: target})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), target) {
				t.Fatalf("got %v, want an error naming the DB and containing %q", err, tc.want)
			}
			for _, h := range read() {
				if !strings.HasPrefix(h, "metadata/") {
					t.Errorf("read %s before refusing the DB", h)
				}
			}
		})
	}
}

type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// TestTargetDBClosedOnEveryPath: success, a failed manifest, a failed
// metadata download, a cancel and a DB that cannot be opened all leave no
// fd and no process behind, and the DB opens again at once.
func TestTargetDBClosedOnEveryPath(t *testing.T) {
	s := newHookedStore(t, resumeSpec)
	var stalled []string
	for _, m := range s.b.Manifests {
		stalled = append(stalled, m.Chunks[0])
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		env    []string
		target string
		cancel bool // cancel once the stalled readers are in flight
		want   string
	}{
		{name: "success"},
		{name: "manifest fails", env: []string{"FAIL=" + s.b.Manifests[2].Chunks[1]}, want: "exited with status 7"},
		{name: "metadata download fails", env: []string{"FAIL=" + s.b.Metadata[4]}, want: "download " + strconv.Quote(s.b.Metadata[4])},
		{name: "cancelled", cancel: true, want: "context canceled"},
		{name: "DB dir under a file", target: filepath.Join(file, "db"), want: "open target DB " + filepath.Join(file, "db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target
			if target == "" {
				target = filepath.Join(t.TempDir(), "db")
			}
			run := harness.NewMarker("target-" + strings.ReplaceAll(tc.name, " ", "-"))
			a := s.adapter(t, append(tc.env, run.Env())...)
			if tc.cancel {
				a.Config = stallingConfig(t, s, stalled)
			}
			var spawned sync.Map
			a.OnSpawn = func(sp adapter.Spawn) { spawned.Store(sp.Pid, true) }
			before, err := harness.Take(harness.WithMarker(run.ID))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := harness.Sweep(ctx, run, before); err != nil {
					t.Error(err)
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			watched := make(chan error, 1)
			if tc.cancel {
				go func() {
					watched <- waitForSleepers(ctx, run, 3)
					cancel()
				}()
			} else {
				watched <- nil
			}
			_, err = restore.Run(ctx, restore.Options{Adapter: a, Concurrency: 3, TargetDBDir: target})
			cancel()
			if werr := <-watched; werr != nil {
				t.Fatal(werr)
			}
			now, terr := harness.Take(harness.WithMarker(run.ID))
			if terr != nil {
				t.Fatal(terr)
			}
			if l := harness.Diff(before, now); !l.Empty() {
				t.Errorf("the restore left something behind when it returned:\n%s", l)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.target != "" {
				n := 0
				spawned.Range(func(any, any) bool { n++; return true })
				if n != 0 {
					t.Errorf("%d commands ran before the DB failed to open", n)
				}
				return
			}
			d, err := db.Open(target)
			if err != nil {
				t.Fatalf("the DB does not open after the restore: %v", err)
			}
			if err := d.Check(); err != nil {
				t.Error(err)
			}
			if err := d.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// stallingConfig is s's config with every listed handle stalling.
func stallingConfig(t *testing.T, s *store, stalled []string) *adapter.Config {
	cfg := *s.cfg
	cfg.Commands.OpenForRead = fmt.Sprintf(`case " %s " in *" $FILE_HANDLE "*) sleep 300;; esac; `, strings.Join(stalled, " ")) + cfg.Commands.OpenForRead
	return &cfg
}

// waitForSleepers polls until n `sleep` processes of run are in flight,
// or ctx ends (then it returns nil: the restore returned first).
func waitForSleepers(ctx context.Context, run harness.Marker, n int) error {
	var err error
	seen := poll.Until(ctx, 30*time.Second, func() bool {
		var now harness.Snapshot
		if now, err = harness.Take(harness.WithMarker(run.ID)); err != nil {
			return true
		}
		sleeping := 0
		for _, p := range now.Descendants {
			if p.Name == "sleep" {
				sleeping++
			}
		}
		return sleeping >= n
	})
	switch {
	case err != nil:
		return err
	case !seen && ctx.Err() == nil:
		return fmt.Errorf("never saw %d stalled readers in flight", n)
	}
	return nil
}

// TestRunChecksTheNextBlockEpoch: a manifest must start at the epoch the
// previous manifest's last ledger info hands over to (the real tool's
// "Previous epoch ending LedgerInfo is not the one expected"). Here
// manifest 1's last ledger info ends no epoch (no next epoch state), yet its
// waypoint is consistent: only that check catches it, when manifest 2 comes.
func TestRunChecksTheNextBlockEpoch(t *testing.T) {
	s := newHookedStore(t, resumeSpec)
	m1 := s.b.Manifests[1]
	var wp ledger.Waypoint
	rewriteChunk(t, s.folder, m1.Chunks[1], func(recs [][]byte) [][]byte {
		li, err := ledger.Decode(recs[1])
		if err != nil {
			t.Fatal(err)
		}
		li.Info.NextEpochState = nil
		recs[1] = li.Encode()
		wp = ledger.WaypointOf(li.Info.Version, recs[1])
		return recs
	})
	path := filepath.Join(s.folder, m1.Handle)
	m, err := manifest.ParseEpochEnding(gunzipFile(t, path), m1.Handle)
	if err != nil {
		t.Fatal(err)
	}
	m.Waypoints[len(m.Waypoints)-1] = wp.String()
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	target := filepath.Join(t.TempDir(), "db")
	_, err = restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, TargetDBDir: target})
	want := fmt.Sprintf("manifest %s: previous epoch-ending ledger info is not the one expected: my first epoch 8, next block epoch of manifest %s's last ledger info (epoch 7) 7",
		s.b.Manifests[2].Handle, m1.Handle)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %q", err, want)
	}
	if got, want := manifestsIn(t, target), []string{"0..3", "4..7"}; !slices.Equal(got, want) {
		t.Errorf("the DB holds manifests %q, want %q", got, want)
	}
}
