package fakecli

import (
	"time"

	"github.com/leakgate/leakgate/fakecli/fakeenv"
)

// Environment variables fakecli reads. Their names are defined in package
// fakeenv (a leaf, for programs that set them without linking fakecli).
const (
	// EnvBucket is the bucket root folder fakecli serves (required). Every
	// s3:// or gs:// URL and every plain-protocol handle resolves inside it.
	EnvBucket = fakeenv.Bucket
	// EnvFaults is fault spec text (the faults language); its rules come
	// before those of EnvFaultPlan.
	EnvFaults = fakeenv.Faults
	// EnvFaultPlan is the path of a plan file in the same language.
	EnvFaultPlan = fakeenv.FaultPlan
	// EnvJournal is the path of the journal file (see package journal);
	// unset means no journal and call number 0.
	EnvJournal = fakeenv.Journal
	// EnvStallCap bounds how long a fault may hold an invocation, as a
	// Go duration ("10m", "30s"), counted from its start; default
	// DefaultStallCap. A "forever" stall, a finite stall that would end
	// later, and a slow rate whose transfer would run past it all give up
	// at the cap with ExitStallCap, so nothing hangs past a lost cleanup.
	EnvStallCap = fakeenv.StallCap
	// EnvHurry is the path of a file (it need not exist yet): once it
	// exists, a paced transfer ("slow") sends its rest at once, checked
	// before each paced chunk (every 20ms). Stalls are unchanged. A spec
	// whose slow downloads only keep later reads in flight until its fault
	// surfaces creates it once the restore has returned, as objserver's
	// SIGUSR1 does for the network (objserver.Server.Hurry).
	EnvHurry = fakeenv.Hurry
	// EnvRun is the run marker (defined by package harness); fakecli only
	// copies its value into the journal.
	EnvRun = "LEAKGATE_RUN"
)

// DefaultStallCap is how long a "forever" stall lasts when EnvStallCap is
// unset: 10 minutes.
const DefaultStallCap = 10 * time.Minute

// Exit statuses of fakecli's own making. A fault's exit code and 128+signal
// (killed by SIGTERM, SIGINT or SIGHUP; 141 for a broken pipe, as a real CLI
// dying of SIGPIPE) come on top.
const (
	ExitOK       = 0   // success
	ExitFailed   = 1   // the operation failed as the real CLI's would: missing object, nothing listed, object exists
	ExitUsage    = 2   // usage or set-up error: bad argv, missing env parameter, bad name, bad bucket, handle outside the bucket, bad fault plan, fault does not fit the object
	ExitStallCap = 124 // a fault's stall or pacing reached EnvStallCap
)

// MaxEnvEntry, ErrEnvTooBig and CheckEnv are fakeenv's (see there): the
// limit of one environment entry, checked before a launcher sets one.
const MaxEnvEntry = fakeenv.MaxEnvEntry

// ErrEnvTooBig is wrapped by CheckEnv for an entry exec would refuse.
var ErrEnvTooBig = fakeenv.ErrEnvTooBig

// CheckEnv is fakeenv.CheckEnv:
//
//	if err := fakecli.CheckEnv(fakecli.EnvFaults, spec); err != nil { return err }
func CheckEnv(name, value string) error { return fakeenv.CheckEnv(name, value) }
