package harness_test

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/leakgate/leakgate/harness"
)

func TestAnnotateTable(t *testing.T) {
	started := t0
	bash := harness.Proc{Pid: 10, PPid: 1, Pgid: 10, State: "Z", Name: "bash", Started: started,
		Cmdline: []string{"bash", "-c", "fakecli cp s3://b/x - | gzip -cd"}, CmdlineFrom: "spawn"}
	zombie := harness.Proc{Pid: 11, PPid: 10, Pgid: 10, State: "Z", Name: "fakecli", Started: started}
	live := harness.Proc{Pid: 12, PPid: 1, Pgid: 10, State: "S", Name: "fakecli", Started: started,
		Cmdline: []string{"fakecli", "cp", "s3://b/x", "-"}, CmdlineFrom: "proc"}
	tests := []struct {
		name     string
		p        harness.Proc
		facts    []harness.Fact
		wantArgv []string // the fact picked, by its Argv; nil: none
		wantCmd  []string
		wantFrom string
	}{
		{
			name:     "no fact",
			p:        live,
			facts:    []harness.Fact{{Pid: 99, Argv: []string{"x"}}},
			wantCmd:  live.Cmdline,
			wantFrom: "proc",
		},
		{
			name:     "zombie gets the journal's argv",
			p:        zombie,
			facts:    []harness.Fact{{Pid: 11, Started: started.Add(5 * time.Millisecond), Argv: []string{"fakecli", "cp", "s3://b/y", "-"}, Fault: "exit code=3", Source: "journal"}},
			wantArgv: []string{"fakecli", "cp", "s3://b/y", "-"},
			wantCmd:  []string{"fakecli", "cp", "s3://b/y", "-"},
			wantFrom: "journal",
		},
		{
			name: "a fact recorded before the process started is about an earlier process with its pid",
			p:    zombie,
			facts: []harness.Fact{
				{Pid: 11, Started: started.Add(-time.Second), Argv: []string{"old"}},
				{Pid: 11, Started: started.Add(2 * time.Second), Argv: []string{"later"}},
				{Pid: 11, Started: started.Add(10 * time.Millisecond), Argv: []string{"this"}},
			},
			wantArgv: []string{"this"},
			wantCmd:  []string{"this"},
			wantFrom: "caller",
		},
		{
			name:     "only an earlier process's fact: none",
			p:        zombie,
			facts:    []harness.Fact{{Pid: 11, Started: started.Add(-time.Second), Argv: []string{"old"}}},
			wantFrom: "",
		},
		{
			name:     "untimed fact used when no timed one fits",
			p:        zombie,
			facts:    []harness.Fact{{Pid: 11, Argv: []string{"untimed"}, Source: "test"}},
			wantArgv: []string{"untimed"},
			wantCmd:  []string{"untimed"},
			wantFrom: "test",
		},
		{
			name:     "live command line kept, fact beside it",
			p:        bash,
			facts:    []harness.Fact{{Pid: 10, Started: started, Argv: []string{"fakecli", "cp", "s3://b/x", "-"}, Fault: "stall after=8KiB", Source: "journal"}},
			wantArgv: []string{"fakecli", "cp", "s3://b/x", "-"},
			wantCmd:  bash.Cmdline,
			wantFrom: "spawn",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := harness.Leaks{Children: []harness.Proc{tt.p}}
			got := in.Annotate(tt.facts...).Children[0]
			switch {
			case tt.wantArgv == nil && got.Fact != nil:
				t.Errorf("Fact = %+v, want none", *got.Fact)
			case tt.wantArgv != nil && (got.Fact == nil || !slices.Equal(got.Fact.Argv, tt.wantArgv)):
				t.Errorf("Fact = %+v, want the one with argv %q", got.Fact, tt.wantArgv)
			}
			if !slices.Equal(got.Cmdline, tt.wantCmd) || got.CmdlineFrom != tt.wantFrom {
				t.Errorf("Cmdline %q from %q, want %q from %q", got.Cmdline, got.CmdlineFrom, tt.wantCmd, tt.wantFrom)
			}
			if in.Children[0].Fact != nil || len(in.Children[0].Cmdline) != len(tt.p.Cmdline) {
				t.Errorf("Annotate changed its receiver: %+v", in.Children[0])
			}
		})
	}
}

func TestAnnotatedReport(t *testing.T) {
	taken := t0.Add(1500 * time.Millisecond)
	l := harness.Leaks{
		Baseline: harness.Snapshot{FDs: make([]harness.FD, 11)},
		Taken:    taken,
		Self:     100,
		Children: []harness.Proc{{Pid: 4242, PPid: 100, Pgid: 4242, State: "Z", Name: "bash", ParentName: "restore.test", Started: t0.Add(300 * time.Millisecond),
			Cmdline: []string{"bash", "-c", `fakecli cp "s3://b/e1/x/3-.chunk" - | gzip -cd`}, CmdlineFrom: "spawn"}},
		Escaped: []harness.Proc{{Pid: 4244, PPid: 1, Pgid: 4242, State: "S", Name: "fakecli", ParentName: "systemd", Started: t0.Add(400 * time.Millisecond),
			Cmdline: []string{"fakecli", "cp", "s3://b/e1/x/3-.chunk", "-"}, CmdlineFrom: "proc", Marker: "r17"}},
	}
	facts := []harness.Fact{
		{Pid: 4242, Started: t0.Add(310 * time.Millisecond), Argv: []string{"fakecli", "cp", "s3://b/e1/x/3-.chunk", "-"}, Source: "journal"},
		{Pid: 4244, Started: t0.Add(420 * time.Millisecond), Argv: []string{"fakecli", "cp", "s3://b/e1/x/3-.chunk", "-"}, Fault: `stall after=8KiB on="*3-.chunk"`, Source: "journal"},
	}
	want := `^expected no leaks since baseline \(0 children, 11 fds\); found 2:
  pid 4242 \[Z zombie\] ppid 100 \(restore\.test\), pgid 4242, age 1\.2s
      spawned as: bash -c 'fakecli cp "s3://b/e1/x/3-\.chunk" - \| gzip -cd'   \(from spawn\)
      ran as: fakecli cp s3://b/e1/x/3-\.chunk -   \(from journal\)
  pid 4244 \[S sleeping\] ppid 1 \(systemd\), pgid 4242, age 1\.1s — escaped its parent \(tagged run r17\)
      spawned as: fakecli cp s3://b/e1/x/3-\.chunk -   fault: stall after=8KiB on="\*3-\.chunk"$`
	if s := l.Annotate(facts...).String(); !regexp.MustCompile(want).MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, want)
	}
}

// A zombie never seen alive has no command line; the journal's fills it.
func TestZombieDescribedByFact(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	z := spawn(t, run, spawnOpts{}, "true")
	waitState(t, z, 'Z')

	leaks := harness.Diff(before, take(t))
	if len(leaks.Children) != 1 || len(leaks.Children[0].Cmdline) != 0 {
		t.Fatalf("want one zombie without a command line, got:\n%s", leaks)
	}
	if s := leaks.String(); !regexpMatch(`\n      spawned as: \? \(true: no command line recorded\)$`, s) {
		t.Errorf("report without facts:\n%s", s)
	}
	annotated := leaks.Annotate(harness.Fact{Pid: z.pid, Started: time.Now(), Argv: []string{"true", "--from-journal"}, Fault: "exit code=3", Source: "journal"})
	re := regexp.MustCompile(header(1) +
		`  pid ` + strconv.Itoa(z.pid) + ` \[Z zombie\] ppid ` + self + ` \(harness\.test\), pgid \d+, age \d+\.\ds\n` +
		`      spawned as: true --from-journal   \(from journal\)   fault: exit code=3$`)
	if s := annotated.String(); !re.MatchString(s) {
		t.Errorf("report\n%s\ndoes not match\n%s", s, re)
	}
	cleanup(t, run, before)
	expectCleanSince(t, before)
}

// WithFacts feeds Settle's report (and VerifyNone's, and HaveLeaked's).
func TestSettleWithFacts(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	z := spawn(t, run, spawnOpts{}, "true")
	waitState(t, z, 'Z')
	calls := 0
	facts := harness.WithFacts(func() []harness.Fact {
		calls++
		return []harness.Fact{{Pid: z.pid, Argv: []string{"true"}, Fault: "exit code=3", Source: "journal"}}
	})
	leaks, err := harness.Settle(ctxFor(t, 10*time.Second), before, harness.Quiet(50*time.Millisecond), facts)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(leaks.Children) != 1 || leaks.Children[0].Fact == nil || leaks.Children[0].Fact.Fault != "exit code=3" {
		t.Errorf("facts called %d times (want 1); leaks:\n%s", calls, leaks)
	}
	cleanup(t, run, before)
}

// Attribute names the holder of a leaked pipe's other end in another
// process, and lists several holders, not the same end.
func TestAttributeSeveralHolders(t *testing.T) {
	run := harness.NewMarker(t.Name())
	before := take(t)
	sweepAfter(t, run, before)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	// Two children hold the read end as their stdin; a third holds the
	// write end (the same end as ours): not "the other end".
	a := spawn(t, run, spawnOpts{files: []uintptr{r.Fd()}}, "sleep", "300")
	b := spawn(t, run, spawnOpts{files: []uintptr{r.Fd()}}, "sleep", "301")
	c := spawn(t, run, spawnOpts{files: []uintptr{w.Fd()}}, "sleep", "302")
	r.Close()
	for _, k := range []child{a, b, c} {
		waitState(t, k, 'S')
	}
	leaks := harness.Diff(before, take(t)).Attribute()
	if len(leaks.FDs) != 1 {
		t.Fatalf("want the write end only, got:\n%s", leaks)
	}
	var peers []int
	for _, p := range leaks.FDs[0].Peers {
		peers = append(peers, int(p.Pid))
	}
	slices.Sort(peers)
	want := []int{a.pid, b.pid}
	slices.Sort(want)
	if !slices.Equal(peers, want) {
		t.Errorf("peers %v, want %v (the read end's holders, not pid %d which holds the write end):\n%s", peers, want, c.pid, leaks)
	}
	w.Close()
	cleanup(t, run, before)
}
