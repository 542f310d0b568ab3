package fakecli

import (
	"sort"
	"strings"

	"github.com/leakgate/leakgate/fakecli/fakeenv"
)

// Persona is one storage CLI fakecli can be: chosen by the base name of
// argv[0] (a symlink named "aws" makes fakecli the aws persona).
//
//	p := fakecli.Lookup("aws")
//	cmd, err := p.Parse([]string{"s3", "ls", "s3://b/e1/metadata/"}, os.Getenv)
type Persona struct {
	// Name is argv[0]'s base name for this persona: "aws".
	Name string
	// Usage is a one-line synopsis shown with usage errors.
	Usage string
	// Parse turns argv (without argv[0]) and the environment into a
	// Command. It does no I/O. Errors are *UsageError (or wrap one).
	Parse func(args []string, getenv func(string) string) (Command, error)
}

// personas is the registry, one file per persona (persona_<name>.go). Keep
// it sorted. To add a persona, write its file with a constructor and add a
// line here.
var personas = map[string]*Persona{
	"aws":     awsPersona(),
	"azcopy":  azcopyPersona(),
	"fakecli": plainPersona(),
	"gcloud":  gcloudPersona(),
	"gsutil":  gsutilPersona(),
	"s5cmd":   s5cmdPersona(),
}

// Lookup returns the persona registered under name (argv[0]'s base name), or
// nil if there is none.
//
//	p := fakecli.Lookup("gsutil")
func Lookup(name string) *Persona { return personas[name] }

// Personas returns the names of all personas, sorted: fakeenv.Personas,
// the one list (a test checks the registry against it).
//
//	fakecli.Personas() // [aws azcopy fakecli gcloud gsutil s5cmd]
func Personas() []string { return fakeenv.Personas() }

// parseURL splits a storage URL ("s3://b/k/x") into its bucket-relative key
// ("b/k/x") and whether it ends with "/". The scheme must match and the
// bucket name must not be empty.
func parseURL(p *Persona, scheme, url string) (key string, slash bool, err error) {
	rest, ok := strings.CutPrefix(url, scheme+"://")
	if !ok {
		return "", false, usagef(p, "%q is not a %s:// URL", url, scheme)
	}
	bucket, _, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return "", false, usagef(p, "%q: missing bucket name", url)
	}
	slash = strings.HasSuffix(rest, "/")
	return strings.TrimRight(rest, "/"), slash, nil
}

// splitPrefix splits a key into the folder listed and the name prefix, with
// `aws s3 ls` semantics: "b/e1/meta" → ("b/e1", "meta"); "b/e1/metadata"
// with slash → ("b/e1/metadata", "").
func splitPrefix(key string, slash bool) (dir, prefix string) {
	if slash || !strings.Contains(key, "/") {
		return key, ""
	}
	i := strings.LastIndex(key, "/")
	return key[:i], key[i+1:]
}

// isURL reports whether s looks like a URL of some scheme.
func isURL(s string) bool { return strings.Contains(s, "://") }

// unknownOption is the usage error for an option the persona does not know.
func unknownOption(p *Persona, opt string) error {
	return usagef(p, "unknown option %q", opt)
}

// argCount checks the number of positional arguments of a subcommand.
func argCount(p *Persona, sub string, args []string, want int) error {
	if len(args) != want {
		return usagef(p, "%s takes %d arguments, got %d: %s", sub, want, len(args), strings.Join(args, " "))
	}
	return nil
}

// sortedKeys returns m's keys, sorted.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// knownPersonas is the list for the unknown-persona message.
func knownPersonas() string { return strings.Join(Personas(), ", ") }
