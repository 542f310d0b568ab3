package fakecli

import (
	"strings"

	"github.com/leakgate/leakgate/faults"
)

// azcopyPersona is `azcopy cp|ls|sync` on blob URLs, as azure.sample.yaml
// calls it. Flags go anywhere on the line (cobra), as --flag value or
// --flag=value; booleans as --flag or --flag=true|false.
func azcopyPersona() *Persona {
	p := &Persona{
		Name: "azcopy",
		Usage: "azcopy [--log-level L] [--skip-version-check] [--cap-mbps N] " +
			"{cp --from-to BlobPipe URL | cp --from-to PipeBlob URL | ls URL | sync URL URL2 --move=true}" +
			" (URL: https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH[?SAS])",
	}
	p.Parse = func(args []string, _ func(string) string) (Command, error) { return parseAzcopy(p, args) }
	return p
}

// azcopyFlags are the flags accepted, per subcommand ("" for every one):
// true if the flag takes a value, false for a boolean.
var azcopyFlags = map[string]map[string]bool{
	"":     {"--log-level": true, "--cap-mbps": true, "--skip-version-check": false},
	"cp":   {"--from-to": true, "--overwrite": true, "--block-size-mb": true, "--recursive": false, "--put-md5": false},
	"ls":   {},
	"sync": {"--move": false, "--recursive": false},
}

// azcopyBlobHost is the host suffix of a blob service URL.
const azcopyBlobHost = ".blob.core.windows.net"

// azcopyCommand is one parsed azcopy invocation.
type azcopyCommand struct {
	sub   string
	pos   []string
	flags map[string]string // "--from-to" → "BlobPipe"; booleans → "true" or "false"
}

func parseAzcopy(p *Persona, args []string) (Command, error) {
	c, err := splitAzcopy(p, args)
	if err != nil {
		return Command{}, err
	}
	switch c.sub {
	case "cp", "copy":
		return azcopyCopy(p, c)
	case "ls", "list":
		if len(c.pos) != 1 {
			return Command{}, usagef(p, "this command only requires container destination")
		}
		key, shown, _, err := parseBlobURL(p, c.pos[0])
		if err != nil {
			return Command{}, err
		}
		return Command{Op: faults.OpList, Src: shown, List: Listing{Style: ListAzure, Dir: key}}, nil
	case "sync":
		if len(c.pos) != 2 {
			return Command{}, usagef(p, "2 arguments source and destination are required for this command. Number of commands passed %d", len(c.pos))
		}
		if c.flags["--move"] != "true" {
			return Command{}, usagef(p, "sync: fakecli's azcopy only syncs a single blob with --move=true")
		}
		from, src, fslash, err := parseBlobURL(p, c.pos[0])
		if err != nil {
			return Command{}, err
		}
		to, dst, tslash, err := parseBlobURL(p, c.pos[1])
		if err != nil {
			return Command{}, err
		}
		if fslash || tslash {
			return Command{}, usagef(p, "sync: fakecli's azcopy only syncs a single blob, not a directory: %s %s", src, dst)
		}
		return Command{Op: faults.OpMove, Src: src, Key: from, Dst: dst, To: to, Handle: from,
			Missing: "Cannot perform sync due to error: cannot find source to sync"}, nil
	default:
		return Command{}, usagef(p, "%s: unsupported command (cp, ls or sync)", c.sub)
	}
}

// splitAzcopy finds the subcommand and sorts the rest into positional
// arguments and flags, cobra style: flags anywhere, "--" ends them.
func splitAzcopy(p *Persona, args []string) (azcopyCommand, error) {
	c := azcopyCommand{flags: map[string]string{}}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "--") {
			if c.sub == "" && !strings.HasPrefix(a, "-") {
				c.sub = a
				continue
			}
			if strings.HasPrefix(a, "-") && a != "-" {
				return c, usagef(p, "Error: unknown shorthand flag: %q in %s", a[1:2], a)
			}
			rest = append(rest, a)
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		takesValue, known := azcopyFlags[""][name]
		if !known && c.sub != "" {
			takesValue, known = azcopyFlags[c.sub][name]
		}
		if !known {
			return c, usagef(p, "Error: unknown flag: %s", name)
		}
		switch {
		case takesValue && !hasValue:
			if i+1 >= len(args) {
				return c, usagef(p, "Error: flag needs an argument: %s", name)
			}
			i++
			value = args[i]
		case !takesValue && !hasValue:
			value = "true"
		case !takesValue && value != "true" && value != "false":
			return c, usagef(p, "Error: invalid argument %q for %q flag: want true or false", value, name)
		}
		c.flags[name] = value
	}
	if c.sub == "" {
		return c, usagef(p, "missing command (cp, ls or sync)")
	}
	c.pos = rest
	return c, nil
}

// azcopyCopy is `azcopy cp`: piping only, the direction from --from-to.
func azcopyCopy(p *Persona, c azcopyCommand) (Command, error) {
	if len(c.pos) != 1 {
		return Command{}, usagef(p, "cp: fakecli's azcopy only pipes (one URL and --from-to BlobPipe or PipeBlob), got %d arguments", len(c.pos))
	}
	fromTo, ok := c.flags["--from-to"]
	if !ok {
		return Command{}, usagef(p, "fatal: from-to argument required, PipeBlob (upload) or BlobPipe (download) is acceptable")
	}
	key, shown, slash, err := parseBlobURL(p, c.pos[0])
	if err != nil {
		return Command{}, err
	}
	if slash {
		return Command{}, usagef(p, "cp: %q names a directory, not a blob", shown)
	}
	switch fromTo {
	case "BlobPipe":
		return Command{Op: faults.OpRead, Src: shown, Key: key, Handle: key, Missing: azcopyNotFound(shown)}, nil
	case "PipeBlob":
		return Command{Op: faults.OpWrite, Src: shown, Key: key, Handle: key}, nil
	default:
		return Command{}, usagef(p, "fatal: invalid from-to argument passed: %s", fromTo)
	}
}

// parseBlobURL maps https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH?SAS
// to the key ACCOUNT/CONTAINER/PATH. shown is the URL without its query (the
// SAS is a secret; azcopy redacts it too), slash whether the path ends with
// "/". Account and container must not be empty.
func parseBlobURL(p *Persona, raw string) (key, shown string, slash bool, err error) {
	shown, _, _ = strings.Cut(raw, "?")
	rest, ok := strings.CutPrefix(shown, "https://")
	if !ok {
		return "", "", false, usagef(p, "%q is not an https:// blob URL", shown)
	}
	host, path, _ := strings.Cut(rest, "/")
	account, ok := strings.CutSuffix(host, azcopyBlobHost)
	if !ok || account == "" || strings.Contains(account, ".") {
		return "", "", false, usagef(p, "%q: host %q is not ACCOUNT%s", shown, host, azcopyBlobHost)
	}
	container, _, _ := strings.Cut(path, "/")
	if container == "" {
		return "", "", false, usagef(p, "%q: missing container name", shown)
	}
	slash = strings.HasSuffix(path, "/")
	return strings.TrimRight(account+"/"+path, "/"), shown, slash, nil
}

// azcopyNotFound is what azcopy prints when the blob to download does not
// exist (the Azure SDK's response error, abridged).
func azcopyNotFound(url string) string {
	const rule = "--------------------------------------------------------------------------------"
	return "failed to perform copy command due to error: fatal: cannot download blob due to error: GET " + url + "\n" +
		rule + "\nRESPONSE 404: 404 The specified blob does not exist.\nERROR CODE: BlobNotFound\n" + rule
}
