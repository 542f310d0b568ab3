// Package fakeenv names the environment variables fakecli reads, for the
// programs that set them without linking fakecli (the gate):
//
//	env = append(env, fakeenv.Journal+"="+path)
//
// They are defined here and nowhere else; fakecli's EnvBucket, EnvFaults,
// EnvFaultPlan, EnvJournal and EnvStallCap are these. A leaf package: it
// imports nothing.
package fakeenv

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
)
