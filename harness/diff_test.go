package harness_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func proc(pid int32, state string, started time.Time) harness.Proc {
	return harness.Proc{Pid: pid, PPid: 100, Pgid: pid, State: state, Name: "p" + state, Started: started, Cmdline: []string{"p", state}, CmdlineFrom: "proc"}
}

func TestDiffTable(t *testing.T) {
	base := harness.Snapshot{
		Self:        100,
		Taken:       t0,
		Descendants: []harness.Proc{proc(1, "S", t0)},
		Escaped:     []harness.Proc{proc(2, "S", t0)},
		FDs: []harness.FD{
			{Num: 0, Kind: harness.FDFile, Target: "/dev/null"},
			{Num: 3, Kind: harness.FDPipe, Target: "pipe:[1]"},
		},
	}
	later := t0.Add(time.Second)
	tests := []struct {
		name              string
		now               harness.Snapshot
		opts              []harness.Option
		children, escaped []int32
		fds               []int
		wantEmpty         bool
	}{
		{name: "same", now: base, wantEmpty: true},
		{
			name: "new child and reused pid",
			now: harness.Snapshot{
				Descendants: []harness.Proc{proc(1, "S", later), proc(5, "Z", later)},
				Escaped:     base.Escaped, FDs: base.FDs,
			},
			children: []int32{1, 5},
		},
		{
			name:    "new escaped",
			now:     harness.Snapshot{Descendants: base.Descendants, Escaped: []harness.Proc{proc(2, "S", t0), proc(7, "S", t0)}, FDs: base.FDs},
			escaped: []int32{7},
		},
		{
			name: "fd reused with another target, netpoller ignored",
			now: harness.Snapshot{Descendants: base.Descendants, Escaped: base.Escaped, FDs: []harness.FD{
				{Num: 0, Kind: harness.FDFile, Target: "/dev/null"},
				{Num: 3, Kind: harness.FDPipe, Target: "pipe:[2]"},
				{Num: 4, Kind: harness.FDOther, Target: "anon_inode:[eventpoll]"},
				{Num: 5, Kind: harness.FDOther, Target: "anon_inode:[eventfd]"},
				{Num: 6, Kind: harness.FDSocket, Target: "socket:[9]"},
			}},
			fds: []int{3, 6},
		},
		{
			name: "ignoring",
			now: harness.Snapshot{
				Descendants: []harness.Proc{proc(1, "S", t0), proc(8, "S", t0)},
				Escaped:     base.Escaped,
				FDs: []harness.FD{
					{Num: 6, Kind: harness.FDSocket, Target: "socket:[9]"},
					{Num: 7, Kind: harness.FDFile, Target: "/tmp/keep"},
					{Num: 8, Kind: harness.FDFile, Target: "/tmp/x.log"},
				},
			},
			opts: []harness.Option{
				harness.IgnoringProcs(gomega.HaveField("Pid", int32(8))), harness.IgnoringFDs(gomega.HaveField("Kind", harness.FDSocket)),
				harness.IgnoringFDs(gomega.HaveField("Target", gomega.MatchRegexp(`\.log$`))),
			},
			fds: []int{7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := harness.Diff(base, tt.now, tt.opts...)
			var gotC, gotE []int32
			var gotF []int
			for _, p := range l.Children {
				gotC = append(gotC, p.Pid)
			}
			for _, p := range l.Escaped {
				gotE = append(gotE, p.Pid)
			}
			for _, fd := range l.FDs {
				gotF = append(gotF, fd.Num)
			}
			if !slices.Equal(gotC, tt.children) || !slices.Equal(gotE, tt.escaped) || !slices.Equal(gotF, tt.fds) {
				t.Errorf("Diff: children %v escaped %v fds %v; want %v %v %v", gotC, gotE, gotF, tt.children, tt.escaped, tt.fds)
			}
			if l.Empty() != tt.wantEmpty || l.Count() != len(tt.children)+len(tt.escaped)+len(tt.fds) {
				t.Errorf("Empty() = %v, Count() = %d", l.Empty(), l.Count())
			}
		})
	}
}

func TestReportSynthetic(t *testing.T) {
	base := harness.Snapshot{Self: 4100, Descendants: make([]harness.Proc, 2), FDs: make([]harness.FD, 11)}
	l := harness.Leaks{
		Baseline: base,
		Self:     4100,
		Taken:    t0.Add(1200 * time.Millisecond),
		Children: []harness.Proc{{
			Pid: 4242, PPid: 4100, Pgid: 4242, State: "Z", Name: "bash", ParentName: "restore.test", Started: t0,
			Cmdline: []string{"bash", "-c", `set -o pipefail; fakecli cp "s3://b/e1/x/3-.chunk" - | gzip -cd`}, CmdlineFrom: "spawn",
		}},
		Escaped: []harness.Proc{{
			Pid: 4244, PPid: 1, Pgid: 4242, State: "S", Name: "fakecli", ParentName: "init", Started: t0.Add(time.Second), Marker: "r17/1.1.x",
			Cmdline: []string{"fakecli", "cp", "s3://b/e1/x/3-.chunk", "-"}, CmdlineFrom: "proc",
		}},
		FDs: []harness.FD{
			{Num: 17, Kind: harness.FDPipe, Target: "pipe:[88123]", Peers: []harness.Peer{{Pid: 4244, Name: "fakecli", FD: 1}}},
			{Num: 18, Kind: harness.FDPipe, Target: "pipe:[88124]", Peers: []harness.Peer{{Pid: 4100, FD: 19}, {Pid: 4244, Name: "fakecli", FD: 0}}},
		},
	}
	want := strings.Join([]string{
		`expected no leaks since baseline (2 children, 11 fds); found 4:`,
		`  pid 4242 [Z zombie] ppid 4100 (restore.test), pgid 4242, age 1.2s`,
		`      spawned as: bash -c 'set -o pipefail; fakecli cp "s3://b/e1/x/3-.chunk" - | gzip -cd'   (from spawn)`,
		`  pid 4244 [S sleeping] ppid 1 (init), pgid 4242, age 0.2s — escaped its parent (tagged run r17/1.1.x)`,
		`      spawned as: fakecli cp s3://b/e1/x/3-.chunk -`,
		`  fd 17 -> pipe:[88123]; other end: pid 4244 (fakecli) fd 1`,
		`  fd 18 -> pipe:[88124]; other end: fd 19 (this process), pid 4244 (fakecli) fd 0`,
	}, "\n")
	if got := l.String(); got != want {
		t.Errorf("report\n got:\n%s\nwant:\n%s", got, want)
	}
	if got, want := (harness.Leaks{Baseline: base}).String(), "no leaks since baseline (2 children, 11 fds)"; got != want {
		t.Errorf("empty report = %q, want %q", got, want)
	}
	if got := len(l.Zombies()); got != 1 {
		t.Errorf("Zombies() = %d, want 1", got)
	}
}

func TestStateName(t *testing.T) {
	for letter, want := range map[string]string{"R": "running", "S": "sleeping", "D": "disk sleep", "Z": "zombie", "T": "stopped", "t": "tracing stop", "I": "idle", "?": "unknown"} {
		if got := harness.StateNameForTest(letter); got != want {
			t.Errorf("stateName(%q) = %q, want %q", letter, got, want)
		}
	}
}
