package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/leakgate/leakgate/internal/rusage"
	"github.com/leakgate/leakgate/restore/db"
)

// hostileConfig is the folder config (gzip on disk) with hooks that make
// one operation hostile, chosen by environment variables:
//
//	YES_LIST=y       list_metadata_files prints handles forever (yes)
//	BIN_LIST=y       list_metadata_files prints one 1000-byte line of binary
//	YES_CREATE=y     create_backup prints its handle forever
//	YES_HANDLE=y     create_for_write prints its handle forever
//	YES_READ=GLOB    open_for_read of a handle matching GLOB prints forever
//	STALL=OP         operation OP sleeps 300s first (a hung one-shot command)
const hostileConfig = `env_vars:
  - {key: FOLDER, value: %q}
commands:
  create_backup: 'case "${STALL:-}" in create_backup) sleep 300;; esac; case "${YES_CREATE:-}" in y) exec yes "$BACKUP_NAME";; esac; cd "$FOLDER" && mkdir "$BACKUP_NAME" && echo "$BACKUP_NAME"'
  create_for_write: 'case "${YES_HANDLE:-}" in y) exec yes "$FILE_NAME";; esac; cd "$FOLDER/$BACKUP_HANDLE" && echo "$BACKUP_HANDLE/$FILE_NAME" && exec >&- && gzip -c > "$FILE_NAME"'
  open_for_read: 'case "$FILE_HANDLE" in ${YES_READ:-/}) exec yes "{\"EpochEndingBackup\":{}}";; esac; cat "$FOLDER/$FILE_HANDLE" | gzip -cd'
  save_metadata_line: 'case "${STALL:-}" in save_metadata_line) sleep 300;; esac; cd "$FOLDER" && mkdir -p metadata && echo "metadata/$FILE_NAME" && exec >&- && gzip -c > "metadata/$FILE_NAME"'
  list_metadata_files: 'case "${STALL:-}" in list_metadata_files) sleep 300;; esac; case "${YES_LIST:-}" in y) exec yes metadata/epoch_ending_0-0.meta;; esac; case "${BIN_LIST:-}" in y) head -c 1000 /dev/urandom | tr -d "\n"; echo; exit 0;; esac; cd "$FOLDER" && (test -d metadata && cd metadata && ls -1 || exec) | while read f; do echo "metadata/$f"; done'
  backup_metadata_file: 'case "${STALL:-}" in backup_metadata_file) sleep 300;; esac; true'
`

// hostileStore writes hostileConfig over a fresh folder holding a small
// backup (4 manifests of 6 epochs) and returns the config's path.
func hostileStore(t *testing.T) string {
	t.Helper()
	return hostileStoreSized(t, "--manifests", "4", "--chunks", "2", "--records", "3", "--record-size", "1024")
}

// hostileStoreSized is hostileStore with make-backup's size flags.
func hostileStoreSized(t *testing.T, sizes ...string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hostile.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, hostileConfig, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(append([]string{"make-backup", "--command-adapter-config", cfg, "--cleanup-policy", "killgroup"}, sizes...)...); code != 0 {
		t.Fatalf("make-backup: exit %d\n%s", code, stderr)
	}
	return cfg
}

// treeSums maps every regular file under dir (relative path) to its
// sha256: what "nothing lost" compares.
func treeSums(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sums[rel] = sha256.Sum256(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

func sameSums(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// result is a finished run of the restore binary: exit status, stderr and
// peak RSS (getrusage's ru_maxrss of the child).
type result struct {
	code    int
	stderr  string
	peakRSS int64 // bytes
}

// runBinIn runs restoreBin in dir (if not "") with env to its end (failing
// the test after pollDeadline) and returns what it did.
func runBinIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	b := startBinIn(t, dir, env, args...)
	st := b.wait(t)
	return result{code: st.ExitCode(), stderr: b.log(), peakRSS: rusage.MaxRSS(st)}
}

// TestCacheDirRefusesForeignFiles: a --metadata-cache-dir that holds files
// the cache did not write (`.`, a home folder) is a usage error, exit 2,
// and every file in it is still there, byte for byte.
func TestCacheDirRefusesForeignFiles(t *testing.T) {
	cfg := hostileStore(t)
	home := t.TempDir()
	for name, content := range map[string]string{"notes.txt": "my notes", "thesis.tex": "\\begin{document}", "sub/photo.jpg": "\xff\xd8\xff"} {
		os.MkdirAll(filepath.Dir(filepath.Join(home, name)), 0o755)
		if err := os.WriteFile(filepath.Join(home, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := treeSums(t, home)
	for _, dirArg := range []string{".", home} {
		t.Run(dirArg, func(t *testing.T) {
			r := runBinIn(t, home, nil, "bootstrap-db", "--command-adapter-config", cfg, "--metadata-cache-dir", dirArg)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			for _, want := range []string{"--metadata-cache-dir", "not a metadata cache dir", "the cache did not write", `"notes.txt"`} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if after := treeSums(t, home); !sameSums(before, after) {
				t.Errorf("the folder changed: %d files before, %d after", len(before), len(after))
			}
			if _, err := os.Stat(filepath.Join(home, ".leakgate-metadata-cache")); err == nil {
				t.Errorf("the refused folder got a cache marker")
			}
		})
	}
}

// gzipPadded rewrites the gzip file at p with n spaces appended to its
// content: a 200 MB manifest costs a few hundred KB on disk.
func gzipPadded(t *testing.T, p string, n int) {
	t.Helper()
	data := gunzip(t, p)
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write(data)
	pad := bytes.Repeat([]byte{' '}, 1<<20)
	for ; n > 0; n -= len(pad) {
		zw.Write(pad[:min(n, len(pad))])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gunzip(t *testing.T, p string) []byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sameDBs fails unless the DBs in dirs a and b hold the same keys and
// values.
func sameDBs(t *testing.T, a, b string) {
	t.Helper()
	want, err := db.Dump(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Dump(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := db.Diff(want, got); diff != nil {
		t.Errorf("DB %s differs from %s: %v", b, a, diff)
	}
}

// TestRunawayInputsAreBounded: every read of outside input has a bound.
// A command that never stops printing, a config that never ends, a
// metadata download that never ends and a manifest padded with 200 MB
// each end the restore with exit 1 (2 for the config), an error naming the
// command or file and the bound, a bounded peak RSS, nothing partial in the
// cache, and the backup untouched. Before the bounds, the first four grew
// without end (about 0.3-0.5 GB/s of RSS or disk) and the manifest was read
// whole (about 0.9 GB RSS).
func TestRunawayInputsAreBounded(t *testing.T) {
	cfg := hostileStore(t)
	store := filepath.Dir(cfg)
	before := treeSums(t, store)
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		code    int
		want    []string
		maxRSS  int64 // bytes
		prepare func(t *testing.T) (undo func())
	}{
		{
			name: "list_metadata_files prints forever", env: []string{"YES_LIST=y"},
			args: []string{"bootstrap-db", "--command-adapter-config", cfg},
			code: 1, want: []string{"list_metadata_files: printed more than 64 MiB", "raise it with --max-listing-bytes", "the command was stopped"},
			maxRSS: 256 << 20,
		},
		{
			name: "smaller listing bound", env: []string{"YES_LIST=y"},
			args: []string{"bootstrap-db", "--command-adapter-config", cfg, "--max-listing-bytes", "1048576"},
			code: 1, want: []string{"list_metadata_files: printed more than 1 MiB"},
			maxRSS: 64 << 20,
		},
		{
			name: "config is /dev/zero",
			args: []string{"bootstrap-db", "--command-adapter-config", "/dev/zero"},
			code: 2, want: []string{"/dev/zero: config is larger than 1 MiB (a fixed bound)"},
			maxRSS: 64 << 20,
		},
		{
			name: "create_backup prints forever", env: []string{"YES_CREATE=y"},
			args: []string{"make-backup", "--command-adapter-config", cfg, "--manifests", "1"},
			code: 1, want: []string{"create_backup BACKUP_NAME=", "printed more than 64 KiB", "(a fixed bound)"},
			maxRSS: 64 << 20,
		},
		{
			name: "create_for_write prints its handle forever", env: []string{"YES_HANDLE=y"},
			args: []string{"make-backup", "--command-adapter-config", cfg, "--manifests", "1"},
			code: 1, want: []string{"create_for_write BACKUP_HANDLE=", "printed more than 64 KiB"},
			maxRSS: 64 << 20,
			prepare: func(t *testing.T) func() {
				// make-backup names its backups after the epochs: move the
				// first one aside so create_backup succeeds.
				return moveAside(t, store, "epoch_ending_0-.*")
			},
		},
		{
			name: "metadata download never ends", env: []string{"YES_READ=metadata/*"},
			args: []string{"bootstrap-db", "--command-adapter-config", cfg, "--max-metadata-file-bytes", "1048576"},
			code: 1, want: []string{`download "metadata/epoch_ending_`, "longer than 1 MiB", "raise it with --max-metadata-file-bytes"},
			maxRSS: 64 << 20,
		},
		{
			name: "metadata downloads past their total", env: []string{"YES_READ=metadata/*"},
			args: []string{"bootstrap-db", "--command-adapter-config", cfg, "--max-metadata-download-bytes", "1048576"},
			code: 1, want: []string{`download "metadata/epoch_ending_`, "metadata downloads: more than 1 MiB in all", "raise it with --max-metadata-download-bytes"},
			maxRSS: 64 << 20,
		},
		{
			name: "manifest padded with 200 MB",
			args: []string{"bootstrap-db", "--command-adapter-config", cfg},
			code: 1, want: []string{"manifest \"epoch_ending_6-", "longer than 16 MiB", "raise it with --max-manifest-bytes"},
			maxRSS: 128 << 20,
			prepare: func(t *testing.T) func() {
				ms, _ := filepath.Glob(filepath.Join(store, "epoch_ending_6-.*", "epoch_ending.manifest"))
				if len(ms) != 1 {
					t.Fatalf("manifests %v, want one", ms)
				}
				orig, err := os.ReadFile(ms[0])
				if err != nil {
					t.Fatal(err)
				}
				gzipPadded(t, ms[0], 200<<20)
				return func() { os.WriteFile(ms[0], orig, 0o644) }
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prepare != nil {
				defer tc.prepare(t)()
			}
			cache := filepath.Join(t.TempDir(), "cache")
			// A file-size limit in the child proves the download bound on
			// disk: past 4 MiB in one file the write would fail otherwise.
			args := append([]string{"-c", `ulimit -f 4096; exec "$0" "$@"`, restoreBin}, tc.args...)
			if tc.args[0] == "bootstrap-db" {
				args = append(args, "--metadata-cache-dir", cache, "--cleanup-policy", "killgroup")
			}
			b := startBinCmd(t, "", "bash", tc.env, args...)
			st := b.wait(t)
			rss := rusage.MaxRSS(st)
			log := b.log()
			if st.ExitCode() != tc.code {
				t.Errorf("exit %v, want %d; stderr:\n%s", st, tc.code, log)
			}
			for _, want := range tc.want {
				if !strings.Contains(log, want) {
					t.Errorf("stderr lacks %q:\n%.2000s", want, log)
				}
			}
			if len(log) > 8<<10 {
				t.Errorf("stderr is %d bytes, want a few lines", len(log))
			}
			t.Logf("peak RSS %d MiB (bound %d MiB)", rss>>20, tc.maxRSS>>20)
			// The child's maxrss includes what it inherited from this
			// process at exec (internal/rusage).
			if rss > max(tc.maxRSS, rusage.Inherited()) {
				t.Errorf("peak RSS %d MiB, want at most %d MiB", rss>>20, tc.maxRSS>>20)
			}
			if entries, err := os.ReadDir(cache); err == nil {
				for _, e := range entries {
					if strings.HasPrefix(e.Name(), ".download-") {
						t.Errorf("the cache holds a partial download %s", e.Name())
					}
				}
			}
			// Under drop (make-backup's default policy) the restore closes
			// the runaway's pipe and does not wait: yes dies of SIGPIPE at
			// its next write, just after.
			waitUntil(t, "the runaway command to end", func() string {
				if n := b.survivors(t)["yes"]; n != 0 {
					return fmt.Sprintf("%d runaway yes alive", n)
				}
				return ""
			})
		})
	}
	if after := treeSums(t, store); !sameSums(before, after) {
		t.Errorf("the backup changed: %d files before, %d after", len(before), len(after))
	}
	// Nothing lost: the backup still restores.
	if r := runBinIn(t, "", nil, "bootstrap-db", "--command-adapter-config", cfg); r.code != 0 {
		t.Errorf("clean restore after the hostile runs: exit %d\n%s", r.code, r.stderr)
	}
}

// moveAside renames the entries of dir matching glob to a sibling name and
// returns the function that moves them back.
func moveAside(t *testing.T, dir, glob string) func() {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(dir, glob))
	for _, m := range ms {
		if err := os.Rename(m, m+".aside"); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for _, m := range ms {
			os.RemoveAll(m)
			os.Rename(m+".aside", m)
		}
	}
}

// TestSignalStopsOneShotCommands: the first SIGTERM stops the restore (or
// backup) while a one-shot command hangs, or while the config is read from
// a FIFO whose writer sends nothing: exit 143, the signal named, and the
// hung command treated by --cleanup-policy (killgroup: gone; drop: left
// running, as a dropped reader's).
func TestSignalStopsOneShotCommands(t *testing.T) {
	cfg := hostileStore(t)
	store := filepath.Dir(cfg)
	for _, tc := range []struct {
		op, policy string
		args       []string
		left       map[string]int
	}{
		{"list_metadata_files", "killgroup", []string{"bootstrap-db"}, map[string]int{}},
		{"list_metadata_files", "drop", []string{"bootstrap-db"}, map[string]int{"bash": 1, "sleep": 1}},
		{"create_backup", "killgroup", []string{"make-backup", "--manifests", "1"}, map[string]int{}},
		{"save_metadata_line", "killgroup", []string{"make-backup", "--manifests", "1"}, map[string]int{}},
	} {
		t.Run(tc.op+"/"+tc.policy, func(t *testing.T) {
			if tc.args[0] == "make-backup" && tc.op != "create_backup" {
				defer moveAside(t, store, "epoch_ending_0-.*")()
			}
			args := append(append([]string{}, tc.args...), "--command-adapter-config", cfg, "--cleanup-policy", tc.policy)
			b := startBin(t, []string{"STALL=" + tc.op}, args...)
			b.waitSleeping(t, 1)
			if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			st := b.wait(t)
			log := b.log()
			if st.ExitCode() != 143 {
				t.Errorf("exit %v, want 143; stderr:\n%s", st, log)
			}
			for _, want := range []string{"restore: stopped by SIGTERM (exit 143)", tc.op, "cancelled: received SIGTERM"} {
				if !strings.Contains(log, want) {
					t.Errorf("stderr lacks %q:\n%s", want, log)
				}
			}
			if got := b.survivors(t); !equalCounts(got, tc.left) {
				t.Errorf("after the exit, live processes of the run: %v, want %v", got, tc.left)
			}
		})
	}
	t.Run("config from a silent FIFO", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "config.fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		b := startBin(t, nil, "bootstrap-db", "--command-adapter-config", fifo)
		// Opening the write end succeeds once the restore has the FIFO
		// open for reading; then it waits for bytes that never come.
		var w *os.File
		waitUntil(t, "the restore to open the FIFO", func() string {
			var err error
			if w, err = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err != nil {
				return err.Error()
			}
			return ""
		})
		defer w.Close()
		if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		st := b.wait(t)
		if log := b.log(); st.ExitCode() != 143 || !strings.Contains(log, "stopped by SIGTERM") || !strings.Contains(log, fifo) {
			t.Errorf("exit %v, want 143 and a message naming SIGTERM and %s; stderr:\n%s", st, fifo, log)
		}
	})
}

// setMetadataField rewrites one numeric field of the metadata line in the
// gzipped metadata file p.
func setMetadataField(t *testing.T, p, field string, v uint64) {
	t.Helper()
	data := gunzip(t, p)
	i := bytes.Index(data, []byte(`"`+field+`":`))
	if i < 0 {
		t.Fatalf("%s has no %s: %s", p, field, data)
	}
	j := i + len(field) + 3
	k := j
	for k < len(data) && data[k] >= '0' && data[k] <= '9' {
		k++
	}
	edited := append(append(append([]byte{}, data[:j]...), fmt.Sprint(v)...), data[k:]...)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(edited)
	zw.Close()
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMetadataVersionsChecked: a metadata line whose versions disagree
// with its manifest's ledger infos (2^64-1, off by a thousand) fails the
// restore with exit 1 and an error naming the manifest and both versions,
// before anything of that manifest is stored; after a repair the DB
// resumes to the clean restore's, key for key.
func TestMetadataVersionsChecked(t *testing.T) {
	cfg := hostileStore(t)
	store := filepath.Dir(cfg)
	clean := filepath.Join(t.TempDir(), "clean")
	if r := runBinIn(t, "", nil, "bootstrap-db", "--command-adapter-config", cfg, "--target-db-dir", clean); r.code != 0 {
		t.Fatalf("clean restore: exit %d\n%s", r.code, r.stderr)
	}
	meta := filepath.Join(store, "metadata", "epoch_ending_12-17.meta")
	orig, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		v     uint64
		want  string
	}{
		{"last_version", 1<<64 - 1, "metadata says versions 12999..18446744073709551615, its ledger infos are at versions 12999..17999"},
		{"last_version", 18999, "metadata says versions 12999..18999, its ledger infos are at versions 12999..17999"},
		{"first_version", 11999, "metadata says versions 11999..17999, its ledger infos are at versions 12999..17999"},
	} {
		t.Run(fmt.Sprintf("%s=%d", tc.field, tc.v), func(t *testing.T) {
			setMetadataField(t, meta, tc.field, tc.v)
			defer os.WriteFile(meta, orig, 0o644)
			target := filepath.Join(t.TempDir(), "db")
			r := runBinIn(t, "", nil, "bootstrap-db", "--command-adapter-config", cfg, "--target-db-dir", target)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "manifest epoch_ending_12-.") {
				t.Fatalf("exit %d, want 1 and %q naming the manifest; stderr:\n%s", r.code, tc.want, r.stderr)
			}
			ms, err := db.Open(target, db.ReadOnly())
			if err != nil {
				t.Fatal(err)
			}
			marks, err := ms.Manifests()
			ms.Close()
			if err != nil || len(marks) != 2 || marks[1].LastEpoch != 11 {
				t.Fatalf("DB holds %+v (%v), want the two manifests before epoch 12", marks, err)
			}
			os.WriteFile(meta, orig, 0o644)
			if r := runBinIn(t, "", nil, "bootstrap-db", "--command-adapter-config", cfg, "--target-db-dir", target); r.code != 0 {
				t.Fatalf("resume after the repair: exit %d\n%s", r.code, r.stderr)
			}
			sameDBs(t, clean, target)
		})
	}
}

// TestBinaryOutputQuoted: a listing of raw binary is quoted and cut in
// the error: no control byte reaches the terminal, and the line is short.
func TestBinaryOutputQuoted(t *testing.T) {
	cfg := hostileStore(t)
	r := runBinIn(t, "", []string{"BIN_LIST=y"}, "bootstrap-db", "--command-adapter-config", cfg, "--cleanup-policy", "killgroup")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%q", r.code, r.stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if strings.HasPrefix(line, "gzip:") || strings.HasPrefix(line, "cat:") {
			continue // the storage command's own stderr, passed through
		}
		for _, c := range line {
			if c < 0x20 || c == 0x7f || c == '\uFFFD' {
				t.Fatalf("stderr line holds a raw control or invalid byte %q:\n%q", c, line)
			}
		}
		if len(line) > 1000 {
			t.Errorf("stderr line of %d bytes, want the handle cut:\n%s", len(line), line)
		}
		if !strings.Contains(line, "… (") {
			t.Errorf("stderr line does not show the handle cut:\n%s", line)
		}
	}
}

// TestTargetDBNotWritable: a target DB that cannot be written (an
// immutable dir, a read-only mount, a file-size limit, a full disk) fails
// the restore within seconds with exit 1, one clear error and a short
// stderr, where pebble used to retry a failed flush forever (720 MB of
// stderr in 10s, deaf to SIGTERM) or end the process from inside a commit.
// Nothing is lost: once the obstacle is gone the DB resumes to the clean
// restore's, key for key.
func TestTargetDBNotWritable(t *testing.T) {
	cfg := hostileStoreSized(t, "--manifests", "4", "--chunks", "3", "--records", "8", "--record-size", "16384")
	clean := filepath.Join(t.TempDir(), "clean")
	restoreInto := func(target string, env []string, prog string, pre []string, extra ...string) result {
		t.Helper()
		all := append(append(append([]string{}, pre...), "bootstrap-db", "--command-adapter-config", cfg, "--target-db-dir", target), extra...)
		b := startBinCmd(t, "", prog, env, all...)
		st := b.wait(t)
		return result{code: st.ExitCode(), stderr: b.log()}
	}
	if r := restoreInto(clean, nil, restoreBin, nil); r.code != 0 {
		t.Fatalf("clean restore: exit %d\n%s", r.code, r.stderr)
	}
	// A DB holding the first manifests, as a run stopped midway leaves it.
	partial := func(t *testing.T, dir string) {
		t.Helper()
		if r := restoreInto(dir, []string{"YES_READ=epoch_ending_48-*/*"}, restoreBin, nil, "--max-manifest-bytes", "65536"); r.code != 1 {
			t.Fatalf("partial restore: exit %d, want 1\n%s", r.code, r.stderr)
		}
	}
	limited := func(kb int) (string, []string) {
		return "bash", []string{"-c", fmt.Sprintf(`ulimit -f %d; exec "$0" "$@"`, kb), restoreBin}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) (prog string, pre []string, undo func())
		want  string
	}{
		{"immutable dir", func(t *testing.T, dir string) (string, []string, func()) {
			partial(t, dir)
			if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
				t.Skipf("chattr +i: %v %s", err, out)
			}
			return restoreBin, nil, func() { exec.Command("chattr", "-i", dir).Run() }
		}, "operation not permitted"},
		{"read-only mount", func(t *testing.T, dir string) (string, []string, func()) {
			partial(t, dir)
			if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err != nil {
				t.Skipf("mount: %v %s", err, out)
			}
			return restoreBin, nil, func() { exec.Command("umount", dir).Run() }
		}, "read-only file system"},
		{"file-size limit below the probe", func(t *testing.T, dir string) (string, []string, func()) {
			prog, pre := limited(32)
			return prog, pre, func() {}
		}, "file too large"},
		{"file-size limit below a batch", func(t *testing.T, dir string) (string, []string, func()) {
			prog, pre := limited(256)
			return prog, pre, func() {}
		}, "fatal commit error: write"},
		{"full disk", func(t *testing.T, dir string) (string, []string, func()) {
			os.MkdirAll(dir, 0o755)
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", dir).CombinedOutput(); err != nil {
				t.Skipf("mount tmpfs: %v %s", err, out)
			}
			return restoreBin, nil, func() {}
		}, "bytes free on its file system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			prog, pre, undo := tc.setup(t, dir)
			t.Cleanup(undo) // also on failure: t.TempDir must be removable
			t.Cleanup(func() { exec.Command("umount", dir).Run() })
			r := restoreInto(dir, nil, prog, pre)
			if tc.name == "full disk" {
				// Keep what the tmpfs holds, then unmount it.
				keep := filepath.Join(t.TempDir(), "db")
				if out, err := exec.Command("cp", "-a", dir, keep).CombinedOutput(); err != nil {
					t.Fatalf("cp: %v %s", err, out)
				}
				exec.Command("umount", dir).Run()
				dir = keep
			}
			undo()
			if r.code != 1 || !strings.Contains(r.stderr, "target DB cannot be written") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want 1 and an error saying the target DB cannot be written (%s); stderr:\n%.3000s", r.code, tc.want, r.stderr)
			}
			if len(r.stderr) > 8<<10 {
				t.Errorf("stderr is %d bytes, want one error", len(r.stderr))
			}
			if r := restoreInto(dir, nil, restoreBin, nil); r.code != 0 {
				t.Fatalf("resume once writable: exit %d\n%s", r.code, r.stderr)
			}
			sameDBs(t, clean, dir)
		})
	}
}
