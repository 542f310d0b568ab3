package fakecli_test

import (
	"reflect"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
)

// TestParseAWSConfigForms: the argv helm-r2.yaml and helm-s3-public.yaml
// give aws (--endpoint-url after the subcommand, --no-sign-request and
// --no-progress after the URLs) parse as the plain forms do, and
// AWS_MAX_ATTEMPTS in the environment changes nothing (it is ignored).
func TestParseAWSConfigForms(t *testing.T) {
	const (
		chunk = "s3://bkt/e1/b1.1a2b/0-.chunk"
		meta  = "s3://bkt/e1/metadata/x.meta"
		moved = "s3://bkt/e1/metadata_backup/x.meta"
		r2    = "https://acct.r2.cloudflarestorage.com"
	)
	tests := []struct {
		config string
		args   []string
		plain  []string // the same command without the extra options
	}{
		{"helm-r2 open_for_read", []string{"s3", "cp", "--endpoint-url", r2, chunk, "-"}, []string{"s3", "cp", chunk, "-"}},
		{"helm-r2 create_for_write", []string{"s3", "cp", "--endpoint-url", r2, "-", chunk}, []string{"s3", "cp", "-", chunk}},
		{"helm-r2 list_metadata_files", []string{"s3", "ls", "--endpoint-url", r2, "s3://bkt/e1/metadata/"}, []string{"s3", "ls", "s3://bkt/e1/metadata/"}},
		{"helm-r2 backup_metadata_file", []string{"s3", "mv", "--endpoint-url", r2, meta, moved, "--no-progress"}, []string{"s3", "mv", meta, moved}},
		{"helm-s3-public open_for_read", []string{"s3", "cp", chunk, "-", "--no-sign-request"}, []string{"s3", "cp", chunk, "-"}},
		{"helm-s3-public save_metadata_line", []string{"s3", "cp", "-", meta, "--no-sign-request"}, []string{"s3", "cp", "-", meta}},
		{"helm-s3-public list_metadata_files", []string{"s3", "ls", "s3://bkt/e1/metadata/", "--no-sign-request"}, []string{"s3", "ls", "s3://bkt/e1/metadata/"}},
	}
	p := fakecli.Lookup("aws")
	env := func(k string) string {
		if k == "AWS_MAX_ATTEMPTS" {
			return "100"
		}
		return ""
	}
	for _, tt := range tests {
		got, err := p.Parse(tt.args, env)
		if err != nil {
			t.Errorf("%s: Parse(%q): %v", tt.config, tt.args, err)
			continue
		}
		want, err := p.Parse(tt.plain, noEnv)
		if err != nil {
			t.Fatalf("%s: Parse(%q): %v", tt.config, tt.plain, err)
		}
		if !reflect.DeepEqual(got, want) || got.Op == "" {
			t.Errorf("%s: Parse(%q)\n got %+v\nwant %+v", tt.config, tt.args, got, want)
		}
	}
}
