// Package journal is fakecli's append-only record of CLI invocations: JSON
// lines written by fakecli (one writer per invocation, many invocations at
// once) and read back by tests, the harness and the leak reports.
//
// # Two events per invocation
//
// Every fakecli invocation appends two lines: a "start" entry, written before
// the invocation does any work, and an "end" entry, written when it ends
// (with the bytes it moved, its exit status and its own error, if any). Two
// lines instead of one is the point of the journal: an invocation killed by
// SIGKILL, or still stalled when the process tree was torn down, never writes
// its end line, and a reader can see that. [Read] merges the two lines of an
// invocation into one [Invocation]; one without an end line reports
// Ended == false and its String says "killed before it ended".
//
// An invocation that a fault makes hold still on purpose also appends a
// "stall" entry when the stall begins, saying until when it will hold
// still by itself (Invocation.StallFrom, StallUntil, StallingAt): fakecli
// pausing before its next byte, objserver holding back a response (the
// entry then names the client process that waits for it). A settling
// test reads it as evidence that the process will not move before then,
// instead of watching it for a while.
//
//	journal.Append(path, journal.Entry{Event: journal.EventStart, PID: os.Getpid(), Start: t0 /* … */})
//	invs, err := journal.Read(path)
//	for _, inv := range invs {
//		if !inv.Ended {
//			fmt.Println(inv) // pid 4244 (aws) call 3: aws s3 cp … - [fault: stall for=forever]: killed before it ended
//		}
//	}
//
// # Concurrency
//
// [Append] opens the file with O_APPEND, takes an exclusive flock(2), writes
// the whole line with a single write(2) and unlocks, so lines of concurrent
// invocations (goroutines or processes) never interleave. [NextCall] numbers
// invocations across a run with a counter file beside the journal
// (path + ".seq"), also under flock; at the largest int it refuses
// (ErrCounterFull) rather than wrap to a negative number. The lock is
// advisory: every writer must go through this package. A writer calls
// [Check] before it starts, so a journal it cannot write (a folder, a
// device such as /dev/full, a missing folder) is refused up front rather
// than lost line by line.
//
// # Limits
//
// [Read] takes lines of up to [MaxLine] (16 MiB) and refuses a longer one
// with a *LineError naming the file and line; values quoted in its errors
// are escaped and cut.
//
// # Format
//
// One JSON object per line. Fields of both events: event, run (the
// LEAKGATE_RUN marker, "" if unset), call (1-based, 0 if unknown), pid, ppid,
// pgid, persona, argv, op, handle, fault (canonical fault rule text, "" if
// none), start (RFC 3339 with nanoseconds). End entries add bytes (int64:
// bytes written to stdout for reads, read from stdin for writes), exit (the
// exit status; 128+signal when the invocation ended by a signal), end (time)
// and error (fakecli's own failure message, omitted when empty). Stall
// entries add at (when the stall began) and until (when it ends by itself:
// the pause's end, or the stall cap for a stall that lasts until killed).
//
//	{"event":"start","run":"r17/3","call":5,"pid":4244,"ppid":4243,"pgid":4242,"persona":"aws","argv":["aws","s3","cp","s3://b/k","-"],"op":"read","handle":"b/k","fault":"stall for=forever","start":"2026-11-26T14:47:06.123456789Z"}
//	{"event":"stall",…,"at":"2026-11-26T14:47:06.130000000Z","until":"2026-11-26T14:57:06.123456789Z"}
//	{"event":"end",…,"bytes":1234,"exit":0,"end":"2026-11-26T14:47:06.223456789Z"}
package journal
