package adapter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Policy says what closing a Reader before EOF (or aborting a Writer before
// its shutdown) does to the child it owns. The zero value is Drop, the
// shipped behaviour. See the package documentation for the precise effect of
// each on bash, its pipeline (grandchildren), our pipe ends and the pidfd.
//
//	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}
type Policy int

const (
	// Drop is backup-cli as shipped (Rust/tokio drop of a Child): close our
	// pipe ends, do not kill, reap bash in the background once it exits.
	Drop Policy = iota
	// Abandon is a naive Go port: do nothing at all (no close, no kill, no
	// wait); fds and pidfd stay open until the garbage collector finalizes
	// them and an exited child stays a zombie.
	Abandon
	// Kill is the audit's proposed fix: SIGKILL bash, close our pipe ends,
	// reap bash. Grandchildren (storage CLI, gzip) are not touched.
	Kill
	// KillGroup is the fix of docs/backup-cli.md#fix: every child runs in its own
	// process group; close SIGKILLs the group, closes our pipe ends, reaps
	// bash and waits until the group is empty (bounded by Adapter.WaitDelay).
	KillGroup
)

// SeededDefect is a test-only hook for `leakgate explore`'s seeded
// defects: nil except in bin/restore run with LEAKGATE_SEEDED_DEFECT (see
// cmd/restore/seeded.go), set once before any call. Fault hears of every
// child that ended with a failure and every read that timed out; Forget is
// asked whenever KillGroup closes a child early, and true makes that close
// act as Abandon: the child and its group are left as they are.
var SeededDefect interface {
	Fault()
	Forget() bool
}

// seededFault tells SeededDefect, if set, of a fault.
func seededFault() {
	if SeededDefect != nil {
		SeededDefect.Fault()
	}
}

// policyNames is indexed by Policy.
var policyNames = [...]string{Drop: "drop", Abandon: "abandon", Kill: "kill", KillGroup: "killgroup"}

// ErrUnknownPolicy is matched (errors.Is) by ParsePolicy's error for a name
// it does not know, and by operations run with an out-of-range Policy.
var ErrUnknownPolicy = errors.New("unknown cleanup policy")

// Policies returns every policy in declaration order: Drop, Abandon, Kill,
// KillGroup. The slice is new on each call.
//
//	for _, p := range adapter.Policies() { … }
func Policies() []Policy { return []Policy{Drop, Abandon, Kill, KillGroup} }

// String returns the policy's name as ParsePolicy accepts it ("drop",
// "abandon", "kill", "killgroup"), or "Policy(N)" for an invalid value.
func (p Policy) String() string {
	if p.valid() {
		return policyNames[p]
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}

func (p Policy) valid() bool { return p >= 0 && int(p) < len(policyNames) }

// ParsePolicy parses a policy name: "drop", "abandon", "kill" or "killgroup"
// (ASCII case and surrounding spaces are ignored). An unknown name is an
// error matching ErrUnknownPolicy that lists the known names.
//
//	p, err := adapter.ParsePolicy("killgroup") // adapter.KillGroup
func ParsePolicy(s string) (Policy, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, p := range Policies() {
		if p.String() == name {
			return p, nil
		}
	}
	known := make([]string, 0, len(policyNames))
	for _, p := range Policies() {
		known = append(known, p.String())
	}
	return 0, fmt.Errorf("%w %q (known: %s)", ErrUnknownPolicy, s, strings.Join(known, ", "))
}
