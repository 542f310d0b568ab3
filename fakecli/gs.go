package fakecli

import "github.com/leakgate/leakgate/faults"

// gsDialect is what differs between gsutil and `gcloud storage`, which share
// their cp, ls and mv semantics over gs:// URLs: the command prefix in
// usage messages and the messages for a missing object and an empty listing.
type gsDialect struct {
	prefix  string                       // "" (gsutil) or "storage " (gcloud)
	missing func(sub, url string) string // stderr when cp or mv finds no object
	empty   string                       // stderr when ls matches nothing
}

var (
	gsutilDialect = gsDialect{
		missing: func(_, url string) string { return "CommandException: No URLs matched: " + url },
		empty:   gsNoMatch,
	}
	gcloudDialect = gsDialect{
		prefix: "storage ",
		missing: func(sub, url string) string {
			return "ERROR: (gcloud.storage." + sub + ") The following URLs matched no objects or files:\n-" + url
		},
		empty: gcloudNoMatch,
	}
)

// parseGS parses `cp gs://B/K -`, `cp - gs://B/K`, `ls gs://B/PREFIX/` and
// `mv gs://B/K gs://B/K2` (sub and its arguments rest) in dialect d.
func parseGS(p *Persona, d gsDialect, sub string, rest []string) (Command, error) {
	name := d.prefix + sub
	switch sub {
	case "cp":
		if err := argCount(p, name, rest, 2); err != nil {
			return Command{}, err
		}
		src, dst := rest[0], rest[1]
		switch {
		case dst == "-" && src != "-":
			key, err := gsObject(p, name, src)
			if err != nil {
				return Command{}, err
			}
			return Command{Op: faults.OpRead, Src: src, Key: key, Handle: key, Missing: d.missing(sub, src)}, nil
		case src == "-" && dst != "-":
			key, err := gsObject(p, name, dst)
			if err != nil {
				return Command{}, err
			}
			return Command{Op: faults.OpWrite, Src: dst, Key: key, Handle: key}, nil
		default:
			return Command{}, usagef(p, "%s: exactly one side must be - (stdin or stdout) and the other a gs:// URL", name)
		}
	case "ls":
		if err := argCount(p, name, rest, 1); err != nil {
			return Command{}, err
		}
		key, slash, err := parseURL(p, "gs", rest[0])
		if err != nil {
			return Command{}, err
		}
		l := Listing{Style: ListGS, Dir: key, Show: "gs://" + key + "/", Empty: d.empty, EmptyExit: ExitFailed}
		if !slash {
			l.Self = rest[0]
		}
		return Command{Op: faults.OpList, Src: rest[0], List: l}, nil
	case "mv":
		if err := argCount(p, name, rest, 2); err != nil {
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
			return Command{}, usagef(p, "%s: folders are not supported: %s %s", name, rest[0], rest[1])
		}
		return Command{Op: faults.OpMove, Src: rest[0], Key: from, Dst: rest[1], To: to, Handle: from, Missing: d.missing(sub, rest[0])}, nil
	default:
		return Command{}, usagef(p, "%s: unsupported command (cp, ls or mv)", name)
	}
}

// gsObject is the bucket key of url, which must name an object, not a folder.
func gsObject(p *Persona, name, url string) (string, error) {
	key, slash, err := parseURL(p, "gs", url)
	if err != nil {
		return "", err
	}
	if slash {
		return "", usagef(p, "%s: %q names a folder, not an object", name, url)
	}
	return key, nil
}
