package journal_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakgate/leakgate/journal"
)

// Environment of the appender helper process (this test binary re-executed).
const (
	envHelperJournal = "JOURNAL_TEST_HELPER_JOURNAL" // journal path; set = act as helper
	envHelperID      = "JOURNAL_TEST_HELPER_ID"      // writer id, put in Persona
	envHelperN       = "JOURNAL_TEST_HELPER_N"       // invocations to record
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envHelperJournal); path != "" {
		os.Exit(helperMain(path))
	}
	os.Exit(m.Run())
}

// helperMain records N invocations (start + end) in the journal, as N
// fakecli invocations of one process would.
func helperMain(path string) int {
	n, err := strconv.Atoi(os.Getenv(envHelperN))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	if err := record(path, os.Getenv(envHelperID), n); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

// record appends n start/end pairs for writer id, each with a call number.
func record(path, id string, n int) error {
	for i := range n {
		call, err := journal.NextCall(path)
		if err != nil {
			return err
		}
		start := time.Now()
		e := journal.Entry{
			Event: journal.EventStart, Call: call, PID: os.Getpid(), PPID: os.Getppid(),
			Persona: id, Argv: []string{id, "cp", fmt.Sprintf("s3://b/%s/%d", id, i), "-", strings.Repeat("x", 300)},
			Op: "read", Handle: fmt.Sprintf("b/%s/%d", id, i), Start: start,
		}
		if err := journal.Append(path, e); err != nil {
			return err
		}
		e.Event, e.Bytes, e.Exit, e.End = journal.EventEnd, int64(i), i%3, start.Add(time.Millisecond)
		if err := journal.Append(path, e); err != nil {
			return err
		}
	}
	return nil
}

func TestConcurrentAppendAndNextCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	const goroutines, perGoroutine = 64, 20
	const procs, perProc = 3, 40

	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envHelperJournal+"="+path, envHelperID+"=proc"+strconv.Itoa(p), envHelperN+"="+strconv.Itoa(perProc))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			if err := record(path, "g"+strconv.Itoa(g), perGoroutine); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %v: %v", cmd.Args, err)
		}
	}

	// Every line is valid JSON on its own.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON (%v): %q", lines, err, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	total := goroutines*perGoroutine + procs*perProc
	if lines != 2*total {
		t.Errorf("lines = %d, want %d", lines, 2*total)
	}

	invs, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != total {
		t.Fatalf("invocations = %d, want %d", len(invs), total)
	}
	var calls []int
	perWriter := map[string]int{}
	for _, inv := range invs {
		if !inv.Ended {
			t.Errorf("not ended: %v", inv)
		}
		calls = append(calls, inv.Call)
		perWriter[inv.Persona]++
	}
	sort.Ints(calls)
	for i, c := range calls {
		if c != i+1 {
			t.Fatalf("call numbers are not 1..%d: sorted[%d] = %d", total, i, c)
		}
	}
	for w, n := range perWriter {
		want := perGoroutine
		if strings.HasPrefix(w, "proc") {
			want = perProc
		}
		if n != want {
			t.Errorf("writer %s: %d invocations, want %d", w, n, want)
		}
	}
	if len(perWriter) != goroutines+procs {
		t.Errorf("writers = %d, want %d", len(perWriter), goroutines+procs)
	}
}

func TestEntryJSONShape(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 47, 6, 123456789, time.UTC)
	e := journal.Entry{Event: journal.EventStart, Call: 2, PID: 10, Persona: "aws", Argv: []string{"aws"}, Op: "read", Start: start}
	got, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event":"start","run":"","call":2,"pid":10,"ppid":0,"pgid":0,"persona":"aws","argv":["aws"],"op":"read","handle":"","fault":"","start":"2026-11-26T14:47:06.123456789Z"}`
	if string(got) != want {
		t.Errorf("start entry\n got %s\nwant %s", got, want)
	}
	e.Event, e.Exit, e.Bytes, e.End = journal.EventEnd, 0, 5, start.Add(time.Second)
	got, err = json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want = `{"event":"end","run":"","call":2,"pid":10,"ppid":0,"pgid":0,"persona":"aws","argv":["aws"],"op":"read","handle":"","fault":"","start":"2026-11-26T14:47:06.123456789Z","bytes":5,"exit":0,"end":"2026-11-26T14:47:07.123456789Z"}`
	if string(got) != want {
		t.Errorf("end entry\n got %s\nwant %s", got, want)
	}
	e.Error = "broken pipe"
	got, _ = json.Marshal(e)
	if !strings.HasSuffix(string(got), `,"error":"broken pipe"}`) {
		t.Errorf("end entry with error: %s", got)
	}
}

func TestAppendRejectsUnknownEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	err := journal.Append(path, journal.Entry{Event: "begin"})
	if !errors.Is(err, journal.ErrEvent) {
		t.Fatalf("err = %v, want ErrEvent", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal created for a rejected entry: %v", err)
	}
}

func TestReadMergesAndDetectsKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	t0 := time.Date(2026, 11, 26, 14, 47, 6, 0, time.UTC)
	entry := func(ev string, pid int, start time.Time) journal.Entry {
		return journal.Entry{Event: ev, Call: pid - 100, PID: pid, Persona: "aws", Op: "read",
			Argv: []string{"aws", "s3", "cp", fmt.Sprintf("s3://b/%d", pid), "-"}, Handle: fmt.Sprintf("b/%d", pid), Start: start}
	}
	// pid 101 ends; 102 is killed; 101 runs again (pid reuse, other start) and
	// fails; 103 ends before 102's lines would.
	lines := []journal.Entry{
		entry("start", 101, t0),
		entry("start", 102, t0.Add(time.Millisecond)),
		entry("start", 103, t0.Add(2*time.Millisecond)),
	}
	end := entry("end", 103, t0.Add(2*time.Millisecond))
	end.Bytes, end.Exit, end.End, end.Error = 7, 141, t0.Add(5*time.Millisecond), "broken pipe"
	lines = append(lines, end)
	end = entry("end", 101, t0)
	end.Bytes, end.Exit, end.End = 1234, 0, t0.Add(120*time.Millisecond)
	lines = append(lines, end)
	again := entry("start", 101, t0.Add(time.Second))
	again.Fault = "exit code=3"
	lines = append(lines, again)
	againEnd := again
	againEnd.Event, againEnd.Exit, againEnd.End = "end", 3, t0.Add(time.Second+12*time.Millisecond)
	lines = append(lines, againEnd)
	for _, e := range lines {
		if err := journal.Append(path, e); err != nil {
			t.Fatal(err)
		}
	}

	invs, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		pid   int
		ended bool
		exit  int
		bytes int64
		dur   time.Duration
		line  int
		str   string
	}
	var got []row
	for _, inv := range invs {
		got = append(got, row{inv.PID, inv.Ended, inv.Exit, inv.Bytes, inv.Duration(), inv.Line, inv.String()})
	}
	want := []row{
		{101, true, 0, 1234, 120 * time.Millisecond, 1, "pid 101 (aws) call 1: aws s3 cp s3://b/101 -: exit 0 after 120ms, 1234 bytes"},
		{102, false, 0, 0, 0, 2, "pid 102 (aws) call 2: aws s3 cp s3://b/102 -: killed before it ended"},
		{103, true, 141, 7, 3 * time.Millisecond, 3, "pid 103 (aws) call 3: aws s3 cp s3://b/103 -: exit 141 (SIGPIPE) after 3ms, 7 bytes: broken pipe"},
		{101, true, 3, 0, 12 * time.Millisecond, 6, "pid 101 (aws) call 1: aws s3 cp s3://b/101 - [fault: exit code=3]: exit 3 after 12ms, 0 bytes"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d invocations, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("invocation %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestReadEndWithoutStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	e := journal.Entry{Event: journal.EventEnd, PID: 5, Persona: "gsutil", Argv: []string{"gsutil", "ls"}, Exit: 1, Start: time.Unix(1, 0), End: time.Unix(2, 0)}
	if err := journal.Append(path, e); err != nil {
		t.Fatal(err)
	}
	invs, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 1 || !invs[0].Ended || invs[0].Exit != 1 || invs[0].Persona != "gsutil" || invs[0].Duration() != time.Second {
		t.Errorf("got %+v", invs)
	}
}

func TestReadMissingFile(t *testing.T) {
	invs, err := journal.Read(filepath.Join(t.TempDir(), "none.jsonl"))
	if err != nil || invs != nil {
		t.Errorf("Read(missing) = %v, %v; want nil, nil", invs, err)
	}
}

func TestReadBadLines(t *testing.T) {
	good := `{"event":"start","pid":1,"start":"2026-11-26T14:47:06Z"}`
	tests := []struct {
		name, text, want string
		line             int
	}{
		{"not json", good + "\n\n{oops\n", `^(.*)/j:3: invalid journal entry: invalid character 'o'`, 3},
		{"truncated last line", good + "\n" + `{"event":"end","pid":1`, `^(.*)/j:2: invalid journal entry: unexpected end of JSON input$`, 2},
		{"unknown event", `{"event":"begin"}` + "\n", `^(.*)/j:1: invalid journal entry: event "begin": event must be "start" or "end"$`, 1},
		{"wrong type", `{"event":"start","pid":"x"}`, `^(.*)/j:1: invalid journal entry: json: cannot unmarshal string`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := journal.Read(path)
			if err == nil || !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Fatalf("err = %v, want match %q", err, tt.want)
			}
			var le *journal.LineError
			if !errors.As(err, &le) || le.Line != tt.line || le.Path != path {
				t.Errorf("LineError = %+v, want line %d of %s", le, tt.line, path)
			}
		})
	}
}

func TestNextCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	for want := 1; want <= 12; want++ {
		got, err := journal.NextCall(path)
		if err != nil || got != want {
			t.Fatalf("NextCall = %d, %v; want %d", got, err, want)
		}
	}
	if err := os.WriteFile(path+".seq", []byte("seven\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := journal.NextCall(path)
	if !errors.Is(err, journal.ErrCounter) || !strings.Contains(err.Error(), path+".seq") {
		t.Errorf("err = %v, want ErrCounter naming %s.seq", err, path)
	}
}

func TestStallEntry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	t0 := time.Date(2026, 11, 26, 14, 47, 6, 0, time.UTC)
	start := journal.Entry{Event: journal.EventStart, PID: 7, Persona: "aws", Argv: []string{"aws"}, Op: "read", Fault: "stall after=8KiB", Start: t0}
	stall := start
	stall.Event, stall.At, stall.Until = journal.EventStall, t0.Add(time.Second), t0.Add(time.Minute)
	got, err := json.Marshal(stall)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event":"stall","run":"","call":0,"pid":7,"ppid":0,"pgid":0,"persona":"aws","argv":["aws"],"op":"read","handle":"","fault":"stall after=8KiB","start":"2026-11-26T14:47:06Z","at":"2026-11-26T14:47:07Z","until":"2026-11-26T14:48:06Z"}`
	if string(got) != want {
		t.Errorf("stall entry\n got %s\nwant %s", got, want)
	}
	for _, e := range []journal.Entry{start, stall} {
		if err := journal.Append(path, e); err != nil {
			t.Fatal(err)
		}
	}
	invs, err := journal.Read(path)
	if err != nil || len(invs) != 1 {
		t.Fatalf("Read = %+v, %v; want one invocation", invs, err)
	}
	inv := invs[0]
	if !inv.StallFrom.Equal(t0.Add(time.Second)) || !inv.StallUntil.Equal(t0.Add(time.Minute)) {
		t.Errorf("stall = %v..%v, want %v..%v", inv.StallFrom, inv.StallUntil, stall.At, stall.Until)
	}
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{0, false}, {time.Second, true}, {30 * time.Second, true}, {time.Minute, false}} {
		if got := inv.StallingAt(t0.Add(c.at)); got != c.want {
			t.Errorf("StallingAt(t0+%v) = %v, want %v", c.at, got, c.want)
		}
	}
	end := start
	end.Event, end.End = journal.EventEnd, t0.Add(2*time.Second)
	if err := journal.Append(path, end); err != nil {
		t.Fatal(err)
	}
	if invs, err = journal.Read(path); err != nil || len(invs) != 1 || invs[0].StallingAt(t0.Add(30*time.Second)) {
		t.Errorf("after its end entry: %+v, %v; an ended invocation is stalling no more", invs, err)
	}
}
