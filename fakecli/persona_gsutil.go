package fakecli

import "strings"

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
	return parseGS(p, gsutilDialect, sub, rest)
}
