package harness

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/onsi/gomega/gleak"
)

// leakedGoroutines returns the goroutines of now that gleak.HaveLeaked
// judges leaked against baseline: not in it (by goroutine id), and not
// matched by gleak's standard filters (runtime, testing, Ginkgo) or by
// filters (IgnoringGoroutines).
func leakedGoroutines(baseline, now []gleak.Goroutine, filters []any) []gleak.Goroutine {
	ignoring := append([]any{baseline}, filters...)
	var out []gleak.Goroutine
	for _, g := range now {
		// One matcher per goroutine: gleak keeps the leaked list inside the
		// matcher and offers no other way to read it.
		leaked, err := gleak.HaveLeaked(ignoring...).Match([]gleak.Goroutine{g})
		if err == nil && leaked {
			out = append(out, g)
		}
	}
	return out
}

// writeGoroutine renders a leaked goroutine on one line:
// "goroutine 31 [chan receive]: pkg.worker, created by pkg.Start at pkg/start.go:42".
func writeGoroutine(b *strings.Builder, g gleak.Goroutine) {
	fmt.Fprintf(b, "goroutine %d [%s]: %s", g.ID, g.State, g.TopFunction)
	if g.CreatorFunction != "" {
		fmt.Fprintf(b, ", created by %s", g.CreatorFunction)
		if g.BornAt != "" {
			fmt.Fprintf(b, " at %s", shortLocation(g.BornAt))
		}
	}
}

// shortLocation keeps the last directory and the file of "path/file.go:12".
func shortLocation(loc string) string {
	dir, file := filepath.Split(loc)
	if dir == "" {
		return loc
	}
	return filepath.Join(filepath.Base(filepath.Clean(dir)), file)
}

// goroutineIDs is part of Leaks.identity.
func goroutineIDs(gs []gleak.Goroutine) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = fmt.Sprintf("g%d:%s", g.ID, g.TopFunction)
	}
	return out
}
