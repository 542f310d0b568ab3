package fakecli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The shipped configs' sed lines that turn ls output into metadata handles.
const (
	awsSed = `s#.* \(.*\)#metadata/\1#p`
	gsSed  = `s#gs://.*/metadata/#metadata/#p`
)

// sed runs `sed -ne expr` on in, as the configs do.
func sed(t *testing.T, expr string, in []byte) string {
	t.Helper()
	cmd := exec.Command("sed", "-ne", expr)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sed -ne %q: %v", expr, err)
	}
	return string(out)
}

func listingBucket(t *testing.T) *Bucket {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"b/e1/metadata/epoch_ending_0-9.meta":   "0123456789",
		"b/e1/metadata/epoch_ending_10-19.meta": strings.Repeat("x", 1234),
		"b/e1/metadata/" + TempPrefix + "x-1":   "partial upload",
		"b/e1/metadata/sub/inner.meta":          "",
		"b/e1/metadata_backup/old.meta":         "",
	}
	mtime := time.Date(2026, 11, 26, 14, 47, 6, 0, time.Local)
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	b, err := OpenBucket(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListingRender(t *testing.T) {
	b := listingBucket(t)
	tests := []struct {
		name    string
		l       Listing
		want    string
		found   bool
		sed     string // config sed line to run on the output, if any
		wantSed string
	}{
		{
			"aws folder", Listing{Style: ListAWS, Dir: "b/e1/metadata"},
			"                           PRE sub/\n" +
				"2026-11-26 14:47:06         10 epoch_ending_0-9.meta\n" +
				"2026-11-26 14:47:06       1234 epoch_ending_10-19.meta\n",
			true, awsSed, "metadata/sub/\nmetadata/epoch_ending_0-9.meta\nmetadata/epoch_ending_10-19.meta\n",
		},
		{
			"aws prefix", Listing{Style: ListAWS, Dir: "b/e1", Prefix: "meta"},
			"                           PRE metadata/\n                           PRE metadata_backup/\n",
			true, "", "",
		},
		{"aws missing folder", Listing{Style: ListAWS, Dir: "b/e2/metadata"}, "", false, awsSed, ""},
		{"aws no match", Listing{Style: ListAWS, Dir: "b/e1", Prefix: "zzz"}, "", false, "", ""},
		{
			"gs folder", Listing{Style: ListGS, Dir: "b/e1/metadata", Show: "gs://b/e1/metadata/"},
			"gs://b/e1/metadata/epoch_ending_0-9.meta\ngs://b/e1/metadata/epoch_ending_10-19.meta\ngs://b/e1/metadata/sub/\n",
			true, gsSed, "metadata/epoch_ending_0-9.meta\nmetadata/epoch_ending_10-19.meta\nmetadata/sub/\n",
		},
		{
			"gs object", Listing{Style: ListGS, Dir: "b/e1/metadata/epoch_ending_0-9.meta", Show: "gs://b/e1/metadata/epoch_ending_0-9.meta/", Self: "gs://b/e1/metadata/epoch_ending_0-9.meta"},
			"gs://b/e1/metadata/epoch_ending_0-9.meta\n", true, gsSed, "metadata/epoch_ending_0-9.meta\n",
		},
		{"gs missing", Listing{Style: ListGS, Dir: "b/e9", Show: "gs://b/e9/"}, "", false, "", ""},
		{
			"plain", Listing{Style: ListPlain, Dir: "b/e1/metadata", Show: "metadata/"},
			"metadata/epoch_ending_0-9.meta\nmetadata/epoch_ending_10-19.meta\n", true, "", "",
		},
		{"plain only folders", Listing{Style: ListPlain, Dir: "b/e1", Show: "metadata/"}, "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, found, err := tt.l.render(b)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || found != tt.found {
				t.Errorf("render = %q, %v\nwant     %q, %v", out, found, tt.want, tt.found)
			}
			if tt.sed != "" {
				if got := sed(t, tt.sed, out); got != tt.wantSed {
					t.Errorf("sed -ne %q:\n got %q\nwant %q", tt.sed, got, tt.wantSed)
				}
			}
		})
	}
}

// TestAWSListingShape checks the column layout against the real CLI's: a
// 19-character timestamp, a size right-aligned in 10 columns, the name.
func TestAWSListingShape(t *testing.T) {
	b := listingBucket(t)
	out, _, err := Listing{Style: ListAWS, Dir: "b/e1/metadata"}.render(b)
	if err != nil {
		t.Fatal(err)
	}
	obj := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [ \d]{10} \S+$`)
	pre := regexp.MustCompile(`^ {27}PRE \S+/$`)
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if !obj.MatchString(line) && !pre.MatchString(line) {
			t.Errorf("line %q is not shaped like aws s3 ls output", line)
		}
	}
}

func TestListingRefusesEscape(t *testing.T) {
	b := listingBucket(t)
	_, _, err := Listing{Style: ListAWS, Dir: "b/../.."}.render(b)
	if err == nil || !strings.Contains(err.Error(), "resolves outside the bucket root") {
		t.Errorf("err = %v", err)
	}
}
