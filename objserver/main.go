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
//
// It serves the bucket folder LEAKGATE_BUCKET with the faults of
// LEAKGATE_FAULTS, then LEAKGATE_FAULT_PLAN (the same environment as
// fakecli's), journals every request to LEAKGATE_JOURNAL, and caps
// "forever" stalls at LEAKGATE_STALL_CAP (default 10m). Once listening it
// prints its endpoint, "http://127.0.0.1:PORT", as one line on stdout and,
// with -addr-file, writes the same line to that file (atomically). It runs
// until SIGTERM, SIGINT or SIGHUP, or with -watch-stdin until stdin ends
// (so a parent that dies takes it along), then closes every connection and
// exits 0. Errors go to stderr prefixed "objserver: ".
func Main(argv []string) int {
	fl := flag.NewFlagSet("objserver", flag.ContinueOnError)
	fl.SetOutput(os.Stderr)
	listen := fl.String("listen", "127.0.0.1:0", "loopback address to listen on (port 0: any free port)")
	addrFile := fl.String("addr-file", "", "file to write the endpoint URL to, once listening")
	watchStdin := fl.Bool("watch-stdin", false, "exit when stdin reaches end of file")
	if err := fl.Parse(argv[1:]); err != nil {
		return ExitUsage
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "objserver: unexpected arguments %q (want only flags)\n", fl.Args())
		return ExitUsage
	}
	srv, err := fromEnv()
	if err == nil {
		err = checkLoopback(*listen)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "objserver: %v\n", err)
		return ExitUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "objserver: %v\n", err)
		return ExitUsage
	}
	endpoint := "http://" + ln.Addr().String()
	if *addrFile != "" {
		if err := writeFileAtomic(*addrFile, []byte(endpoint+"\n")); err != nil {
			fmt.Fprintf(os.Stderr, "objserver: -addr-file: %v\n", err)
			ln.Close()
			return ExitUsage
		}
	}
	fmt.Fprintln(os.Stdout, endpoint)

	stop := make(chan string, 2)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() { stop <- (<-sigs).String() }()
	if *watchStdin {
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

// fromEnv builds the server fakecli's environment describes.
func fromEnv() (*Server, error) {
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
			return nil, fmt.Errorf("%s=%q: want a duration > 0, e.g. 10m", fakecli.EnvStallCap, v)
		}
	}
	return New(Config{
		Root:     os.Getenv(fakecli.EnvBucket),
		Plan:     plan,
		Journal:  os.Getenv(fakecli.EnvJournal),
		StallCap: stallCap,
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
