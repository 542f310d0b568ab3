package fakecli

import (
	"strings"

	"github.com/leakgate/leakgate/faults"
)

// s5cmdPersona is `s5cmd [global flags] cat|ls|mv|pipe`, as
// helm-s5cmd-public.yaml calls it. Flags parse as urfave/cli v2 (Go's flag
// package) parses them: global flags only before the subcommand, the
// subcommand's flags only before its first argument; everything after an
// argument is an argument, "-" included. So `pipe - s3://B/K
// --no-sign-request` has three arguments, and fails as the real s5cmd does.
func s5cmdPersona() *Persona {
	p := &Persona{
		Name: "s5cmd",
		Usage: "s5cmd [--no-sign-request] [--endpoint-url URL] [--retry-count N] [--numworkers N] [--log LEVEL] " +
			"{cat s3://B/K | ls s3://B/PREFIX | pipe s3://B/K | mv s3://B/K s3://B/K2}",
	}
	p.Parse = func(args []string, _ func(string) string) (Command, error) { return parseS5cmd(p, args) }
	return p
}

// s5cmdFlags are the flags accepted, per subcommand ("" for the global
// ones): true if the flag takes a value, false for a boolean.
var s5cmdFlags = map[string]map[string]bool{
	"": {
		"no-sign-request": false, "no-verify-ssl": false, "use-list-objects-v1": false,
		"endpoint-url": true, "retry-count": true, "r": true, "numworkers": true, "log": true,
		"request-payer": true, "profile": true, "credentials-file": true,
	},
	"cat":  {"raw": false},
	"ls":   {},
	"mv":   {"raw": false},
	"pipe": {"raw": false, "content-type": true, "storage-class": true, "concurrency": true, "c": true, "part-size": true, "p": true},
}

// parseS5Flags parses Go-flag-style flags from the front of args for the
// flag set named set, stopping at the first argument ("-" is one) or after
// "--". It returns the flags (booleans as "true"/"false") and the rest.
func parseS5Flags(p *Persona, set string, args []string) (map[string]string, []string, error) {
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, args[i+1:], nil
		}
		if len(a) < 2 || a[0] != '-' {
			return flags, args[i:], nil
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		takesValue, known := s5cmdFlags[set][name]
		if !known {
			return nil, nil, usagef(p, "Incorrect Usage: flag provided but not defined: -%s", name)
		}
		switch {
		case takesValue && !hasValue:
			if i+1 >= len(args) {
				return nil, nil, usagef(p, "Incorrect Usage: flag needs an argument: -%s", name)
			}
			i++
			value = args[i]
		case !takesValue && !hasValue:
			value = "true"
		case !takesValue && value != "true" && value != "false":
			return nil, nil, usagef(p, "Incorrect Usage: invalid boolean value %q for -%s", value, name)
		}
		flags[name] = value
	}
	return flags, nil, nil
}

func parseS5cmd(p *Persona, args []string) (Command, error) {
	global, rest, err := parseS5Flags(p, "", args)
	if err != nil {
		return Command{}, err
	}
	if e, ok := global["endpoint-url"]; ok && !strings.HasPrefix(e, "http") {
		return Command{}, usagef(p, "ERROR bad value for --endpoint-url %v: scheme is missing. Must be of the form http://<hostname>/ or https://<hostname>/", e)
	}
	if global["no-sign-request"] == "true" && (global["profile"] != "" || global["credentials-file"] != "") {
		return Command{}, usagef(p, `ERROR "no-sign-request" and "profile" flags cannot be used together`)
	}
	if len(rest) == 0 {
		return Command{}, usagef(p, "missing command (cat, ls, mv or pipe)")
	}
	sub := rest[0]
	if _, ok := s5cmdFlags[sub]; !ok || sub == "" {
		return Command{}, usagef(p, `ERROR %q: command not found`, sub)
	}
	flags, pos, err := parseS5Flags(p, sub, rest[1:])
	if err != nil {
		return Command{}, err
	}
	// What s5cmd's messages call the command: name, flags set, arguments.
	full := sub
	for _, name := range sortedKeys(flags) {
		full += " --" + name + "=" + flags[name]
	}
	if len(pos) > 0 {
		full += " " + strings.Join(pos, " ")
	}
	s5err := func(format string, v ...any) error {
		return usagef(p, "ERROR %q: "+format, append([]any{full}, v...)...)
	}
	switch sub {
	case "cat":
		if len(pos) != 1 {
			return Command{}, s5err("expected only one argument")
		}
		key, err := s5Object(p, pos[0], flags, s5err, "source must be a remote object", "remote source must be an object")
		if err != nil {
			return Command{}, err
		}
		return Command{Op: faults.OpRead, Src: pos[0], Key: key, Handle: key, Missing: s5NotFound(full, pos[0])}, nil
	case "pipe":
		if len(pos) != 1 {
			return Command{}, s5err("expected destination argument")
		}
		key, err := s5Object(p, pos[0], flags, s5err, "destination must be a bucket", "target "+`"`+pos[0]+`"`+" must be an object")
		if err != nil {
			return Command{}, err
		}
		return Command{Op: faults.OpWrite, Src: pos[0], Key: key, Handle: key}, nil
	case "ls":
		if len(pos) == 0 {
			return Command{}, usagef(p, "ls: listing buckets is not supported by fakecli")
		}
		if len(pos) > 1 {
			return Command{}, s5err("expected only 1 argument")
		}
		key, slash, err := parseURL(p, "s3", pos[0])
		if err != nil {
			return Command{}, err
		}
		if strings.ContainsAny(pos[0], "*?") {
			return Command{}, usagef(p, "ls: wildcards are not supported by fakecli: %s", pos[0])
		}
		if !strings.Contains(key, "/") {
			slash = true // s3://b lists the bucket
		}
		dir, prefix := splitPrefix(key, slash)
		return Command{Op: faults.OpList, Src: pos[0], List: Listing{Style: ListS5, Dir: dir, Prefix: prefix,
			Empty: `ERROR "` + full + `": no object found`, EmptyExit: ExitFailed}}, nil
	default: // mv
		if len(pos) != 2 {
			return Command{}, s5err("expected source and destination arguments")
		}
		from, err := s5Object(p, pos[0], flags, s5err, "source must be a remote object", "source must be an object")
		if err != nil {
			return Command{}, err
		}
		to, err := s5Object(p, pos[1], flags, s5err, "destination must be a remote object", "target "+`"`+pos[1]+`"`+" must be an object")
		if err != nil {
			return Command{}, err
		}
		return Command{Op: faults.OpMove, Src: pos[0], Key: from, Dst: pos[1], To: to, Handle: from,
			Missing: s5NotFound(full, pos[0]), Moved: "mv " + pos[0] + " " + pos[1] + "\n"}, nil
	}
}

// s5Object checks that url names one remote object (s3://B/K, no trailing
// slash, no glob characters unless --raw) and returns its key. notRemote
// and notObject are s5cmd's messages for the two ways it can fail.
func s5Object(p *Persona, url string, flags map[string]string, s5err func(string, ...any) error, notRemote, notObject string) (string, error) {
	if !strings.HasPrefix(url, "s3://") {
		return "", s5err("%s", notRemote)
	}
	key, slash, err := parseURL(p, "s3", url)
	if err != nil {
		return "", err
	}
	if slash || !strings.Contains(key, "/") {
		return "", s5err("%s", notObject)
	}
	if flags["raw"] != "true" && strings.ContainsAny(url, "*?") {
		return "", s5err("remote source %q can not contain glob characters", url)
	}
	return key, nil
}

// s5NotFound is what s5cmd prints when the object to read or move does not
// exist.
func s5NotFound(full, url string) string {
	return `ERROR "` + full + `": given object ` + url + ` not found`
}
