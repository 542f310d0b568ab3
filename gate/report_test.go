package gate

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leakgate/leakgate/gate/selfreport"
	"github.com/leakgate/leakgate/harness"
)

func TestJudge(t *testing.T) {
	zombie := Process{Pid: 4242, State: "Z", Text: "pid 4242 [Z zombie] ppid 1 (leakgate), pgid 4100"}
	for _, tc := range []struct {
		name    string
		r       Report
		require bool
		want    []string
	}{
		{"clean", Report{}, false, nil},
		{"failed command, not required", Report{Status: Status{Code: 1}}, false, nil},
		{"failed command, required", Report{Status: Status{Code: 1}}, true, []string{"the command failed (exit 1) and success is required"}},
		{"signalled, required", Report{Status: Status{Code: -1, Signal: "SIGSEGV"}}, true, []string{"the command failed (killed by SIGSEGV) and success is required"}},
		{"timed out", Report{RanMS: 3000, Status: Status{Code: -1, Signal: "SIGKILL", TimedOut: true}}, false, []string{"timed out after 3s: killed"}},
		{"survivor", Report{SettleMS: 2000, Survivors: []Process{zombie}}, false, []string{"1 process outlived the command and the 2s settle window (1 zombie)"}},
		{"escaped", Report{Escaped: []Process{{State: "S"}, {State: "X", Reaped: true}}}, false, []string{"2 processes escaped the command's tree while it ran (1 still alive)"}},
		{"fd", Report{FDs: FDVerdict{Why: "at rest", Leaked: []FD{{Num: 5}}}}, false, []string{"1 fd of the command leaked: at rest"}},
		{"self", Report{SelfReported: []selfreport.Leak{{Kind: "goroutine"}}}, false, []string{"1 leak reported by the command itself"}},
		{"cleanup", Report{Cleanup: Cleanup{Error: "1 survived"}}, false, []string{"cleanup failed: 1 survived"}},
	} {
		tc.r.judge(tc.require)
		if tc.r.Pass != (len(tc.want) == 0) || !slices.Equal(tc.r.Failures, append([]string{}, tc.want...)) {
			t.Errorf("%s: pass %v, failures %q; want %q", tc.name, tc.r.Pass, tc.r.Failures, tc.want)
		}
	}
}

// TestEnded: how the cleanup ended each leftover, by what it did and the
// state the process was judged in: a zombie it reaped was a zombie, but a
// process judged alive that it only had to reap exited by itself first.
func TestEnded(t *testing.T) {
	ps := []harness.Proc{{Pid: 1, State: "Z"}, {Pid: 2, State: "S"}, {Pid: 3, State: "S"}, {Pid: 4, State: "S"}, {Pid: 5, State: "S"}}
	cl := Cleanup{Reaped: []int{1, 2, 4}, Terminated: []int{3}, Killed: []int{4}}
	want := []string{EndedReaped, EndedExited, EndedTerm, EndedKill, EndedUnknown}
	for i, p := range ended(ps, cl) {
		if p.Ended != want[i] {
			t.Errorf("pid %d judged %s: ended %q, want %q", p.Pid, p.State, p.Ended, want[i])
		}
	}
}

func sampleReport() *Report {
	r := &Report{
		Command: []string{"bin/restore", "bootstrap-db", "--cleanup-policy", "drop"}, Pid: 4100, Run: "lgx/9.1.gate",
		Started: time.Unix(1700000000, 0).UTC(), RanMS: 3210, Status: Status{Code: 1}, SettleMS: 2000,
		Survivors:    ended([]harness.Proc{{Pid: 4242, PPid: 9, Pgid: 4100, State: "Z", Name: "fakecli", Cmdline: []string{"fakecli", "open_for_read"}, CmdlineFrom: "journal"}}, Cleanup{Reaped: []int{4242}}),
		Escaped:      ended([]harness.Proc{{Pid: 4244, PPid: 9, Pgid: 4243, State: "S", Name: "aws: worker", Cmdline: []string{"aws", "s3", "cp"}, CmdlineFrom: "proc"}}, Cleanup{Killed: []int{4244}}),
		FDs:          FDVerdict{Why: "not judged: the command had 3 live children at its last sample (busy)", Samples: 12, LastSampleMS: 3100, New: []FD{{Num: 9, Kind: "pipe", Target: "pipe:[5]", HeldMS: 250}}, Leaked: []FD{}},
		Timeline:     harness.Timeline{Every: 25 * time.Millisecond, Samples: 12, Peak: harness.Point{Children: 9, Zombies: 3, FDs: 22}},
		SelfReported: []selfreport.Leak{},
		Journal:      Journal{Invocations: 49, Faulted: 1, Notable: []string{"pid 4242 (fakecli) call 17: fakecli open_for_read [fault: corrupt record=3]: exit 141 (SIGPIPE)"}},
		Cleanup:      Cleanup{Terminated: []int{}, Killed: []int{4244}, Reaped: []int{4242, 4244}},
		Exit:         ExitTraced, Personas: []string{"aws", "gsutil"},
		OrphansReaped: 3,
	}
	r.judge(false)
	return r
}

func TestReportString(t *testing.T) {
	got := sampleReport().String()
	want := regexp.MustCompile(`(?s)^leakgate: FAIL: 2 leaks
  - 1 process outlived the command and the 2s settle window \(1 zombie\)
  - 1 process escaped the command's tree while it ran \(1 still alive\)
command: bin/restore bootstrap-db --cleanup-policy drop \(pid 4100, run lgx/9\.1\.gate\)
status:  exit 1 after 3\.21s
exit:    stopped at its exit \(ptrace\): fds and orphans judged as it exited
personas first on PATH: aws gsutil
during the run: peak 9 descendants \(3 zombies\) over 12 samples every 25ms; 1 process escaped, 3 orphans reaped dead
survivors: left when the command exited, still there after the 2s settle window \(1\):
  pid 4242 "fakecli"
      judged zombie, ppid 9, pgid 4100; zombie, reaped in the cleanup
      spawned as: fakecli open_for_read   \(from journal\)
escaped: alive outside the command's tree while it ran \(1\):
  pid 4244 "aws: worker": aws s3 cp
      judged alive \(S sleeping\), ppid 9, pgid 4243; killed by SIGKILL in the cleanup
      spawned as: aws s3 cp
orphans reaped while the command ran: 3 \(dead when they came to the gate: not leaks\)
fds: not judged: the command had 3 live children at its last sample \(busy\)
  new at the last sample \(3\.1s after start, 12 samples\):
    fd 9 -> pipe:\[5\], open 250ms
journal \(temporary\): 49 invocations, 1 faulted, 0 failed, 0 unended
  pid 4242 \(fakecli\) call 17: .*
cleanup: 0 ended after SIGTERM, 1 needed SIGKILL, 2 zombies reaped; SIGKILL: \[4244\]
$`)
	if !want.MatchString(got) {
		t.Errorf("report:\n%s\ndoes not match\n%s", got, want)
	}
	clean := &Report{Command: []string{"true"}}
	clean.judge(false)
	if s := clean.String(); !strings.HasPrefix(s, "leakgate: PASS: no leaks\n") {
		t.Errorf("clean report:\n%s", s)
	}
}

// TestReportJSON pins the JSON shape `leakgate run --json` promises.
func TestReportJSON(t *testing.T) {
	data, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"cleanup", "command", "escaped", "exit", "failures", "fds", "journal", "orphans_reaped", "pass", "personas", "pid", "ran_ms", "run", "self_reported", "settle_ms", "started", "status", "survivors", "timeline"}
	if !slices.Equal(keys, want) {
		t.Errorf("top-level keys %q, want %q", keys, want)
	}
	for path, want := range map[string]any{
		"status.code": 1.0, "status.timed_out": false, "pass": false,
		"survivors.0.pid": 4242.0, "survivors.0.state": "Z", "survivors.0.cmdline_from": "journal",
		"escaped.0.name": "aws: worker", "escaped.0.ended": EndedKill, "exit": "traced", "personas.1": "gsutil", "fds.judged": false, "fds.new.0.fd": 9.0, "fds.new.0.kind": "pipe",
		"fds.last_sample_ms": 3100.0, "timeline.peak.zombies": 3.0, "timeline.every_ns": 25e6,
		"journal.invocations": 49.0, "cleanup.reaped.1": 4244.0, "orphans_reaped": 3.0,
	} {
		if got := dig(m, path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil || back.Survivors[0].Pid != 4242 || back.FDs.New[0].Target != "pipe:[5]" {
		t.Errorf("round trip: %v, %+v", err, back)
	}
}

// dig follows a dotted path of keys and indexes through decoded JSON.
func dig(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
