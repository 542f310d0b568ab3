package scenarios_test

import (
	"fmt"
	"os"
	"sync"

	. "github.com/onsi/ginkgo/v2"
)

// optionalPart is a family of specs that needs something beyond Go (the
// real CLIs, the realworld programs, the tokio subject): elsewhere its
// specs skip and say why, and under its variable set to "require" (as
// .ci/run sets it) they fail instead.
type optionalPart struct {
	what   string // what is needed, for the failure: "the real CLIs"
	env    string // the variable; "require" makes a missing part fail
	family string // the family, for the skip: "real-cli"
	loud   sync.Once
}

// require skips the current spec if missing is not "" (the first skip of
// each test process also says why in a report entry every report shows),
// or fails it under o.env=require.
//
//	realPart.require(t.missing)
func (o *optionalPart) require(missing string) {
	if missing == "" {
		return
	}
	if os.Getenv(o.env) == "require" {
		Fail(fmt.Sprintf("%s required (%s=require) but %s", o.what, o.env, missing))
	}
	msg := fmt.Sprintf("every %s spec is skipped: %s", o.family, missing)
	o.loud.Do(func() { AddReportEntry(o.family+" skipped", msg, ReportEntryVisibilityAlways) })
	Skip(msg)
}

// notExecutable lists the paths that are not an executable file, for an
// optional part's missing reason.
//
//	missing := notExecutable("/usr/bin/aws", "/usr/bin/curl")
func notExecutable(paths ...string) []string {
	var missing []string
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	return missing
}
