package fakecli

import "strings"

// gcloudPersona is `gcloud storage cp|ls|mv`, the successor of gsutil (no
// shipped config uses it yet; newer GCS configs do). Flags go anywhere on
// the line, as --flag value or --flag=value: -q/--quiet, --verbosity V,
// --project P, --billing-project P, --no-user-output-enabled, all without
// effect.
func gcloudPersona() *Persona {
	p := &Persona{
		Name: "gcloud",
		Usage: "gcloud [-q] [--verbosity V] [--project P] storage " +
			"{cp gs://B/K - | cp - gs://B/K | ls gs://B/PREFIX/ | mv gs://B/K gs://B/K2}",
	}
	p.Parse = func(args []string, _ func(string) string) (Command, error) { return parseGcloud(p, args) }
	return p
}

// gcloudFlags are the flags accepted: true if the flag takes a value.
var gcloudFlags = map[string]bool{
	"-q": false, "--quiet": false, "--no-user-output-enabled": false,
	"--verbosity": true, "--project": true, "--billing-project": true,
}

// gcloudNoMatch is what `gcloud storage ls` prints when nothing matched.
const gcloudNoMatch = "ERROR: (gcloud.storage.ls) One or more URLs matched no objects."

func parseGcloud(p *Persona, args []string) (Command, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, _, hasValue := strings.Cut(a, "=")
		takesValue, known := gcloudFlags[name]
		switch {
		case !known || (!takesValue && hasValue):
			return Command{}, usagef(p, "ERROR: (gcloud%s) unrecognized arguments: %s", gcloudGroup(pos), a)
		case takesValue && !hasValue:
			if i+1 >= len(args) {
				return Command{}, usagef(p, "ERROR: (gcloud%s) argument %s: expected one argument", gcloudGroup(pos), name)
			}
			i++
		}
	}
	if len(pos) == 0 || pos[0] != "storage" {
		return Command{}, usagef(p, "only the storage command group is supported")
	}
	if len(pos) < 2 {
		return Command{}, usagef(p, "storage: missing command (cp, ls or mv)")
	}
	return parseGS(p, gcloudDialect, pos[1], pos[2:])
}

// gcloudGroup is the ".storage.cp" part of gcloud's error tag, from the
// positional arguments seen so far.
func gcloudGroup(pos []string) string {
	var g string
	for i, a := range pos {
		if i == 2 || strings.Contains(a, "://") || a == "-" {
			break
		}
		g += "." + a
	}
	return g
}
