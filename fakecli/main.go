package fakecli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/internal/clip"
	"github.com/leakgate/leakgate/journal"
)

// Main runs fakecli with argv (argv[0] picks the persona) and returns its
// exit status; cmd/fakecli is os.Exit(fakecli.Main(os.Args)). It reads the
// environment (EnvBucket, …), stdin, stdout and stderr of the process, and
// handles SIGTERM, SIGINT and SIGHUP itself: on one, it writes the journal's
// end entry and exits with 128+signal without returning. On a broken stdout
// pipe it writes the end entry and dies of SIGPIPE, as a real CLI does.
// Call it once per process.
//
//	os.Exit(fakecli.Main([]string{"aws", "s3", "cp", "s3://b/k", "-"}))
func Main(argv []string) int {
	ensureStdFDs()
	signal.Ignore(syscall.SIGPIPE) // see writes to EPIPE as errors; diePipe re-raises
	s := newSession(argv, os.Getenv)
	if s.jpath != "" {
		s.catchSignals() // before anything: every journaled start gets its end
	}
	code := s.run()
	s.finish(code, "")
	return code
}

// ensureStdFDs opens /dev/null on any of fds 0, 1 and 2 that is closed, so a
// file opened later can never become stdout (`exec 1>&-` in a config closes
// bash's stdout, and the CLI it starts inherits the hole). Go's runtime does
// the same at start-up since Go 1.22; this keeps the guarantee explicit.
func ensureStdFDs() {
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
			continue
		}
		null, err := unix.Open("/dev/null", unix.O_RDWR, 0)
		if err != nil {
			continue // nothing better to do; the fd stays closed
		}
		if null != fd {
			_ = unix.Dup3(null, fd, 0)
			_ = unix.Close(null)
		}
	}
}

// session is one invocation: what it was asked, what it did, and its journal
// entries.
type session struct {
	getenv   func(string) string
	stderr   io.Writer
	persona  string
	stallCap time.Duration
	capAt    time.Time // start + stallCap: no fault's pause or pacing runs past it
	hurry    string    // EnvHurry: once this file exists, pacing ends
	hurried  bool      // it was seen to exist

	mu      sync.Mutex    // held while ending; guards the fields below
	jpath   string        // journal path; "" for none
	entry   journal.Entry // the start entry, filled in as the invocation learns about itself
	begun   bool          // start entry written
	ended   bool          // end entry written (or being written)
	bytes   int64         // bytes written to stdout (reads) or read from stdin (writes)
	tmpFile string        // temporary file of an atomic write in progress
}

func newSession(argv []string, getenv func(string) string) *session {
	persona := "fakecli"
	if len(argv) > 0 {
		persona = filepath.Base(argv[0])
	}
	return &session{
		getenv:  getenv,
		stderr:  os.Stderr,
		persona: persona,
		jpath:   getenv(EnvJournal),
		hurry:   getenv(EnvHurry),
		entry: journal.Entry{
			Event: journal.EventStart, Run: getenv(EnvRun), PID: os.Getpid(), PPID: os.Getppid(),
			PGID: unix.Getpgrp(), Persona: persona, Argv: argv, Op: string(faults.OpOther), Start: time.Now(),
		},
	}
}

// errorf prints "persona: message" on stderr and returns the message,
// bounded and with control bytes escaped (clip.Text): it may quote argv,
// an object's name or a fault's text.
func (s *session) errorf(format string, v ...any) string {
	msg := clip.Text(fmt.Sprintf(format, v...), 0)
	fmt.Fprintf(s.stderr, "%s: %s\n", s.persona, strings.ReplaceAll(msg, "\n", "\n"+s.persona+": "))
	return msg
}

// fail prints the message and ends the invocation with code; the journal
// gets the message's first line (a usage error's usage line is left out).
func (s *session) fail(code int, format string, v ...any) int {
	first, _, _ := strings.Cut(s.errorf(format, v...), "\n")
	s.finish(code, first)
	return code
}

// run does the invocation's work and returns its exit status. Paths that
// fail call fail, which writes the end entry; Main's finish is then a no-op.
func (s *session) run() int {
	if s.jpath != "" {
		n, err := journal.NextCall(s.jpath)
		if err != nil {
			s.update(func(s *session) { s.jpath = "" }) // cannot journal this one
			return s.fail(ExitUsage, "%s: %v", EnvJournal, err)
		}
		s.update(func(s *session) { s.entry.Call = n })
	}
	p := Lookup(s.persona)
	if p == nil {
		return s.fail(ExitUsage, "unknown persona %q (argv[0]); fakecli can be: %s", s.persona, knownPersonas())
	}
	var args []string
	if len(s.entry.Argv) > 1 {
		args = s.entry.Argv[1:]
	}
	cmd, err := p.Parse(args, s.getenv)
	if err != nil {
		return s.fail(ExitUsage, "%v", err)
	}
	s.update(func(s *session) { s.entry.Op, s.entry.Handle = string(cmd.Op), cmd.Handle })
	if s.jpath == "" && cmd.Op != faults.OpRead {
		s.catchSignals() // a write's temporary file is removed on a signal
	}
	b, err := OpenBucket(s.getenv(EnvBucket))
	if err != nil {
		return s.fail(ExitUsage, "%v", err)
	}
	if s.stallCap, err = stallCap(s.getenv(EnvStallCap)); err != nil {
		return s.fail(ExitUsage, "%v", err)
	}
	s.capAt = time.Now().Add(s.stallCap)
	plan, err := loadPlan(s.getenv)
	if err != nil {
		return s.fail(ExitUsage, "%v", err)
	}
	rule, matched := plan.Match(faults.Call{N: s.entry.Call, Op: cmd.Op, Handle: cmd.Handle})
	var fault faults.Fault
	if matched {
		fault = rule.Fault
		s.update(func(s *session) { s.entry.Fault = rule.String() })
	}
	if err := s.begin(); err != nil {
		return s.fail(ExitUsage, "%v", err)
	}
	return s.execute(b, cmd, fault)
}

// stallCap parses EnvStallCap; "" is DefaultStallCap.
func stallCap(v string) (time.Duration, error) {
	if v == "" {
		return DefaultStallCap, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 10m or 30s", EnvStallCap, v)
	}
	return d, nil
}

// loadPlan parses EnvFaults, then EnvFaultPlan; the spec's rules come first.
// Rules keep their index in the combined plan for probability decisions.
func loadPlan(getenv func(string) string) (*faults.Plan, error) {
	plan := &faults.Plan{}
	if text := getenv(EnvFaults); text != "" {
		p, err := faults.Parse(EnvFaults, text)
		if err != nil {
			return nil, err // a *faults.SyntaxError: "LEAKGATE_FAULTS:1:1: …"
		}
		plan.Rules = append(plan.Rules, p.Rules...)
	}
	if path := getenv(EnvFaultPlan); path != "" {
		p, err := faults.Load(path)
		var se *faults.SyntaxError
		if errors.As(err, &se) {
			return nil, err // names the file: "/x/plan.txt:2:7: …"
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvFaultPlan, err)
		}
		plan.Rules = append(plan.Rules, p.Rules...)
	}
	return plan, nil
}

// update changes the session under its lock: the signal handler reads it.
func (s *session) update(f func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// begin writes the start entry.
func (s *session) begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beginLocked()
}

func (s *session) beginLocked() error {
	if s.begun {
		return nil
	}
	s.begun = true
	if s.jpath == "" {
		return nil
	}
	e := s.entry
	e.Event = journal.EventStart
	return journal.Append(s.jpath, e)
}

// finish writes the end entry (and the start entry, if the invocation ended
// before it was written) once; later calls do nothing.
func (s *session) finish(code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finishLocked(code, msg)
}

func (s *session) finishLocked(code int, msg string) {
	if s.ended {
		return
	}
	s.ended = true
	if s.tmpFile != "" {
		os.Remove(s.tmpFile)
		s.tmpFile = ""
	}
	if s.jpath == "" {
		return
	}
	if err := s.beginLocked(); err != nil {
		s.errorf("%v", err)
		return
	}
	e := s.entry
	e.Event, e.Bytes, e.Exit, e.End, e.Error = journal.EventEnd, s.bytes, code, time.Now(), msg
	if err := journal.Append(s.jpath, e); err != nil {
		s.errorf("%v", err)
	}
}

// catchSignals makes SIGTERM, SIGINT and SIGHUP end the invocation through
// onSignal (an inherited SIG_IGN, from nohup or `cmd &`, stays). Main calls
// it first thing when there is a journal to end; without one, run calls it
// for every operation but a read, which has nothing to record or undo on a
// signal: a read without a journal dies of the signal's default action, as
// a real CLI does, and skips the signal thread's start-up (a sixth of a
// healthy read's instructions).
//
//	s.catchSignals()
func (s *session) catchSignals() {
	sigs := make(chan os.Signal, 1)
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		if !signal.Ignored(sig) {
			signal.Notify(sigs, sig)
		}
	}
	go s.onSignal(sigs)
}

// onSignal ends the invocation on SIGTERM, SIGINT or SIGHUP: end entry with
// 128+signal, then exit with that status. If the invocation has already
// ended, the process is on its way out and the signal is ignored.
func (s *session) onSignal(sigs <-chan os.Signal) {
	sig := (<-sigs).(syscall.Signal)
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	code := 128 + int(sig)
	s.finishLocked(code, "killed by "+unix.SignalName(sig))
	os.Exit(code) // with s.mu held: no other path ends the invocation
}

// diePipe ends the invocation after a write to stdout failed with EPIPE:
// end entry with exit 141 and error "broken pipe", then death by SIGPIPE,
// so the parent sees what a real CLI gives it.
func (s *session) diePipe() {
	s.mu.Lock()
	s.finishLocked(128+int(syscall.SIGPIPE), "broken pipe")
	signal.Reset(syscall.SIGPIPE)
	// Go's runtime kills the process with SIGPIPE (default action) when a
	// write to fd 1 fails with EPIPE and SIGPIPE is neither ignored nor
	// notified; a signal sent with kill(2) would only reach Go's handler.
	_, _ = os.Stdout.Write([]byte{'\n'})
	os.Exit(128 + int(syscall.SIGPIPE)) // not reached
}

// setTemp records the temporary file of an atomic write in progress, for
// removal if the invocation ends by a signal.
func (s *session) setTemp(name string) {
	s.mu.Lock()
	s.tmpFile = name
	s.mu.Unlock()
}

// count adds n to the invocation's byte count.
func (s *session) count(n int) {
	s.mu.Lock()
	s.bytes += int64(n)
	s.mu.Unlock()
}
