package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/internal/clip"
)

// The values of Entry.Event.
const (
	EventStart = "start" // written before an invocation does any work
	EventEnd   = "end"   // written when an invocation ends (not after SIGKILL)
	// EventStall is written when a fault makes the invocation hold still
	// on purpose (fakecli pausing its output or input, objserver holding
	// back a response): from At until Until, the pause's end or the stall
	// cap for a stall that lasts until the process is killed.
	EventStall = "stall"
)

// Entry is one journal line. Start entries leave the end-only fields (Bytes,
// Exit, End, Error) zero and they are not written; end entries repeat the
// start fields, so an end line alone still says what ran.
//
//	e := journal.Entry{Event: journal.EventStart, PID: os.Getpid(), Persona: "aws", Argv: os.Args, Op: "read", Start: time.Now()}
//	err := journal.Append(path, e)
type Entry struct {
	Event   string    `json:"event"`   // EventStart or EventEnd
	Run     string    `json:"run"`     // LEAKGATE_RUN of the invocation, "" if unset
	Call    int       `json:"call"`    // 1-based call number across the run; 0 if unknown
	PID     int       `json:"pid"`     // process id of the invocation
	PPID    int       `json:"ppid"`    // its parent's pid at start
	PGID    int       `json:"pgid"`    // its process group at start
	Persona string    `json:"persona"` // "aws", "gsutil", "fakecli", …
	Argv    []string  `json:"argv"`    // full argv, argv[0] included
	Op      string    `json:"op"`      // "read", "write", "list", "move" or "other"
	Handle  string    `json:"handle"`  // object key relative to the bucket root; "" for listings
	Fault   string    `json:"fault"`   // canonical text of the matched fault rule; "" if none
	Start   time.Time `json:"start"`   // when the invocation started (RFC 3339, nanoseconds)

	Bytes int64     `json:"bytes"` // end only: bytes written to stdout (reads) or read from stdin (writes)
	Exit  int       `json:"exit"`  // end only: exit status; 128+signal when ended by a signal
	End   time.Time `json:"end"`   // end only: when the invocation ended
	Error string    `json:"error"` // end only: fakecli's own failure message; "" if none

	At    time.Time `json:"at"`    // stall only: when the stall began
	Until time.Time `json:"until"` // stall only: when it ends by itself (the pause's end, or the stall cap)
}

// startLine and endLine are the JSON shapes of the two events.
type startLine struct {
	Event   string    `json:"event"`
	Run     string    `json:"run"`
	Call    int       `json:"call"`
	PID     int       `json:"pid"`
	PPID    int       `json:"ppid"`
	PGID    int       `json:"pgid"`
	Persona string    `json:"persona"`
	Argv    []string  `json:"argv"`
	Op      string    `json:"op"`
	Handle  string    `json:"handle"`
	Fault   string    `json:"fault"`
	Start   time.Time `json:"start"`
}

type endLine struct {
	startLine
	Bytes int64     `json:"bytes"`
	Exit  int       `json:"exit"`
	End   time.Time `json:"end"`
	Error string    `json:"error,omitempty"`
}

type stallLine struct {
	startLine
	At    time.Time `json:"at"`
	Until time.Time `json:"until"`
}

// MarshalJSON encodes e as one journal line (without the newline): start
// entries carry only the start fields, end entries the start fields and
// the end fields, stall entries the start fields, at and until.
//
//	b, err := json.Marshal(e)
func (e Entry) MarshalJSON() ([]byte, error) {
	argv := e.Argv
	if argv == nil {
		argv = []string{}
	}
	s := startLine{
		Event: e.Event, Run: e.Run, Call: e.Call, PID: e.PID, PPID: e.PPID, PGID: e.PGID,
		Persona: e.Persona, Argv: argv, Op: e.Op, Handle: e.Handle, Fault: e.Fault, Start: e.Start,
	}
	switch e.Event {
	case EventEnd:
		return json.Marshal(endLine{startLine: s, Bytes: e.Bytes, Exit: e.Exit, End: e.End, Error: e.Error})
	case EventStall:
		return json.Marshal(stallLine{startLine: s, At: e.At, Until: e.Until})
	}
	return json.Marshal(s)
}

// ErrEvent is wrapped by Append and Read when an entry's event is not
// EventStart, EventEnd or EventStall.
var ErrEvent = errors.New(`event must be "start" or "end"`)

// Append adds e as one line to the journal at path, creating the file (mode
// 0644) if needed. It takes an exclusive flock(2) on the file and writes the
// whole line with a single write(2), so lines of concurrent writers, in this
// process or others, never interleave. It blocks while another writer holds
// the lock.
//
//	err := journal.Append("/tmp/run/journal.jsonl", entry)
func Append(path string, e Entry) error {
	if e.Event != EventStart && e.Event != EventEnd && e.Event != EventStall {
		return fmt.Errorf("journal %s: append %q: %w", path, e.Event, ErrEvent)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal %s: encode %s entry: %w", path, e.Event, err)
	}
	line = append(line, '\n')
	fd, err := openRetry(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC)
	if err != nil {
		return fmt.Errorf("journal %s: open: %w", path, err)
	}
	defer unix.Close(fd)
	if err := lock(fd); err != nil {
		return fmt.Errorf("journal %s: lock: %w", path, err)
	}
	defer unlock(fd)
	n, err := retry(func() (int, error) { return unix.Write(fd, line) })
	if err != nil {
		return fmt.Errorf("journal %s: write %s entry: %w", path, e.Event, err)
	}
	if n != len(line) {
		return fmt.Errorf("journal %s: write %s entry: wrote %d of %d bytes: %w", path, e.Event, n, len(line), io.ErrShortWrite)
	}
	return nil
}

// Check opens the journal at path and its call counter (path + ".seq")
// for writing, creating them if needed (empty), checks that both are
// regular files, and writes nothing: a
// program that journals calls it before it starts, so a journal it could
// not write is refused up front rather than lost line by line.
//
//	if err := journal.Check(path); err != nil { return err } // "journal /x/j.jsonl: open: permission denied"
func Check(path string) error {
	for _, p := range []string{path, path + ".seq"} {
		fd, err := openRetry(p, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NONBLOCK)
		if err != nil {
			return fmt.Errorf("journal %s: open: %w", p, err)
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("journal %s: %w", p, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return fmt.Errorf("journal %s: %w", p, ErrNotFile)
		}
	}
	return nil
}

// ErrNotFile is wrapped by Check when the journal or its counter is not a
// regular file (a device such as /dev/full, a FIFO, a folder).
var ErrNotFile = errors.New("not a regular file")

// ErrCounter is wrapped by NextCall when the counter file holds something
// other than a decimal number.
var ErrCounter = errors.New("call counter is not a number")

// ErrCounterFull is wrapped by NextCall when the counter holds the largest
// int: the next number would wrap to a negative one.
var ErrCounterFull = errors.New("call counter at its maximum (start a new journal)")

// NextCall returns the next 1-based call number of the run whose journal is
// at path. The counter lives in path + ".seq" (created on first use) and is
// incremented under an exclusive flock(2), so concurrent invocations get
// distinct, consecutive numbers.
//
//	n, err := journal.NextCall("/tmp/run/journal.jsonl") // 1, then 2, …
func NextCall(path string) (int, error) {
	seq := path + ".seq"
	fd, err := openRetry(seq, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC)
	if err != nil {
		return 0, fmt.Errorf("journal %s: open call counter: %w", seq, err)
	}
	defer unix.Close(fd)
	if err := lock(fd); err != nil {
		return 0, fmt.Errorf("journal %s: lock call counter: %w", seq, err)
	}
	defer unlock(fd)
	buf := make([]byte, 32)
	n, err := retry(func() (int, error) { return unix.Pread(fd, buf, 0) })
	if err != nil {
		return 0, fmt.Errorf("journal %s: read call counter: %w", seq, err)
	}
	text := strings.TrimSpace(string(buf[:n]))
	last := 0
	if text != "" {
		last, err = strconv.Atoi(text)
		if err != nil || last < 0 {
			return 0, fmt.Errorf("journal %s: %s: %w", seq, clip.Quote(text, 0), ErrCounter)
		}
	}
	if last == math.MaxInt {
		return 0, fmt.Errorf("journal %s: %d: %w", seq, last, ErrCounterFull)
	}
	next := last + 1
	// The new number is never shorter than the old one, so writing it over
	// the old one from offset 0 leaves no stale digits behind.
	out := []byte(strconv.Itoa(next) + "\n")
	w, err := retry(func() (int, error) { return unix.Pwrite(fd, out, 0) })
	if err != nil {
		return 0, fmt.Errorf("journal %s: write call counter: %w", seq, err)
	}
	if w != len(out) {
		return 0, fmt.Errorf("journal %s: write call counter: wrote %d of %d bytes: %w", seq, w, len(out), io.ErrShortWrite)
	}
	return next, nil
}

func openRetry(path string, flags int) (int, error) {
	return retry(func() (int, error) { return unix.Open(path, flags, 0o644) })
}

func lock(fd int) error {
	_, err := retry(func() (int, error) { return 0, unix.Flock(fd, unix.LOCK_EX) })
	return err
}

func unlock(fd int) {
	_ = unix.Flock(fd, unix.LOCK_UN) // closing the fd releases it anyway
}

// retry repeats a system call interrupted by a signal.
func retry(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != unix.EINTR {
			return n, err
		}
	}
}
