package fakecli

import (
	"strings"

	"github.com/leakgate/leakgate/faults"
)

// gsutilPersona is `gsutil [-q] [-m] cp|ls|mv`, as the shipped GCS configs
// call it. Top-level flags come before the command and may be combined
// ("-qm"); -q and -m change nothing.
func gsutilPersona() *Persona {
	p := &Persona{
		Name:  "gsutil",
		Usage: "gsutil [-q] [-m] {cp gs://B/K - | cp - gs://B/K | ls gs://B/PREFIX/ | mv gs://B/K gs://B/K2}",
	}
	p.Parse = func(args []string, _ func(string) string) (Command, error) { return parseGsutil(p, args) }
	return p
}

// gsNoMatch is what gsutil prints when ls matches nothing.
const gsNoMatch = "CommandException: One or more URLs matched no objects."

func parseGsutil(p *Persona, args []string) (Command, error) {
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-"; i++ {
		flags := args[i][1:]
		if flags == "" || strings.Trim(flags, "qm") != "" {
			return Command{}, unknownOption(p, args[i])
		}
	}
	if i == len(args) {
		return Command{}, usagef(p, "missing command (cp, ls or mv)")
	}
	sub, rest := args[i], args[i+1:]
	for _, a := range rest {
		if strings.HasPrefix(a, "-") && a != "-" {
			return Command{}, unknownOption(p, a)
		}
	}
	switch sub {
	case "cp":
		if err := argCount(p, "cp", rest, 2); err != nil {
			return Command{}, err
		}
		src, dst := rest[0], rest[1]
		switch {
		case dst == "-" && src != "-":
			key, slash, err := parseURL(p, "gs", src)
			if err != nil {
				return Command{}, err
			}
			if slash {
				return Command{}, usagef(p, "cp: %q names a folder, not an object", src)
			}
			return Command{Op: faults.OpRead, Src: src, Key: key, Handle: key, Missing: "CommandException: No URLs matched: " + src}, nil
		case src == "-" && dst != "-":
			key, slash, err := parseURL(p, "gs", dst)
			if err != nil {
				return Command{}, err
			}
			if slash {
				return Command{}, usagef(p, "cp: %q names a folder, not an object", dst)
			}
			return Command{Op: faults.OpWrite, Src: dst, Key: key, Handle: key}, nil
		default:
			return Command{}, usagef(p, "cp: exactly one side must be - (stdin or stdout) and the other a gs:// URL")
		}
	case "ls":
		if err := argCount(p, "ls", rest, 1); err != nil {
			return Command{}, err
		}
		key, slash, err := parseURL(p, "gs", rest[0])
		if err != nil {
			return Command{}, err
		}
		l := Listing{Style: ListGS, Dir: key, Show: "gs://" + key + "/", Empty: gsNoMatch, EmptyExit: ExitFailed}
		if !slash {
			l.Self = rest[0]
		}
		return Command{Op: faults.OpList, Src: rest[0], List: l}, nil
	case "mv":
		if err := argCount(p, "mv", rest, 2); err != nil {
			return Command{}, err
		}
		from, fslash, err := parseURL(p, "gs", rest[0])
		if err != nil {
			return Command{}, err
		}
		to, tslash, err := parseURL(p, "gs", rest[1])
		if err != nil {
			return Command{}, err
		}
		if fslash || tslash {
			return Command{}, usagef(p, "mv: folders are not supported: %s %s", rest[0], rest[1])
		}
		return Command{Op: faults.OpMove, Src: rest[0], Key: from, Dst: rest[1], To: to, Handle: from, Missing: "CommandException: No URLs matched: " + rest[0]}, nil
	default:
		return Command{}, usagef(p, "%s: unsupported command (cp, ls or mv)", sub)
	}
}
