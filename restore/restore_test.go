package restore_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/record"
)

func TestMain(m *testing.M) { os.Exit(harness.RunReaped(m.Run)) }

// folderConfig is local_folder.sample.yaml as it should have been: env_vars
// as a list, and save_metadata_line printing its handle. open_for_read adds
// a hook: a handle listed in $STALL hangs (a stalled download) before
// serving. Everything is real: bash, cat, gzip.
const folderConfig = `env_vars:
  - key: FOLDER
    value: %q
commands:
  create_backup: 'cd "$FOLDER" && mkdir "$BACKUP_NAME" && echo "$BACKUP_NAME"'
  create_for_write: 'cd "$FOLDER/$BACKUP_HANDLE" && test ! -f "$FILE_NAME" && echo "$BACKUP_HANDLE/$FILE_NAME" && exec >&- && gzip -c > "$FILE_NAME"'
  open_for_read: 'case " ${STALL:-} " in *" $FILE_HANDLE "*) sleep 300;; esac; cat "$FOLDER/$FILE_HANDLE" | gzip -cd'
  save_metadata_line: 'cd "$FOLDER" && mkdir -p metadata && echo "metadata/$FILE_NAME" && exec >&- && gzip -c > "metadata/$FILE_NAME"'
  list_metadata_files: 'cd "$FOLDER" && (test -d metadata && cd metadata && ls -1 || exec) | while read f; do echo "metadata/$f"; done'
`

var smallSpec = fixture.Spec{Manifests: 5, ChunksPerManifest: 2, RecordsPerChunk: 3, RecordSize: 1 << 10}

// newStore writes folderConfig over a fresh folder and a backup into it.
func newStore(t *testing.T, spec fixture.Spec) (string, *adapter.Config, *fixture.Backup) {
	t.Helper()
	return writeStore(t, folderConfig, spec)
}

// writeStore writes the config template tmpl (its %q is the folder) over a
// fresh folder, and a backup into it through that config.
func writeStore(t *testing.T, tmpl string, spec fixture.Spec) (string, *adapter.Config, *fixture.Backup) {
	t.Helper()
	dir := t.TempDir()
	folder := filepath.Join(dir, "bucket")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, tmpl, folder), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := adapter.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fixture.Write(context.Background(), &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}, spec)
	if err != nil {
		t.Fatal(err)
	}
	return folder, cfg, b
}

func TestRunVerifiesEveryWaypoint(t *testing.T) {
	_, cfg, b := newStore(t, smallSpec)
	cache := filepath.Join(t.TempDir(), "cache")
	for _, policy := range adapter.Policies() {
		t.Run(policy.String(), func(t *testing.T) {
			res, err := restore.Run(context.Background(), restore.Options{
				Adapter: &adapter.Adapter{Config: cfg, Policy: policy}, Concurrency: 2, MetadataCacheDir: cache,
			})
			if err != nil {
				t.Fatal(err)
			}
			want := restore.Result{
				Manifests: 5, Chunks: 10, LedgerInfos: 30, Waypoints: 30,
				FirstEpoch: 0, LastEpoch: 29, LastWaypoint: res.LastWaypoint,
			}
			if *res != want {
				t.Errorf("got %+v, want %+v", *res, want)
			}
			if got := res.LastWaypoint.String(); !strings.HasPrefix(got, "29999:") {
				t.Errorf("last waypoint %s, want epoch 29's version 29999", got)
			}
		})
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(b.Metadata)+1 {
		t.Errorf("cache holds %d files, want the %d metadata files and its marker", len(entries), len(b.Metadata))
	}
}

// TestRunRemovesStaleCacheFiles: a file the cache recorded and the
// listing no longer names is removed; so is nothing else.
func TestRunRemovesStaleCacheFiles(t *testing.T) {
	_, cfg, _ := newStore(t, smallSpec)
	cache := filepath.Join(t.TempDir(), "cache")
	opts := restore.Options{Adapter: &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}, Concurrency: 3, MetadataCacheDir: cache}
	if _, err := restore.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(cache, restore.CacheMarker)
	data, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(cache, "epoch_ending_900-999.meta")
	if err := os.WriteFile(marker, append(data, "epoch_ending_900-999.meta\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("garbage that must never be parsed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := restore.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale cache file: got %v, want it removed", err)
	}
	if after, err := os.ReadFile(marker); err != nil || string(after) != string(data) {
		t.Errorf("marker after the prune: %q, %v; want %q", after, err, data)
	}
}

// rewriteChunk replaces a stored chunk's records with edit's result.
func rewriteChunk(t *testing.T, folder, handle string, edit func([][]byte) [][]byte) {
	t.Helper()
	path := filepath.Join(folder, handle)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rr := record.NewReader(zr, 0)
	var recs [][]byte
	for {
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	for _, rec := range edit(recs) {
		if _, err := zw.Write(record.Append(nil, rec)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunErrorsNameManifestAndFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(folder string, b *fixture.Backup) string // damages the store; returns the chunk handle
		want string
	}{
		{
			name: "garbage record",
			edit: func(folder string, b *fixture.Backup) string {
				h := b.Manifests[2].Chunks[1]
				rewriteChunk(t, folder, h, func(recs [][]byte) [][]byte {
					recs[1] = bytes.Repeat([]byte{0xff}, len(recs[1]))
					return recs
				})
				return h
			},
			want: "record 2: ",
		},
		{
			name: "record swapped",
			edit: func(folder string, b *fixture.Backup) string {
				h := b.Manifests[2].Chunks[0]
				rewriteChunk(t, folder, h, func(recs [][]byte) [][]byte {
					recs[0], recs[1] = recs[1], recs[0]
					return recs
				})
				return h
			},
			want: "record 1: ledger info epoch not expected: expected 12, actual 13",
		},
		{
			name: "record missing",
			edit: func(folder string, b *fixture.Backup) string {
				h := b.Manifests[2].Chunks[1]
				rewriteChunk(t, folder, h, func(recs [][]byte) [][]byte { return recs[:2] })
				return h
			},
			want: "number of items in chunk doesn't match that in manifest: first_epoch 15, last_epoch 17, items in chunk 2",
		},
		{
			name: "chunk file gone",
			edit: func(folder string, b *fixture.Backup) string {
				h := b.Manifests[2].Chunks[0]
				if err := os.Remove(filepath.Join(folder, h)); err != nil {
					t.Fatal(err)
				}
				return h
			},
			want: "open_for_read FILE_HANDLE=",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			folder, cfg, b := newStore(t, smallSpec)
			chunk := tc.edit(folder, b)
			_, err := restore.Run(context.Background(), restore.Options{
				Adapter: &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup, Stderr: devNull(t)}, Concurrency: 2,
			})
			if err == nil {
				t.Fatal("restore succeeded on a damaged backup")
			}
			for _, want := range []string{"manifest " + b.Manifests[2].Handle, "chunk " + chunk, tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\nlacks %q", err, want)
				}
			}
		})
	}
}

func TestRunRejectsWaypointMismatch(t *testing.T) {
	folder, cfg, b := newStore(t, smallSpec)
	// A record from another backup of the same epoch: it decodes, its
	// epoch is right, but its bytes (and so its waypoint) differ.
	rewriteChunk(t, folder, b.Manifests[1].Chunks[0], func(recs [][]byte) [][]byte {
		recs[0] = append([]byte(nil), recs[0]...)
		recs[0][len(recs[0])-1] ^= 0x01 // the last signature byte
		return recs
	})
	_, err := restore.Run(context.Background(), restore.Options{
		Adapter: &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}, Concurrency: 2,
	})
	if err == nil || !strings.Contains(err.Error(), "record 1: waypoints don't match. In manifest: 6999:") {
		t.Fatalf("got %v, want a waypoint mismatch on record 1 (epoch 6)", err)
	}
}

func TestRunRejectsBadMetadata(t *testing.T) {
	folder, cfg, _ := newStore(t, smallSpec)
	bad := filepath.Join(folder, "metadata", "zz_garbage.meta")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("{\"Identity\":{\"id\":\"x\"}}\nthis is not json\n"))
	zw.Close()
	if err := os.WriteFile(bad, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := restore.Run(context.Background(), restore.Options{Adapter: &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}})
	if err == nil || !strings.Contains(err.Error(), "metadata/zz_garbage.meta") || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("got %v, want an error naming metadata/zz_garbage.meta line 2", err)
	}
}

func TestRunWithoutBackups(t *testing.T) {
	folder := t.TempDir()
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, fmt.Appendf(nil, folderConfig, folder), 0o644)
	cfg, err := adapter.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}
	_, err = restore.Run(context.Background(), restore.Options{Adapter: a})
	if !errors.Is(err, restore.ErrEmptyListing) || errors.Is(err, restore.ErrNoBackups) ||
		err.Error() != "restore: metadata sync: list_metadata_files listed no metadata file" {
		t.Fatalf("empty listing: got %v, want ErrEmptyListing and its message", err)
	}
	// A listing of metadata without an epoch-ending backup is another case.
	os.MkdirAll(filepath.Join(folder, "metadata"), 0o755)
	writeGzip(t, filepath.Join(folder, "metadata", "state_snapshot_0.meta"), []byte(`{"StateSnapshotBackup":{"epoch":0}}`+"\n"))
	_, err = restore.Run(context.Background(), restore.Options{Adapter: a})
	if !errors.Is(err, restore.ErrNoBackups) {
		t.Fatalf("no epoch-ending line: got %v, want ErrNoBackups", err)
	}
}

// TestAbortDropsInflightReaders: the first error aborts the restore and
// closes every reader in flight. Here every manifest after the first hangs
// forever (no read timeout) and manifest 0 is corrupt: Run must return
// manifest 0's error promptly under every policy that closes readers,
// because closing unblocks the workers; under KillGroup nothing is left.
func TestAbortDropsInflightReaders(t *testing.T) {
	for _, policy := range []adapter.Policy{adapter.Drop, adapter.Kill, adapter.KillGroup} {
		t.Run(policy.String(), func(t *testing.T) {
			folder, cfg, b := newStore(t, smallSpec)
			rewriteChunk(t, folder, b.Manifests[0].Chunks[1], func(recs [][]byte) [][]byte {
				recs[2] = append(recs[2], 0) // a trailing byte: well framed, fails to decode
				return recs
			})
			var stalled []string
			for _, m := range b.Manifests[1:] {
				stalled = append(stalled, m.Chunks[0])
			}
			stderr := devNull(t) // opened before the baseline: it is not the restore's
			run := harness.NewMarker("abort-" + policy.String())
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
			a := &adapter.Adapter{
				Config: cfg, Policy: policy, Stderr: stderr,
				Env: append(os.Environ(), "STALL="+strings.Join(stalled, " "), run.Env()),
			}
			done := make(chan error, 1)
			go func() {
				_, err := restore.Run(context.Background(), restore.Options{Adapter: a, Concurrency: 4})
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("restore did not return after the first error: in-flight readers were not dropped")
			}
			if err == nil || !strings.Contains(err.Error(), "manifest "+b.Manifests[0].Handle) || !strings.Contains(err.Error(), "trailing") {
				t.Fatalf("got %v, want manifest 0's trailing-bytes error", err)
			}
			if policy == adapter.KillGroup {
				now, err := harness.Take(harness.WithMarker(run.ID))
				if err != nil {
					t.Fatal(err)
				}
				if l := harness.Diff(before, now); !l.Empty() {
					t.Errorf("killgroup left something behind:\n%s", l)
				}
			}
		})
	}
}

func devNull(t *testing.T) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestCancelDropsInflightReaders: cancelling the context while every chunk
// read hangs makes Run return the context's error promptly, with every
// reader closed (under KillGroup: nothing left).
func TestCancelDropsInflightReaders(t *testing.T) {
	_, cfg, b := newStore(t, smallSpec)
	var stalled []string
	for _, m := range b.Manifests {
		stalled = append(stalled, m.Chunks[0])
	}
	stderr := devNull(t)
	run := harness.NewMarker("cancel")
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
	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup, Stderr: stderr,
		Env: append(os.Environ(), "STALL="+strings.Join(stalled, " "), run.Env())}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := restore.Run(ctx, restore.Options{Adapter: a, Concurrency: 3})
		done <- err
	}()
	// Cancel once the three stalled readers are in flight.
	var now harness.Snapshot
	var takeErr error
	if !poll.Until(context.Background(), 30*time.Second, func() bool {
		if now, takeErr = harness.Take(harness.WithMarker(run.ID)); takeErr != nil {
			return true
		}
		sleeping := 0
		for _, p := range now.Descendants {
			if p.Name == "sleep" {
				sleeping++
			}
		}
		return sleeping == 3
	}) {
		t.Fatalf("never saw 3 stalled readers in flight:\n%s", harness.Diff(before, now))
	}
	if takeErr != nil {
		t.Fatal(takeErr)
	}
	cancel()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	now, err = harness.Take(harness.WithMarker(run.ID))
	if err != nil {
		t.Fatal(err)
	}
	if l := harness.Diff(before, now); !l.Empty() {
		t.Errorf("cancel under killgroup left something behind:\n%s", l)
	}
}

// writeGzip writes data gzipped to path, as the folder config stores files.
func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunRefusesHugeConcurrency: a concurrency whose doubled queue would
// overflow is an error, not a panic in the stream.
func TestRunRefusesHugeConcurrency(t *testing.T) {
	_, cfg, _ := newStore(t, smallSpec)
	_, err := restore.Run(context.Background(), restore.Options{
		Adapter: &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}, Concurrency: 1 << 62,
	})
	if err == nil || !strings.Contains(err.Error(), "above MaxConcurrency (1024)") {
		t.Fatalf("got %v, want an error naming MaxConcurrency", err)
	}
}
