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

// parseS5cmd parses `s5cmd [global flags] SUB [flags] ARGS…`: the global
// flags (s5Global), the subcommand and its flags, then one function per
// subcommand (s5Cat, s5Pipe, s5Ls, s5Mv).
func parseS5cmd(p *Persona, args []string) (Command, error) {
	rest, err := s5Global(p, args)
	if err != nil {
		return Command{}, err
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
	c := newS5Call(p, sub, flags, pos)
	switch sub {
	case "cat":
		return s5Cat(c)
	case "pipe":
		return s5Pipe(c)
	case "ls":
		return s5Ls(c)
	default: // mv
		return s5Mv(c)
	}
}

// s5Global parses the global flags and checks the combinations s5cmd
// refuses; it returns what follows them.
func s5Global(p *Persona, args []string) ([]string, error) {
	global, rest, err := parseS5Flags(p, "", args)
	if err != nil {
		return nil, err
	}
	if e, ok := global["endpoint-url"]; ok && !strings.HasPrefix(e, "http") {
		return nil, usagef(p, "ERROR bad value for --endpoint-url %v: scheme is missing. Must be of the form http://<hostname>/ or https://<hostname>/", e)
	}
	if global["no-sign-request"] == "true" && (global["profile"] != "" || global["credentials-file"] != "") {
		return nil, usagef(p, `ERROR "no-sign-request" and "profile" flags cannot be used together`)
	}
	return rest, nil
}

// s5Call is one subcommand as parsed: its flags and arguments, and full,
// what s5cmd's messages call the command (name, flags set, arguments).
type s5Call struct {
	p     *Persona
	flags map[string]string
	pos   []string
	full  string
}

// newS5Call builds the s5Call of subcommand sub.
//
//	c := newS5Call(p, "cat", map[string]string{"raw": "true"}, []string{"s3://b/k"}) // c.full: "cat --raw=true s3://b/k"
func newS5Call(p *Persona, sub string, flags map[string]string, pos []string) s5Call {
	full := sub
	for _, name := range sortedKeys(flags) {
		full += " --" + name + "=" + flags[name]
	}
	if len(pos) > 0 {
		full += " " + strings.Join(pos, " ")
	}
	return s5Call{p: p, flags: flags, pos: pos, full: full}
}

// errf is s5cmd's error about the command: `ERROR "<full>": <message>`.
func (c s5Call) errf(format string, v ...any) error {
	return usagef(c.p, "ERROR %q: "+format, append([]any{c.full}, v...)...)
}

// s5Cat parses `cat s3://B/K` (a read).
func s5Cat(c s5Call) (Command, error) {
	if len(c.pos) != 1 {
		return Command{}, c.errf("expected only one argument")
	}
	key, err := c.object(c.pos[0], "source must be a remote object", "remote source must be an object")
	if err != nil {
		return Command{}, err
	}
	return Command{Op: faults.OpRead, Src: c.pos[0], Key: key, Handle: key, Missing: s5NotFound(c.full, c.pos[0])}, nil
}

// s5Pipe parses `pipe s3://B/K` (a write from stdin).
func s5Pipe(c s5Call) (Command, error) {
	if len(c.pos) != 1 {
		return Command{}, c.errf("expected destination argument")
	}
	key, err := c.object(c.pos[0], "destination must be a bucket", "target "+`"`+c.pos[0]+`"`+" must be an object")
	if err != nil {
		return Command{}, err
	}
	return Command{Op: faults.OpWrite, Src: c.pos[0], Key: key, Handle: key}, nil
}

// s5Ls parses `ls s3://B/PREFIX` (no bucket listing, no wildcards).
func s5Ls(c s5Call) (Command, error) {
	if len(c.pos) == 0 {
		return Command{}, usagef(c.p, "ls: listing buckets is not supported by fakecli")
	}
	if len(c.pos) > 1 {
		return Command{}, c.errf("expected only 1 argument")
	}
	key, slash, err := parseURL(c.p, "s3", c.pos[0])
	if err != nil {
		return Command{}, err
	}
	if strings.ContainsAny(c.pos[0], "*?") {
		return Command{}, usagef(c.p, "ls: wildcards are not supported by fakecli: %s", c.pos[0])
	}
	if !strings.Contains(key, "/") {
		slash = true // s3://b lists the bucket
	}
	dir, prefix := splitPrefix(key, slash)
	return Command{Op: faults.OpList, Src: c.pos[0], List: Listing{Style: ListS5, Dir: dir, Prefix: prefix,
		Empty: `ERROR "` + c.full + `": no object found`, EmptyExit: ExitFailed}}, nil
}

// s5Mv parses `mv s3://B/K s3://B/K2`.
func s5Mv(c s5Call) (Command, error) {
	if len(c.pos) != 2 {
		return Command{}, c.errf("expected source and destination arguments")
	}
	from, err := c.object(c.pos[0], "source must be a remote object", "source must be an object")
	if err != nil {
		return Command{}, err
	}
	to, err := c.object(c.pos[1], "destination must be a remote object", "target "+`"`+c.pos[1]+`"`+" must be an object")
	if err != nil {
		return Command{}, err
	}
	return Command{Op: faults.OpMove, Src: c.pos[0], Key: from, Dst: c.pos[1], To: to, Handle: from,
		Missing: s5NotFound(c.full, c.pos[0]), Moved: "mv " + c.pos[0] + " " + c.pos[1] + "\n"}, nil
}

// object checks that url names one remote object (s3://B/K, no trailing
// slash, no glob characters unless --raw) and returns its key. notRemote
// and notObject are s5cmd's messages for the two ways it can fail.
func (c s5Call) object(url, notRemote, notObject string) (string, error) {
	if !strings.HasPrefix(url, "s3://") {
		return "", c.errf("%s", notRemote)
	}
	key, slash, err := parseURL(c.p, "s3", url)
	if err != nil {
		return "", err
	}
	if slash || !strings.Contains(key, "/") {
		return "", c.errf("%s", notObject)
	}
	if c.flags["raw"] != "true" && strings.ContainsAny(url, "*?") {
		return "", c.errf("remote source %q can not contain glob characters", url)
	}
	return key, nil
}

// s5NotFound is what s5cmd prints when the object to read or move does not
// exist.
func s5NotFound(full, url string) string {
	return `ERROR "` + full + `": given object ` + url + ` not found`
}
