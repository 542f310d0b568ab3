package fakecli_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
)

func TestPersonas(t *testing.T) {
	got := fakecli.Personas()
	want := []string{"aws", "azcopy", "fakecli", "gcloud", "gsutil", "s5cmd"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Personas() = %v, want %v", got, want)
	}
	for _, name := range got {
		if p := fakecli.Lookup(name); p == nil || p.Name != name || p.Usage == "" || p.Parse == nil {
			t.Errorf("Lookup(%q) = %+v", name, p)
		}
	}
	if fakecli.Lookup("rclone") != nil {
		t.Error("Lookup(rclone) is not nil")
	}
}

func noEnv(string) string { return "" }

// parseCase is one command line a persona must parse into want.
type parseCase struct {
	name string            // what the case shows; "" if the argv says it
	args []string          // the persona's arguments
	env  map[string]string // the environment Parse sees; nil: empty
	want fakecli.Command
}

// checkParses runs persona's Parse on every case: each must succeed and
// give exactly want (reflect.DeepEqual, every field).
//
//	checkParses(t, "aws", []parseCase{{args: []string{"s3", "ls", "s3://b"}, want: …}})
func checkParses(t *testing.T, persona string, tests []parseCase) {
	t.Helper()
	p := fakecli.Lookup(persona)
	for _, tt := range tests {
		label := fmt.Sprintf("%s: Parse(%q)", persona, tt.args)
		if tt.name != "" {
			label = tt.name + ": " + label
		}
		got, err := p.Parse(tt.args, func(k string) string { return tt.env[k] })
		if err != nil {
			t.Errorf("%s: %v", label, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s\n got %+v\nwant %+v", label, got, tt.want)
		}
	}
}

func TestParseAWS(t *testing.T) {
	const notFound = `fatal error: An error occurred (404) when calling the HeadObject operation: Key "e1/x.chunk" does not exist`
	tests := []parseCase{
		{
			args: []string{"s3", "cp", "s3://b/e1/x.chunk", "-"},
			want: fakecli.Command{Op: faults.OpRead, Src: "s3://b/e1/x.chunk", Key: "b/e1/x.chunk", Handle: "b/e1/x.chunk", Missing: notFound},
		},
		{
			args: []string{"--endpoint-url", "http://r2", "s3", "cp", "--no-sign-request", "s3://b/e1/x.chunk", "-", "--region=eu"},
			want: fakecli.Command{Op: faults.OpRead, Src: "s3://b/e1/x.chunk", Key: "b/e1/x.chunk", Handle: "b/e1/x.chunk", Missing: notFound},
		},
		{
			args: []string{"s3", "cp", "-", "s3://velor-backup/backup1/e1/b.1a2b/0-.chunk", "--no-sign-request"},
			want: fakecli.Command{Op: faults.OpWrite, Src: "s3://velor-backup/backup1/e1/b.1a2b/0-.chunk", Key: "velor-backup/backup1/e1/b.1a2b/0-.chunk", Handle: "velor-backup/backup1/e1/b.1a2b/0-.chunk"},
		},
		{
			args: []string{"s3", "ls", "s3://b/e1/metadata/"},
			want: fakecli.Command{Op: faults.OpList, Src: "s3://b/e1/metadata/", List: fakecli.Listing{Style: fakecli.ListAWS, Dir: "b/e1/metadata", EmptyExit: 1}},
		},
		{
			args: []string{"s3", "ls", "s3://b/e1/meta", "--quiet"},
			want: fakecli.Command{Op: faults.OpList, Src: "s3://b/e1/meta", List: fakecli.Listing{Style: fakecli.ListAWS, Dir: "b/e1", Prefix: "meta", EmptyExit: 1}},
		},
		{
			args: []string{"s3", "ls", "s3://b"},
			want: fakecli.Command{Op: faults.OpList, Src: "s3://b", List: fakecli.Listing{Style: fakecli.ListAWS, Dir: "b", EmptyExit: 1}},
		},
		{
			args: []string{"s3", "mv", "s3://b/e1/metadata/x.meta", "s3://b/e1/metadata_backup/x.meta", "--no-progress"},
			want: fakecli.Command{Op: faults.OpMove, Src: "s3://b/e1/metadata/x.meta", Key: "b/e1/metadata/x.meta", Dst: "s3://b/e1/metadata_backup/x.meta", To: "b/e1/metadata_backup/x.meta",
				Handle: "b/e1/metadata/x.meta", Missing: strings.Replace(notFound, "x.chunk", "metadata/x.meta", 1),
				Moved: "move: s3://b/e1/metadata/x.meta to s3://b/e1/metadata_backup/x.meta\n"},
		},
		{
			args: []string{"--only-show-errors", "s3", "mv", "s3://b/k1", "s3://b/k2"},
			want: fakecli.Command{Op: faults.OpMove, Src: "s3://b/k1", Key: "b/k1", Dst: "s3://b/k2", To: "b/k2", Handle: "b/k1",
				Missing: `fatal error: An error occurred (404) when calling the HeadObject operation: Key "k1" does not exist`},
		},
	}
	checkParses(t, "aws", tests)
}

func TestParseGsutil(t *testing.T) {
	tests := []parseCase{
		{
			args: []string{"-q", "cp", "gs://b/e1/x.chunk", "-"},
			want: fakecli.Command{Op: faults.OpRead, Src: "gs://b/e1/x.chunk", Key: "b/e1/x.chunk", Handle: "b/e1/x.chunk", Missing: "CommandException: No URLs matched: gs://b/e1/x.chunk"},
		},
		{
			args: []string{"-qm", "cp", "-", "gs://b/e1/x.chunk"},
			want: fakecli.Command{Op: faults.OpWrite, Src: "gs://b/e1/x.chunk", Key: "b/e1/x.chunk", Handle: "b/e1/x.chunk"},
		},
		{
			args: []string{"-q", "ls", "gs://b/e1/metadata/"},
			want: fakecli.Command{Op: faults.OpList, Src: "gs://b/e1/metadata/", List: fakecli.Listing{Style: fakecli.ListGS, Dir: "b/e1/metadata", Show: "gs://b/e1/metadata/",
				Empty: "CommandException: One or more URLs matched no objects.", EmptyExit: 1}},
		},
		{
			args: []string{"ls", "gs://b/e1/x.meta"},
			want: fakecli.Command{Op: faults.OpList, Src: "gs://b/e1/x.meta", List: fakecli.Listing{Style: fakecli.ListGS, Dir: "b/e1/x.meta", Show: "gs://b/e1/x.meta/", Self: "gs://b/e1/x.meta",
				Empty: "CommandException: One or more URLs matched no objects.", EmptyExit: 1}},
		},
		{
			args: []string{"mv", "gs://b/m/x", "gs://b/mb/x"},
			want: fakecli.Command{Op: faults.OpMove, Src: "gs://b/m/x", Key: "b/m/x", Dst: "gs://b/mb/x", To: "b/mb/x", Handle: "b/m/x", Missing: "CommandException: No URLs matched: gs://b/m/x"},
		},
	}
	checkParses(t, "gsutil", tests)
}

func TestParsePlain(t *testing.T) {
	tests := []parseCase{
		{args: []string{"create_backup"}, env: map[string]string{"BACKUP_NAME": "b1.1a2b"},
			want: fakecli.Command{Op: faults.OpOther, Src: "b1.1a2b", Key: "b1.1a2b", Handle: "b1.1a2b", Mkdir: true, Exclusive: true, Announce: "b1.1a2b\n"}},
		{args: []string{"create_for_write"}, env: map[string]string{"BACKUP_HANDLE": "b1.1a2b/epoch_ending_0-", "FILE_NAME": "0-.chunk"},
			want: fakecli.Command{Op: faults.OpWrite, Src: "b1.1a2b/epoch_ending_0-/0-.chunk", Key: "b1.1a2b/epoch_ending_0-/0-.chunk", Handle: "b1.1a2b/epoch_ending_0-/0-.chunk",
				Exclusive: true, Announce: "b1.1a2b/epoch_ending_0-/0-.chunk\n"}},
		{args: []string{"open_for_read"}, env: map[string]string{"FILE_HANDLE": "b1.1a2b/x.chunk"},
			want: fakecli.Command{Op: faults.OpRead, Src: "b1.1a2b/x.chunk", Key: "b1.1a2b/x.chunk", Handle: "b1.1a2b/x.chunk", Missing: "open_for_read: no such object: b1.1a2b/x.chunk"}},
		{args: []string{"save_metadata_line"}, env: map[string]string{"FILE_NAME": "epoch_ending_0-9.meta"},
			want: fakecli.Command{Op: faults.OpWrite, Src: "metadata/epoch_ending_0-9.meta", Key: "metadata/epoch_ending_0-9.meta", Handle: "metadata/epoch_ending_0-9.meta", Announce: "metadata/epoch_ending_0-9.meta\n"}},
		{args: []string{"list_metadata_files"},
			want: fakecli.Command{Op: faults.OpList, Src: "metadata/", List: fakecli.Listing{Style: fakecli.ListPlain, Dir: "metadata", Show: "metadata/"}}},
		{args: []string{"backup_metadata_file"}, env: map[string]string{"FILE_NAME": "x.meta"},
			want: fakecli.Command{Op: faults.OpMove, Src: "metadata/x.meta", Key: "metadata/x.meta", Dst: "metadata_backup/x.meta", To: "metadata_backup/x.meta", Handle: "metadata/x.meta",
				Missing: "backup_metadata_file: no such object: metadata/x.meta"}},
	}
	checkParses(t, "fakecli", tests)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		persona string
		args    []string
		env     map[string]string
		want    string // the error's first line
		is      error
	}{
		{"aws", nil, nil, "only the s3 command is supported", nil},
		{"aws", []string{"s3"}, nil, "s3: missing subcommand (cp, ls or mv)", nil},
		{"aws", []string{"s3", "sync", "a", "b"}, nil, "s3 sync: unsupported subcommand (cp, ls or mv)", nil},
		{"aws", []string{"s3", "cp", "s3://b/k", "-", "--recursive"}, nil, `unknown option "--recursive"`, nil},
		{"aws", []string{"s3", "cp", "s3://b/k"}, nil, "s3 cp takes 2 arguments, got 1: s3://b/k", nil},
		{"aws", []string{"s3", "cp", "s3://b/k", "/tmp/x"}, nil, "s3 cp: exactly one side must be - (stdin or stdout) and the other an s3:// URL", nil},
		{"aws", []string{"s3", "cp", "gs://b/k", "-"}, nil, `"gs://b/k" is not a s3:// URL`, nil},
		{"aws", []string{"s3", "cp", "s3:///k", "-"}, nil, `"s3:///k": missing bucket name`, nil},
		{"aws", []string{"s3", "cp", "s3://b/dir/", "-"}, nil, `s3 cp: "s3://b/dir/" names a prefix, not an object`, nil},
		{"aws", []string{"s3", "ls"}, nil, "s3 ls: needs an s3:// URL (listing buckets is not supported)", nil},
		{"aws", []string{"--region"}, nil, "option --region needs a value", nil},
		{"aws", []string{"--quiet=yes", "s3", "ls", "s3://b"}, nil, `unknown option "--quiet=yes"`, nil},
		{"gsutil", []string{"-q"}, nil, "missing command (cp, ls or mv)", nil},
		{"gsutil", []string{"-x", "ls", "gs://b"}, nil, `unknown option "-x"`, nil},
		{"gsutil", []string{"ls", "-l", "gs://b"}, nil, `unknown option "-l"`, nil},
		{"gsutil", []string{"rsync", "a", "b"}, nil, "rsync: unsupported command (cp, ls or mv)", nil},
		{"gsutil", []string{"cp", "s3://b/k", "-"}, nil, `"s3://b/k" is not a gs:// URL`, nil},
		{"fakecli", nil, nil, "want exactly one operation, got 0 arguments", nil},
		{"fakecli", []string{"open_for_write"}, nil, `unknown operation "open_for_write" (known: backup_metadata_file, create_backup, create_for_write, list_metadata_files, open_for_read, save_metadata_line)`, nil},
		{"fakecli", []string{"create_backup"}, nil, "create_backup: BACKUP_NAME: parameter not set", fakecli.ErrMissingParam},
		{"fakecli", []string{"create_for_write"}, map[string]string{"FILE_NAME": "abc"}, "create_for_write: BACKUP_HANDLE: parameter not set", fakecli.ErrMissingParam},
		{"fakecli", []string{"create_for_write"}, map[string]string{"BACKUP_HANDLE": "b"}, "create_for_write: FILE_NAME: parameter not set", fakecli.ErrMissingParam},
		{"fakecli", []string{"open_for_read"}, nil, "open_for_read: FILE_HANDLE: parameter not set", fakecli.ErrMissingParam},
		{"fakecli", []string{"save_metadata_line"}, map[string]string{"FILE_NAME": "../x"}, `save_metadata_line: FILE_NAME="../x": name must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{2,126}$`, fakecli.ErrBadName},
		{"fakecli", []string{"create_backup"}, map[string]string{"BACKUP_NAME": "ab"}, `create_backup: BACKUP_NAME="ab": name must match`, fakecli.ErrBadName},
		{"fakecli", []string{"backup_metadata_file"}, map[string]string{"FILE_NAME": ".hidden"}, `backup_metadata_file: FILE_NAME=".hidden": name must match`, fakecli.ErrBadName},
	}
	for _, tt := range tests {
		p := fakecli.Lookup(tt.persona)
		_, err := p.Parse(tt.args, func(k string) string { return tt.env[k] })
		var ue *fakecli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%s %q: err = %v, want a *UsageError", tt.persona, tt.args, err)
			continue
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		if !strings.HasPrefix(first, tt.want) || ue.Persona != tt.persona {
			t.Errorf("%s %q: error %q (persona %q), want prefix %q", tt.persona, tt.args, first, ue.Persona, tt.want)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s %q: error %q does not say %q", tt.persona, tt.args, err, tt.is)
		}
	}
}
