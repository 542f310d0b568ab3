package fakecli

import (
	"errors"
	"fmt"

	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/internal/clip"
)

// Command is what one invocation asks for once its persona has parsed argv
// and the parameters: plain data, so parsing is testable on its own.
//
//	cmd, err := fakecli.Lookup("aws").Parse([]string{"s3", "cp", "s3://b/k", "-"}, os.Getenv)
//	// cmd.Op == faults.OpRead, cmd.Key == "b/k"
type Command struct {
	Op  faults.Op // read, write, list, move; OpOther for create_backup
	Src string    // the object as the user wrote it (URL or handle), for messages
	Key string    // object key relative to the bucket root (read, write, move source, mkdir folder)
	Dst string    // move: the destination as written
	To  string    // move: destination key

	// Handle is the key the fault plan and the journal see: Key for objects,
	// the move source for moves, "" for listings.
	Handle string

	// Announce is printed on stdout first (the plain protocol's handles).
	// For writes, stdout is then closed before stdin is read.
	Announce string
	// Exclusive makes a write (or mkdir) refuse an existing object.
	Exclusive bool
	// Mkdir makes OpOther create the folder Key.
	Mkdir bool
	// List says what a listing lists and how it prints (OpList only).
	List Listing
	// Missing is the stderr message (after the persona prefix) when the
	// object to read or move does not exist; the exit status is ExitFailed.
	Missing string
	// Moved is printed on stdout after a successful move.
	Moved string
}

// UsageError is the error a persona's Parse returns for argv or parameters
// it cannot run: fakecli prints it and exits with ExitUsage.
//
//	var ue *fakecli.UsageError
//	if errors.As(err, &ue) { fmt.Println(ue.Persona) }
type UsageError struct {
	Persona string // "aws"
	Msg     string // what is wrong: `unknown option "--recursive"`
	Usage   string // the persona's usage line, printed after Msg
	Err     error  // the sentinel behind Msg (ErrMissingParam, ErrBadName), if any
}

// Unwrap returns e.Err.
func (e *UsageError) Unwrap() error { return e.Err }

// Error returns the message followed by the usage line.
func (e *UsageError) Error() string {
	if e.Usage == "" {
		return e.Msg
	}
	return e.Msg + "\nusage: " + e.Usage
}

// usagef is a *UsageError of persona p with the formatted message.
// String arguments come from argv: each is bounded and quoted as
// clip.Word does, so no raw control byte or megabyte argument reaches the
// message.
func usagef(p *Persona, format string, v ...any) error {
	for i, a := range v {
		if s, ok := a.(string); ok {
			v[i] = clip.Word(s)
		}
	}
	return &UsageError{Persona: p.Name, Msg: fmt.Sprintf(format, v...), Usage: p.Usage}
}

// ErrMissingParam is wrapped by the plain protocol's Parse when a parameter
// environment variable is unset.
var ErrMissingParam = errors.New("parameter not set")

// ErrBadName is wrapped when a name parameter (BACKUP_NAME, FILE_NAME) is not
// shell safe.
var ErrBadName = errors.New(`name must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{2,126}$`)
