package reports

import (
	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/internal/shellquote"
)

// shellQuote joins argv into one shell command line (internal/shellquote).
func shellQuote(argv []string) string { return shellquote.Join(argv) }

// stateName spells out a /proc state letter (internal/procfs).
func stateName(letter string) string { return procfs.StateName(letter) }
