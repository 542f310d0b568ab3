package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/harness"
)

// TestMain runs the tests under harness.RunReaped and, in the inner test
// process only, builds the restore binary first for the tests that signal
// it (see signal_test.go).
func TestMain(m *testing.M) {
	os.Exit(harness.RunReaped(func() int {
		cleanup, err := buildRestoreBin()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer cleanup()
		return m.Run()
	}))
}

// shippedConfig is a real config from ../shared, or its vendored copy.
func shippedConfig(name string) string {
	p := filepath.Join("..", "..", "..", "shared", "fixtures", "aptos-configs", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join("..", "..", "testdata", "aptos-configs", name)
}

// folderConfig writes a working local-folder config (real bash, cat, gzip).
func folderConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "folder.yaml")
	cfg := fmt.Sprintf(`env_vars:
  - {key: FOLDER, value: %q}
commands:
  create_backup: 'cd "$FOLDER" && mkdir "$BACKUP_NAME" && echo "$BACKUP_NAME"'
  create_for_write: 'cd "$FOLDER/$BACKUP_HANDLE" && echo "$BACKUP_HANDLE/$FILE_NAME" && exec >&- && gzip -c > "$FILE_NAME"'
  open_for_read: 'cat "$FOLDER/$FILE_HANDLE" | gzip -cd'
  save_metadata_line: 'cd "$FOLDER" && mkdir -p metadata && echo "metadata/$FILE_NAME" && exec >&- && gzip -c > "metadata/$FILE_NAME"'
  list_metadata_files: 'cd "$FOLDER" && (test -d metadata && cd metadata && ls -1 || exec) | while read f; do echo "metadata/$f"; done'
`, dir)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	cfg := folderConfig(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"bootstrap-db"}, "--command-adapter-config is required"},
		{[]string{"bootstrap-db", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "extra"}, `unexpected argument "extra"`},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--concurrent-downloads", "0"}, "--concurrent-downloads must be in 1..1024, got 0"},
		// Every numeric flag has an upper bound (2×C overflowed into a panic).
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--concurrent-downloads", "4611686018427387904"}, "--concurrent-downloads must be in 1..1024, got 4611686018427387904"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--max-listing-bytes", "1099511627776"}, "--max-listing-bytes must be in 1..1073741824"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--max-manifest-bytes", "0"}, "--max-manifest-bytes must be in 1..1073741824, got 0"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--max-metadata-file-bytes", "9223372036854775807"}, "--max-metadata-file-bytes must be in 1..1073741824"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--max-metadata-download-bytes", "68719476737"}, "--max-metadata-download-bytes must be in 1..68719476736"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--read-timeout", "2562047h"}, "--read-timeout must be at most 24h0m0s"},
		{[]string{"make-backup", "--command-adapter-config", cfg, "--write-timeout", "25h"}, "--write-timeout must be at most 24h0m0s"},
		{[]string{"make-backup", "--command-adapter-config", cfg, "--record-size", "1099511627776"}, "--record-size must be in 1..16777216"},
		{[]string{"make-backup", "--command-adapter-config", cfg, "--manifests", "100001"}, "--manifests must be in 1..100000"},
		{[]string{"make-backup", "--command-adapter-config", cfg, "--chunks", "10001"}, "--chunks must be in 1..10000"},
		{[]string{"make-backup", "--command-adapter-config", cfg, "--records", "100001"}, "--records must be in 1..100000"},
		{[]string{"make-backup", "--command-adapter-config", cfg, "--manifests", "1000", "--chunks", "100", "--records", "100"}, "is 10000000 epochs, more than 1000000"},
		{[]string{"make-backup", "--command-adapter-config", cfg, "--manifests", "1000", "--records", "100", "--record-size", "16777216"}, "is 4800000 MiB, more than 64 GiB"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--concurrent-downloads", "99999999999999999999"}, "value out of range"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--cleanup-policy", "nuke"}, "--cleanup-policy"},
		{[]string{"bootstrap-db", "--command-adapter-config", cfg, "--read-timeout", "-1s"}, "--read-timeout must not be negative"},
		{[]string{"bootstrap-db", "--command-adapter-config", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
		{[]string{"bootstrap-db", "--command-adapter-config", shippedConfig("local_folder.sample.yaml")}, "env_vars"},
		{[]string{"make-backup", "--command-adapter-config", cfg, "--records", "0"}, "--records must be in 1..100000, got 0"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCmd(tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
		})
	}
}

func TestBackupThenRestore(t *testing.T) {
	cfg := folderConfig(t)
	code, out, stderr := runCmd("make-backup", "--command-adapter-config", cfg, "--manifests", "4", "--chunks", "2", "--records", "3", "--record-size", "2048")
	if code != 0 {
		t.Fatalf("make-backup: exit %d\n%s", code, stderr)
	}
	if want := "wrote 4 manifests (24 epochs, 8 chunks) and 4 metadata files\n"; out != want {
		t.Errorf("make-backup printed %q, want %q", out, want)
	}
	code, out, stderr = runCmd("bootstrap-db", "--command-adapter-config", cfg, "--concurrent-downloads", "3",
		"--cleanup-policy", "killgroup", "--metadata-cache-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("bootstrap-db: exit %d\n%s", code, stderr)
	}
	if want := "restored epochs 0..23: 4 manifests, 8 chunks, 24 ledger infos, 24 waypoints verified"; !strings.Contains(out, want) {
		t.Errorf("bootstrap-db printed %q, want it to contain %q", out, want)
	}

	// A damaged backup fails with exit 1 and says where.
	dir := filepath.Dir(cfg)
	chunks, _ := filepath.Glob(filepath.Join(dir, "epoch_ending_6-.*", "9-.chunk"))
	if len(chunks) != 1 {
		t.Fatalf("found chunks %v, want one 9-.chunk", chunks)
	}
	if err := os.WriteFile(chunks[0], []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd("bootstrap-db", "--command-adapter-config", cfg, "--cleanup-policy", "killgroup")
	if code != 1 {
		t.Errorf("damaged backup: exit %d, want 1", code)
	}
	if !strings.Contains(stderr, "9-.chunk") || !strings.Contains(stderr, "manifest epoch_ending_6-.") {
		t.Errorf("stderr does not name the manifest and chunk:\n%s", stderr)
	}
}
