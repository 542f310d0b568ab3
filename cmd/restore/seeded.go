package main

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/db"
)

// envSeededDefect is the test-only switch that plants a known defect in
// bin/restore, so that `leakgate explore` can show it finds and shrinks
// it (package explore names it EnvSeededDefect). Unset, nothing here runs.
const envSeededDefect = "LEAKGATE_SEEDED_DEFECT"

// The seeded defects.
const (
	// defectForget: once two faults were seen (children that failed, reads
	// that timed out), the next child that killgroup closes early is
	// forgotten: neither killed nor reaped.
	defectForget = "killgroup-forgets-on-two-faults"
	// defectWrongRetry: a restore that fails on a read whose CLI exited 1
	// (what a CLI does once it gave up on a reset) leaves a mark beside the
	// target DB; the next restore into that DB, the retry, succeeds but
	// deletes its last ledger info.
	defectWrongRetry = "wrong-after-reset-retry"
)

// seeded reads the switch and installs the defect it names; an unknown
// value is a usage error.
func seeded() error {
	switch v := os.Getenv(envSeededDefect); v {
	case "":
	case defectForget:
		adapter.SeededDefect = &forgetter{}
	case defectWrongRetry:
	default:
		return fmt.Errorf("%w: %s: unknown seeded defect %q (known: %s, %s)", errUsage, envSeededDefect, v, defectForget, defectWrongRetry)
	}
	return nil
}

// forgetter is defectForget.
type forgetter struct {
	mu             sync.Mutex
	failed, forgot int
}

func (f *forgetter) Fault() {
	f.mu.Lock()
	f.failed++
	f.mu.Unlock()
}

func (f *forgetter) Forget() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed >= 2 && f.forgot == 0 {
		f.forgot++
		return true
	}
	return false
}

// afterRestore applies defectWrongRetry once a bootstrap-db into target
// has ended with err.
func afterRestore(target string, err error) error {
	if os.Getenv(envSeededDefect) != defectWrongRetry || target == "" {
		return err
	}
	mark := target + ".seeded-reset"
	var xe *adapter.ExitError
	if err != nil {
		if errors.As(err, &xe) && xe.Op == adapter.OpOpenForRead && xe.ExitCode == 1 {
			return errors.Join(err, os.WriteFile(mark, nil, 0o644))
		}
		return err
	}
	if _, serr := os.Stat(mark); serr != nil {
		return nil
	}
	return loseLastLedgerInfo(target)
}

// loseLastLedgerInfo deletes the latest epoch's ledger info from the DB.
func loseLastLedgerInfo(dir string) error {
	d, err := db.Open(dir, db.ReadOnly())
	if err != nil {
		return err
	}
	latest, ok := d.Latest()
	d.Close()
	if !ok {
		return nil
	}
	p, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		return err
	}
	defer p.Close()
	return p.Delete(db.LedgerInfoKey(latest.Epoch), pebble.Sync)
}

// quiet is a pebble logger that says nothing but fatal errors.
type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "restore: seeded defect: pebble: "+format+"\n", args...)
	os.Exit(1)
}
