package harness

import (
	"regexp"
	"slices"
)

// Diff judges now against baseline: the descendants and escaped processes
// present in now and not in baseline (matched by pid and start time, so a
// reused pid counts as new), and the fds open in now and not in baseline
// (matched by number and target).
//
//	leaks := harness.Diff(before, after, harness.IgnoringFDs(gomega.HaveField("Kind", harness.FDSocket)))
//	if !leaks.Empty() { t.Error(leaks) }
//
// Diff ignores, by default, the Go netpoller's fds (anon_inode:[eventpoll]
// and anon_inode:[eventfd]), which the runtime opens once per process the
// first time it needs them and never closes. Options add more: IgnoringProcs,
// IgnoringFDs, IgnoringGoroutines.
// When both snapshots recorded goroutines (WithGoroutines), Diff also
// reports the goroutines gleak judges leaked. Diff is pure: it reads no
// files.
func Diff(baseline, now Snapshot, opts ...Option) Leaks {
	return diff(baseline, now, mustOptions(callDiff, opts))
}

func diff(baseline, now Snapshot, o *options) Leaks {
	l := Leaks{Baseline: baseline, Taken: now.Taken, Self: now.Self}
	old := make(map[procKey]bool, len(baseline.Descendants)+len(baseline.Escaped))
	for _, p := range baseline.Descendants {
		old[p.key()] = true
	}
	for _, p := range baseline.Escaped {
		old[p.key()] = true
	}
	fresh := func(ps []Proc) []Proc {
		var out []Proc
		for _, p := range ps {
			if !old[p.key()] && !matchesAny(o.ignoreProc, p) {
				out = append(out, p)
			}
		}
		return out
	}
	l.Children = fresh(now.Descendants)
	l.Escaped = fresh(now.Escaped)

	type fdKey struct {
		num    int
		target string
	}
	oldFD := make(map[fdKey]bool, len(baseline.FDs))
	for _, fd := range baseline.FDs {
		oldFD[fdKey{fd.Num, fd.Target}] = true
	}
	for _, fd := range now.FDs {
		if oldFD[fdKey{fd.Num, fd.Target}] || matchesAny(o.ignoreFD, fd) {
			continue
		}
		if slices.ContainsFunc(o.ignoreFDT, func(re *regexp.Regexp) bool { return re.MatchString(fd.Target) }) {
			continue
		}
		fd.Peers = nil
		l.FDs = append(l.FDs, fd)
	}
	if baseline.Goroutines != nil && now.Goroutines != nil {
		l.Goroutines = leakedGoroutines(baseline.Goroutines, now.Goroutines, o.ignoreGo)
	}
	return l
}
