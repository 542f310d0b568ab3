package fakecli_test

import (
	"testing"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
)

func TestParseGcloud(t *testing.T) {
	const noMatch = "The following URLs matched no objects or files:\n-"
	tests := []parseCase{
		{
			args: []string{"storage", "cp", "gs://b/e1/x.chunk", "-"},
			want: fakecli.Command{Op: faults.OpRead, Src: "gs://b/e1/x.chunk", Key: "b/e1/x.chunk", Handle: "b/e1/x.chunk",
				Missing: "ERROR: (gcloud.storage.cp) " + noMatch + "gs://b/e1/x.chunk"},
		},
		{
			args: []string{"-q", "storage", "cp", "-", "gs://b/e1/x.chunk", "--verbosity=error", "--project", "p1"},
			want: fakecli.Command{Op: faults.OpWrite, Src: "gs://b/e1/x.chunk", Key: "b/e1/x.chunk", Handle: "b/e1/x.chunk"},
		},
		{
			args: []string{"storage", "ls", "--quiet", "gs://b/e1/metadata/"},
			want: fakecli.Command{Op: faults.OpList, Src: "gs://b/e1/metadata/", List: fakecli.Listing{Style: fakecli.ListGS, Dir: "b/e1/metadata", Show: "gs://b/e1/metadata/",
				Empty: "ERROR: (gcloud.storage.ls) One or more URLs matched no objects.", EmptyExit: 1}},
		},
		{
			args: []string{"storage", "ls", "gs://b/e1/x.meta"},
			want: fakecli.Command{Op: faults.OpList, Src: "gs://b/e1/x.meta", List: fakecli.Listing{Style: fakecli.ListGS, Dir: "b/e1/x.meta", Show: "gs://b/e1/x.meta/", Self: "gs://b/e1/x.meta",
				Empty: "ERROR: (gcloud.storage.ls) One or more URLs matched no objects.", EmptyExit: 1}},
		},
		{
			args: []string{"storage", "mv", "gs://b/m/x", "gs://b/mb/x", "--no-user-output-enabled"},
			want: fakecli.Command{Op: faults.OpMove, Src: "gs://b/m/x", Key: "b/m/x", Dst: "gs://b/mb/x", To: "b/mb/x", Handle: "b/m/x",
				Missing: "ERROR: (gcloud.storage.mv) " + noMatch + "gs://b/m/x"},
		},
	}
	checkParses(t, "gcloud", tests)
}

func TestParseGcloudErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "only the storage command group is supported"},
		{[]string{"compute", "ls"}, "only the storage command group is supported"},
		{[]string{"storage"}, "storage: missing command (cp, ls or mv)"},
		{[]string{"storage", "rsync", "gs://b/a", "gs://b/c"}, "storage rsync: unsupported command (cp, ls or mv)"},
		{[]string{"storage", "cp", "gs://b/k", "-", "--recursive"}, "ERROR: (gcloud.storage.cp) unrecognized arguments: --recursive"},
		{[]string{"--bogus", "storage", "ls", "gs://b/"}, "ERROR: (gcloud) unrecognized arguments: --bogus"},
		{[]string{"-q=1", "storage", "ls", "gs://b/"}, "ERROR: (gcloud) unrecognized arguments: -q=1"},
		{[]string{"storage", "ls", "gs://b/", "--project"}, "ERROR: (gcloud.storage.ls) argument --project: expected one argument"},
		{[]string{"storage", "cp", "gs://b/k"}, "storage cp takes 2 arguments, got 1: gs://b/k"},
		{[]string{"storage", "cp", "gs://b/k", "/tmp/x"}, "storage cp: exactly one side must be - (stdin or stdout) and the other a gs:// URL"},
		{[]string{"storage", "cp", "gs://b/dir/", "-"}, `storage cp: "gs://b/dir/" names a folder, not an object`},
		{[]string{"storage", "cp", "s3://b/k", "-"}, `"s3://b/k" is not a gs:// URL`},
		{[]string{"storage", "mv", "gs://b/k/", "gs://b/k2"}, "storage mv: folders are not supported: gs://b/k/ gs://b/k2"},
	}
	checkUsageErrors(t, "gcloud", tests)
}
