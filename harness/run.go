package harness

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// MarkerEnv is the environment variable that tags every process a measured
// run starts: LEAKGATE_RUN=<run id>. Children inherit it, so it identifies a
// run's processes even after they escape the process tree.
const MarkerEnv = "LEAKGATE_RUN"

// ReapedEnv is set by RunReaped in the inner test process; its value is the
// wrapper's run id, the prefix of every Run ID made in that process.
const ReapedEnv = "LEAKGATE_REAPED"

// Marker names one measured run: the LEAKGATE_RUN value every process the
// run starts carries (Env), so that Take finds the ones that escape its
// tree and Sweep kills what is left:
//
//	m := harness.NewMarker("stall")
//	cmd.Env = append(os.Environ(), m.Env())
//	…
//	swept, err := harness.Sweep(ctx, m, before)
//
// Its ID has the form "<prefix>/<pid>.<seq>.<sub>": prefix is this
// process's ReapedEnv value (so RunReaped can sweep it) or a random id made
// once per process; pid is this process's pid (ginkgo -p workers never
// collide); seq counts NewMarker calls in this process. Because pid and seq are
// each followed by '.', no ID is a prefix of another, and the prefix match
// used by WithMarker and Sweep never confuses two runs.
type Marker struct{ ID string }

var runSeq atomic.Uint64

// NewMarker returns a fresh marker named after sub, e.g.
// NewMarker("stall-after-64KiB").
// Characters of sub outside [A-Za-z0-9._-] become '_'; an empty sub becomes
// "run". Give the processes the run starts m.Env() in their environment.
func NewMarker(sub string) Marker {
	n := runSeq.Add(1)
	return Marker{ID: ProcessMarker() + strconv.FormatUint(n, 10) + "." + cleanSub(sub)}
}

// Env returns the environment entry that tags a process with the marker,
// "LEAKGATE_RUN=<id>": cmd.Env = append(os.Environ(), m.Env()).
func (r Marker) Env() string { return MarkerEnv + "=" + r.ID }

// String returns the run id.
func (r Marker) String() string { return r.ID }

// ProcessMarker returns the marker prefix shared by every Marker this process
// makes, "<prefix>/<pid>.". Take uses it by default to find escaped
// processes: harness.Take(harness.WithMarker(harness.ProcessMarker())).
func ProcessMarker() string {
	return runPrefix() + "/" + strconv.Itoa(os.Getpid()) + "."
}

var runPrefix = sync.OnceValue(func() string {
	if v := os.Getenv(ReapedEnv); v != "" {
		return v
	}
	return newRunID()
})

// newRunID returns a random run id such as "lg3f9a1c2b7d0e".
func newRunID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand.Read does not fail on Linux; fall back to the pid.
		return "lg" + strconv.Itoa(os.Getpid())
	}
	return "lg" + hex.EncodeToString(b[:])
}

func cleanSub(sub string) string {
	if sub == "" {
		return "run"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, sub)
}

// markerMatches reports whether a process's marker value belongs to prefix.
func markerMatches(value, prefix string) bool {
	return prefix != "" && strings.HasPrefix(value, prefix)
}
