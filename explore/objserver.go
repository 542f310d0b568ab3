package explore

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/leakgate/leakgate/fakecli/fakeenv"
	"github.com/leakgate/leakgate/journal"
)

// objServer is a running bin/objserver acting one plan out on the wire.
type objServer struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	endpoint string
	journal  string
}

// startObjServer starts bin (cmd/objserver) on a free loopback port over
// bucket with spec's faults, its journal and logs in dir, and waits (polling
// its address file, 30s at most) until it listens. It exits when its stdin
// closes (stop), so it cannot outlive explore.
func startObjServer(ctx context.Context, bin, bucket, spec, dir string) (*objServer, error) {
	o := &objServer{journal: filepath.Join(dir, "objserver-journal.jsonl")}
	addr, logPath := filepath.Join(dir, "objserver.addr"), filepath.Join(dir, "objserver.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	o.cmd = exec.Command(bin, "-addr-file", addr, "-watch-stdin")
	o.cmd.Env = append(Tools{}.environ(), fakeenv.Bucket+"="+bucket, fakeenv.Faults+"="+spec,
		fakeenv.Journal+"="+o.journal)
	o.cmd.Stdout, o.cmd.Stderr = logf, logf
	if o.stdin, err = o.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := o.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start objserver: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(addr); err == nil {
			o.endpoint = strings.TrimSpace(string(b))
			return o, nil
		}
		// Before it listens objserver writes only to say why it gives up.
		if log, _ := os.ReadFile(logPath); len(log) > 0 || time.Now().After(deadline) || ctx.Err() != nil {
			o.stop()
			return nil, fmt.Errorf("objserver did not start listening: %s", log)
		}
		time.Sleep(20 * time.Millisecond) // polling the address file, with a deadline
	}
}

// env is what the command needs to reach the server: the endpoint under
// the names the shipped configs read.
func (o *objServer) env() []string {
	return []string{"ENDPOINT=" + o.endpoint, "R2_ENDPOINT_URL=" + o.endpoint}
}

// requests reads the server's journal (nil if it has none).
func (o *objServer) requests() []journal.Invocation {
	invs, _ := journal.Read(o.journal)
	return invs
}

// stop closes the server's stdin and reaps it; SIGKILL after 10s.
func (o *objServer) stop() {
	o.stdin.Close()
	done := make(chan struct{})
	go func() { o.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		o.cmd.Process.Kill()
		<-done
	}
}
