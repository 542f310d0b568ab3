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

// parseAWS parses `aws [options] s3 SUB ARGS…`: the options, then one
// function per subcommand (awsCp, awsLs, awsMv).
func parseAWS(p *Persona, args []string) (Command, error) {
	pos, quiet, err := awsOptions(p, args)
	if err != nil {
		return Command{}, err
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
		return awsCp(p, rest)
	case "ls":
		return awsLs(p, rest)
	case "mv":
		return awsMv(p, rest, quiet)
	}
	return Command{}, usagef(p, "s3 %s: unsupported subcommand (cp, ls or mv)", sub)
}

// awsOptions takes the global options out of args, wherever they are, and
// returns the positional arguments and whether --quiet or
// --only-show-errors was given.
func awsOptions(p *Persona, args []string) (pos []string, quiet bool, err error) {
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
					return nil, false, usagef(p, "option %s needs a value", name)
				}
				i++
			}
		case awsFlags[name] && !hasValue:
			quiet = quiet || name == "--quiet" || name == "--only-show-errors"
		default:
			return nil, false, unknownOption(p, a)
		}
	}
	return pos, quiet, nil
}

// awsCp parses `s3 cp s3://B/K -` (a read) and `s3 cp - s3://B/K` (a write).
func awsCp(p *Persona, rest []string) (Command, error) {
	if err := argCount(p, "s3 cp", rest, 2); err != nil {
		return Command{}, err
	}
	src, dst := rest[0], rest[1]
	switch {
	case dst == "-" && src != "-":
		key, err := awsObject(p, src)
		if err != nil {
			return Command{}, err
		}
		return Command{Op: faults.OpRead, Src: src, Key: key, Handle: key, Missing: awsNotFound(key)}, nil
	case src == "-" && dst != "-":
		key, err := awsObject(p, dst)
		if err != nil {
			return Command{}, err
		}
		return Command{Op: faults.OpWrite, Src: dst, Key: key, Handle: key}, nil
	}
	return Command{}, usagef(p, "s3 cp: exactly one side must be - (stdin or stdout) and the other an s3:// URL")
}

// awsObject is the key of an s3:// URL that names an object (not a prefix).
func awsObject(p *Persona, url string) (string, error) {
	key, slash, err := parseURL(p, "s3", url)
	if err != nil {
		return "", err
	}
	if slash {
		return "", usagef(p, "s3 cp: %q names a prefix, not an object", url)
	}
	return key, nil
}

// awsLs parses `s3 ls s3://B/PREFIX`.
func awsLs(p *Persona, rest []string) (Command, error) {
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
}

// awsMv parses `s3 mv s3://B/K s3://B/K2`; unless quiet, the move prints
// its "move: … to …" line.
func awsMv(p *Persona, rest []string, quiet bool) (Command, error) {
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
}

// awsNotFound is what `aws s3 cp` prints for a missing object; key includes
// the bucket name, which the message leaves out.
func awsNotFound(key string) string {
	_, k, _ := strings.Cut(key, "/")
	return `fatal error: An error occurred (404) when calling the HeadObject operation: Key "` + k + `" does not exist`
}
