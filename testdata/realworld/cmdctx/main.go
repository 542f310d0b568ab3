// Command cmdctx is one of the realworld corpus's Go programs (see
// testdata/realworld/truth.md): it runs the pipeline `bash -c 'sleep N |
// cat'` under exec.CommandContext with a deadline, as Go programs commonly
// shell out, and says on stderr when Run returned and with what:
//
//	cmdctx -stdout file              # Run returns at the deadline; sleep and cat live on
//	cmdctx -stdout pipe -sleep 1     # Run hangs until sleep exits (golang/go#23019)
//	cmdctx -stdout pipe -waitdelay 100ms   # Run returns 100ms after the kill; sleep and cat live on
//	cmdctx -stdout pipe -group -waitdelay 1s  # the pipeline in its own group, killed as a whole: clean
//
// CommandContext's default Cancel kills bash alone (SIGKILL to its pid);
// the pipeline's sleep and cat are bash's children and outlive it. With a
// pipe for stdout, Wait also waits for the copy from the pipe to end,
// which comes only when the last holder of its write end (cat) exits.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	stdout := flag.String("stdout", "file", "the pipeline's stdout: file (/dev/null, passed as an fd) or pipe (a bytes.Buffer: Go copies from a pipe)")
	sleep := flag.String("sleep", "100", "how long the pipeline's sleep sleeps (its argument)")
	deadline := flag.Duration("deadline", 200*time.Millisecond, "the context's deadline")
	waitDelay := flag.Duration("waitdelay", 0, "exec.Cmd.WaitDelay (0: none)")
	group := flag.Bool("group", false, "start the pipeline in its own process group and cancel by killing the group")
	flag.Parse()
	if err := run(*stdout, *sleep, *deadline, *waitDelay, *group); err != nil {
		fmt.Fprintln(os.Stderr, "cmdctx:", err)
		os.Exit(2)
	}
}

func run(stdout, sleep string, deadline, waitDelay time.Duration, group bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "sleep "+sleep+" | cat")
	switch stdout {
	case "file":
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer null.Close()
		cmd.Stdout = null
	case "pipe":
		cmd.Stdout = &bytes.Buffer{}
	default:
		return fmt.Errorf("-stdout %q: want file or pipe", stdout)
	}
	// Stderr stays nil: /dev/null, passed as an fd (an io.Writer that is not
	// an *os.File would be one more pipe for Wait to drain).
	cmd.WaitDelay = waitDelay
	if group {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	}
	start := time.Now()
	err := cmd.Run()
	fmt.Fprintf(os.Stderr, "cmdctx: Run returned after %s: %v\n", time.Since(start).Round(10*time.Millisecond), err)
	return nil
}
