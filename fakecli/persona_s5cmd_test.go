package fakecli_test

import (
	"testing"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
)

func TestParseS5cmd(t *testing.T) {
	const (
		chunk = "s3://bkt/e1/b1.1a2b/0-.chunk"
		key   = "bkt/e1/b1.1a2b/0-.chunk"
	)
	tests := []parseCase{ // argv as helm-s5cmd-public.yaml's commands give them (BUCKET=bkt, SUB_DIR=e1)
		{
			name: "open_for_read", args: []string{"--no-sign-request", "cat", chunk},
			want: fakecli.Command{Op: faults.OpRead, Src: chunk, Key: key, Handle: key, Missing: `ERROR "cat ` + chunk + `": given object ` + chunk + ` not found`},
		},
		{
			name: "create_for_write", args: []string{"pipe", chunk},
			want: fakecli.Command{Op: faults.OpWrite, Src: chunk, Key: key, Handle: key},
		},
		{
			name: "list_metadata_files", args: []string{"--no-sign-request", "ls", "s3://bkt/e1/metadata/"},
			want: fakecli.Command{Op: faults.OpList, Src: "s3://bkt/e1/metadata/", List: fakecli.Listing{Style: fakecli.ListS5, Dir: "bkt/e1/metadata",
				Empty: `ERROR "ls s3://bkt/e1/metadata/": no object found`, EmptyExit: 1}},
		},
		{
			name: "backup_metadata_file", args: []string{"--no-sign-request", "mv", "s3://bkt/e1/metadata/x.meta", "s3://bkt/e1/metadata_backup/x.meta"},
			want: fakecli.Command{Op: faults.OpMove, Src: "s3://bkt/e1/metadata/x.meta", Key: "bkt/e1/metadata/x.meta",
				Dst: "s3://bkt/e1/metadata_backup/x.meta", To: "bkt/e1/metadata_backup/x.meta", Handle: "bkt/e1/metadata/x.meta",
				Missing: `ERROR "mv s3://bkt/e1/metadata/x.meta s3://bkt/e1/metadata_backup/x.meta": given object s3://bkt/e1/metadata/x.meta not found`,
				Moved:   "mv s3://bkt/e1/metadata/x.meta s3://bkt/e1/metadata_backup/x.meta\n"},
		},
		{
			name: "global flags in Go's spellings", args: []string{"-no-sign-request", "--endpoint-url=https://r2.invalid", "-r", "3", "--log", "error", "ls", "s3://bkt/e1/meta"},
			want: fakecli.Command{Op: faults.OpList, Src: "s3://bkt/e1/meta", List: fakecli.Listing{Style: fakecli.ListS5, Dir: "bkt/e1", Prefix: "meta",
				Empty: `ERROR "ls s3://bkt/e1/meta": no object found`, EmptyExit: 1}},
		},
		{
			name: "subcommand flags before the argument", args: []string{"pipe", "--content-type", "application/gzip", "-c=4", "--raw", chunk},
			want: fakecli.Command{Op: faults.OpWrite, Src: chunk, Key: key, Handle: key},
		},
		{
			name: "-- ends the flags", args: []string{"cat", "--", chunk},
			want: fakecli.Command{Op: faults.OpRead, Src: chunk, Key: key, Handle: key, Missing: `ERROR "cat ` + chunk + `": given object ` + chunk + ` not found`},
		},
		{
			name: "ls of a bucket", args: []string{"ls", "s3://bkt"},
			want: fakecli.Command{Op: faults.OpList, Src: "s3://bkt", List: fakecli.Listing{Style: fakecli.ListS5, Dir: "bkt",
				Empty: `ERROR "ls s3://bkt": no object found`, EmptyExit: 1}},
		},
	}
	checkParses(t, "s5cmd", tests)
}

func TestParseS5cmdErrors(t *testing.T) {
	const k = "s3://bkt/e1/metadata/x.meta"
	tests := []struct {
		args []string
		want string
	}{
		// helm-s5cmd-public.yaml's save_metadata_line, exactly: "-" and the
		// trailing flag are arguments to urfave/cli, so pipe gets three.
		{[]string{"pipe", "-", k, "--no-sign-request"}, `ERROR "pipe - ` + k + ` --no-sign-request": expected destination argument`},
		{[]string{"pipe", "-", k}, `ERROR "pipe - ` + k + `": expected destination argument`},
		{[]string{"pipe", k, "--no-sign-request"}, `ERROR "pipe ` + k + ` --no-sign-request": expected destination argument`},
		// A global flag after the subcommand is the subcommand's, which
		// does not know it.
		{[]string{"cat", "--no-sign-request", k}, "Incorrect Usage: flag provided but not defined: -no-sign-request"},
		{[]string{"--bogus", "ls", k}, "Incorrect Usage: flag provided but not defined: -bogus"},
		{[]string{"--numworkers"}, "Incorrect Usage: flag needs an argument: -numworkers"},
		{[]string{"--no-sign-request=yes", "ls", k}, `Incorrect Usage: invalid boolean value "yes" for -no-sign-request`},
		{[]string{"--endpoint-url", "r2.invalid", "ls", k}, "ERROR bad value for --endpoint-url r2.invalid: scheme is missing."},
		{[]string{"--no-sign-request", "--profile", "p", "ls", k}, `ERROR "no-sign-request" and "profile" flags cannot be used together`},
		{[]string{"--no-sign-request"}, "missing command (cat, ls, mv or pipe)"},
		{[]string{"cp", k, "/tmp/x"}, `ERROR "cp": command not found`},
		{[]string{"cat", k, k}, `ERROR "cat ` + k + " " + k + `": expected only one argument`},
		{[]string{"cat", "/tmp/x"}, `ERROR "cat /tmp/x": source must be a remote object`},
		{[]string{"cat", "s3://bkt/e1/"}, `ERROR "cat s3://bkt/e1/": remote source must be an object`},
		{[]string{"cat", "s3://bkt"}, `ERROR "cat s3://bkt": remote source must be an object`},
		{[]string{"cat", "s3://bkt/e1/*.meta"}, `ERROR "cat s3://bkt/e1/*.meta": remote source "s3://bkt/e1/*.meta" can not contain glob characters`},
		{[]string{"pipe", "s3://bkt/e1/"}, `ERROR "pipe s3://bkt/e1/": target "s3://bkt/e1/" must be an object`},
		{[]string{"pipe", "/tmp/x"}, `ERROR "pipe /tmp/x": destination must be a bucket`},
		{[]string{"ls"}, "ls: listing buckets is not supported by fakecli"},
		{[]string{"ls", k, k}, `ERROR "ls ` + k + " " + k + `": expected only 1 argument`},
		{[]string{"ls", "s3://bkt/e1/*"}, "ls: wildcards are not supported by fakecli: s3://bkt/e1/*"},
		{[]string{"ls", "gs://bkt/e1/"}, `"gs://bkt/e1/" is not a s3:// URL`},
		{[]string{"mv", k}, `ERROR "mv ` + k + `": expected source and destination arguments`},
		{[]string{"mv", "--raw=true", k, "s3://bkt/e1/"}, `ERROR "mv --raw=true ` + k + ` s3://bkt/e1/": target "s3://bkt/e1/" must be an object`},
	}
	checkUsageErrors(t, "s5cmd", tests)
}
