package fakecli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
)

// TestCLIErrors runs the binary with bad argv, parameters and set-up, and
// checks exit status, stderr and the journal's record of it.
func TestCLIErrors(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	plan := filepath.Join(tmp, "plan.txt")
	if err := os.WriteFile(plan, []byte("# plan\nexit code=6\nstall fro=1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(tmp, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		argv    []string // argv[0] is a persona name in binDir
		code    int
		stderr  string // regexp
		journal bool   // the invocation is journaled
	}{
		{"unknown persona", nil, []string{"fakecli.bin", "s3", "ls"}, 2,
			`^fakecli.bin: unknown persona "fakecli.bin" \(argv\[0\]\); fakecli can be: aws, azcopy, fakecli, gcloud, gsutil, s5cmd\n$`, true},
		{"aws bad option", nil, []string{"aws", "s3", "cp", "--recursive", "s3://b/k", "-"}, 2,
			`^aws: unknown option "--recursive"\naws: usage: aws \[--endpoint-url URL\]`, true},
		{"gsutil bad command", nil, []string{"gsutil", "rsync", "gs://b/x", "gs://b/y"}, 2,
			`^gsutil: rsync: unsupported command \(cp, ls or mv\)\ngsutil: usage: gsutil`, true},
		{"missing parameter", nil, []string{"fakecli", "create_backup"}, 2,
			`^fakecli: create_backup: BACKUP_NAME: parameter not set\n`, true},
		{"bad name", []string{"FILE_NAME=a/b"}, []string{"fakecli", "save_metadata_line"}, 2,
			`^fakecli: save_metadata_line: FILE_NAME="a/b": name must match`, true},
		{"bucket unset", []string{fakecli.EnvBucket + "="}, []string{"aws", "s3", "ls", "s3://b/"}, 2,
			`^aws: LEAKGATE_BUCKET is not set: bucket root must be an existing directory\n$`, true},
		{"bucket not a folder", []string{fakecli.EnvBucket + "=" + notDir}, []string{"gsutil", "ls", "gs://b/"}, 2,
			`^gsutil: LEAKGATE_BUCKET=.*/file: not a directory: bucket root must be an existing directory\n$`, true},
		{"escape read", nil, []string{"aws", "s3", "cp", "s3://b/../../etc/passwd", "-"}, 2,
			`^aws: s3://b/\.\./\.\./etc/passwd: key "b/\.\./\.\./etc/passwd": "\.\." component: resolves outside the bucket root\n$`, true},
		{"escape write", nil, []string{"gsutil", "cp", "-", "gs://b/../../tmp/x"}, 2,
			`^gsutil: gs://b/\.\./\.\./tmp/x: key "b/\.\./\.\./tmp/x": "\.\." component: resolves outside the bucket root\n$`, true},
		{"escape handle", []string{"FILE_HANDLE=/etc/passwd"}, []string{"fakecli", "open_for_read"}, 2,
			`^fakecli: /etc/passwd: key "/etc/passwd": absolute path: resolves outside the bucket root\n$`, true},
		{"escape move", nil, []string{"aws", "s3", "mv", "s3://b/k", "s3://b/../../x"}, 2,
			`^aws: s3://b/\.\./\.\./x: key "b/\.\./\.\./x": "\.\." component`, true},
		{"bad spec", []string{fakecli.EnvFaults + "=exit code=3; stal"}, []string{"aws", "s3", "ls", "s3://b/"}, 2,
			`^aws: LEAKGATE_FAULTS:1:14: unknown fault "stal" \(known: corrupt, exit, reset, slow, stall, status, truncate\)\n$`, true},
		{"bad plan file", []string{fakecli.EnvFaultPlan + "=" + plan}, []string{"aws", "s3", "ls", "s3://b/"}, 2,
			`^aws: .*/plan\.txt:3:7: stall: unknown key "fro"`, true},
		{"missing plan file", []string{fakecli.EnvFaultPlan + "=" + filepath.Join(tmp, "none")}, []string{"aws", "s3", "ls", "s3://b/"}, 2,
			`^aws: LEAKGATE_FAULT_PLAN: load fault plan: open .*/none: no such file or directory\n$`, true},
		{"bad stall cap", []string{fakecli.EnvStallCap + "=soon"}, []string{"aws", "s3", "ls", "s3://b/"}, 2,
			`^aws: LEAKGATE_STALL_CAP="soon": want a positive duration such as 10m or 30s\n$`, true},
		{"aws missing object", nil, []string{"aws", "s3", "cp", "s3://b/e1/none.chunk", "-"}, 1,
			`^aws: fatal error: An error occurred \(404\) when calling the HeadObject operation: Key "e1/none.chunk" does not exist\n$`, true},
		{"gsutil missing object", nil, []string{"gsutil", "-q", "cp", "gs://b/e1/none.chunk", "-"}, 1,
			`^gsutil: CommandException: No URLs matched: gs://b/e1/none.chunk\n$`, true},
		{"aws ls nothing", nil, []string{"aws", "s3", "ls", "s3://b/e1/metadata/"}, 1, `^$`, true},
		{"gsutil ls nothing", nil, []string{"gsutil", "-q", "ls", "gs://b/e1/metadata/"}, 1,
			`^gsutil: CommandException: One or more URLs matched no objects\.\n$`, true},
		{"plain list nothing", nil, []string{"fakecli", "list_metadata_files"}, 0, `^$`, true},
		{"move missing", []string{"FILE_NAME=x.meta"}, []string{"fakecli", "backup_metadata_file"}, 1,
			`^fakecli: backup_metadata_file: no such object: metadata/x\.meta\n$`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			r := w.run(nil, tt.env, tt.argv[0], tt.argv[1:]...)
			checkCode(t, strings.Join(tt.argv, " "), r, tt.code)
			if !regexp.MustCompile(tt.stderr).MatchString(r.stderr) {
				t.Errorf("stderr %q\nwant match %q", r.stderr, tt.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
			inv := w.last()
			if !inv.Ended || inv.Exit != tt.code || inv.Persona != tt.argv[0] {
				t.Errorf("journal: %v", inv)
			}
			if first, _, _ := strings.Cut(strings.TrimPrefix(r.stderr, tt.argv[0]+": "), "\n"); tt.code != 0 && inv.Error != first && r.stderr != "" {
				t.Errorf("journal error %q, want stderr's first line %q", inv.Error, first)
			}
		})
	}
}

// TestPlanOrder: LEAKGATE_FAULTS's rules come before the plan file's.
func TestPlanOrder(t *testing.T) {
	t.Parallel()
	plan := filepath.Join(t.TempDir(), "plan.txt")
	if err := os.WriteFile(plan, []byte("exit code=6 # from the file\nexit code=7 op=list\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, fakecli.EnvFaultPlan+"="+plan)
	w.put("b/k", []byte("x"))
	tests := []struct {
		spec  string
		args  []string
		code  int
		fault string
	}{
		{"exit code=5 on=b/k", []string{"s3", "cp", "s3://b/k", "-"}, 5, "exit code=5 on=b/k"},
		{"exit code=5 on=b/other", []string{"s3", "cp", "s3://b/k", "-"}, 6, "exit code=6"},
		{"", []string{"s3", "ls", "s3://b/"}, 7, "exit code=7 op=list"},
		{"", []string{"s3", "cp", "-", "s3://b/new"}, 0, ""},
	}
	for _, tt := range tests {
		r := w.run(nil, []string{fakecli.EnvFaults + "=" + tt.spec}, "aws", tt.args...)
		checkCode(t, tt.spec, r, tt.code)
		if inv := w.last(); inv.Fault != tt.fault || inv.Exit != tt.code {
			t.Errorf("%s: journal: %v", tt.spec, inv)
		}
	}
}

// TestEscapeThroughConfig: a FILE_HANDLE that climbs out of the bucket is
// refused by aws (exit 2, naming the URL) inside the s3 config's pipeline.
func TestEscapeThroughConfig(t *testing.T) {
	t.Parallel()
	c := loadConfig(t, filepath.Join(aptosConfigs, "s3.sample.yaml"))
	w := newWorld(t)
	r := w.command(c, "open_for_read", map[string]string{"FILE_HANDLE": "../../../../etc/passwd"}, nil)
	if r.code == 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, `aws: s3://velor-backup/backup1/e1/../../../../etc/passwd: key "velor-backup/backup1/e1/../../../../etc/passwd": ".." component: resolves outside the bucket root`) {
		t.Errorf("stderr: %s", r.stderr)
	}
	if inv := w.last(); inv.Exit != 2 {
		t.Errorf("journal: %v", inv)
	}
}

// TestCreateForWriteRefusesExisting: the plain protocol never replaces an
// object (and says so before printing a handle).
func TestCreateForWriteRefusesExisting(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.put("b1.1a2b/0-.chunk", []byte("old"))
	r := w.run([]byte("new"), []string{"BACKUP_HANDLE=b1.1a2b", "FILE_NAME=0-.chunk"}, "fakecli", "create_for_write")
	checkCode(t, "create_for_write", r, 1)
	if r.stdout != "" || string(w.get("b1.1a2b/0-.chunk")) != "old" || !strings.Contains(r.stderr, "fakecli: b1.1a2b/0-.chunk: object already exists") {
		t.Errorf("stdout %q, stderr %q, object %q", r.stdout, r.stderr, w.get("b1.1a2b/0-.chunk"))
	}
	r = w.run(nil, []string{"BACKUP_NAME=b1.1a2b"}, "fakecli", "create_backup")
	checkCode(t, "create_backup of an existing folder", r, 1)
}

// TestBinaryArgvIsQuotedAndBounded: an argument of control bytes and
// invalid UTF-8, 64 KiB long, reaches stderr and the journal escaped and
// cut, never raw.
func TestBinaryArgvIsQuotedAndBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	junk := "\x1b[2J\xff\x01" + strings.Repeat("\xfe", 64<<10)
	for _, args := range [][]string{
		{"s3", junk},
		{"s3", "cp", "s3://b/" + junk, "-"},
		{"s3", "cp", "s3://b/../" + junk, "-"},
		{"--" + junk},
	} {
		r := w.run(nil, nil, "aws", args...)
		if r.code == 0 {
			t.Errorf("aws %.20q…: exit 0", args)
		}
		if len(r.stderr) > 4<<10+64 || strings.ContainsAny(r.stderr, "\x1b\x01") || !strings.Contains(r.stderr, `\x1b[2J\xff\x01`) {
			t.Errorf("aws %.20q…: stderr (%d bytes) %.300q; want the argument escaped and cut", args, len(r.stderr), r.stderr)
		}
		if inv := w.last(); len(inv.Error) > 4<<10+64 || strings.ContainsAny(inv.Error, "\x1b\x01") {
			t.Errorf("journal error (%d bytes) %.300q; want it escaped and cut", len(inv.Error), inv.Error)
		}
	}
}
