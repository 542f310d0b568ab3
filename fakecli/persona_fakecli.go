package fakecli

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/leakgate/leakgate/faults"

	"github.com/leakgate/leakgate/internal/clip"
)

// plainOperations are the plain protocol's operations, sorted.
var plainOperations = []string{"backup_metadata_file", "create_backup", "create_for_write", "list_metadata_files", "open_for_read", "save_metadata_line"}

// plainPersona is `fakecli <operation>`: the CommandAdapter protocol itself
// (docs/backup-cli.md#operations), parameters from the environment,
// handles relative to the bucket root. testdata/configs/local.yaml runs it.
func plainPersona() *Persona {
	p := &Persona{
		Name:  "fakecli",
		Usage: "fakecli {" + strings.Join(plainOperations, "|") + "} (parameters BACKUP_NAME, BACKUP_HANDLE, FILE_NAME, FILE_HANDLE from the environment)",
	}
	p.Parse = func(args []string, getenv func(string) string) (Command, error) { return parsePlain(p, args, getenv) }
	return p
}

// nameRE is the CommandAdapter's shell-safe name, compiled on first use:
// the bounded repetition makes a large program (about 0.5 ms and 1,700
// allocations to compile), a cost every invocation paid at start-up while
// only the operations that take a name need it.
var nameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{2,126}$`)
})

// parsePlain parses `fakecli OPERATION`, its parameters taken from the
// environment (plainEnv), one case per operation.
func parsePlain(p *Persona, args []string, getenv func(string) string) (Command, error) {
	if len(args) != 1 {
		return Command{}, usagef(p, "want exactly one operation, got %d arguments", len(args))
	}
	op := args[0]
	env := plainEnv{p: p, op: op, getenv: getenv}
	switch op {
	case "create_backup":
		name, err := env.name("BACKUP_NAME")
		if err != nil {
			return Command{}, err
		}
		return Command{Op: faults.OpOther, Src: name, Key: name, Handle: name, Mkdir: true, Exclusive: true, Announce: name + "\n"}, nil
	case "create_for_write":
		backup, err := env.param("BACKUP_HANDLE")
		if err != nil {
			return Command{}, err
		}
		name, err := env.name("FILE_NAME")
		if err != nil {
			return Command{}, err
		}
		h := backup + "/" + name
		return Command{Op: faults.OpWrite, Src: h, Key: h, Handle: h, Exclusive: true, Announce: h + "\n"}, nil
	case "open_for_read":
		h, err := env.param("FILE_HANDLE")
		if err != nil {
			return Command{}, err
		}
		return Command{Op: faults.OpRead, Src: h, Key: h, Handle: h, Missing: op + ": no such object: " + h}, nil
	case "save_metadata_line":
		name, err := env.name("FILE_NAME")
		if err != nil {
			return Command{}, err
		}
		h := "metadata/" + name
		return Command{Op: faults.OpWrite, Src: h, Key: h, Handle: h, Announce: h + "\n"}, nil
	case "list_metadata_files":
		return Command{Op: faults.OpList, Src: "metadata/", List: Listing{Style: ListPlain, Dir: "metadata", Show: "metadata/"}}, nil
	case "backup_metadata_file":
		name, err := env.name("FILE_NAME")
		if err != nil {
			return Command{}, err
		}
		from, to := "metadata/"+name, "metadata_backup/"+name
		return Command{Op: faults.OpMove, Src: from, Key: from, Dst: to, To: to, Handle: from, Missing: op + ": no such object: " + from}, nil
	default:
		return Command{}, usagef(p, "unknown operation %q (known: %s)", op, strings.Join(plainOperations, ", "))
	}
}

// plainEnv reads an operation's parameters from the environment.
type plainEnv struct {
	p      *Persona
	op     string
	getenv func(string) string
}

// param is the value of parameter name, an ErrMissingParam usage error if
// unset or empty.
//
//	h, err := env.param("FILE_HANDLE")
func (e plainEnv) param(name string) (string, error) {
	v := e.getenv(name)
	if v == "" {
		return "", &UsageError{Persona: e.p.Name, Msg: fmt.Sprintf("%s: %s: %v", clip.Word(e.op), name, ErrMissingParam), Err: ErrMissingParam}
	}
	return v, nil
}

// name is param for a parameter that must be a shell-safe name (nameRE),
// an ErrBadName usage error otherwise.
//
//	n, err := env.name("FILE_NAME")
func (e plainEnv) name(name string) (string, error) {
	v, err := e.param(name)
	if err == nil && !nameRE().MatchString(v) {
		err = &UsageError{Persona: e.p.Name, Msg: fmt.Sprintf("%s: %s=%q: %v", clip.Word(e.op), name, clip.Word(v), ErrBadName), Err: ErrBadName}
	}
	return v, err
}
