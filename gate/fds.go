package gate

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leakgate/leakgate/harness"
)

// FD is one fd of the watched command, as a report shows it:
// for _, fd := range rep.FDs.Leaked { fmt.Println(fd) }.
type FD struct {
	Num    int    `json:"fd"`
	Kind   string `json:"kind"`    // pipe, socket, pidfd, file or other (harness.FDKind)
	Target string `json:"target"`  // readlink target: "pipe:[88123]", "/tmp/x"
	HeldMS int64  `json:"held_ms"` // how long it had been open (same number and target) at the last sample, in ms; -1: not open then
}

// String renders the fd: "fd 7 -> pipe:[88123], open 1.2s".
func (fd FD) String() string {
	if fd.HeldMS < 0 {
		return fmt.Sprintf("fd %d -> %s, opened after the last sample", fd.Num, fd.Target)
	}
	return fmt.Sprintf("fd %d -> %s, open %s", fd.Num, fd.Target, ms(fd.HeldMS))
}

// FDVerdict is the gate's judgement of the watched command's own fds
// (rep.FDs.Judged, rep.FDs.Leaked). An fd
// leaked inside a process dies with it, so the gate judges what it saw last:
// the fds open at the last sample taken before the command began to exit
// that were not open at the first sample, and only if that sample caught
// the command at rest (see package doc).
type FDVerdict struct {
	// Judged is false when the last sample did not catch the command at
	// rest, or no sample was taken: New is then reported, not judged.
	Judged bool `json:"judged"`
	// Why says, in one line, what the rule found.
	Why string `json:"why"`
	// Source is what was judged: "exit" (the fd table as the command
	// exited, read at its exit stop: exact) or "samples" (the last sample
	// before it began to exit: the fallback, see Report.Exit).
	Source string `json:"source"`
	// Samples counts the usable samples of the command's fds.
	Samples int `json:"samples"`
	// LastSampleMS is when the last usable sample was taken, in ms after
	// the command started; -1 if none was.
	LastSampleMS int64 `json:"last_sample_ms"`
	// New are the fds open at the last sample and not at the first.
	New []FD `json:"new"`
	// Leaked are New when Judged, else empty.
	Leaked []FD `json:"leaked"`
}

// runtimeFDs are fds language runtimes open once per process and keep:
// the Go netpoller's epoll and eventfd (see harness.Diff), and the cgroup
// CPU-limit files Go's runtime keeps open since Go 1.25 to follow the
// container's limit (GOMAXPROCS). The first sample of a command is taken
// right after exec, before its runtime opened them; they are never a leak.
var runtimeFDs = regexp.MustCompile(`^anon_inode:\[(eventpoll|eventfd)\]$|^/sys/fs/cgroup/(.*/)?cpu(\.max|\.cfs_quota_us|\.cfs_period_us)$`)

// fdObs is one sample of the command: its fds and how many live (non-zombie)
// children it had. Zombie children do not keep it busy: nothing it waits
// for is still running.
type fdObs struct {
	at   time.Duration // since the command started
	fds  map[int]string
	live int
}

type fdKey struct {
	num    int
	target string
}

// fdTracker folds samples into the fd verdict; it keeps no history beyond
// what the rule needs.
type fdTracker struct {
	ignore []*regexp.Regexp

	first     map[int]string
	samples   int
	since     map[fdKey]time.Duration // present at every sample since
	set       string                  // canonical text of the current new fds
	resting   bool
	restSince time.Duration
	last      fdObs
	lastNew   []fdKey
}

func newFDTracker(ignore []*regexp.Regexp) *fdTracker {
	return &fdTracker{ignore: append([]*regexp.Regexp{runtimeFDs}, ignore...), since: map[fdKey]time.Duration{}}
}

func (t *fdTracker) ignored(target string) bool {
	return slices.ContainsFunc(t.ignore, func(re *regexp.Regexp) bool { return re.MatchString(target) })
}

// observe adds a sample; samples come in time order.
func (t *fdTracker) observe(o fdObs) {
	if t.samples == 0 {
		t.first = o.fds
	}
	t.samples++
	var fresh []fdKey
	for num, target := range o.fds {
		target = sameFile(target)
		if old, ok := t.first[num]; (ok && old == target) || t.ignored(target) {
			continue
		}
		fresh = append(fresh, fdKey{num, target})
	}
	slices.SortFunc(fresh, func(a, b fdKey) int { return a.num - b.num })
	present := map[fdKey]bool{}
	var parts []string
	for _, k := range fresh {
		present[k] = true
		if _, ok := t.since[k]; !ok {
			t.since[k] = o.at
		}
		parts = append(parts, strconv.Itoa(k.num)+">"+k.target)
	}
	for k := range t.since {
		if !present[k] {
			delete(t.since, k)
		}
	}
	set := strings.Join(parts, "\x00")
	switch {
	case o.live > 0:
		t.resting = false
	case !t.resting || set != t.set:
		t.resting, t.restSince = true, o.at
	}
	t.set, t.last, t.lastNew = set, o, fresh
}

// verdict applies the rule with the quiet window quiet.
func (t *fdTracker) verdict(quiet time.Duration) FDVerdict {
	v := FDVerdict{Source: "samples", Samples: t.samples, LastSampleMS: -1, New: []FD{}, Leaked: []FD{}}
	if t.samples == 0 {
		v.Why = "no sample of the command's fds was taken before it exited: not judged"
		return v
	}
	v.LastSampleMS = t.last.at.Milliseconds()
	for _, k := range t.lastNew {
		v.New = append(v.New, FD{Num: k.num, Kind: string(classifyFD(k.target)), Target: k.target, HeldMS: (t.last.at - t.since[k]).Milliseconds()})
	}
	rest := t.last.at - t.restSince
	switch {
	case len(v.New) == 0:
		v.Judged = true
		v.Why = "no fd opened since the first sample was open at the last one"
	case t.last.live > 0:
		v.Why = fmt.Sprintf("not judged: the command had %s at its last sample (busy)", plural(t.last.live, "live child", "live children"))
	case !t.resting || rest < quiet:
		v.Why = fmt.Sprintf("not judged: at its last sample the command had been at rest for %s, less than the fd quiet window %s", rest.Round(time.Millisecond), quiet)
	default:
		v.Judged = true
		v.Leaked = v.New
		v.Why = fmt.Sprintf("at rest for %s at its last sample (no live children, same fds): %s opened since the first sample and never closed", rest.Round(time.Millisecond), plural(len(v.New), "fd", "fds"))
	}
	return v
}

// classifyFD classifies an fd by its readlink target, as harness does.
func classifyFD(target string) harness.FDKind {
	switch {
	case strings.HasPrefix(target, "pipe:["):
		return harness.FDPipe
	case strings.HasPrefix(target, "socket:["):
		return harness.FDSocket
	case target == "anon_inode:[pidfd]", strings.HasPrefix(target, "pidfd:"):
		return harness.FDPidfd
	case strings.HasPrefix(target, "/"):
		return harness.FDFile
	}
	return harness.FDOther
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// ms renders a count of milliseconds as a duration: ms(1200) == "1.2s".
func ms(n int64) string { return (time.Duration(n) * time.Millisecond).String() }

// exitVerdict judges the fd table the command held as it exited (atExit,
// read at its exit stop) with the rule of the samples (see verdict), so
// that an fd the command closed before it exited, however shortly before,
// is never judged: New are the fds open at exit and not at the first sample
// (by number and target), not ignored. They are judged only if the last
// sample caught the command at rest (no live child, the same new fds for
// at least quiet: a program exiting in the middle of its work holds what
// it was using), and then Leaked are those of them held through that rest
// whose being open others can see: a pipe (its reader waits for an EOF
// that comes only when the last writer closes it), a socket, a pidfd, a
// file open for writing. A file it only reads (the script bash runs, on fd
// 255), a device or an anonymous inode of its runtime is reported among
// New, not judged.
func (t *fdTracker) exitVerdict(atExit map[int]string, writable map[int]bool, quiet time.Duration) FDVerdict {
	v := FDVerdict{Source: "exit", Samples: t.samples, LastSampleMS: -1, New: []FD{}, Leaked: []FD{}}
	if t.samples > 0 {
		v.LastSampleMS = t.last.at.Milliseconds()
	}
	var nums []int
	for num, target := range atExit {
		if old, ok := t.first[num]; (ok && old == target) || t.ignored(target) {
			continue
		}
		nums = append(nums, num)
	}
	slices.Sort(nums)
	var candidates []FD
	for _, num := range nums {
		target := atExit[num]
		fd := FD{Num: num, Kind: string(classifyFD(target)), Target: target, HeldMS: -1}
		since, held := t.since[fdKey{num, sameFile(target)}]
		if held {
			fd.HeldMS = (t.last.at - since).Milliseconds()
		}
		v.New = append(v.New, fd)
		if held && seenOutside(harness.FDKind(fd.Kind), target, writable[num]) {
			candidates = append(candidates, fd)
		}
	}
	rest := t.last.at - t.restSince
	switch {
	case len(v.New) == 0:
		v.Judged = true
		v.Why = "as it exited the command held no fd it opened after its exec"
	case t.samples == 0:
		v.Why = "not judged: no sample of the command was taken before it exited"
	case t.last.live > 0:
		v.Why = fmt.Sprintf("not judged: the command had %s at its last sample (busy)", plural(t.last.live, "live child", "live children"))
	case !t.resting || rest < quiet:
		v.Why = fmt.Sprintf("not judged: at its last sample the command had been at rest for %s, less than the fd quiet window %s", rest.Round(time.Millisecond), quiet)
	case len(candidates) == 0:
		v.Judged = true
		v.Why = fmt.Sprintf("as it exited the command held %s opened after its exec, none a pipe, socket, pidfd or written file held through its rest", plural(len(v.New), "fd", "fds"))
	default:
		v.Judged, v.Leaked = true, candidates
		v.Why = fmt.Sprintf("at rest for %s at its last sample, the command still held %s as it exited (pipe, socket, pidfd or file open for writing)", rest.Round(time.Millisecond), plural(len(candidates), "fd", "fds"))
	}
	return v
}

// seenOutside reports whether an fd held at exit is one whose being open
// others can see: a pipe, socket or pidfd, or a file outside /dev open for
// writing (writable: its fdinfo flags, read at the exit stop).
func seenOutside(kind harness.FDKind, target string, writable bool) bool {
	switch kind {
	case harness.FDPipe, harness.FDSocket, harness.FDPidfd:
		return true
	case harness.FDFile:
		return writable && !strings.HasPrefix(target, "/dev/")
	}
	return false
}

// sameFile drops the " (deleted)" the kernel appends to a removed file's
// target: removing a file does not close it, nor make it another fd.
func sameFile(target string) string { return strings.TrimSuffix(target, " (deleted)") }
