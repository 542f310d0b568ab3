package explore

import (
	"context"
	"strings"
	"time"

	"github.com/leakgate/leakgate/faults"
)

// Command is the subject for any command that reads or writes the bucket
// through fakecli's personas: Args run under the gate with the plan's
// faults. Its properties: the gate passes (no leak), the run ends within
// Timeout, and a non-zero exit names a file of the bucket. Whether an
// exit 0 is right only the command knows: that property needs a subject of
// its own (Restore).
//
//	s := &explore.Command{Tools: t, Args: []string{"bin/restore", "bootstrap-db", …}, Bucket: "b"}
type Command struct {
	Tools   Tools
	Args    []string
	Bucket  string
	Timeout time.Duration
	// Objserver, if set, is bin/objserver: each run's faults are acted out
	// by a server of its own instead of by fakecli, and the command gets
	// its endpoint (ENDPOINT, R2_ENDPOINT_URL), for real CLIs.
	Objserver string
	handles   []string
}

// Name is the command line.
func (c *Command) Name() string { return "command " + strings.Join(c.Args, " ") }

// Flags select this subject again: the bucket, and the command after "--".
func (c *Command) Flags() []string {
	return append([]string{"--bucket", c.Bucket, "--"}, c.Args...)
}

// Space is the bucket's handles, listed at the first call.
func (c *Command) Space() Space {
	if c.handles == nil {
		c.handles, _ = bucketHandles(c.Bucket)
	}
	return Space{Handles: c.handles, Network: c.Objserver != ""}
}

// Smaller: a fixed command has no simpler variant.
func (c *Command) Smaller() []Subject { return nil }

// Check runs the command once under p in dir. The command must not change
// the bucket in a way the next run would see: a command that writes needs
// a subject that gives each run its own bucket.
func (c *Command) Check(ctx context.Context, p *faults.Plan, dir string) (Outcome, error) {
	g := gated{args: c.Args, bucket: c.Bucket, faults: p.String(), dir: dir, name: "run", timeout: c.Timeout}
	var srv *objServer
	if c.Objserver != "" {
		var err error
		if srv, err = startObjServer(ctx, c.Objserver, c.Bucket, g.faults, dir); err != nil {
			return Outcome{}, err
		}
		defer srv.stop()
		g.faults, g.env = "", srv.env()
	}
	v, err := c.Tools.gate(ctx, g)
	if err != nil {
		return Outcome{}, err
	}
	if srv != nil {
		v.journal = srv.requests()
	}
	out := Outcome{Exit: v.exit(), Evidence: dir, Faulted: faulted(v.journal)}
	switch {
	case v.Status.TimedOut:
		out.breaks(PropTimeout, "the run did not end within %s", c.Timeout)
	case !v.Pass:
		out.breaks(PropLeak, "%s", strings.Join(v.Failures, "; "))
	}
	if out.Exit != 0 && !v.Status.TimedOut && !namesFile(v.output, c.Space().Handles) {
		out.breaks(PropUnnamed, "exit %d and no file named in: %s", out.Exit, lastLine(v.output))
	}
	return out, nil
}
