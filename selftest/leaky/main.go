package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/onsi/gomega/gleak"

	"github.com/leakgate/leakgate/gate/selfreport"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/internal/procfs"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// opts are the flags every mode sees.
type opts struct {
	clean    bool
	hold     time.Duration
	stallCap time.Duration
	out      io.Writer
	mode     string
}

// say prints what a mode leaked or cleaned: "leaky: pipe leaked fd=7".
func (o opts) say(format string, args ...any) {
	verb := "leaked"
	if o.clean {
		verb = "clean"
	}
	fmt.Fprintf(o.out, "leaky: %s %s %s\n", o.mode, verb, fmt.Sprintf(format, args...))
}

// modes are the public modes; children are the modes leaky runs itself in.
var modes = map[string]func(opts) error{
	"zombie":    zombie,
	"orphan":    orphan,
	"escaped":   escaped,
	"pipe":      pipe,
	"file":      file,
	"socket":    socket,
	"goroutine": goroutine,
	// children
	"child-exit":  func(opts) error { return nil },
	"child-stall": func(o opts) error { time.Sleep(o.stallCap); return nil },
	"child-spawn": childSpawn,
}

func modeNames() string {
	var names []string
	for n := range modes {
		if !strings.HasPrefix(n, "child-") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("leaky", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := opts{out: stdout}
	fs.StringVar(&o.mode, "mode", "", "what to leak: "+modeNames())
	fs.BoolVar(&o.clean, "clean", false, "do the same work and clean up: the clean twin")
	fs.DurationVar(&o.hold, "hold", time.Second, "how long to keep running after leaking (fd modes, escaped, goroutine check)")
	fs.DurationVar(&o.stallCap, "stall-cap", 2*time.Minute, "how long a stalled child sleeps at most")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	f, ok := modes[o.mode]
	if !ok || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "leaky: -mode must be one of %s (got %q, %d extra arguments)\n", modeNames(), o.mode, fs.NArg())
		return 2
	}
	if err := f(o); err != nil {
		fmt.Fprintf(stderr, "leaky: %s: %v\n", o.mode, err)
		return 1
	}
	return 0
}

// child starts leaky itself in a child mode, sharing stdout and stderr.
func child(o opts, mode string, clean bool) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find myself: %w", err)
	}
	args := []string{"-mode", mode, "-stall-cap", o.stallCap.String()}
	if clean {
		args = append(args, "-clean")
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s child: %w", mode, err)
	}
	return cmd, nil
}

// zombie: a child that exits; the leaky twin never waits for it, and exits
// once it is a zombie.
func zombie(o opts) error {
	cmd, err := child(o, "child-exit", false)
	if err != nil {
		return err
	}
	if o.clean {
		if err := cmd.Wait(); err != nil {
			return err
		}
		o.say("pid=%d", cmd.Process.Pid)
		return nil
	}
	if err := waitZombie(cmd.Process.Pid, 30*time.Second); err != nil {
		return err
	}
	o.say("pid=%d", cmd.Process.Pid)
	return nil
}

// waitZombie polls pid's stat until it is a zombie.
func waitZombie(pid int, limit time.Duration) error {
	var err error
	zombie := poll.Until(context.Background(), limit, func() bool {
		var st procfs.Stat
		st, err = procfs.ReadStat(int32(pid))
		return err != nil || st.State == 'Z'
	})
	switch {
	case err != nil:
		return fmt.Errorf("child %d: %w", pid, err)
	case !zombie:
		return fmt.Errorf("child %d did not exit within %v", pid, limit)
	}
	return nil
}

// orphan: a stalled child; the leaky twin exits without stopping it.
func orphan(o opts) error {
	cmd, err := child(o, "child-stall", false)
	if err != nil {
		return err
	}
	o.say("pid=%d", cmd.Process.Pid)
	if o.clean {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return nil
}

// escaped: a child that starts a stalled grandchild and exits (the leaky
// twin leaves the grandchild running: it is orphaned while leaky still
// runs), then leaky holds still.
func escaped(o opts) error {
	cmd, err := child(o, "child-spawn", o.clean)
	if err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("child-spawn: %w", err)
	}
	time.Sleep(o.hold) // the program's own work after the escape
	return nil
}

// childSpawn is escaped's middle process: it prints the grandchild's pid
// under the escaped mode's name.
func childSpawn(o opts) error {
	cmd, err := child(o, "child-stall", false)
	if err != nil {
		return err
	}
	o.mode = "escaped"
	o.say("pid=%d", cmd.Process.Pid)
	if o.clean {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return nil
}

// hold is the program's work after leaking: the gate judges fds it saw.
func hold(o opts) { time.Sleep(o.hold) }

func pipe(o opts) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	o.say("fd=%d", r.Fd())
	o.say("fd=%d", w.Fd())
	if o.clean {
		r.Close()
		w.Close()
	}
	hold(o)
	return nil
}

func file(o opts) error {
	f, err := os.CreateTemp("", "leaky-*.txt")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	o.say("fd=%d path=%s", f.Fd(), f.Name())
	if o.clean {
		f.Close()
	}
	hold(o)
	return nil
}

func socket(o opts) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	raw, err := l.(*net.TCPListener).SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	if err := raw.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return err
	}
	o.say("fd=%d addr=%s", fd, l.Addr())
	if o.clean {
		l.Close()
	}
	hold(o)
	return nil
}

// goroutine leaks a goroutine blocked on a channel nobody closes (the
// clean twin closes it), checks itself with gleak and reports what leaked.
func goroutine(o opts) error {
	before := gleak.Goroutines()
	block := make(chan struct{})
	go blockForever(block)
	if o.clean {
		close(block)
	}
	m := gleak.HaveLeaked(before)
	deadline := time.Now().Add(o.hold)
	for {
		now := gleak.Goroutines()
		leaked, err := m.Match(now)
		if err != nil {
			return fmt.Errorf("gleak: %w", err)
		}
		if !leaked {
			o.say("goroutines=0")
			return nil
		}
		if time.Now().After(deadline) {
			o.say("goroutines=1")
			return selfreport.Report("goroutine", m.FailureMessage(now))
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

// blockForever waits for block to be closed.
func blockForever(block chan struct{}) { <-block }
