package harness_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/harness"
)

func TestNewMarker(t *testing.T) {
	tests := []struct {
		sub, wantSuffix string
	}{
		{"stall", ".stall"},
		{"", ".run"},
		{"TestX/sub case", ".TestX_sub_case"},
		{"a.b-c_d", ".a.b-c_d"},
	}
	pm := harness.ProcessMarker()
	if !strings.HasSuffix(pm, "/"+strconv.Itoa(os.Getpid())+".") {
		t.Errorf("ProcessMarker() = %q, want it to end in /<pid>.", pm)
	}
	if v := os.Getenv(harness.ReapedEnv); v != "" && !strings.HasPrefix(pm, v+"/") {
		t.Errorf("ProcessMarker() = %q, want prefix %s/ (the wrapper's run id)", pm, v)
	}
	for _, tt := range tests {
		r := harness.NewMarker(tt.sub)
		re := regexp.MustCompile(`^` + regexp.QuoteMeta(pm) + `\d+` + regexp.QuoteMeta(tt.wantSuffix) + `$`)
		if !re.MatchString(r.ID) {
			t.Errorf("NewMarker(%q).ID = %q, want match %s", tt.sub, r.ID, re)
		}
		if got, want := r.Env(), "LEAKGATE_RUN="+r.ID; got != want {
			t.Errorf("Env() = %q, want %q", got, want)
		}
	}
}

// No run id is a prefix of another, so prefix matching never mixes runs.
func TestRunIDsArePrefixFree(t *testing.T) {
	var ids []string
	for i := range 25 {
		ids = append(ids, harness.NewMarker(strings.Repeat("a", i%3)).ID)
	}
	for i, a := range ids {
		for j, b := range ids {
			if i != j && strings.HasPrefix(b, a) {
				t.Errorf("run id %q is a prefix of %q", a, b)
			}
		}
	}
}
