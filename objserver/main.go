package objserver

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/internal/clip"
)

// Exit statuses of Main.
const (
	ExitOK    = 0 // stopped by SIGTERM, SIGINT, SIGHUP or (with -watch-stdin) the end of stdin
	ExitFail  = 1 // the server failed while running
	ExitUsage = 2 // bad flags, a listen address that is not loopback, bad environment or fault plan
)

// ErrNotLoopback is wrapped by Main's error for a -listen address that is
// not a loopback address: objserver injects faults and checks no
// credentials, so it never listens beyond the machine.
var ErrNotLoopback = errors.New("listen address must be loopback (127.0.0.0/8 or ::1)")

// Main runs objserver as a command (cmd/objserver is os.Exit(Main(os.Args))):
//
//	objserver [-listen 127.0.0.1:0] [-addr-file PATH] [-watch-stdin]
//	          [-read-header-timeout 10s] [-body-timeout 1m] [-idle-timeout 2m]
//	          [-max-body 5368709120]
//
// It serves the bucket folder LEAKGATE_BUCKET with the faults of
// LEAKGATE_FAULTS, then LEAKGATE_FAULT_PLAN (the same environment as
// fakecli's), journals every request to LEAKGATE_JOURNAL (refusing to
// start if it cannot open it for writing), and caps stalls and paced
// responses at LEAKGATE_STALL_CAP (default 10m). The timeouts and
// -max-body (bytes) are Config's. Once listening it prints its endpoint, "http://127.0.0.1:PORT",
// as one line on stdout and, with -addr-file, writes the same line to that
// file (atomically). It runs until SIGTERM, SIGINT or SIGHUP, or with
// -watch-stdin until stdin ends (so a parent that dies takes it along),
// then closes every connection and exits 0. SIGUSR1 ends every pacing
// (Server.Hurry). Errors go to stderr prefixed
// "objserver: ". A start that fails leaves nothing behind.
func Main(argv []string) int {
	o, code := parseFlags(argv)
	if code >= 0 {
		return code
	}
	hurry := make(chan os.Signal, 1) // before listening: a SIGUSR1 sent once the endpoint shows must not kill us
	signal.Notify(hurry, syscall.SIGUSR1)
	defer signal.Stop(hurry)
	srv, ln, endpoint, err := start(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "objserver: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintln(os.Stdout, endpoint)

	stop := make(chan string, 2)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() { stop <- (<-sigs).String() }()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-hurry:
			srv.Hurry()
		case <-done:
		}
	}()
	if o.watchStdin {
		go func() {
			_, err := io.Copy(io.Discard, os.Stdin)
			stop <- fmt.Sprintf("end of stdin (%v)", err)
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-stop:
		if err := srv.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "objserver: close: %v\n", err)
		}
		<-errc
		return ExitOK
	case err := <-errc:
		fmt.Fprintf(os.Stderr, "objserver: serve: %v\n", err)
		srv.Close()
		return ExitFail
	}
}

// options are Main's flags.
type options struct {
	listen, addrFile string
	watchStdin       bool
	timeouts         [3]time.Duration // read header, body, idle
	maxBody          int64
}

// parseFlags parses Main's flags; code is the exit status if Main must
// stop (ExitUsage), else -1.
func parseFlags(argv []string) (o options, code int) {
	fl := flag.NewFlagSet("objserver", flag.ContinueOnError)
	fl.SetOutput(os.Stderr)
	fl.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to listen on (port 0: any free port)")
	fl.StringVar(&o.addrFile, "addr-file", "", "file to write the endpoint URL to, once listening")
	fl.BoolVar(&o.watchStdin, "watch-stdin", false, "exit when stdin reaches end of file")
	fl.DurationVar(&o.timeouts[0], "read-header-timeout", DefaultReadHeaderTimeout, "longest a client may take to send a request's headers")
	fl.DurationVar(&o.timeouts[1], "body-timeout", DefaultBodyTimeout, "longest pause between two pieces of a request body")
	fl.DurationVar(&o.timeouts[2], "idle-timeout", DefaultIdleTimeout, "longest a kept-alive connection may wait for its next request")
	fl.Int64Var(&o.maxBody, "max-body", DefaultMaxBody, "most bytes a request body (an object, a part) may hold")
	if err := fl.Parse(argv[1:]); err != nil {
		return o, ExitUsage
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "objserver: unexpected arguments %q (want only flags)\n", fl.Args())
		return o, ExitUsage
	}
	for i, name := range []string{"read-header-timeout", "body-timeout", "idle-timeout"} {
		if o.timeouts[i] <= 0 {
			fmt.Fprintf(os.Stderr, "objserver: -%s %v: want a duration > 0\n", name, o.timeouts[i])
			return o, ExitUsage
		}
	}
	if o.maxBody <= 0 {
		fmt.Fprintf(os.Stderr, "objserver: -max-body %d: want a size > 0 in bytes\n", o.maxBody)
		return o, ExitUsage
	}
	return o, -1
}

// start builds the server, listens and writes the address file; on error
// it leaves nothing open or on disk.
func start(o options) (srv *Server, ln net.Listener, endpoint string, err error) {
	if err := checkLoopback(o.listen); err != nil {
		return nil, nil, "", err
	}
	if srv, err = fromEnv(o.timeouts, o.maxBody); err != nil {
		return nil, nil, "", err
	}
	if ln, err = net.Listen("tcp", o.listen); err != nil {
		srv.Close()
		return nil, nil, "", err
	}
	endpoint = "http://" + ln.Addr().String()
	if o.addrFile != "" {
		if err := writeFileAtomic(o.addrFile, []byte(endpoint+"\n")); err != nil {
			ln.Close()
			srv.Close()
			return nil, nil, "", fmt.Errorf("-addr-file: %w", err)
		}
	}
	return srv, ln, endpoint, nil
}

// fromEnv builds the server fakecli's environment describes.
func fromEnv(timeouts [3]time.Duration, maxBody int64) (*Server, error) {
	plan, err := faults.Parse(fakecli.EnvFaults, os.Getenv(fakecli.EnvFaults))
	if err != nil {
		return nil, err
	}
	if path := os.Getenv(fakecli.EnvFaultPlan); path != "" {
		more, err := faults.Load(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fakecli.EnvFaultPlan, err)
		}
		plan.Rules = append(plan.Rules, more.Rules...)
	}
	var stallCap time.Duration
	if v := os.Getenv(fakecli.EnvStallCap); v != "" {
		if stallCap, err = time.ParseDuration(v); err != nil || stallCap <= 0 {
			return nil, fmt.Errorf("%s=%s: want a duration > 0, e.g. 10m", fakecli.EnvStallCap, clip.Quote(v, 0))
		}
	}
	return New(Config{
		Root:              os.Getenv(fakecli.EnvBucket),
		Plan:              plan,
		Journal:           os.Getenv(fakecli.EnvJournal),
		StallCap:          stallCap,
		ReadHeaderTimeout: timeouts[0],
		BodyTimeout:       timeouts[1],
		IdleTimeout:       timeouts[2],
		MaxBody:           maxBody,
	})
}

// checkLoopback refuses a listen address whose host is not a loopback IP
// ("localhost" is refused too: it may resolve to anything).
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: %w", addr, ErrNotLoopback)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path, then renames
// it, so a reader polling for path never sees it half written.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".objserver-addr-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
