package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/restore/db"
)

// TestTargetDBAndResume: --target-db-dir writes the DB, a failed restore
// leaves whole manifests, and the re-run skips them, says so, and ends with
// the DB a clean restore writes.
func TestTargetDBAndResume(t *testing.T) {
	cfg := folderConfig(t)
	if code, _, stderr := runCmd("make-backup", "--command-adapter-config", cfg, "--manifests", "4", "--chunks", "2", "--records", "3", "--record-size", "1024"); code != 0 {
		t.Fatalf("make-backup: exit %d\n%s", code, stderr)
	}
	bootstrap := func(target string) (int, string, string) {
		return runCmd("bootstrap-db", "--command-adapter-config", cfg, "--cleanup-policy", "killgroup",
			"--concurrent-downloads", "2", "--target-db-dir", target)
	}

	clean := filepath.Join(t.TempDir(), "clean")
	code, out, stderr := bootstrap(clean)
	if code != 0 {
		t.Fatalf("bootstrap-db: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"restored epochs 0..23: 4 manifests, 8 chunks, 24 ledger infos, 24 waypoints verified",
		"; 4 manifests written to " + clean + ", 0 skipped (already there); in "} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout %q\nlacks %q", out, want)
		}
	}
	if n := strings.Count(stderr, "written to "+clean); n != 4 {
		t.Errorf("stderr has %d per-manifest lines, want 4:\n%s", n, stderr)
	}
	if strings.Contains(stderr, "writes no DB") {
		t.Errorf("stderr still says no DB is written:\n%s", stderr)
	}

	// Break a chunk of manifest 1 (epochs 6..11), restore, repair, resume.
	chunks, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "epoch_ending_6-.*", "9-.chunk"))
	if len(chunks) != 1 {
		t.Fatalf("found chunks %v, want one 9-.chunk", chunks)
	}
	orig, err := os.ReadFile(chunks[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chunks[0], []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := bootstrap(target); code != 1 || !strings.Contains(stderr, "9-.chunk") {
		t.Fatalf("damaged backup: exit %d, want 1 and an error naming 9-.chunk:\n%s", code, stderr)
	}
	if err := os.WriteFile(chunks[0], orig, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = bootstrap(target)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	if want := "restored epochs 0..23: 3 manifests, 6 chunks, 18 ledger infos, 18 waypoints verified"; !strings.Contains(out, want) {
		t.Errorf("stdout %q\nlacks %q", out, want)
	}
	if want := "; 3 manifests written to " + target + ", 1 skipped (already there); "; !strings.Contains(out, want) {
		t.Errorf("stdout %q\nlacks %q", out, want)
	}
	if want := "epochs 0..5 skipped: already in " + target; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	want, err := db.Dump(clean)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Dump(target)
	if err != nil {
		t.Fatal(err)
	}
	if diff := db.Diff(want, got); diff != nil {
		t.Errorf("the resumed DB differs from the clean one:\n%s", strings.Join(diff, "\n"))
	}
}

func TestTargetDBUnusable(t *testing.T) {
	cfg := folderConfig(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(file, "db")
	code, _, stderr := runCmd("bootstrap-db", "--command-adapter-config", cfg, "--target-db-dir", target)
	if code != 1 || !strings.Contains(stderr, "open target DB "+target) {
		t.Errorf("exit %d, want 1 and an error naming %s:\n%s", code, target, stderr)
	}
}
