// Package faults is leakgate's fault spec language: a small text a person
// types into LEAKGATE_FAULTS or keeps in a plan file (LEAKGATE_FAULT_PLAN),
// the fault kinds it names, and the plans it parses into. fakecli, the fake
// storage CLI, asks a plan about each invocation and serves the object as
// the matching fault's Script says.
//
//	plan, err := faults.Parse("LEAKGATE_FAULTS", "truncate record=2 on=*/0-.chunk; slow rate=256KiB")
//	if rule, ok := plan.Match(faults.Call{N: 3, Op: faults.OpRead, Handle: h}); ok {
//		script, err := rule.Fault.Script(data) // data: the object as stored
//		…
//	}
//
// # Examples
//
//	truncate on=*/epoch_ending_0-*/0-.chunk record=2; slow rate=256KiB
//	stall after=32KiB for=forever on=*1-.chunk
//	exit code=3 after=none op=list
//	corrupt record=3 mode=trailing call=5-9 p=0.5 seed=42
//
// # Grammar
//
//	plan    = [ rule ] { ( ";" | newline ) [ rule ] } .
//	rule    = kind { blank param } .
//	param   = key "=" value .
//	value   = bare | quoted .
//	bare    = { any byte but blank, newline, ";", "#" and '"' } .
//	quoted  = '"' { any byte but '"', "\" and newline | "\" any byte } '"' .
//	blank   = " " | "\t" | "\r" .
//	comment = "#" { any byte but newline } .
//
// A comment may start anywhere outside a quoted value and runs to the end of
// the line. Empty rules are ignored, so blank lines, comment lines and a
// trailing ";" are fine. Inside quotes, \" stands for a quote and \\ for a
// backslash; any other backslash is kept as written (so on="a\*b" is the glob
// a\*b). A value ends on its own line. Kinds and keys are lowercase, and a key
// may be given once per rule.
//
// # Fault kinds
//
// Each kind is a struct named after it (Corrupt, Exit, Reset, Slow, Stall,
// Status, Truncate) whose fields are its parameters; see each type for what
// it does. Reset and Status are network faults: objserver acts them out on
// the wire, and fakecli plays what a CLI does once it gave up on them.
// Keys, with defaults in parentheses:
//
//	corrupt   record=K (1)  mode=payload|trailing|length (payload)
//	exit      code=N (1)  after=all|none|SIZE (all)
//	reset     after=SIZE (0)
//	slow      rate=SIZE in bytes per second (required)
//	stall     after=SIZE (0)  for=DURATION|forever (forever)
//	status    code=N, an HTTP status 400..599 (503)
//	truncate  after=SIZE or record=K (exactly one)  exit=N (0)
//
// Sizes are bytes: 512, 64KiB, 1MiB, 1GiB (powers of 1024), 10KB, 10MB,
// 10GB (powers of 1000); see Size. Durations are time.ParseDuration's: 250ms,
// 10s, 1m30s. Positions: after= counts bytes of the object as stored
// (possibly gzip); record= counts records (1-based) of the decoded record
// stream, a record being a 4-byte big-endian length and that many bytes; a
// gzip object (magic 1f 8b) is decoded, damaged and encoded again.
//
// # Envelope
//
// Every rule also takes these keys, which say which calls it applies to;
// they are decoded first, and the rest go to the kind:
//
//	on=GLOB     the handle matches GLOB (default: any handle)
//	call=LIST   the call number is in LIST: 3, 3-5, 3,7,9-11 (default: any)
//	op=LIST     the operation is in LIST: read, write, list, move, other,
//	            any, comma-separated (default: read)
//	p=FLOAT     probability in (0, 1] that the rule applies to a handle (default 1)
//	seed=INT    the probability decision's seed (default 0)
//
// A glob matches the whole handle: * matches any run of characters,
// including none and including '/'; ? matches exactly one character; [abc],
// [a-z] and [!a-z] (or [^a-z]) match one character of a class or of its
// complement; \ makes the next character literal. Listings have the handle "".
//
// Probability is deterministic: whether a rule applies is a hash of (seed,
// the rule's index in its plan, the handle), compared with p. The same seed,
// plan and handle give the same decision whatever the call number, the
// call order or the concurrency, so every retry of one handle sees the same
// outcome, and a run can be repeated exactly. Change seed= to draw again.
//
// For each call, the first rule that matches wins; later rules are not
// consulted.
//
// # Canonical text
//
// Every Fault, Rule and Plan has a String in canonical form: keys that hold
// their default are left out, kind keys come first in a fixed order, then
// on, call, op, p, seed; sizes use the largest binary unit that divides
// them (Size.String); values are quoted only where needed. Parse of a String
// yields an equal value (but for Rule.Pos).
//
// # Errors
//
// Parse and Load stop at the first error, checking a rule's envelope keys
// before its kind's keys, and return a *SyntaxError that points at the
// offending token, by 1-based line and byte column of the original text:
//
//	spec:1:1: unknown fault "stal" (known: corrupt, exit, reset, slow, stall, status, truncate)
//	spec:1:11: stall: for: invalid duration "10x" (want e.g. 250ms, 10s or forever)
//	plan.txt:2:7: stall: unknown key "fro" (stall takes after, for; every rule takes on, call, op, p, seed)
//
// A Fault's Script fails when the fault does not fit the object (errors.Is
// ErrDoesNotFit) or the object is malformed where the fault needs to look.
package faults
