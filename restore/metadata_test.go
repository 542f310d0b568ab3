package restore_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
)

var metadataSpec = fixture.Spec{Manifests: 8, ChunksPerManifest: 1, RecordsPerChunk: 2, RecordSize: 256}

// cacheHolds fails the test unless the cache dir holds exactly the
// metadata files named by handles, each a complete copy of the stored
// file, and nothing else (no download left half done).
func cacheHolds(t *testing.T, s *store, cache string, handles []string) {
	t.Helper()
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, e := range entries {
		if e.Name() != restore.CacheMarker {
			got = append(got, e.Name())
		}
	}
	for _, h := range handles {
		want = append(want, path.Base(h))
		data, err := os.ReadFile(filepath.Join(cache, path.Base(h)))
		if err != nil {
			t.Errorf("cache: %v", err)
			continue
		}
		if stored := gunzipFile(t, filepath.Join(s.folder, h)); !bytes.Equal(data, stored) {
			t.Errorf("cache: %s is not a complete copy of %s (%d bytes, want %d)", path.Base(h), h, len(data), len(stored))
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("cache holds %q, want %q", got, want)
	}
}

func gunzipFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMetadataDownloadFailureNamesTheFile: a metadata download that fails
// is an error naming the file handle and the command's exit, returned by the
// sync itself (not a later "no such file" when the cache is read), and the
// cache holds no part of that file.
func TestMetadataDownloadFailureNamesTheFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(s *store) (handle string, env []string)
		exit   int
	}{
		{"breaks off after 20 bytes", func(s *store) (string, []string) {
			return s.b.Metadata[2], []string{"FAIL=" + s.b.Metadata[2]}
		}, 7},
		{"listed but not stored", func(s *store) (string, []string) {
			return "metadata/epoch_ending_99-99.meta", []string{"EXTRA_META=metadata/epoch_ending_99-99.meta"}
		}, 1},
		{"not gzip", func(s *store) (string, []string) {
			if err := os.WriteFile(filepath.Join(s.folder, s.b.Metadata[5]), []byte("plain text, not gzip\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return s.b.Metadata[5], nil
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newHookedStore(t, metadataSpec)
			handle, env := tc.damage(s)
			cache := filepath.Join(t.TempDir(), "cache")
			_, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t, env...), Concurrency: 3, MetadataCacheDir: cache})
			if err == nil {
				t.Fatal("the restore succeeded")
			}
			if want := "restore: metadata sync: download " + strconv.Quote(handle) + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q\ndoes not start with %q", err, want)
			}
			var xe *adapter.ExitError
			if !errors.As(err, &xe) || xe.Op != "open_for_read" || xe.ExitCode != tc.exit {
				t.Errorf("error %v: want open_for_read's *adapter.ExitError with status %d", err, tc.exit)
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v is a missing-file error of the cache", err)
			}
			entries, rerr := os.ReadDir(cache)
			if rerr != nil {
				t.Fatal(rerr)
			}
			for _, e := range entries {
				if e.Name() == path.Base(handle) || strings.HasPrefix(e.Name(), ".download-") {
					t.Errorf("the cache holds %s after the download failed", e.Name())
				}
			}
		})
	}
}

// TestMetadataCacheSharedByResumedRuns: runs that share a cache dir (and a
// target DB) download each metadata file once, however the earlier runs
// ended. Run 1 fails downloading metadata file 3: the cache holds complete
// files only. Run 2 downloads just what run 1 did not, then fails in
// manifest 2. Run 3 downloads no metadata, reads manifests 2.. only, and
// ends with a clean restore's DB.
func TestMetadataCacheSharedByResumedRuns(t *testing.T) {
	s := newHookedStore(t, metadataSpec)
	clean := cleanDB(t, s)
	cache := filepath.Join(t.TempDir(), "cache")
	target := filepath.Join(t.TempDir(), "db")
	run := func(env ...string) (*restore.Result, []string, error) {
		trace, read := traced(t)
		res, err := restore.Run(context.Background(), restore.Options{
			Adapter: s.adapter(t, append(env, trace)...), Concurrency: 3, MetadataCacheDir: cache, TargetDBDir: target,
		})
		return res, read(), err
	}
	cached := func() []string {
		entries, err := os.ReadDir(cache)
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, e := range entries {
			if e.Name() != restore.CacheMarker {
				hs = append(hs, "metadata/"+e.Name())
			}
		}
		return hs
	}

	_, _, err := run("FAIL=" + s.b.Metadata[3])
	if err == nil || !strings.Contains(err.Error(), "download "+strconv.Quote(s.b.Metadata[3])) {
		t.Fatalf("run 1: got %v, want metadata file 3's download error", err)
	}
	after1 := cached()
	if slices.Contains(after1, s.b.Metadata[3]) {
		t.Fatalf("run 1 cached the file whose download failed")
	}
	cacheHolds(t, s, cache, after1)
	if got := manifestsIn(t, target); got != nil {
		t.Errorf("run 1 wrote manifests %q before its metadata was synced", got)
	}

	_, read2, err := run("FAIL=" + s.b.Manifests[2].Chunks[0])
	if err == nil || !strings.Contains(err.Error(), "manifest "+s.b.Manifests[2].Handle) {
		t.Fatalf("run 2: got %v, want manifest 2's error", err)
	}
	var metaRead2, wantMeta2 []string
	for _, h := range read2 {
		if strings.HasPrefix(h, "metadata/") {
			metaRead2 = append(metaRead2, h)
		}
	}
	for _, h := range s.b.Metadata {
		if !slices.Contains(after1, h) {
			wantMeta2 = append(wantMeta2, h)
		}
	}
	slices.Sort(metaRead2)
	if !slices.Equal(metaRead2, wantMeta2) {
		t.Errorf("run 2 downloaded metadata %q, want only what run 1 left out: %q", metaRead2, wantMeta2)
	}
	cacheHolds(t, s, cache, s.b.Metadata)
	if got, want := manifestsIn(t, target), []string{"0..1", "2..3"}; !slices.Equal(got, want) {
		t.Errorf("run 2 left manifests %q, want %q", got, want)
	}

	res, read3, err := run()
	if err != nil {
		t.Fatal(err)
	}
	var want3 []string
	for _, m := range s.b.Manifests[2:] {
		want3 = append(want3, m.Handle)
		want3 = append(want3, m.Chunks...)
	}
	slices.Sort(read3)
	slices.Sort(want3)
	if !slices.Equal(read3, want3) {
		t.Errorf("run 3 read %q\nwant manifests 2.. only, no metadata: %q", read3, want3)
	}
	if res.Skipped != 2 || res.Manifests != 6 {
		t.Errorf("run 3: skipped %d, restored %d manifests; want 2 and 6", res.Skipped, res.Manifests)
	}
	cacheHolds(t, s, cache, s.b.Metadata)
	sameDB(t, clean, target)
}

// TestMetadataCacheLeftovers: in a cache dir the cache made, a killed
// run's temp files and recorded files no longer listed are removed, files
// the cache did not write are left alone; a cached file that does not parse
// is an error naming it, and is removed so that the next run downloads it
// again.
func TestMetadataCacheLeftovers(t *testing.T) {
	s := newHookedStore(t, metadataSpec)
	cache := filepath.Join(t.TempDir(), "cache")
	if _, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, MetadataCacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	// What a killed run, an older listing and a user left there.
	marker := filepath.Join(cache, restore.CacheMarker)
	f, err := os.OpenFile(marker, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("epoch_ending_900-999.meta\n")
	f.Close()
	files := map[string]string{
		".download-1234567":         "{\"EpochEndingBackup\":",
		"epoch_ending_900-999.meta": "{\"EpochEndingBackup\":",
		"notes.txt":                 "the user's own file",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(cache, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A cached copy cut short (as by a crash of whatever put it there).
	bad := s.b.Metadata[1]
	if err := os.WriteFile(filepath.Join(cache, path.Base(bad)), []byte("{\"EpochEndingBackup\":{\"first_epoch\":2"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, MetadataCacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "metadata file "+strconv.Quote(bad)) || !strings.Contains(err.Error(), "removed from the cache") {
		t.Fatalf("got %v, want an error naming %s and saying it was removed", err, bad)
	}
	for name, gone := range map[string]bool{".download-1234567": true, "epoch_ending_900-999.meta": true, "notes.txt": false} {
		_, err := os.Stat(filepath.Join(cache, name))
		if gone != errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: stat says %v; want removed: %v", name, err, gone)
		}
	}
	if data, err := os.ReadFile(filepath.Join(cache, "notes.txt")); err != nil || string(data) != files["notes.txt"] {
		t.Errorf("the user's notes.txt: %q, %v; want it untouched", data, err)
	}
	os.Remove(filepath.Join(cache, "notes.txt"))
	var others []string
	for _, h := range s.b.Metadata {
		if h != bad {
			others = append(others, h)
		}
	}
	cacheHolds(t, s, cache, others)

	if _, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, MetadataCacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	cacheHolds(t, s, cache, s.b.Metadata)
}

// TestEveryBrokenCachedFileIsRemoved: with several cached metadata files
// cut short, one failed run removes all of them (the error names each), so
// the next run downloads them all again and succeeds. Removing only the
// first would take one resume per broken file (a finding of leakgate
// explore, kept in testdata/explore/metadata-cache-truncated-files.plan).
func TestEveryBrokenCachedFileIsRemoved(t *testing.T) {
	s := newHookedStore(t, metadataSpec)
	cache := filepath.Join(t.TempDir(), "cache")
	if _, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, MetadataCacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	broken := s.b.Metadata[:2]
	for _, h := range broken {
		if err := os.WriteFile(filepath.Join(cache, path.Base(h)), []byte("{\"EpochEndingBackup\":"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, MetadataCacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "2 metadata files do not parse") {
		t.Fatalf("got %v, want an error counting the 2 broken files", err)
	}
	for _, h := range broken {
		if !strings.Contains(err.Error(), "metadata file "+strconv.Quote(h)) {
			t.Errorf("the error does not name %s: %v", h, err)
		}
		if _, serr := os.Stat(filepath.Join(cache, path.Base(h))); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("broken %s is still cached: %v", h, serr)
		}
	}
	if _, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t), Concurrency: 3, MetadataCacheDir: cache}); err != nil {
		t.Fatalf("the next run: %v; want it to download both again and succeed", err)
	}
	cacheHolds(t, s, cache, s.b.Metadata)
}

// TestMetadataDownloadsAreBounded: metadata files download through the
// restore's bounded stream: never more than Concurrency at once, and that
// many while they are slow. Each download (GATE hook) records how many are
// in flight when it starts, and waits until the test has seen Concurrency
// of them in flight.
func TestMetadataDownloadsAreBounded(t *testing.T) {
	const c = 3
	s := newHookedStore(t, metadataSpec)
	gate := t.TempDir()
	done := make(chan error, 1)
	go func() {
		_, err := restore.Run(context.Background(), restore.Options{Adapter: s.adapter(t, "GATE="+gate), Concurrency: c})
		done <- err
	}()
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(gate, "open"), nil, 0o644) // never leave the downloads waiting
		<-done
	})
	var entries []os.DirEntry
	if !poll.Until(context.Background(), 30*time.Second, func() bool {
		entries, _ = os.ReadDir(filepath.Join(gate, "in"))
		return len(entries) >= c
	}) {
		t.Fatalf("never saw %d metadata downloads in flight (saw %d)", c, len(entries))
	}
	if err := os.WriteFile(filepath.Join(gate, "open"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the cleanup
	data, err := os.ReadFile(filepath.Join(gate, "counts"))
	if err != nil {
		t.Fatal(err)
	}
	counts := strings.Fields(string(data))
	if len(counts) != len(s.b.Metadata) {
		t.Errorf("%d metadata downloads recorded, want %d", len(counts), len(s.b.Metadata))
	}
	most := 0
	for _, f := range counts {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, n)
	}
	if most != c {
		t.Errorf("at most %d metadata downloads were in flight at once, want exactly %d (counts %v)", most, c, counts)
	}
}
