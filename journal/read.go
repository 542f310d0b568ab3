package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/clip"
	"github.com/leakgate/leakgate/internal/shellquote"
)

// Invocation is one fakecli invocation as the journal tells it: its start
// entry merged with its end entry, if there is one.
//
//	invs, _ := journal.Read(path)
//	if !invs[0].Ended { /* killed (or still running) */ }
type Invocation struct {
	Run     string    // LEAKGATE_RUN of the invocation, "" if unset
	Call    int       // 1-based call number; 0 if unknown
	PID     int       // process id
	PPID    int       // parent's pid at start
	PGID    int       // process group at start
	Persona string    // "aws", "gsutil", "fakecli", …
	Argv    []string  // full argv
	Op      string    // "read", "write", "list", "move" or "other"
	Handle  string    // object key relative to the bucket root
	Fault   string    // canonical fault rule text; "" if none
	Start   time.Time // when it started

	Ended bool      // an end entry was found; false: killed (SIGKILL) or still running
	Bytes int64     // bytes written to stdout (reads) or read from stdin (writes); 0 if not Ended
	Exit  int       // exit status, 128+signal if ended by a signal; 0 if not Ended
	End   time.Time // when it ended; zero if not Ended
	Error string    // fakecli's own failure message; "" if none

	// StallFrom and StallUntil are the latest stall entry's: the
	// invocation said it holds still on purpose from StallFrom until
	// StallUntil (see EventStall); both zero if it never stalled.
	StallFrom, StallUntil time.Time

	Line int // journal line (1-based) of the start entry, or of the end entry if it has none
}

// StallingAt reports whether the invocation said it holds still on purpose
// at t: it has not ended and t lies in its latest stall, from StallFrom to
// StallUntil.
//
//	if inv.StallingAt(time.Now()) { /* it will not move before inv.StallUntil */ }
func (inv Invocation) StallingAt(t time.Time) bool {
	return !inv.Ended && !inv.StallFrom.IsZero() && !t.Before(inv.StallFrom) && t.Before(inv.StallUntil)
}

// Duration is how long the invocation ran, End − Start; 0 if it did not end.
//
//	d := inv.Duration() // 120ms
func (inv Invocation) Duration() time.Duration {
	if !inv.Ended {
		return 0
	}
	return inv.End.Sub(inv.Start)
}

// String describes the invocation on one line: pid, persona, call number,
// argv, fault and outcome.
//
//	pid 4244 (aws) call 3: aws s3 cp s3://b/k.chunk - [fault: stall for=forever]: killed before it ended
//	pid 4250 (aws) call 4: aws s3 cp s3://b/k.chunk - [fault: exit code=3]: exit 3 after 12ms, 1234 bytes
//	pid 4251 (aws) call 5: aws s3 cp s3://b/k.chunk -: exit 141 (SIGPIPE) after 3ms, 65536 bytes: broken pipe
func (inv Invocation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d (%s)", inv.PID, inv.Persona)
	if inv.Call > 0 {
		fmt.Fprintf(&b, " call %d", inv.Call)
	}
	b.WriteString(": ")
	b.WriteString(shellquote.Join(inv.Argv))
	if inv.Fault != "" {
		fmt.Fprintf(&b, " [fault: %s]", inv.Fault)
	}
	if !inv.Ended {
		b.WriteString(": killed before it ended")
		return b.String()
	}
	fmt.Fprintf(&b, ": exit %d", inv.Exit)
	if sig := inv.Exit - 128; sig > 0 && sig < 65 {
		if name := unix.SignalName(syscall.Signal(sig)); name != "" {
			fmt.Fprintf(&b, " (%s)", name)
		}
	}
	fmt.Fprintf(&b, " after %s, %d bytes", inv.Duration().Round(time.Microsecond), inv.Bytes)
	if inv.Error != "" {
		fmt.Fprintf(&b, ": %s", inv.Error)
	}
	return b.String()
}

// LineError is the error Read returns for a journal line it cannot use: not
// JSON, or an unknown event. Its text is "file:line: msg".
//
//	var le *journal.LineError
//	if errors.As(err, &le) { fmt.Println(le.Path, le.Line) }
type LineError struct {
	Path string // journal file
	Line int    // 1-based line number
	Err  error  // what is wrong with it
}

// Error returns "path:line: invalid journal entry: err".
func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: invalid journal entry: %v", e.Path, e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *LineError) Unwrap() error { return e.Err }

// Read returns the invocations recorded in the journal at path, in the order
// of their first line. Start, stall and end entries are merged by (pid,
// start time); of several stall entries the latest counts.
// A missing file means no invocations (nil, nil); blank lines are skipped; a
// line that is not a JSON entry is a *LineError naming path:line. Lines may
// be up to MaxLine bytes long; a longer one is a *LineError wrapping
// ErrLineTooLong, read no further.
//
//	invs, err := journal.Read("/tmp/run/journal.jsonl")
func Read(path string) ([]Invocation, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()

	var m merger
	r := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(r, MaxLine)
		if errors.Is(err, ErrLineTooLong) {
			return nil, &LineError{Path: path, Line: lineNo, Err: err}
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("journal %s:%d: %w", path, lineNo, err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var e Entry
			if jerr := json.Unmarshal(line, &e); jerr != nil {
				return nil, &LineError{Path: path, Line: lineNo, Err: jerr}
			}
			if merr := m.add(e, lineNo); merr != nil {
				return nil, &LineError{Path: path, Line: lineNo, Err: merr}
			}
		}
		if err == io.EOF {
			return m.invs, nil
		}
	}
}

// merger merges a journal's entries into invocations by (pid, start time).
type merger struct {
	invs  []Invocation
	index map[mergeKey]int
}

type mergeKey struct {
	pid   int
	start int64
}

// add merges entry e, read from line lineNo.
func (m *merger) add(e Entry, lineNo int) error {
	if e.Event != EventStart && e.Event != EventEnd && e.Event != EventStall {
		return fmt.Errorf("event %s: %w", clip.Quote(e.Event, 0), ErrEvent)
	}
	if m.index == nil {
		m.index = map[mergeKey]int{}
	}
	k := mergeKey{e.PID, e.Start.UnixNano()}
	i, seen := m.index[k]
	if !seen {
		i = len(m.invs)
		m.index[k] = i
		m.invs = append(m.invs, Invocation{Line: lineNo})
		fill(&m.invs[i], e)
	}
	inv := &m.invs[i]
	switch e.Event {
	case EventStart:
		fill(inv, e)
	case EventEnd:
		inv.Ended, inv.Bytes, inv.Exit, inv.End, inv.Error = true, e.Bytes, e.Exit, e.End, e.Error
	case EventStall:
		inv.StallFrom, inv.StallUntil = e.At, e.Until
	}
	return nil
}

// MaxLine bounds a journal line, newline included: 16 MiB, room for an
// entry whose argv is as large as exec allows (a few MiB), escaped.
const MaxLine = 16 << 20

// ErrLineTooLong is wrapped by Read's *LineError for a line over MaxLine.
var ErrLineTooLong = errors.New("line too long")

// readLine reads one line (with its newline, if any) of at most max
// bytes; past max it stops and returns ErrLineTooLong. At the end of the
// input it returns what is left and io.EOF.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		part, err := r.ReadSlice('\n')
		if len(line)+len(part) > max {
			return nil, fmt.Errorf("%w: over %d bytes", ErrLineTooLong, max)
		}
		line = append(line, part...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// fill copies the start fields of e into inv.
func fill(inv *Invocation, e Entry) {
	inv.Run, inv.Call, inv.PID, inv.PPID, inv.PGID = e.Run, e.Call, e.PID, e.PPID, e.PGID
	inv.Persona, inv.Argv, inv.Op, inv.Handle, inv.Fault, inv.Start = e.Persona, e.Argv, e.Op, e.Handle, e.Fault, e.Start
}
