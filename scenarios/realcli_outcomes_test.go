package scenarios_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/record"
)

// The real-cli matrix's outcome table: the network faults, how each real
// CLI meets them (the error, the requests, the difference from fakecli),
// and the leak each cell must show.

// realFaultRules are the network faults of the real-cli matrix, as rules
// for the faulty chunk (%s is its glob). The positions are the fakecli
// matrix's where the fault has one; exit is not a network fault (status,
// reset and stall before the headers are its network kin).
var realFaultRules = map[string]string{
	"none":          "",
	"truncate":      `truncate record=3 on="%s"`, // the connection closes inside record 3, before Content-Length
	"stall":         `stall after=8KiB on="%s"`,  // the body stops after 8 KiB, until the client leaves
	"stall-headers": `stall on="%s"`,             // no status line, until the client leaves
	"reset":         `reset after=8KiB on="%s"`,  // RST after 8 KiB of the body
	"status":        `status code=503 on="%s"`,   // 503 SlowDown on every attempt
	"corrupt":       `corrupt record=3 on="%s"`,  // record 3's payload is garbage, Content-Length matches
}

// realFaultOrder lists the faults of realFaultRules in the order of reports.LabelFault.
var realFaultOrder = reports.InOrder(reports.LabelFault, slices.Collect(maps.Keys(realFaultRules)))

// realPlan is a cell's fault spec: the fault on the faulty chunk, then the
// slow backdrop for every later manifest.
func realPlan(fault string, c realConfig, b *fixture.Backup) string {
	if realFaultRules[fault] == "" {
		return ""
	}
	target := b.Manifests[realFaultyManifest].Chunks[realFaultyChunk]
	return withBackdrop(fmt.Sprintf(realFaultRules[fault], "*/"+target), b.Manifests[realFaultyManifest+1:], c.backdropFor(fault))
}

// cliOutcome is how a real CLI meets a fault, end to end: the error the
// restore must surface, the requests for the faulty chunk the journal must
// show, and how that differs from fakecli's imitation.
type cliOutcome struct {
	cause   string // what causedByReal must return
	heads   int    // HEAD requests for the faulty chunk
	gets    int    // GET requests for the faulty chunk
	reason  string // the CLI behaviour behind it
	fakecli string // where fakecli (the same fault kind, or its nearest) differs
}

// realOutcomes are reasoned from the CLIs' code (aws-cli 2.9.19 as Debian
// ships it, with its bundled botocore and s3transfer; curl 7.88) and
// asserted by the matrix.
var realOutcomes = map[string]map[string]cliOutcome{
	"aws": {
		"truncate": {cause: "garbage record", heads: 1, gets: 5,
			reason:  "s3transfer retries an IncompleteReadError 5 times (num_download_attempts) and, for a single-part download to stdout, writes every attempt's bytes again (ImmediatelyWriteIOGetObjectTask bypasses the DeferQueue): the stream repeats, record 3 is filled from the next copy and fails to verify before EOF; then aws exits 1",
			fakecli: "fakecli's truncate ends the stream inside record 3 and exits 0: a short record at EOF, child joined"},
		"stall": {cause: "interrupted", heads: 1, gets: 1,
			reason:  "aws holds the 8 KiB (nothing reaches stdout) and waits 60 s (botocore's read_timeout), then s3transfer would retry the GET up to 5 times: minutes; the restore is interrupted first",
			fakecli: "fakecli writes the 8 KiB before it stalls; the fakecli matrix ends the stall with a 1.5 s read timeout, which a healthy aws read (Python's start-up, then a whole object held before the first write) would trip as well"},
		"stall-headers": {cause: "interrupted", heads: 1, gets: 0,
			reason:  "the stall hits aws's HeadObject, before any GET: aws waits 60 s per attempt (3 attempts); the restore is interrupted first",
			fakecli: "fakecli has no headers: stall after=0 is its nearest"},
		"reset": {cause: "exit 1", heads: 1, gets: 1,
			reason:  "a reset mid-body is a urllib3 ProtocolError, which neither botocore nor s3transfer retries: aws exits 1 at once, having written nothing (it held the 8 KiB)",
			fakecli: "fakecli's reset plays 'exit code=1 after=8KiB': it writes the 8 KiB first"},
		"status": {cause: "exit 1", heads: 3, gets: 0,
			reason:  "botocore's standard retry mode tries HeadObject 3 times (AWS_MAX_ATTEMPTS) on 503 with backoff, then aws exits 1 without a GET; gzip of nothing exits 1 too",
			fakecli: "fakecli's status exits 1 at once, without the ~2 s of backoff"},
		"corrupt": {cause: "corrupt", heads: 1, gets: 1,
			reason:  "aws checks no checksum on a GET (the ETag is not compared): the garbage passes and fails to decode before EOF",
			fakecli: "same as fakecli's corrupt"},
	},
	"curl": {
		"truncate": {cause: "exit 18", heads: 0, gets: 1,
			reason:  "curl -s does not retry; it writes what it got and exits 18 (CURLE_PARTIAL_FILE); gzip decodes the cut stream and exits 0, so pipefail reports curl's 18 at EOF",
			fakecli: "fakecli's truncate exits 0: the restore sees a short record instead of an exit status"},
		"stall": {cause: "interrupted", heads: 0, gets: 1,
			reason:  "curl has no timeout unless told (-m): it writes the 8 KiB and waits forever; the restore is interrupted",
			fakecli: "as fakecli's stall, but ended by an interrupt instead of the fakecli matrix's 1.5 s read timeout"},
		"stall-headers": {cause: "interrupted", heads: 0, gets: 1,
			reason:  "curl waits for a status line forever (no -m); the restore is interrupted",
			fakecli: "fakecli has no headers: stall after=0 is its nearest"},
		"reset": {cause: "exit 1", heads: 0, gets: 1,
			reason:  "curl exits 56 (CURLE_RECV_ERROR) after writing the 8 KiB; gzip then fails on the cut stream and exits 1, which pipefail reports (the rightmost failure)",
			fakecli: "fakecli's reset exits 1 after the 8 KiB; here curl's own 56 is hidden by gzip's 1"},
		"status": {cause: "exit 1", heads: 0, gets: 1,
			reason:  "curl -s without -f treats a 503 as success: it writes the JSON error body and exits 0; gzip rejects it (not in gzip format) and exits 1",
			fakecli: "fakecli's status writes nothing; here the CLI succeeds and the pipeline fails only because gzip does"},
		"corrupt": {cause: "corrupt", heads: 0, gets: 1,
			reason:  "curl checks nothing: the garbage passes and fails to decode before EOF",
			fakecli: "same as fakecli's corrupt"},
	},
}

// causedByReal matches the error a real-CLI cell must surface.
func causedByReal(want string) OmegaMatcher {
	return WithTransform(func(err error) string {
		var xe *adapter.ExitError
		var de *ledger.DecodeError
		switch {
		case errors.Is(err, context.Canceled):
			return "interrupted"
		case errors.Is(err, adapter.ErrReadTimeout):
			return "read timeout"
		case errors.As(err, &xe):
			return fmt.Sprintf("exit %d", xe.ExitCode)
		case want == "garbage record" && (errors.As(err, &de) || strings.Contains(err.Error(), "waypoints don't match") || errors.Is(err, record.ErrTooLarge)):
			return "garbage record"
		case errors.As(err, &de):
			return "corrupt"
		}
		return "unrecognised: " + err.Error()
	}, Equal(want))
}

// realExpectationFor is the leak claim of a real-cli cell: the fakecli
// matrix's, read with the real CLI in fakecli's place. A leak expected to
// go away gets longer: a dropped aws holds a whole object (up to 256 KiB)
// before it writes, so it meets the broken pipe only once its paced
// download is done, and Python takes its time to exit on a loaded machine.
func realExpectationFor(c realCell) expectation {
	want := expectationFor(cell{fault: realLeakFault(c.fault), policy: c.policy, config: "s3"})
	if want.kind == cleanAfterSettling {
		want.quiet = 15 * time.Second
	}
	return want
}

// realLeakFault maps a network fault to the fakecli fault whose leak
// expectation it shares: both stalls leave a CLI that writes nothing alive;
// everything else ends with the CLI exiting (or dying of a broken pipe).
func realLeakFault(fault string) string {
	switch fault {
	case "none", "stall":
		return fault
	case "stall-headers":
		return "stall"
	}
	return "truncate"
}
