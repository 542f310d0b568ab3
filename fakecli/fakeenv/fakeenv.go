// Package fakeenv is what a launcher needs to run fakecli without linking
// it (the gate, leakgate explore): the environment variables fakecli reads,
// and the persona names to link to its binary:
//
//	err := fakeenv.LinkPersonas("bin/fakecli", dir)
//	env = append(env, "PATH="+dir+":"+os.Getenv("PATH"), fakeenv.Journal+"="+path)
//
// They are defined here and nowhere else; fakecli's EnvBucket, EnvFaults,
// EnvFaultPlan, EnvJournal and EnvStallCap are these. A leaf package: it
// imports only the standard library.
package fakeenv

import (
	"errors"
	"fmt"
)

const (
	// Bucket is the bucket root folder fakecli serves (required). Every
	// s3:// or gs:// URL and every plain-protocol handle resolves inside it.
	Bucket = "LEAKGATE_BUCKET"
	// Faults is fault spec text (the faults language); its rules come
	// before those of FaultPlan.
	Faults = "LEAKGATE_FAULTS"
	// FaultPlan is the path of a plan file in the same language.
	FaultPlan = "LEAKGATE_FAULT_PLAN"
	// Journal is the path of the journal file (see package journal);
	// unset means no journal and call number 0.
	Journal = "LEAKGATE_JOURNAL"
	// StallCap caps "for=forever" stalls, as a Go duration ("10m", "30s").
	StallCap = "LEAKGATE_STALL_CAP"
	// Hurry is the path of a file whose existence ends every pacing
	// ("slow"): a paced transfer sends its rest at once. Stalls are
	// unchanged.
	Hurry = "LEAKGATE_HURRY"
)

// MaxEnvEntry is the most bytes one environment entry ("NAME=value" and
// its terminating NUL) may hold for exec to accept it: Linux's
// MAX_ARG_STRLEN, 32 pages of 4 KiB. A longer entry makes every exec of
// the child fail with "argument list too long" (E2BIG).
const MaxEnvEntry = 32 * 4096

// ErrEnvTooBig is wrapped by CheckEnv for an entry exec would refuse.
var ErrEnvTooBig = errors.New("too big for the environment")

// CheckEnv checks that the environment entry name=value can be passed to
// a child (see MaxEnvEntry). Its error names the variable, its size and
// the limit; for Faults it points at FaultPlan, a file that holds
// the same rules without limit. A launcher calls it before it sets the
// variable, so the user never meets the bare "fork/exec …: argument list
// too long":
//
//	if err := fakeenv.CheckEnv(fakeenv.Faults, spec); err != nil { return err }
func CheckEnv(name, value string) error {
	n := len(name) + 1 + len(value) + 1
	if n <= MaxEnvEntry {
		return nil
	}
	hint := ""
	if name == Faults {
		hint = fmt.Sprintf("; put the rules in a file and pass that with --fault-plan FILE (%s)", FaultPlan)
	}
	return fmt.Errorf("%s=… is %d bytes, over the %d bytes one environment variable may hold (Linux MAX_ARG_STRLEN, name and = included)%s: %w",
		name, n-1, MaxEnvEntry-1, hint, ErrEnvTooBig)
}
