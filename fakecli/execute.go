package fakecli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/journal"
)

// execute runs cmd against bucket b under fault (nil: none) and returns the
// exit status.
func (s *session) execute(b *Bucket, cmd Command, fault faults.Fault) int {
	switch cmd.Op {
	case faults.OpRead:
		return s.read(b, cmd, fault)
	case faults.OpWrite:
		return s.write(b, cmd, fault)
	case faults.OpList:
		return s.list(b, cmd, fault)
	case faults.OpMove:
		return s.move(b, cmd, fault)
	case faults.OpOther:
		if cmd.Mkdir {
			return s.mkdir(b, cmd, fault)
		}
	}
	return s.fail(ExitUsage, "%s: operation %q is not implemented", cmd.Src, cmd.Op)
}

// path resolves key, failing the invocation with ExitUsage if it escapes.
func (s *session) path(b *Bucket, src, key string) (string, int, bool) {
	p, err := b.Path(key)
	if err != nil {
		return "", s.fail(ExitUsage, "%s: %v", src, err), false
	}
	return p, 0, true
}

// script is fault's script for data, or the plain "write it all, exit 0".
func (s *session) script(fault faults.Fault, data []byte, what string) (faults.Script, int, bool) {
	if fault == nil {
		if len(data) == 0 {
			return faults.Script{}, 0, true
		}
		return faults.Script{Steps: []faults.Step{{Write: data}}}, 0, true
	}
	sc, err := fault.Script(data)
	if err != nil {
		return sc, s.fail(ExitUsage, "fault %q does not fit %s: %v", fault, what, err), false
	}
	return sc, 0, true
}

// serve runs a script on stdout and returns the exit status: the script's
// when it is not 0, else normal.
func (s *session) serve(sc faults.Script, fault faults.Fault, normal int) int {
	for _, st := range sc.Steps {
		if err := s.writeOut(st.Write, st.Rate); err != nil {
			if errors.Is(err, errStallCap) {
				return s.capped(fault, err)
			}
			return s.fail(ExitFailed, "write stdout: %v", err)
		}
		if code, ok := s.stall(st.Stall, fault); !ok {
			return code
		}
	}
	if sc.Exit != 0 {
		return s.fail(sc.Exit, "fault %q: exit status %d", fault, sc.Exit)
	}
	return normal
}

// errStallCap is wrapped by a paced read or write that would run past the
// stall cap.
var errStallCap = errors.New("would run past the stall cap")

// capped fails the invocation with ExitStallCap: err (wrapping
// errStallCap) says what would have run past it.
func (s *session) capped(fault faults.Fault, err error) int {
	return s.fail(ExitStallCap, "fault %q: %v (%s=%v); giving up", fault, err, EnvStallCap, s.stallCap)
}

// stall pauses d. A pause that would end past the stall cap (Forever
// always does) lasts until the cap, after which the invocation fails with
// ExitStallCap. The journal gets a stall entry first: from now until the
// pause's end (or the cap), this process holds still on purpose.
func (s *session) stall(d time.Duration, fault faults.Fault) (int, bool) {
	if d == faults.Forever || d > 0 {
		s.markStall(d)
	}
	switch {
	case d == faults.Forever:
		s.sleepUntil(s.capAt)
		return s.fail(ExitStallCap, "fault %q: stalled for %v (%s); giving up", fault, s.stallCap, EnvStallCap), false
	case d > 0 && time.Now().Add(d).After(s.capAt):
		s.sleepUntil(s.capAt)
		return s.capped(fault, fmt.Errorf("a pause of %v %w", d, errStallCap)), false
	case d > 0:
		time.Sleep(d)
	}
	return 0, true
}

// markStall writes the journal's stall entry for a pause of d starting
// now (Forever, or past the cap: until the cap). A journal that cannot be
// written is said on stderr; the pause goes ahead.
func (s *session) markStall(d time.Duration) {
	now := time.Now()
	until := s.capAt
	if d != faults.Forever && now.Add(d).Before(until) {
		until = now.Add(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jpath == "" || s.ended {
		return
	}
	if err := s.beginLocked(); err != nil {
		s.errorf("%v", err)
		return
	}
	e := s.entry
	e.Event, e.At, e.Until = journal.EventStall, now, until
	if err := journal.Append(s.jpath, e); err != nil {
		s.errorf("%v", err)
	}
}

// sleepUntil sleeps until t.
func (s *session) sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

// writeChunk is the most writeOut hands to one write: a pipe's capacity.
const writeChunk = 64 << 10

// writeOut writes p to stdout, at rate bytes per second if rate > 0, and
// counts what was written. A chunk is counted before its write and
// corrected after, so an invocation ended by a signal while stalled reports
// exactly what it wrote, and one ended while blocked on a full pipe at most
// one chunk (64 KiB) more. A broken pipe ends the process (diePipe).
func (s *session) writeOut(p []byte, rate int64) error {
	chunk := writeChunk
	if rate > 0 {
		chunk = pacedChunk(rate)
	}
	start := time.Now()
	done := 0
	for done < len(p) {
		part := p[done:min(done+chunk, len(p))]
		s.count(len(part))
		n, err := os.Stdout.Write(part)
		done += n
		s.count(n - len(part))
		if errors.Is(err, syscall.EPIPE) {
			s.diePipe()
		}
		if err != nil {
			return err
		}
		if rate > 0 {
			if err := s.pace(start, int64(done), rate); err != nil {
				return fmt.Errorf("%w after %d of %d bytes", err, done, len(p))
			}
		}
	}
	return nil
}

// pacedChunk is the size of the chunks of a paced transfer: about 20ms
// worth, 1 byte to 64 KiB.
func pacedChunk(rate int64) int {
	return int(min(max(rate/50, 1), 64<<10))
}

// pace sleeps until n bytes are due at rate bytes per second since start.
// If they are due after the stall cap, it sleeps until the cap and returns
// an error wrapping errStallCap. Once the hurry file exists it returns at
// once.
func (s *session) pace(start time.Time, n, rate int64) error {
	if s.isHurried() {
		return nil
	}
	// In float64 nanoseconds: n/rate seconds may not fit a Duration.
	need := float64(n) / float64(rate) * float64(time.Second)
	if need > float64(s.capAt.Sub(start)) {
		s.sleepUntil(s.capAt)
		return fmt.Errorf("paced at %d B/s, it %w", rate, errStallCap)
	}
	s.sleepUntil(start.Add(time.Duration(need)))
	return nil
}

// isHurried reports whether the hurry file (EnvHurry) exists; once it
// did, it stays true.
func (s *session) isHurried() bool {
	if !s.hurried && s.hurry != "" {
		_, err := os.Stat(s.hurry)
		s.hurried = err == nil
	}
	return s.hurried
}

// read serves the object Key on stdout: streamed from its file when no
// fault applies, else through the fault's script, which needs the whole
// object.
func (s *session) read(b *Bucket, cmd Command, fault faults.Fault) int {
	p, code, ok := s.path(b, cmd.Src, cmd.Key)
	if !ok {
		return code
	}
	if fault == nil {
		return s.stream(p, cmd)
	}
	if st, err := os.Stat(p); err == nil && st.Size() > MaxFaultObject {
		return s.fail(ExitUsage, "fault %q does not fit object %s: %d bytes, over the %d it can hold", fault, cmd.Src, st.Size(), MaxFaultObject)
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) {
		return s.fail(ExitFailed, "%s", cmd.Missing)
	}
	if err != nil {
		return s.fail(ExitFailed, "%s: %v", cmd.Src, err)
	}
	sc, code, ok := s.script(fault, data, "object "+cmd.Src)
	if !ok {
		return code
	}
	return s.serve(sc, fault, ExitOK)
}

// stream serves the file at p on stdout as it reads it, writeChunk bytes
// at a time through writeOut (so the byte count and a broken pipe behave as
// for a script's write), holding one chunk in memory instead of the whole
// object: what a healthy read does. A missing object, or a directory, is
// cmd.Missing, as for a faulty read; a read error after some bytes went out
// ends the invocation there with ExitFailed.
func (s *session) stream(p string, cmd Command) int {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return s.fail(ExitFailed, "%s", cmd.Missing)
	}
	if err != nil {
		return s.fail(ExitFailed, "%s: %v", cmd.Src, err)
	}
	defer f.Close()
	if done, err := s.sendStdout(f); done {
		return ExitOK
	} else if err != nil {
		return s.fail(ExitFailed, "%s: %v", cmd.Src, err)
	}
	buf := make([]byte, writeChunk)
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			if werr := s.writeOut(buf[:n], 0); werr != nil {
				return s.fail(ExitFailed, "write stdout: %v", werr)
			}
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return ExitOK
		case errors.Is(err, syscall.EISDIR):
			return s.fail(ExitFailed, "%s", cmd.Missing)
		default:
			return s.fail(ExitFailed, "%s: %v", cmd.Src, err)
		}
	}
}

// list prints the listing; a fault's script serves the listing's text.
func (s *session) list(b *Bucket, cmd Command, fault faults.Fault) int {
	out, found, err := cmd.List.render(b)
	if errors.Is(err, ErrEscape) {
		return s.fail(ExitUsage, "%s: %v", cmd.Src, err)
	}
	if err != nil {
		return s.fail(ExitFailed, "%s: %v", cmd.Src, err)
	}
	normal := ExitOK
	if !found {
		normal = cmd.List.EmptyExit
	}
	sc, code, ok := s.script(fault, out, "listing of "+cmd.Src)
	if !ok {
		return code
	}
	code = s.serve(sc, fault, normal)
	if code == normal && !found && normal != ExitOK {
		if cmd.List.Empty != "" {
			return s.fail(normal, "%s", cmd.List.Empty)
		}
		s.finish(normal, "no match: "+cmd.Src)
	}
	return code
}

// skipsWork reports whether fault is `exit after=none`, under which a move
// or mkdir is not done (and a write reads nothing).
func skipsWork(fault faults.Fault) bool {
	e, ok := fault.(faults.Exit)
	return ok && e.After == faults.AfterNone
}

// move renames Key to To (parents created), unless the fault is exit
// after=none; a fault's script serves the "move:" line.
func (s *session) move(b *Bucket, cmd Command, fault faults.Fault) int {
	from, code, ok := s.path(b, cmd.Src, cmd.Key)
	if !ok {
		return code
	}
	to, code, ok := s.path(b, cmd.Dst, cmd.To)
	if !ok {
		return code
	}
	sc, code, ok := s.script(fault, []byte(cmd.Moved), "the output of moving "+cmd.Src)
	if !ok {
		return code
	}
	if !skipsWork(fault) {
		if st, err := os.Stat(from); err != nil || st.IsDir() {
			return s.fail(ExitFailed, "%s", cmd.Missing)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return s.fail(ExitFailed, "move %s to %s: %v", cmd.Src, cmd.Dst, err)
		}
		if err := os.Rename(from, to); err != nil {
			return s.fail(ExitFailed, "move %s to %s: %v", cmd.Src, cmd.Dst, err)
		}
	}
	return s.serve(sc, fault, ExitOK)
}

// mkdir creates the folder Key (create_backup) and prints Announce, unless
// the fault is exit after=none; a fault's script serves Announce.
func (s *session) mkdir(b *Bucket, cmd Command, fault faults.Fault) int {
	p, code, ok := s.path(b, cmd.Src, cmd.Key)
	if !ok {
		return code
	}
	sc, code, ok := s.script(fault, []byte(cmd.Announce), "the output of creating "+cmd.Src)
	if !ok {
		return code
	}
	if !skipsWork(fault) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return s.fail(ExitFailed, "create %s: %v", cmd.Src, err)
		}
		err := os.Mkdir(p, 0o755)
		if errors.Is(err, fs.ErrExist) {
			return s.fail(ExitFailed, "create %s: already exists", cmd.Src)
		}
		if err != nil {
			return s.fail(ExitFailed, "create %s: %v", cmd.Src, err)
		}
	}
	return s.serve(sc, fault, ExitOK)
}

// write stores stdin as the object Key. The plain protocol's handle is
// printed first and stdout closed. How much of stdin is read, and when,
// depends on the fault (see the package doc).
func (s *session) write(b *Bucket, cmd Command, fault faults.Fault) int {
	p, code, ok := s.path(b, cmd.Src, cmd.Key)
	if !ok {
		return code
	}
	if cmd.Exclusive {
		if _, err := os.Lstat(p); err == nil {
			return s.fail(ExitFailed, "%s: object already exists", cmd.Src)
		}
	}
	if cmd.Announce != "" {
		if _, err := io.WriteString(os.Stdout, cmd.Announce); errors.Is(err, syscall.EPIPE) {
			s.diePipe()
		} else if err != nil {
			return s.fail(ExitFailed, "write stdout: %v", err)
		}
		closeStdout()
	}
	in := &countingReader{r: os.Stdin, s: s}
	src, exit, code, ok := s.upload(in, fault, cmd)
	if !ok {
		return code
	}
	_, err := writeAtomic(p, src, cmd.Exclusive, s.setTemp)
	switch {
	case errors.Is(err, errStallCap):
		return s.capped(fault, err)
	case errors.Is(err, faults.ErrDoesNotFit):
		return s.fail(ExitUsage, "fault %q does not fit the upload to %s: %v", fault, cmd.Src, err)
	case errors.Is(err, errStdin):
		return s.fail(ExitFailed, "%s: read stdin: %v", cmd.Src, err)
	case cmd.Exclusive && errors.Is(err, fs.ErrExist):
		return s.fail(ExitFailed, "%s: object already exists", cmd.Src)
	case err != nil:
		return s.fail(ExitFailed, "%s: store: %v", cmd.Src, err)
	}
	if exit != ExitOK {
		return s.fail(exit, "fault %q: exit status %d", fault, exit)
	}
	return ExitOK
}

// MaxFaultObject bounds what a fault that rewrites bytes holds in memory:
// the object of a faulty read, the upload of a truncate or corrupt write.
// 256 MiB; a larger one does not fit the fault (exit 2). Reads without a
// fault and every other upload are streamed.
const MaxFaultObject = 256 << 20

// upload is what write stores, streamed from in as fault says, and the
// exit status after storing it; ok is false if the invocation already
// ended with code. Errors reading stdin wrap errStdin.
func (s *session) upload(in *countingReader, fault faults.Fault, cmd Command) (src io.Reader, exit, code int, ok bool) {
	stdin := stdinReader{in}
	switch f := fault.(type) {
	case nil:
		return stdin, ExitOK, 0, true
	case faults.Exit:
		switch f.After {
		case faults.AfterNone:
			return nil, 0, s.fail(f.Code, "fault %q: exit status %d without reading stdin", fault, f.Code), false
		case faults.AfterAll:
			return stdin, f.Code, 0, true
		}
		return &exactReader{r: io.LimitReader(stdin, int64(f.After)), want: int64(f.After)}, f.Code, 0, true
	case faults.Stall:
		head, err := io.ReadAll(&exactReader{r: io.LimitReader(stdin, int64(f.After)), want: int64(f.After)})
		if err != nil {
			return &errReader{err}, ExitOK, 0, true
		}
		if code, ok := s.stall(f.For, fault); !ok {
			return nil, 0, code, false
		}
		return io.MultiReader(bytes.NewReader(head), stdin), ExitOK, 0, true
	case faults.Slow:
		in.rate, in.chunk, in.start = int64(f.Rate), pacedChunk(int64(f.Rate)), time.Now()
		return stdin, ExitOK, 0, true
	}
	data, err := io.ReadAll(io.LimitReader(stdin, MaxFaultObject+1))
	if err != nil {
		return &errReader{err}, ExitOK, 0, true
	}
	if len(data) > MaxFaultObject {
		return nil, 0, s.fail(ExitUsage, "fault %q does not fit the upload to %s: over %d bytes, the most it can hold", fault, cmd.Src, MaxFaultObject), false
	}
	sc, code, ok := s.script(fault, data, "the upload to "+cmd.Src)
	if !ok {
		return nil, 0, code, false
	}
	var stored bytes.Buffer
	for _, st := range sc.Steps {
		stored.Write(st.Write)
	}
	return &stored, sc.Exit, 0, true
}

// errStdin is wrapped by the errors of reading stdin (rather than storing).
var errStdin = errors.New("stdin")

// stdinReader tags its reader's errors with errStdin, except io.EOF and
// those of the stall cap.
type stdinReader struct{ r io.Reader }

func (s stdinReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, errStallCap) && !errors.Is(err, errStdin) {
		err = fmt.Errorf("%w: %w", errStdin, err)
	}
	return n, err
}

// exactReader reads r, which must yield want bytes: fewer before EOF is an
// ErrDoesNotFit error.
type exactReader struct {
	r    io.Reader
	want int64
	got  int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.got += int64(n)
	if err == io.EOF && e.got < e.want {
		err = fmt.Errorf("stdin ended after %d bytes, before byte %d: %w", e.got, e.want, faults.ErrDoesNotFit)
	}
	return n, err
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// countingReader counts what it reads into the session, optionally pacing
// reads at rate bytes per second.
type countingReader struct {
	r     io.Reader
	s     *session
	rate  int64
	chunk int
	start time.Time
	done  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.rate > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	n, err := c.r.Read(p)
	c.s.count(n)
	c.done += int64(n)
	if c.rate > 0 && n > 0 && err == nil {
		if perr := c.s.pace(c.start, c.done, c.rate); perr != nil {
			return n, fmt.Errorf("%w after %d bytes", perr, c.done)
		}
	}
	return n, err
}

// closeStdout closes the process's stdout pipe by putting /dev/null on fd 1
// instead: the reader sees EOF, and fd 1 stays taken so no file opened later
// can become stdout.
func closeStdout() {
	null, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Close(1) // EOF for the reader matters more
		return
	}
	_ = unix.Dup3(null, 1, 0)
	_ = unix.Close(null)
}
