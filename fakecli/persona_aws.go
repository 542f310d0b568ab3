package fakecli

import (
	"strings"

	"github.com/leakgate/leakgate/faults"
)

// awsPersona is `aws s3 cp|ls|mv`, as the shipped s3 configs call it.
//
// Global options are accepted anywhere on the line, also as --opt=value:
// --endpoint-url URL, --region R (values ignored), --no-sign-request,
// --no-progress (ignored), --quiet and --only-show-errors (no "move:" line).
func awsPersona() *Persona {
	p := &Persona{
		Name:  "aws",
		Usage: "aws [--endpoint-url URL] [--region R] [--no-sign-request] [--no-progress] [--quiet] [--only-show-errors] s3 {cp s3://B/K - | cp - s3://B/K | ls s3://B/PREFIX | mv s3://B/K s3://B/K2}",
	}
	p.Parse = func(args []string, _ func(string) string) (Command, error) { return parseAWS(p, args) }
	return p
}

// awsValueOptions take a value; awsFlags do not.
var (
	awsValueOptions = map[string]bool{"--endpoint-url": true, "--region": true}
	awsFlags        = map[string]bool{"--no-sign-request": true, "--no-progress": true, "--quiet": true, "--only-show-errors": true}
)

func parseAWS(p *Persona, args []string) (Command, error) {
	var pos []string
	quiet := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, _, hasValue := strings.Cut(a, "=")
		switch {
		case awsValueOptions[name]:
			if !hasValue {
				if i+1 >= len(args) {
					return Command{}, usagef(p, "option %s needs a value", name)
				}
				i++
			}
		case awsFlags[name] && !hasValue:
			quiet = quiet || name == "--quiet" || name == "--only-show-errors"
		default:
			return Command{}, unknownOption(p, a)
		}
	}
	if len(pos) == 0 || pos[0] != "s3" {
		return Command{}, usagef(p, "only the s3 command is supported")
	}
	if len(pos) < 2 {
		return Command{}, usagef(p, "s3: missing subcommand (cp, ls or mv)")
	}
	sub, rest := pos[1], pos[2:]
	switch sub {
	case "cp":
		if err := argCount(p, "s3 cp", rest, 2); err != nil {
			return Command{}, err
		}
		src, dst := rest[0], rest[1]
		switch {
		case dst == "-" && src != "-":
			key, slash, err := parseURL(p, "s3", src)
			if err != nil {
				return Command{}, err
			}
			if slash {
				return Command{}, usagef(p, "s3 cp: %q names a prefix, not an object", src)
			}
			return Command{Op: faults.OpRead, Src: src, Key: key, Handle: key, Missing: awsNotFound(key)}, nil
		case src == "-" && dst != "-":
			key, slash, err := parseURL(p, "s3", dst)
			if err != nil {
				return Command{}, err
			}
			if slash {
				return Command{}, usagef(p, "s3 cp: %q names a prefix, not an object", dst)
			}
			return Command{Op: faults.OpWrite, Src: dst, Key: key, Handle: key}, nil
		default:
			return Command{}, usagef(p, "s3 cp: exactly one side must be - (stdin or stdout) and the other an s3:// URL")
		}
	case "ls":
		if len(rest) == 0 {
			return Command{}, usagef(p, "s3 ls: needs an s3:// URL (listing buckets is not supported)")
		}
		if err := argCount(p, "s3 ls", rest, 1); err != nil {
			return Command{}, err
		}
		key, slash, err := parseURL(p, "s3", rest[0])
		if err != nil {
			return Command{}, err
		}
		if !strings.Contains(key, "/") {
			slash = true // s3://b lists the bucket
		}
		dir, prefix := splitPrefix(key, slash)
		return Command{Op: faults.OpList, Src: rest[0], List: Listing{Style: ListAWS, Dir: dir, Prefix: prefix, EmptyExit: ExitFailed}}, nil
	case "mv":
		if err := argCount(p, "s3 mv", rest, 2); err != nil {
			return Command{}, err
		}
		from, fslash, err := parseURL(p, "s3", rest[0])
		if err != nil {
			return Command{}, err
		}
		to, tslash, err := parseURL(p, "s3", rest[1])
		if err != nil {
			return Command{}, err
		}
		if fslash || tslash {
			return Command{}, usagef(p, "s3 mv: prefixes are not supported (no --recursive): %s %s", rest[0], rest[1])
		}
		cmd := Command{Op: faults.OpMove, Src: rest[0], Key: from, Dst: rest[1], To: to, Handle: from, Missing: awsNotFound(from)}
		if !quiet {
			cmd.Moved = "move: " + rest[0] + " to " + rest[1] + "\n"
		}
		return cmd, nil
	default:
		return Command{}, usagef(p, "s3 %s: unsupported subcommand (cp, ls or mv)", sub)
	}
}

// awsNotFound is what `aws s3 cp` prints for a missing object; key includes
// the bucket name, which the message leaves out.
func awsNotFound(key string) string {
	_, k, _ := strings.Cut(key, "/")
	return `fatal error: An error occurred (404) when calling the HeadObject operation: Key "` + k + `" does not exist`
}
