package fakecli

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The sed lines of azure.sample.yaml and helm-s5cmd-public.yaml (the latter
// is awsSed).
const azureSed = `s#; .*##;s#INFO: \(.*\.meta\)#metadata/\1#p`

// TestListingRenderNewStyles renders the azcopy and s5cmd listings of
// listingBucket and runs the configs' own sed lines on them.
func TestListingRenderNewStyles(t *testing.T) {
	b := listingBucket(t)
	utc := time.Date(2026, 11, 26, 14, 47, 6, 0, time.Local).UTC().Format("2006/01/02 15:04:05")
	tests := []struct {
		name    string
		l       Listing
		want    string
		found   bool
		sed     string
		wantSed string
	}{
		{
			"azure folder, recursive, byte order", Listing{Style: ListAzure, Dir: "b/e1/metadata"},
			"INFO: epoch_ending_0-9.meta;  Content Length: 10.00 B\n" +
				"INFO: epoch_ending_10-19.meta;  Content Length: 1.21 KiB\n" +
				"INFO: sub/inner.meta;  Content Length: 0.00 B\n",
			true, azureSed, "metadata/epoch_ending_0-9.meta\nmetadata/epoch_ending_10-19.meta\nmetadata/sub/inner.meta\n",
		},
		{
			"azure above the folder", Listing{Style: ListAzure, Dir: "b/e1"},
			"INFO: metadata/epoch_ending_0-9.meta;  Content Length: 10.00 B\n" +
				"INFO: metadata/epoch_ending_10-19.meta;  Content Length: 1.21 KiB\n" +
				"INFO: metadata/sub/inner.meta;  Content Length: 0.00 B\n" +
				"INFO: metadata_backup/old.meta;  Content Length: 0.00 B\n",
			true, "", "",
		},
		{"azure missing folder", Listing{Style: ListAzure, Dir: "b/e2/metadata"}, "", false, azureSed, ""},
		{"azure blob", Listing{Style: ListAzure, Dir: "b/e1/metadata/epoch_ending_0-9.meta"}, "", false, "", ""},
		{
			"s5cmd folder", Listing{Style: ListS5, Dir: "b/e1/metadata"},
			"                                 DIR sub/\n" +
				utc + "               10 epoch_ending_0-9.meta\n" +
				utc + "             1234 epoch_ending_10-19.meta\n",
			true, awsSed, "metadata/sub/\nmetadata/epoch_ending_0-9.meta\nmetadata/epoch_ending_10-19.meta\n",
		},
		{
			"s5cmd prefix", Listing{Style: ListS5, Dir: "b/e1", Prefix: "metadata_"},
			"                                 DIR metadata_backup/\n", true, "", "",
		},
		{"s5cmd missing folder", Listing{Style: ListS5, Dir: "b/e2/metadata"}, "", false, awsSed, ""},
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

// TestS5ListingShape checks the columns against s5cmd's format string
// "%19s %1s %-1s %12s %s": a 19-character time, two empty one-character
// columns (storage class, ETag), a size right-aligned in 12, the name.
func TestS5ListingShape(t *testing.T) {
	b := listingBucket(t)
	out, _, err := Listing{Style: ListS5, Dir: "b/e1/metadata"}.render(b)
	if err != nil {
		t.Fatal(err)
	}
	obj := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d {5}[ \d]{12} \S+$`)
	dir := regexp.MustCompile(`^ {24} {9}DIR \S+/$`)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines: %q", len(lines), out)
	}
	for _, line := range lines {
		if !obj.MatchString(line) && !dir.MatchString(line) {
			t.Errorf("line %q is not shaped like s5cmd ls output", line)
		}
	}
}

func TestAzcopySize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0.00 B"}, {1023, "1023.00 B"}, {1024, "1.00 KiB"}, {1234, "1.21 KiB"},
		{5 << 20, "5.00 MiB"}, {3 << 30, "3.00 GiB"}, {1 << 62, "4.00 EiB"},
	}
	for _, tt := range tests {
		if got := azcopySize(tt.n); got != tt.want {
			t.Errorf("azcopySize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
