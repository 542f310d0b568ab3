package reports

import (
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func TestSideBySide(t *testing.T) {
	passed := types.SpecStatePassed
	path := writeReport(t, []types.Report{{
		SuiteSucceeded: true,
		SpecReports: types.SpecReports{
			spec("go stall drop", passed, &Leaks{Children: 3, FDs: 1, Spawned: 40}, "fault:stall", "policy:drop", "config:s3"),
			spec("go stall kill", passed, &Leaks{Escaped: 2, Spawned: 40}, "fault:stall", "policy:kill", "config:s3"),
			spec("go stall killgroup", passed, &Leaks{Spawned: 40}, "fault:stall", "policy:killgroup", "config:s3"),
			spec("go corrupt drop", passed, &Leaks{Spawned: 40}, "fault:corrupt", "policy:drop", "config:s3"),
			// Another family's spec with the same three labels and one more: not a matrix cell.
			spec("backup stall drop", passed, &Leaks{Children: 9}, "backup", "fault:stall", "policy:drop", "config:s3"),
			spec("tokio stall shipped", passed, &Leaks{Children: 3, Spawned: 40}, "subject:tokio", "variant:shipped", "fault:stall", "config:s3"),
			spec("tokio stall audit-fix", passed, &Leaks{Children: 3, Spawned: 40}, "subject:tokio", "variant:audit-fix", "fault:stall", "config:s3"),
			spec("tokio stall kill-on-drop", passed, &Leaks{Escaped: 2, Spawned: 40}, "subject:tokio", "variant:kill-on-drop", "fault:stall", "config:s3"),
			spec("tokio stall group", passed, &Leaks{Spawned: 40}, "subject:tokio", "variant:group", "fault:stall", "config:s3"),
			spec("tokio corrupt shipped", passed, &Leaks{Children: 1, Spawned: 40}, "subject:tokio", "variant:shipped", "fault:corrupt", "config:s3"),
		},
	}})
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := Summary(r)
	for _, want := range []string{
		"## side by side: Go port vs tokio subject, config: s3\n\nEach cell reads `Go cell · subject cell · verdict`.",
		"not counts.\n\n| fault | Go drop · tokio shipped | Go kill · tokio audit-fix | Go kill · tokio kill-on-drop | Go killgroup · tokio group |\n",
		"| stall | ✓ 3/0/0/1 · 40 · ✓ 3/0/0/0 · 40 · same | ✓ 0/0/2/0 · 40 · ✓ 3/0/0/0 · 40 · DIFFERS | ✓ 0/0/2/0 · 40 · ✓ 0/0/2/0 · 40 · same | ✓ 0/0/0/0 · 40 · ✓ 0/0/0/0 · 40 · same |",
		"| corrupt | ✓ 0/0/0/0 · 40 · ✓ 1/0/0/0 · 40 · DIFFERS | – · – · – |",
		"2 cell(s) differ between the Go port and the tokio subject",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	if strings.Contains(sum, "tokio stall shipped:") {
		t.Errorf("a subject cell is listed among the other specs:\n%s", sum)
	}
}
