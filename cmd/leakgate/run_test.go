package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega/gexec"

	"github.com/leakgate/leakgate/gate"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/internal/procfs"
)

// built holds the binaries the tests build once.
var built = struct {
	once sync.Once
	bins map[string]string
	err  error
}{}

func bin(t *testing.T, name string) string {
	t.Helper()
	built.once.Do(func() {
		built.bins = map[string]string{}
		for _, pkg := range []string{"selftest/leaky", "cmd/leakgate", "cmd/fakecli"} {
			p, err := gexec.Build("github.com/leakgate/leakgate/" + pkg)
			if err != nil {
				built.err = fmt.Errorf("build %s: %w", pkg, err)
				return
			}
			built.bins[filepath.Base(pkg)] = p
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bins[name]
}

// said is what leaky printed: the pids and fds it leaked or cleaned.
type said struct {
	pids, fds []int
	path      string
}

var sayLine = regexp.MustCompile(`(?m)^leaky: \S+ (?:leaked|clean) (.*)$`)

func parseSaid(t *testing.T, out string) said {
	t.Helper()
	var s said
	for _, m := range sayLine.FindAllStringSubmatch(out, -1) {
		for _, kv := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.Atoi(v)
			switch k {
			case "pid":
				s.pids = append(s.pids, n)
			case "fd":
				s.fds = append(s.fds, n)
			case "path":
				s.path = v
			}
		}
	}
	return s
}

// gateLeaky runs `leakgate run` in this process on leaky -mode mode and
// returns the exit code, the human report, the JSON report and what leaky
// said. It checks that the gate left nothing in this process's tree.
func gateLeaky(t *testing.T, mode string, clean bool) (int, string, gate.Report, said) {
	t.Helper()
	dir := t.TempDir()
	jsonPath, outPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "out.txt")
	args := []string{"run", "--settle", "500ms", "--fd-quiet", "300ms", "--json", jsonPath, "--command-output", outPath, "--",
		bin(t, "leaky"), "-mode", mode, "-hold", "1s"}
	if clean {
		args = append(args, "-clean")
	}
	before, err := harness.Take()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, report := leakgate(args...)
	harness.VerifyNone(t, before)
	if stdout != "" {
		t.Errorf("stdout (the report goes to stderr): %s", stdout)
	}
	var rep gate.Report
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("exit %d, no JSON report: %v\n%s", code, err, report)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(outPath)
	s := parseSaid(t, string(out))
	if len(s.pids)+len(s.fds) == 0 && mode != "goroutine" {
		t.Fatalf("leaky said nothing:\n%s", out)
	}
	return code, report, rep, s
}

func pidsOf(ps []gate.Process) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Pid)
	}
	return out
}

// TestSelfTest is the gate's self-test: every leaky program fails the gate,
// named by pid or fd; every clean twin passes.
func TestSelfTest(t *testing.T) {
	for _, tc := range []struct {
		mode  string
		check func(t *testing.T, text string, rep gate.Report, s said)
	}{
		{"zombie", func(t *testing.T, text string, rep gate.Report, s said) {
			if len(rep.Survivors) != 1 || rep.Survivors[0].Pid != s.pids[0] || rep.Survivors[0].State != "Z" || len(rep.Escaped) != 0 {
				t.Errorf("want the zombie pid %d as the one survivor, state Z:\n%s", s.pids[0], text)
			}
		}},
		{"orphan", func(t *testing.T, text string, rep gate.Report, s said) {
			if len(rep.Survivors) != 1 || rep.Survivors[0].Pid != s.pids[0] || rep.Survivors[0].State == "Z" || len(rep.Escaped) != 0 {
				t.Errorf("want the stalled child pid %d as the one survivor, alive:\n%s", s.pids[0], text)
			}
		}},
		{"escaped", func(t *testing.T, text string, rep gate.Report, s said) {
			if len(rep.Escaped) != 1 || rep.Escaped[0].Pid != s.pids[0] || rep.Escaped[0].State == "Z" || len(rep.Survivors) != 0 {
				t.Errorf("want the grandchild pid %d as the one escaped process, alive:\n%s", s.pids[0], text)
			}
		}},
		{"pipe", func(t *testing.T, text string, rep gate.Report, s said) {
			fds := rep.FDs.Leaked
			if !slices.Equal(fdNums(fds), s.fds) || fds[0].Kind != "pipe" || fds[1].Kind != "pipe" || fds[0].Target != fds[1].Target {
				t.Errorf("want both ends of one pipe, fds %v:\n%s", s.fds, text)
			}
		}},
		{"file", func(t *testing.T, text string, rep gate.Report, s said) {
			fds := rep.FDs.Leaked
			if !slices.Equal(fdNums(fds), s.fds) || fds[0].Kind != "file" || strings.TrimSuffix(fds[0].Target, " (deleted)") != s.path {
				t.Errorf("want fd %v -> %s:\n%s", s.fds, s.path, text)
			}
		}},
		{"socket", func(t *testing.T, text string, rep gate.Report, s said) {
			fds := rep.FDs.Leaked
			if !slices.Equal(fdNums(fds), s.fds) || fds[0].Kind != "socket" {
				t.Errorf("want socket fd %v:\n%s", s.fds, text)
			}
		}},
		{"goroutine", func(t *testing.T, text string, rep gate.Report, s said) {
			if len(rep.SelfReported) != 1 || rep.SelfReported[0].Kind != "goroutine" || !strings.Contains(rep.SelfReported[0].Detail, "main.blockForever") {
				t.Errorf("want one self-reported goroutine blocked in main.blockForever:\n%s", text)
			}
		}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			code, text, rep, s := gateLeaky(t, tc.mode, false)
			if code != 1 || rep.Pass || rep.Leaks() != max(len(s.pids), len(s.fds), 1) {
				t.Errorf("leaky: exit %d, pass %v, %d leaks; want exit 1 and exactly what leaky leaked (%+v):\n%s", code, rep.Pass, rep.Leaks(), s, text)
			}
			tc.check(t, text, rep, s)
			for _, pid := range s.pids {
				if !strings.Contains(text, fmt.Sprintf("pid %d ", pid)) {
					t.Errorf("the human report does not name pid %d:\n%s", pid, text)
				}
			}
			for _, fd := range s.fds {
				if !strings.Contains(text, fmt.Sprintf("fd %d -> ", fd)) {
					t.Errorf("the human report does not name fd %d:\n%s", fd, text)
				}
			}
			t.Logf("leaky %s: exit %d: %s", tc.mode, code, strings.Join(rep.Failures, "; "))

			code, text, rep, s = gateLeaky(t, tc.mode, true)
			if code != 0 || !rep.Pass || rep.Leaks() != 0 || !strings.HasPrefix(text, "leakgate: PASS: no leaks\n") {
				t.Errorf("clean twin: exit %d, pass %v; want exit 0, no leaks:\n%s", code, rep.Pass, text)
			}
			for _, pid := range s.pids {
				if slices.Contains(append(pidsOf(rep.Survivors), pidsOf(rep.Escaped)...), pid) {
					t.Errorf("clean twin: pid %d reported:\n%s", pid, text)
				}
			}
			t.Logf("clean %s: exit %d: %s", tc.mode, code, rep.FDs.Why)
		})
	}
}

func fdNums(fds []gate.FD) []int {
	var out []int
	for _, fd := range fds {
		out = append(out, fd.Num)
	}
	return out
}

func TestRunUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "no command given"},
		{[]string{"run", "--"}, "no command given"},
		{[]string{"run", "--settle", "x", "--", "true"}, "invalid value"},
		{[]string{"run", "--personas", dir, "--fakecli", "x", "--", "true"}, "not both"},
		{[]string{"run", "--personas", dir, "--faults", "stal on=x", "--", "true"}, `faults:1:1: unknown fault "stal"`},
		{[]string{"run", "--personas", dir, "--bucket", filepath.Join(dir, "nope"), "--", "true"}, "is not a folder"},
		{[]string{"run", "--ignore-fd", "(", "--", "true"}, "missing closing )"},
		{[]string{"run", "--fakecli", filepath.Join(dir, "nope"), "--", "true"}, "nope"},
		{[]string{"run", "--", "no-such-command-xyz"}, "not found in the command's PATH"},
		{[]string{"run", "--json", filepath.Join(dir, "no", "such", "r.json"), "--", "touch", filepath.Join(dir, "ran")}, "--json"},
		{[]string{"run", "--html", filepath.Join(dir, "no", "such", "r.html"), "--", "touch", filepath.Join(dir, "ran")}, "--html"},
		{[]string{"run", "--html", dir, "--", "touch", filepath.Join(dir, "ran")}, "is a folder"},
	} {
		code, _, stderr := leakgate(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("leakgate %q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Errorf("an unwritable --json or --html ran the command anyway")
	}
}

// TestBinary runs the built leakgate: exit codes through main, fakecli
// found beside it, and signals forwarded to the command.
func TestBinary(t *testing.T) {
	lg, leaky := bin(t, "leakgate"), bin(t, "leaky")
	dir := t.TempDir()
	exitOf := func(err error) int {
		var xe *exec.ExitError
		if errors.As(err, &xe) {
			return xe.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"run", "--settle", "300ms", "--", leaky, "-mode", "orphan"}, 1},
		{[]string{"run", "--settle", "300ms", "--", leaky, "-mode", "orphan", "-clean"}, 0},
		{[]string{"run"}, 2},
		{[]string{"run", "--", filepath.Join(dir, "nope")}, 2},
	} {
		out, err := exec.Command(lg, tc.args...).CombinedOutput()
		if got := exitOf(err); got != tc.want {
			t.Errorf("leakgate %q: exit %d, want %d:\n%s", tc.args, got, tc.want, out)
		}
	}

	// Personas only when asked: with fakecli beside leakgate, aws is a
	// link to it under --faults (implied), not without.
	beside := filepath.Join(filepath.Dir(lg), "fakecli")
	if err := os.Symlink(bin(t, "fakecli"), beside); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{{nil, ""}, {[]string{"--faults", "stall on=nothing"}, beside}} {
		outFile := filepath.Join(dir, "which.txt")
		jsonFile := filepath.Join(dir, "which.json")
		args := append(append([]string{"run", "--json", jsonFile, "--command-output", outFile}, tc.flags...), "--", "sh", "-c", `readlink "$(command -v aws)" || true`)
		out, err := exec.Command(lg, args...).CombinedOutput()
		if exitOf(err) != 0 {
			t.Fatalf("%q: exit %v:\n%s", tc.flags, err, out)
		}
		var rep gate.Report
		data, _ := os.ReadFile(jsonFile)
		json.Unmarshal(data, &rep)
		if got, _ := os.ReadFile(outFile); strings.TrimSpace(string(got)) != tc.want || (tc.want == "") != (len(rep.Personas) == 0) {
			t.Errorf("%q: aws on the command's PATH -> %q, personas %q; want %q", tc.flags, got, rep.Personas, tc.want)
		}
	}

	// --json -: the report alone on stdout, the command's stdout on stderr.
	cmdOut := exec.Command(lg, "run", "--json", "-", "--", "echo", "hello from the command")
	var so, se strings.Builder
	cmdOut.Stdout, cmdOut.Stderr = &so, &se
	if err := cmdOut.Run(); exitOf(err) != 0 {
		t.Fatalf("--json -: %v\n%s", err, se.String())
	}
	var piped gate.Report
	if err := json.Unmarshal([]byte(so.String()), &piped); err != nil || !piped.Pass || !strings.Contains(se.String(), "hello from the command") || !strings.Contains(se.String(), "leakgate: PASS") {
		t.Errorf("--json -: stdout %q (%v); stderr %q: want the JSON report alone on stdout, the command's output and the human report on stderr", so.String(), err, se.String())
	}

	// SIGTERM to leakgate reaches the command's group; the gate then
	// judges as usual (sleep leaves nothing: pass).
	jsonPath := filepath.Join(dir, "term.json")
	cmd := exec.Command(lg, "run", "--json", jsonPath, "--", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if !poll.Until(context.Background(), 30*time.Second, func() bool { return childNamed(cmd.Process.Pid, "sleep") }) {
		t.Fatal("leakgate did not start sleep within 30s")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitOf(cmd.Wait()); code != 0 {
		t.Errorf("leakgate after SIGTERM: exit %d, want 0", code)
	}
	var rep gate.Report
	data, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(data, &rep); err != nil || rep.Status.Signal != "SIGTERM" {
		t.Errorf("status %+v (%v), want killed by SIGTERM", rep.Status, err)
	}
}

// childNamed reports whether pid has a child whose comm is name.
func childNamed(pid int, name string) bool { return procfs.ChildNamed(int32(pid), name) }

// TestRunHTML writes one gate run as a page: self-contained (nothing
// fetched), with the leaked process's pid in its tree and a chart. The
// command runs a second after its leak (leaky -mode escaped -hold 1s), so
// the chart has steps; a command that exits at once has only its first
// sample (harness.Sample takes it before returning).
func TestRunHTML(t *testing.T) {
	dir := t.TempDir()
	page, jsonPath := filepath.Join(dir, "gate.html"), filepath.Join(dir, "gate.json")
	code, _, stderr := leakgate("run", "--settle", "300ms", "--html", page, "--json", jsonPath, "--", bin(t, "leaky"), "-mode", "escaped", "-hold", "1s")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (leaky -mode escaped leaks):\n%s", code, stderr)
	}
	var rep gate.Report
	if data, err := os.ReadFile(jsonPath); err != nil || json.Unmarshal(data, &rep) != nil {
		t.Fatalf("no JSON report: %v", err)
	}
	leaked := append(pidsOf(rep.Escaped), pidsOf(rep.Survivors)...)
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("no page written: %v", err)
	}
	html := string(data)
	if len(leaked) == 0 || !strings.Contains(html, strconv.Itoa(leaked[0])) || !strings.Contains(html, "<svg") {
		t.Errorf("page lacks the leaked pid (of %v) or its chart (%d bytes)", leaked, len(data))
	}
	if ext := regexp.MustCompile(`(?i)(src|href)="(https?:)?//|@import|url\(`).FindString(html); ext != "" {
		t.Errorf("page fetches something: %q", ext)
	}
}
