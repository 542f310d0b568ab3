package objserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
)

// asCommandEnv makes the test binary run Main instead of the tests: the
// command tests re-execute it as objserver.
const asCommandEnv = "LEAKGATE_OBJSERVER_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(asCommandEnv) == "1" {
		os.Exit(Main(append([]string{"objserver"}, os.Args[1:]...)))
	}
	os.Exit(harness.RunReaped(m.Run))
}

// command is this test binary as objserver, with env; killed and reaped
// when the test ends.
func command(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	var keep []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEAKGATE_") {
			keep = append(keep, kv)
		}
	}
	cmd.Env = append(append(keep, asCommandEnv+"=1", harness.NewMarker("objserver-cmd").Env()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &stdout, &stderr
}

// objectBucket is a bucket root holding one object, b/k = "object".
func objectBucket(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "b", "k"), []byte("object"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// endpointIn waits (up to 10s) for the command's -addr-file and returns
// the endpoint it names.
func endpointIn(t *testing.T, addr string, stderr *bytes.Buffer) string {
	t.Helper()
	var endpoint string
	if !poll.Until(context.Background(), 10*time.Second, func() bool {
		b, err := os.ReadFile(addr)
		endpoint = strings.TrimSpace(string(b))
		return err == nil
	}) {
		t.Fatalf("no address file within 10s; stderr: %s", stderr)
	}
	return endpoint
}

func TestCommandServesUntilStdinEnds(t *testing.T) {
	root := objectBucket(t)
	addr := filepath.Join(t.TempDir(), "addr")
	cmd, stdout, stderr := command(t, []string{fakecli.EnvBucket + "=" + root}, "-addr-file", addr, "-watch-stdin")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	endpoint := endpointIn(t, addr, stderr)
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q, want http://127.0.0.1:PORT", endpoint)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(endpoint + "/b/k")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "object" {
		t.Errorf("GET /b/k = %q", body)
	}
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v; stderr: %s", err, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("objserver still running 10s after its stdin closed")
	}
	if got := strings.TrimSpace(stdout.String()); got != endpoint {
		t.Errorf("stdout %q, want the endpoint %q", got, endpoint)
	}
}

// TestCommandHurriesOnSIGUSR1: a SIGUSR1 sent as soon as the endpoint
// shows ends the command's pacing. At 1 B/s under a 2 s stall cap the body
// would be cut after 2 bytes; hurried, it arrives whole.
func TestCommandHurriesOnSIGUSR1(t *testing.T) {
	root := objectBucket(t)
	addr := filepath.Join(t.TempDir(), "addr")
	cmd, _, stderr := command(t, []string{
		fakecli.EnvBucket + "=" + root,
		fakecli.EnvFaults + "=slow rate=1",
		fakecli.EnvStallCap + "=2s",
	}, "-addr-file", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	endpoint := endpointIn(t, addr, stderr)
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(endpoint + "/b/k")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "object" {
		t.Errorf("GET /b/k = %q, %v; want the whole object, unpaced", body, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; stderr: %s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "pacing ended") {
		t.Errorf("stderr %q; want it to say the pacing ended", stderr)
	}
}

func TestCommandRefuses(t *testing.T) {
	root := t.TempDir()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"not loopback", []string{fakecli.EnvBucket + "=" + root}, []string{"-listen", "0.0.0.0:0"}, `objserver: -listen "0.0.0.0:0": listen address must be loopback`},
		{"a name", []string{fakecli.EnvBucket + "=" + root}, []string{"-listen", "localhost:0"}, `listen address must be loopback`},
		{"no bucket", nil, nil, "objserver: LEAKGATE_BUCKET is not set"},
		{"bad spec", []string{fakecli.EnvBucket + "=" + root, fakecli.EnvFaults + "=stal"}, nil, `objserver: LEAKGATE_FAULTS:1:1: unknown fault "stal"`},
		{"process fault", []string{fakecli.EnvBucket + "=" + root, fakecli.EnvFaults + "=exit code=3"}, nil, `LEAKGATE_FAULTS:1:1: exit code=3: a process exit status has no meaning on the network`},
		{"bad cap", []string{fakecli.EnvBucket + "=" + root, fakecli.EnvStallCap + "=soon"}, nil, `LEAKGATE_STALL_CAP="soon": want a duration > 0`},
		{"arguments", []string{fakecli.EnvBucket + "=" + root}, []string{"serve"}, `unexpected arguments ["serve"]`},
		{"journal is a folder", []string{fakecli.EnvBucket + "=" + root, fakecli.EnvJournal + "=" + root}, nil, "objserver: LEAKGATE_JOURNAL: journal " + root + ": open: is a directory"},
		{"journal is a device", []string{fakecli.EnvBucket + "=" + root, fakecli.EnvJournal + "=/dev/full"}, nil, "objserver: LEAKGATE_JOURNAL: journal /dev/full: not a regular file"},
		{"journal folder missing", []string{fakecli.EnvBucket + "=" + root, fakecli.EnvJournal + "=" + root + "/no/j.jsonl"}, nil, "no such file or directory"},
		{"bad timeout", []string{fakecli.EnvBucket + "=" + root}, []string{"-body-timeout", "0s"}, "objserver: -body-timeout 0s: want a duration > 0"},
		{"port taken", []string{fakecli.EnvBucket + "=" + root}, []string{"-listen", taken.Addr().String()}, "address already in use"},
		{"address file", []string{fakecli.EnvBucket + "=" + root}, []string{"-addr-file", root + "/no/addr"}, "objserver: -addr-file: open " + root + "/no/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tmp := t.TempDir()
			cmd, _, stderr := command(t, append(c.env, "TMPDIR="+tmp), c.args...)
			cmd.Stdin = nil
			err := cmd.Run()
			var xe *exec.ExitError
			if !errors.As(err, &xe) || xe.ExitCode() != ExitUsage || !strings.Contains(stderr.String(), c.want) || ctx.Err() != nil {
				t.Errorf("exit %v, stderr %q; want exit %d and %q", err, stderr, ExitUsage, c.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("a failed start left %v in TMPDIR", left)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:0": true, "127.1.2.3:9000": true, "[::1]:0": true,
		"0.0.0.0:0": false, ":0": false, "localhost:0": false, "10.0.0.1:80": false, "127.0.0.1": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok %v", addr, err, ok)
		}
	}
}
