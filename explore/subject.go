package explore

import (
	"context"
	"fmt"
	"strings"

	"github.com/leakgate/leakgate/faults"
)

// Subject is what a plan runs against: a command and the properties its
// runs must keep. Check runs p once, in the fresh folder dir (evidence goes
// there), and judges the run; an error means it could not be judged.
type Subject interface {
	// Name says what the subject is, with its parameters, on one line.
	Name() string
	// Space is what plans for it are drawn over.
	Space() Space
	// Check runs p once in dir and judges it.
	Check(ctx context.Context, p *faults.Plan, dir string) (Outcome, error)
	// Smaller lists simpler variants of the subject (fewer manifests, lower
	// concurrency), most drastic first; none for a fixed command.
	Smaller() []Subject
	// Flags are the `leakgate explore` flags that select this subject again.
	Flags() []string
}

// Property names: what a failing run broke.
const (
	PropLeak          = "leak"            // the gate found a leak under a policy that must not leak (or any leak, for CMD)
	PropUnexpected    = "unexpected-leak" // a leaky policy leaked where it cannot (see the package doc)
	PropTimeout       = "timeout"         // the run outlived its timeout
	PropDishonest     = "dishonest-exit"  // exit 0 with a wrong result
	PropUnnamed       = "unnamed-failure" // a non-zero exit whose message names no file
	PropResumeFailed  = "resume-failed"   // the resume without faults did not exit 0
	PropResumeWrong   = "resume-wrong"    // the resume exited 0 but its DB is not the clean restore's
	PropResumeLeak    = "resume-leak"     // the resume leaked under a policy that must not leak
	PropBackupBroken  = "backup-broken"   // a backup that exited 0 left a bucket that does not restore to the clean DB
	PropUnexpectedEnd = "bad-exit"        // a status the command never uses (a signal, a usage error under faults)
)

// Outcome is one judged run: the properties it broke (empty: it passed),
// each with a line of detail, and where its evidence is.
type Outcome struct {
	Broken   []Violation `json:"broken"`
	Exit     int         `json:"exit"` // the command's exit status (-1: a signal)
	Evidence string      `json:"evidence"`
	// Faulted lists the handles the run's faults hit (from its journal).
	Faulted []string `json:"faulted,omitempty"`
}

// Violation is one broken property.
type Violation struct {
	Property string `json:"property"`
	Detail   string `json:"detail"`
}

// Failed reports whether the run broke a property.
func (o Outcome) Failed() bool { return len(o.Broken) > 0 }

// breaks records a broken property.
func (o *Outcome) breaks(prop, format string, args ...any) {
	o.Broken = append(o.Broken, Violation{Property: prop, Detail: fmt.Sprintf(format, args...)})
}

// Properties lists the broken properties' names, comma-separated.
func (o Outcome) Properties() string {
	var names []string
	for _, v := range o.Broken {
		names = append(names, v.Property)
	}
	return strings.Join(names, ",")
}

// String is a one-line summary.
func (o Outcome) String() string {
	if !o.Failed() {
		return fmt.Sprintf("pass (exit %d)", o.Exit)
	}
	var parts []string
	for _, v := range o.Broken {
		parts = append(parts, v.Property+": "+v.Detail)
	}
	return strings.Join(parts, "; ")
}
