package faults

import (
	"time"
)

// Op is the kind of storage operation a CLI invocation performs. Rules apply
// to reads unless they say otherwise with op=. A Call's Op is one of the
// constants below.
//
//	faults.Call{Op: faults.OpList}
type Op string

// The operations fakecli reports to a plan.
const (
	OpRead  Op = "read"  // open_for_read, aws s3 cp URL -, gsutil cp URL -
	OpWrite Op = "write" // create_for_write, save_metadata_line, cp - URL
	OpList  Op = "list"  // list_metadata_files, ls
	OpMove  Op = "move"  // backup_metadata_file, mv
	OpOther Op = "other" // create_backup and anything else
)

// Call describes one CLI invocation that a plan is consulted for.
//
//	rule, ok := plan.Match(faults.Call{N: 7, Op: faults.OpRead, Handle: "b.1a2b/0-.chunk"})
type Call struct {
	N      int    // 1-based call number across the run; 0 when unknown
	Op     Op     // what the invocation does
	Handle string // object key relative to the bucket root ("" for listings)
}

// Forever is the Stall duration of a step that hangs until the process is
// killed (fakecli caps it with LEAKGATE_STALL_CAP). It is the only negative
// duration a Step or a Stall may hold.
//
//	faults.Stall{For: faults.Forever}
const Forever time.Duration = -1

// Step is one part of how fakecli serves an object: write bytes (at a rate),
// then pause. Write may share memory with the object's bytes given to
// Script: treat it as read-only.
//
//	faults.Step{Write: data[:4096], Stall: faults.Forever}
type Step struct {
	Write []byte        // bytes to write to the output
	Rate  int64         // bytes per second for Write; 0 writes at full speed
	Stall time.Duration // pause after Write; Forever hangs until killed
}

// Script is the whole of how fakecli serves one object: its steps in order,
// then its exit status (0..255). No steps means write nothing.
//
//	script, err := faults.Exit{Code: 3, After: faults.AfterAll}.Script(data)
//	// script == faults.Script{Steps: []faults.Step{{Write: data}}, Exit: 3}
type Script struct {
	Steps []Step
	Exit  int // process exit code once every step is done
}

// Fault is one kind of misbehaviour. Its parameters are its fields.
//
//	script, err := faults.Stall{After: 64 << 10, For: faults.Forever}.Script(data)
type Fault interface {
	// Kind is the fault's name in the spec language: "stall".
	Kind() string
	// String is the fault in the spec language, parameters in canonical
	// form: "stall after=64KiB". Parse(String()) yields an equal fault.
	String() string
	// Script says how to serve data (an object's bytes as stored) under
	// this fault. An error means the fault does not fit the object (for
	// example record=9 of a 3-record object; errors.Is ErrDoesNotFit), the
	// object is malformed where the fault must look (bad gzip, broken
	// framing), or the fault's fields are invalid (a hand-built Exit{}).
	Script(data []byte) (Script, error)
}
