package fakecli_test

import (
	"errors"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
)

// The argv azure.sample.yaml gives azcopy, after bash's expansion with the
// config's env_vars (ACCOUNT=velor-backup, CONTAINER=backup-1, SUB_DIR=e1,
// SAS=?a=blah&b=blah&c=blah).
const (
	azBase    = "https://velor-backup.blob.core.windows.net/backup-1/e1/"
	azSAS     = "?a=blah&b=blah&c=blah"
	azKeyBase = "velor-backup/backup-1/e1/"
)

func TestParseAzcopy(t *testing.T) {
	chunk := "b1.1a2b/0-.chunk"
	tests := []parseCase{
		{
			name: "open_for_read", args: []string{"cp", "--from-to", "BlobPipe", azBase + chunk + azSAS},
			want: fakecli.Command{Op: faults.OpRead, Src: azBase + chunk, Key: azKeyBase + chunk, Handle: azKeyBase + chunk,
				Missing: "failed to perform copy command due to error: fatal: cannot download blob due to error: GET " + azBase + chunk + "\n" +
					"--------------------------------------------------------------------------------\n" +
					"RESPONSE 404: 404 The specified blob does not exist.\nERROR CODE: BlobNotFound\n" +
					"--------------------------------------------------------------------------------"},
		},
		{
			name: "create_for_write", args: []string{"cp", "--from-to", "PipeBlob", azBase + chunk + azSAS},
			want: fakecli.Command{Op: faults.OpWrite, Src: azBase + chunk, Key: azKeyBase + chunk, Handle: azKeyBase + chunk},
		},
		{
			name: "flags anywhere, with =", args: []string{"--log-level=ERROR", "cp", azBase + chunk, "--from-to=PipeBlob", "--overwrite", "true", "--put-md5"},
			want: fakecli.Command{Op: faults.OpWrite, Src: azBase + chunk, Key: azKeyBase + chunk, Handle: azKeyBase + chunk},
		},
		{
			name: "list_metadata_files", args: []string{"ls", azBase + "metadata/" + azSAS},
			want: fakecli.Command{Op: faults.OpList, Src: azBase + "metadata/", List: fakecli.Listing{Style: fakecli.ListAzure, Dir: azKeyBase + "metadata"}},
		},
		{
			name: "list alias", args: []string{"list", "https://a.blob.core.windows.net/c"},
			want: fakecli.Command{Op: faults.OpList, Src: "https://a.blob.core.windows.net/c", List: fakecli.Listing{Style: fakecli.ListAzure, Dir: "a/c"}},
		},
		{
			name: "backup_metadata_file", args: []string{"sync", azBase + "metadata/x.meta" + azSAS, azBase + "metadata_backup/x.meta" + azSAS, "--move=true"},
			want: fakecli.Command{Op: faults.OpMove, Src: azBase + "metadata/x.meta", Key: azKeyBase + "metadata/x.meta",
				Dst: azBase + "metadata_backup/x.meta", To: azKeyBase + "metadata_backup/x.meta", Handle: azKeyBase + "metadata/x.meta",
				Missing: "Cannot perform sync due to error: cannot find source to sync"},
		},
		{
			name: "sync --move before the URLs", args: []string{"sync", "--move", "https://a.blob.core.windows.net/c/k", "https://a.blob.core.windows.net/c/k2"},
			want: fakecli.Command{Op: faults.OpMove, Src: "https://a.blob.core.windows.net/c/k", Key: "a/c/k",
				Dst: "https://a.blob.core.windows.net/c/k2", To: "a/c/k2", Handle: "a/c/k",
				Missing: "Cannot perform sync due to error: cannot find source to sync"},
		},
	}
	checkParses(t, "azcopy", tests)
}

func TestParseAzcopyErrors(t *testing.T) {
	u := "https://a.blob.core.windows.net/c/k"
	tests := []struct {
		args []string
		want string // the error's first line
	}{
		{nil, "missing command (cp, ls or sync)"},
		{[]string{"rm", u}, "rm: unsupported command (cp, ls or sync)"},
		{[]string{"cp", u}, "fatal: from-to argument required, PipeBlob (upload) or BlobPipe (download) is acceptable"},
		{[]string{"cp", "--from-to", "BlobLocal", u}, "fatal: invalid from-to argument passed: BlobLocal"},
		{[]string{"cp", "--from-to", "BlobPipe", u, "/tmp/x"}, "cp: fakecli's azcopy only pipes (one URL and --from-to BlobPipe or PipeBlob), got 2 arguments"},
		{[]string{"cp", "--from-to"}, "Error: flag needs an argument: --from-to"},
		{[]string{"cp", "--from-to", "BlobPipe", u, "--recursive=maybe"}, `Error: invalid argument "maybe" for "--recursive" flag: want true or false`},
		{[]string{"cp", "--from-to", "BlobPipe", u, "--move=true"}, "Error: unknown flag: --move"},
		{[]string{"ls", u, "--machine-readable"}, "Error: unknown flag: --machine-readable"},
		{[]string{"cp", "-r", u}, `Error: unknown shorthand flag: "r" in -r`},
		{[]string{"cp", "--from-to", "BlobPipe", u + "/"}, `cp: "https://a.blob.core.windows.net/c/k/" names a directory, not a blob`},
		{[]string{"cp", "--from-to", "BlobPipe", "http://a.blob.core.windows.net/c/k"}, `"http://a.blob.core.windows.net/c/k" is not an https:// blob URL`},
		{[]string{"cp", "--from-to", "BlobPipe", "https://a.file.core.windows.net/c/k"}, `"https://a.file.core.windows.net/c/k": host "a.file.core.windows.net" is not ACCOUNT.blob.core.windows.net`},
		{[]string{"cp", "--from-to", "BlobPipe", "https://.blob.core.windows.net/c/k"}, `"https://.blob.core.windows.net/c/k": host ".blob.core.windows.net" is not ACCOUNT.blob.core.windows.net`},
		{[]string{"ls", "https://a.blob.core.windows.net/?sas"}, `"https://a.blob.core.windows.net/": missing container name`},
		{[]string{"ls"}, "this command only requires container destination"},
		{[]string{"sync", u, u + "2"}, "sync: fakecli's azcopy only syncs a single blob with --move=true"},
		{[]string{"sync", u, u + "2", "--move=false"}, "sync: fakecli's azcopy only syncs a single blob with --move=true"},
		{[]string{"sync", u, "--move=true"}, "2 arguments source and destination are required for this command. Number of commands passed 1"},
		{[]string{"sync", u + "/", u + "2/", "--move=true"}, "sync: fakecli's azcopy only syncs a single blob, not a directory"},
	}
	checkUsageErrors(t, "azcopy", tests)
}

// checkUsageErrors runs persona's Parse on each argv and checks that it
// fails with a *UsageError whose first line starts with want.
func checkUsageErrors(t *testing.T, persona string, tests []struct {
	args []string
	want string
}) {
	t.Helper()
	p := fakecli.Lookup(persona)
	for _, tt := range tests {
		_, err := p.Parse(tt.args, noEnv)
		checkUsageError(t, persona, tt.args, err, tt.want)
	}
}

func checkUsageError(t *testing.T, persona string, args []string, err error, want string) {
	t.Helper()
	var ue *fakecli.UsageError
	if !errors.As(err, &ue) {
		t.Errorf("%s %q: err = %v, want a *UsageError", persona, args, err)
		return
	}
	if ue.Persona != persona || len(ue.Msg) < len(want) || ue.Msg[:len(want)] != want {
		t.Errorf("%s %q: error %q (persona %q), want prefix %q", persona, args, ue.Msg, ue.Persona, want)
	}
}
