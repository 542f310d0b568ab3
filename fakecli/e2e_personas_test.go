package fakecli_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
)

// TestConfigsRoundTripNewPersonas runs the commands of the configs that use
// azcopy, s5cmd and gcloud through bash, as the restore does. Two shipped
// configs cannot save metadata as written: azure.sample.yaml's
// save_metadata_line names $SUBDIR (unset: bash fails under nounset before
// azcopy starts), and helm-s5cmd-public.yaml's runs `s5cmd pipe - URL
// --no-sign-request`, three arguments where s5cmd's pipe takes one. Each
// test shows that failure, then saves the metadata with the one command
// repaired (named in repair) and runs the rest unchanged, through the same
// runner as TestConfigsRoundTrip.
func TestConfigsRoundTripNewPersonas(t *testing.T) {
	t.Parallel()
	cloud := []string{"BUCKET=bkt", "SUB_DIR=e1"}
	tests := []configRoundTrip{
		{
			config: filepath.Join(aptosConfigs, "azure.sample.yaml"),
			prefix: "velor-backup/backup-1/e1/", persona: "azcopy",
			saveFails: `(?m)^bash: line \d+: SUBDIR: unbound variable$`,
			repair:    [2]string{`$SUBDIR/`, `$CONTAINER/$SUB_DIR/`},
			// the failed save never reached azcopy
		},
		{
			config: filepath.Join(aptosConfigs, "helm-s5cmd-public.yaml"), env: cloud,
			prefix: "bkt/e1/", persona: "s5cmd",
			saveFails: `(?m)^s5cmd: ERROR "pipe - s3://bkt/e1/metadata/epoch_ending_0-9\.meta --no-sign-request": expected destination argument$`,
			repair:    [2]string{`s5cmd pipe - "s3://$BUCKET/$SUB_DIR/$FILE_HANDLE" --no-sign-request`, `s5cmd --no-sign-request pipe "s3://$BUCKET/$SUB_DIR/$FILE_HANDLE"`},
			// the failed save is an invocation that never learnt its op,
			// ending with the usage error
			wantOps:   []string{"write", "other", "write", "write", "list", "read", "read", "move", "list"},
			usageCall: 2,
		},
		{
			name: "helm-gcs.yaml with gcloud storage", config: filepath.Join(aptosConfigs, "helm-gcs.yaml"), env: cloud,
			prefix: "bkt/e1/", persona: "gcloud",
			edit: func(c *adapterConfig) {
				for op, cmd := range c.Commands {
					cmd = strings.ReplaceAll(cmd, "gsutil -q ", "gcloud storage ")
					c.Commands[op] = strings.ReplaceAll(cmd, "gsutil mv ", "gcloud storage mv ")
				}
			},
		},
	}
	for _, rt := range tests {
		t.Run(rt.testName(), func(t *testing.T) {
			t.Parallel()
			runConfigRoundTrip(t, rt)
		})
	}
}

// TestNewPersonaFailures runs the configs' read and list commands against a
// bucket missing what they name: the pipeline fails (or, for a listing,
// yields nothing) with the real CLI's message, and the journal records the
// invocation with its op and handle.
func TestNewPersonaFailures(t *testing.T) {
	t.Parallel()
	cloud := []string{"BUCKET=bkt", "SUB_DIR=e1"}
	tests := []struct {
		config string
		env    []string
		op     string
		params map[string]string
		code   int    // the pipeline's exit status
		stderr string // regexp
		invOp  string // the CLI invocation's op in the journal
		handle string
		exit   int // the CLI's exit status
	}{
		{"azure.sample.yaml", nil, "open_for_read", map[string]string{"FILE_HANDLE": "b1.1a2b/none.chunk"}, 1,
			`^azcopy: failed to perform copy command due to error: fatal: cannot download blob due to error: GET https://velor-backup\.blob\.core\.windows\.net/backup-1/e1/b1\.1a2b/none\.chunk\n` +
				`azcopy: -{80}\nazcopy: RESPONSE 404: 404 The specified blob does not exist\.\nazcopy: ERROR CODE: BlobNotFound\nazcopy: -{80}\n` +
				`\ngzip: stdin: unexpected end of file\n$`, // gzip starts its message with a newline
			"read", "velor-backup/backup-1/e1/b1.1a2b/none.chunk", 1},
		{"azure.sample.yaml", nil, "list_metadata_files", nil, 0, `^$`, "list", "", 0},
		{"azure.sample.yaml", nil, "backup_metadata_file", map[string]string{"FILE_NAME": "x.meta"}, 1,
			`^azcopy: Cannot perform sync due to error: cannot find source to sync\n$`, "move", "velor-backup/backup-1/e1/metadata/x.meta", 1},
		{"helm-s5cmd-public.yaml", cloud, "open_for_read", map[string]string{"FILE_HANDLE": "b1.1a2b/none.chunk"}, 1,
			`^s5cmd: ERROR "cat s3://bkt/e1/b1\.1a2b/none\.chunk": given object s3://bkt/e1/b1\.1a2b/none\.chunk not found\n\ngzip: stdin: unexpected end of file\n$`,
			"read", "bkt/e1/b1.1a2b/none.chunk", 1},
		{"helm-s5cmd-public.yaml", cloud, "list_metadata_files", nil, 0,
			`^s5cmd: ERROR "ls s3://bkt/e1/metadata/": no object found\n$`, "list", "", 1},
		{"helm-s5cmd-public.yaml", cloud, "backup_metadata_file", map[string]string{"FILE_NAME": "x.meta"}, 1,
			`^s5cmd: ERROR "mv s3://bkt/e1/metadata/x\.meta s3://bkt/e1/metadata_backup/x\.meta": given object s3://bkt/e1/metadata/x\.meta not found\n$`,
			"move", "bkt/e1/metadata/x.meta", 1},
	}
	for _, tt := range tests {
		t.Run(tt.config+"/"+tt.op, func(t *testing.T) {
			t.Parallel()
			c := loadConfig(t, filepath.Join(aptosConfigs, tt.config))
			w := newWorld(t, tt.env...)
			r := w.command(c, tt.op, tt.params, nil)
			checkCode(t, tt.op, r, tt.code)
			if r.stdout != "" || !regexp.MustCompile(tt.stderr).MatchString(r.stderr) {
				t.Errorf("stdout %q\nstderr %q\nwant match %q", r.stdout, r.stderr, tt.stderr)
			}
			inv := w.last()
			if !inv.Ended || inv.Op != tt.invOp || inv.Handle != tt.handle || inv.Exit != tt.exit {
				t.Errorf("journal: %v; want op %s, handle %q, exit %d", inv, tt.invOp, tt.handle, tt.exit)
			}
		})
	}
}

// TestGcloudFailures: gcloud storage's messages for a missing object and
// an empty listing, run directly.
func TestGcloudFailures(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.run(nil, nil, "gcloud", "storage", "cp", "gs://b/e1/none", "-")
	checkCode(t, "cp", r, 1)
	if want := "gcloud: ERROR: (gcloud.storage.cp) The following URLs matched no objects or files:\ngcloud: -gs://b/e1/none\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if inv := w.last(); inv.Op != "read" || inv.Handle != "b/e1/none" || inv.Error != "ERROR: (gcloud.storage.cp) The following URLs matched no objects or files:" {
		t.Errorf("journal: %v", inv)
	}
	r = w.run(nil, nil, "gcloud", "storage", "ls", "gs://b/e1/metadata/")
	checkCode(t, "ls", r, 1)
	if want := "gcloud: ERROR: (gcloud.storage.ls) One or more URLs matched no objects.\n"; r.stderr != want || r.stdout != "" {
		t.Errorf("stdout %q, stderr %q, want %q", r.stdout, r.stderr, want)
	}
	r = w.run(nil, nil, "gcloud", "storage", "mv", "gs://b/e1/none", "gs://b/e1/none2")
	checkCode(t, "mv", r, 1)
	if !strings.HasPrefix(r.stderr, "gcloud: ERROR: (gcloud.storage.mv) The following URLs matched no objects or files:\n") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// TestNewPersonaFaults: a fault plan matches the new personas' invocations
// by op and bucket-relative handle, as it does the others': a truncated
// read through azure's open_for_read pipeline, an exit on s5cmd's listing
// and on gcloud's upload.
func TestNewPersonaFaults(t *testing.T) {
	t.Parallel()
	chunk := records(4, 1000, 3)
	tests := []struct {
		name   string
		argv   []string // run directly, or nil to run config's op through bash
		config string
		env    []string
		op     string
		params map[string]string
		put    string // object to store (gzip'ed chunk) first
		spec   string
		code   int
		check  func(t *testing.T, r result)
		fault  string // the journal's record of the rule (canonical text)
	}{
		{
			name: "azcopy read, truncated", config: "azure.sample.yaml", op: "open_for_read",
			params: map[string]string{"FILE_HANDLE": "b1.1a2b/0-.chunk"}, put: "velor-backup/backup-1/e1/b1.1a2b/0-.chunk",
			spec: `truncate record=3 on="velor-backup/backup-1/e1/*"`, code: 0,
			check: func(t *testing.T, r result) {
				if recs, rest := splitRecords([]byte(r.stdout)); len(recs) != 2 || len(rest) == 0 {
					t.Errorf("got %d whole records and %d bytes after them, want 2 and a partial third", len(recs), len(rest))
				}
			},
			fault: `truncate record=3 on=velor-backup/backup-1/e1/*`,
		},
		{
			name: "s5cmd list, exit", config: "helm-s5cmd-public.yaml", env: []string{"BUCKET=bkt", "SUB_DIR=e1"}, op: "list_metadata_files",
			put: "bkt/e1/metadata/x.meta", spec: "exit code=9 after=none op=list", code: 0, // the config's `||:` swallows it
			check: func(t *testing.T, r result) {
				if r.stdout != "" {
					t.Errorf("stdout %q: exit after=none lists nothing", r.stdout)
				}
			},
			fault: "exit code=9 after=none op=list",
		},
		{
			name: "gcloud write, exit", argv: []string{"gcloud", "storage", "cp", "-", "gs://b/e1/x.chunk"},
			spec: `exit code=4 after=none op=write on="b/e1/x.chunk"`, code: 4,
			fault: "exit code=4 after=none on=b/e1/x.chunk op=write",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, append([]string{fakecli.EnvFaults + "=" + tt.spec}, tt.env...)...)
			if tt.put != "" {
				w.put(tt.put, gz(t, chunk))
			}
			var r result
			if tt.argv != nil {
				r = w.run(chunk, nil, tt.argv[0], tt.argv[1:]...)
			} else {
				r = w.command(loadConfig(t, filepath.Join(aptosConfigs, tt.config)), tt.op, tt.params, nil)
			}
			checkCode(t, tt.name, r, tt.code)
			if tt.check != nil {
				tt.check(t, r)
			}
			if inv := w.last(); inv.Fault != tt.fault {
				t.Errorf("journal: %v, want fault %q", inv, tt.fault)
			}
		})
	}
}
