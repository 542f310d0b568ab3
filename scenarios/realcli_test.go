package scenarios_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/objserver"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/record"
)

// The real storage CLIs (issue 5): the shipped helm configs run unchanged
// with Debian's aws (helm-r2.yaml) and the system curl (helm-oci.yaml)
// against objserver, a fault-injecting object server on loopback that
// serves the suite's bucket folder. The faults happen where they really
// do, on the network, and the CLIs react as they really do: they retry,
// buffer, time out (or not), and exit with their own statuses.
//
// The harness measures them as it measures fakecli: aws and gzip are
// grandchildren (bash's children), carry the spec's run marker, and are
// counted as children while in our tree and as escaped once reparented.
// aws's transfer threads (s3transfer runs a thread pool) are threads of the
// one Python process, not processes; anything aws or curl started would
// inherit the marker and be counted too. objserver journals every request
// with the pid of the process that sent it, so the cells assert which aws
// or curl stalled, and how often each CLI retried.

// The real CLIs the specs run, by absolute path: a Python-packaged aws of
// another version may come first on PATH (pyenv's shim does here), and
// the specs mean Debian's. helm-oci.yaml's list_metadata_files runs
// `python`; Debian has only python3 unless python-is-python3 is installed,
// so the specs' PATH directory links `python` to Debian's python3.
const (
	debianAWS    = "/usr/bin/aws"
	systemCurl   = "/usr/bin/curl"
	debianPython = "/usr/bin/python3"
)

// envRealCLI set to "require" (as .ci/run does) turns a missing real CLI
// into a failure instead of a skip.
const envRealCLI = "LEAKGATE_REAL_CLI"

// realFixtureSpec is smaller than the fakecli matrix's: every read is a
// real aws process (0.5–1 s of Python's CPU on a 2-core machine), so one
// chunk per manifest (a full restore is 16 reads: a listing, 5 metadata
// files, 5 manifests, 5 chunks). Chunks (5 × 16 KiB records,
// incompressible) are still bigger than a pipe's 64 KiB, and three
// manifests follow the faulty one, so that C = 4 readers can be in flight
// when the error hits.
var realFixtureSpec = fixture.Spec{Manifests: 5, ChunksPerManifest: 1, RecordsPerChunk: 5, RecordSize: 16 << 10}

// realFaultyChunk places the fault, with faultyManifest: the (only) chunk
// of the second manifest, so manifest 0 is restored before it and the
// later manifests are in flight.
const realFaultyChunk = 0

const (
	// realConcurrency is --concurrent-downloads for the real-cli cells.
	realConcurrency = 4
	// realBackdropRate paces every manifest after the faulty one (an
	// 80 KiB chunk takes 2.5 s), so they are mid-download when the error
	// hits; slow enough to be in flight, fast enough that a dropped aws
	// (which holds a whole object before it writes) finishes and meets
	// the broken pipe within the settle window.
	realBackdropRate = "32KiB"
)

// realConfig is one shipped config run with a real CLI.
type realConfig struct {
	name   string // label value: "helm-r2"
	file   string // the shipped YAML, unchanged
	cli    string // "aws" or "curl"
	bucket string // bucket folder under w.Bucket
}

var realConfigs = []realConfig{
	{name: "helm-r2", file: "helm-r2.yaml", cli: "aws", bucket: "realcli-r2"},
	{name: "helm-oci", file: "helm-oci.yaml", cli: "curl", bucket: "realcli-oci"},
}

// realReadTimeout is the adapter's read timeout in the real-cli cells: a
// safety net only, as long as aws's own socket read timeout (botocore's
// 60 s). A healthy aws read shows no byte for a long while: Python starts
// (0.5–1 s of CPU, much longer on a loaded machine), then s3transfer reads
// up to 256 KiB of the body before its first write to stdout. The stall
// cells do not wait for it: see realInterrupt.
const realReadTimeout = 60 * time.Second

// realSubDir is $SUB_DIR of both configs.
const realSubDir = "e1"

// realCLIs is what the real-cli specs need from the machine, found once
// per test process.
type realCLIs struct {
	dir       string            // first on the CLIs' PATH: aws, curl, python → the Debian binaries
	home      string            // an empty HOME: no ~/.aws, ~/.curlrc or user site-packages
	objserver string            // the built cmd/objserver
	versions  map[string]string // "aws" → "aws-cli/2.9.19 …"
	missing   string            // which real CLIs are not installed; "" if all are
	broken    string            // what went wrong setting them up; "" if nothing
}

var (
	realOnce sync.Once
	realTool realCLIs
)

// realTools finds the real CLIs and builds objserver, once per process.
func realTools() *realCLIs {
	realOnce.Do(func() {
		t := &realTool
		t.versions = map[string]string{}
		var missing []string
		for _, p := range []string{debianAWS, systemCurl, debianPython} {
			if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			t.missing = fmt.Sprintf("%s not installed (Debian: apt-get install -y awscli curl python3; `make real-clis` does it, .ci/run runs it)", strings.Join(missing, ", "))
			return
		}
		t.broken = t.setUp()
	})
	return &realTool
}

// setUp lays out the tools directory and the empty HOME, asks each tool
// its version and builds objserver; "" if all went well, else what failed.
func (t *realCLIs) setUp() string {
	root := filepath.Join(w.Root, fmt.Sprintf("realcli-%d", os.Getpid()))
	t.dir, t.home = filepath.Join(root, "bin"), filepath.Join(root, "home")
	for _, d := range []string{t.dir, t.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err.Error()
		}
	}
	for name, target := range map[string]string{"aws": debianAWS, "curl": systemCurl, "python": debianPython} {
		if err := os.Symlink(target, filepath.Join(t.dir, name)); err != nil {
			return err.Error()
		}
	}
	for _, name := range []string{"aws", "curl", "python"} {
		cmd := exec.Command(filepath.Join(t.dir, name), "--version")
		cmd.Env = t.env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Sprintf("%s --version: %v: %s", name, err, out)
		}
		t.versions[name], _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	}
	// Built into the suite's temp dir (removed after the suite), not
	// gexec's: gexec's artifacts are cleaned by process 1 only.
	t.objserver = filepath.Join(root, "objserver")
	if out, err := exec.Command("go", "build", "-o", t.objserver, "github.com/leakgate/leakgate/cmd/objserver").CombinedOutput(); err != nil {
		return fmt.Sprintf("build objserver: %v: %s", err, out)
	}
	return ""
}

// realSkipLoud makes the first skip of each test process loud.
var realSkipLoud sync.Once

// requireRealCLIs skips the spec (with the reason) if the real CLIs are
// missing, or fails it if LEAKGATE_REAL_CLI=require. In the default
// (non-verbose) output a skip is just an "S": the first skip of each test
// process also shows the reason, so a run without the CLIs says why.
func requireRealCLIs() *realCLIs {
	t := realTools()
	if t.broken != "" {
		Fail("setting up the real CLIs: " + t.broken)
	}
	if t.missing != "" {
		if os.Getenv(envRealCLI) == "require" {
			Fail("real CLIs required (" + envRealCLI + "=require) but " + t.missing)
		}
		msg := "every real-cli spec is skipped: " + t.missing
		realSkipLoud.Do(func() { AddReportEntry("real-cli skipped", msg, ReportEntryVisibilityAlways) })
		Skip(msg)
	}
	return t
}

// realEnv is the environment of the real CLIs: this process's, without
// LEAKGATE_, AWS_, PYTHON and proxy variables of its own (the host's may
// say anything: this machine sets AWS_CA_BUNDLE and PYTHONUNBUFFERED), with
// the tools directory first on PATH, an empty HOME, then:
//
//   - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: dummy credentials
//     (objserver checks no signature), found at once, so botocore never
//     walks its credential chain;
//   - AWS_DEFAULT_REGION=us-east-1: botocore signs with a region;
//   - AWS_EC2_METADATA_DISABLED=true: never probe 169.254.169.254;
//   - AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE=/dev/null: no profile
//     can change retries, timeouts or the transfer settings;
//   - AWS_RETRY_MODE=standard, AWS_MAX_ATTEMPTS=3: aws v2's own defaults,
//     pinned, because the specs count the retries; helm-r2.yaml sets
//     nothing (helm-s3-public.yaml sets AWS_MAX_ATTEMPTS=100 on its line);
//   - AWS_PAGER="": no pager, ever.
//
// Then the config's variables and extra.
func (t *realCLIs) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		lk := strings.ToLower(k)
		if strings.HasPrefix(k, "LEAKGATE_") || strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "PYTHON") ||
			strings.HasSuffix(lk, "_proxy") || k == "PATH" || k == "HOME" || k == "CURL_HOME" || k == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PATH="+t.dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+t.home,
		"AWS_ACCESS_KEY_ID=leakgate",
		"AWS_SECRET_ACCESS_KEY=leakgate",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_RETRY_MODE=standard",
		"AWS_MAX_ATTEMPTS=3",
		"AWS_PAGER=",
	)
	return append(env, extra...)
}

// configEnv is the variables the helm configs read from the environment
// (their env_vars is []), for the server at endpoint.
func (c realConfig) configEnv(endpoint string) []string {
	switch c.cli {
	case "aws":
		return []string{"BUCKET=" + c.bucket, "SUB_DIR=" + realSubDir, "R2_ENDPOINT_URL=" + endpoint}
	default:
		return []string{"ENDPOINT=" + endpoint, "ACCESS_URI=" + objserver.AccessURI(c.bucket), "SUB_DIR=" + realSubDir}
	}
}

// handle is the bucket-relative key objserver sees for a file handle.
func (c realConfig) handle(fileHandle string) string {
	return c.bucket + "/" + realSubDir + "/" + fileHandle
}

// objServer is a running cmd/objserver. It runs as a separate process (not
// a goroutine of the test): its listening and accepted sockets, its
// goroutines and its memory would otherwise count in the very process
// whose fds and goroutines the specs measure.
type objServer struct {
	endpoint string
	journal  string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	log      string
}

// startObjServer starts objserver on a free loopback port with faults and
// a journal, and waits until it listens. It carries a run marker of its own
// (never the spec's), so a spec's cleanup leaves it alone and the suite's
// sweep would still find it; it exits when its stdin closes, so it cannot
// outlive this process.
func startObjServer(ctx context.Context, t *realCLIs, dir, faultSpec string) (*objServer, error) {
	o := &objServer{journal: filepath.Join(dir, "requests.jsonl"), log: filepath.Join(dir, "objserver.log")}
	addr := filepath.Join(dir, "objserver.addr")
	logf, err := os.Create(o.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	outf, err := os.Create(filepath.Join(dir, "objserver.out"))
	if err != nil {
		return nil, err
	}
	defer outf.Close()
	cmd := exec.Command(t.objserver, "-addr-file", addr, "-watch-stdin")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEAKGATE_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		harness.NewRun("objserver").Env(),
		fakecli.EnvBucket+"="+w.Bucket,
		fakecli.EnvFaults+"="+faultSpec,
		fakecli.EnvJournal+"="+o.journal,
		fakecli.EnvStallCap+"=3m",
	)
	cmd.Stdout, cmd.Stderr = outf, logf
	if o.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start objserver: %w", err)
	}
	o.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(addr)
		if err == nil {
			o.endpoint = strings.TrimSpace(string(b))
			return o, nil
		}
		// Before it listens objserver writes to stderr only to say why it
		// gives up.
		if log, _ := os.ReadFile(o.log); len(log) > 0 || time.Now().After(deadline) || ctx.Err() != nil {
			o.stop()
			return nil, fmt.Errorf("objserver did not start listening: %s", log)
		}
		time.Sleep(20 * time.Millisecond) // polling the address file, with a deadline
	}
}

// stop closes objserver's stdin (it closes every connection and exits) and
// reaps it; SIGKILL if it takes more than 10 s.
func (o *objServer) stop() error {
	o.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- o.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		o.cmd.Process.Kill()
		<-done
		return fmt.Errorf("objserver pid %d did not stop within 10s of its stdin closing: killed", o.cmd.Process.Pid)
	}
}

// requests reads the server's journal: one Invocation per request, its
// PID and Persona the client process's (aws, curl), Exit the HTTP status.
func (o *objServer) requests() []journal.Invocation {
	invs, err := journal.Read(o.journal)
	Expect(err).NotTo(HaveOccurred())
	return invs
}

var (
	realFixtureMu sync.Mutex
	realFixtures  = map[string]*fixture.Backup{}
)

// realFixture is the backup a real-cli config restores, written once per
// suite through the config's own write commands, with the real CLI, to a
// fault-free objserver (so `gzip -c | aws s3 cp - s3://…` and
// `curl -X PUT --data-binary @-` store it); the first test process writes
// it under a lock and leaves its description for the others.
func realFixture(ctx context.Context, t *realCLIs, c realConfig) *fixture.Backup {
	realFixtureMu.Lock()
	defer realFixtureMu.Unlock()
	if b := realFixtures[c.name]; b != nil {
		return b
	}
	lock, err := os.OpenFile(filepath.Join(w.Root, "realcli.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	Expect(err).NotTo(HaveOccurred())
	defer lock.Close()
	Expect(syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)).To(Succeed())
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	desc := filepath.Join(w.Root, "realcli-"+c.name+".json")
	b := &fixture.Backup{}
	if data, err := os.ReadFile(desc); err == nil {
		Expect(json.Unmarshal(data, b)).To(Succeed())
		realFixtures[c.name] = b
		return b
	}
	dir, err := os.MkdirTemp(w.Root, "realcli-fixture-"+c.name+"-")
	Expect(err).NotTo(HaveOccurred())
	srv, err := startObjServer(ctx, t, dir, "")
	Expect(err).NotTo(HaveOccurred())
	defer func() { Expect(srv.stop()).To(Succeed()) }()
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	Expect(err).NotTo(HaveOccurred())
	defer stderr.Close()
	cfg, err := adapter.LoadConfig(sharedConfig(c.file))
	Expect(err).NotTo(HaveOccurred())
	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup, Env: t.env(c.configEnv(srv.endpoint)...), Stderr: stderr}
	b, err = fixture.Write(ctx, a, realFixtureSpec)
	if err != nil {
		log, _ := os.ReadFile(stderr.Name())
		Fail(fmt.Sprintf("write the %s fixture with %s: %v\nstderr:\n%s", c.name, c.cli, err, log))
	}
	data, err := json.Marshal(b)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(desc, data, 0o644)).To(Succeed())
	realFixtures[c.name] = b
	return b
}

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

var realFaultOrder = []string{"none", "truncate", "stall", "stall-headers", "reset", "status", "corrupt"}

// realPlan is a cell's fault spec: the fault on the faulty chunk, then the
// slow backdrop for every later manifest.
func realPlan(fault string, c realConfig, b *fixture.Backup) string {
	if realFaultRules[fault] == "" {
		return ""
	}
	target := b.Manifests[faultyManifest].Chunks[realFaultyChunk]
	return withBackdrop(fmt.Sprintf(realFaultRules[fault], "*/"+target), b.Manifests[faultyManifest+1:], realBackdropRate)
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
			fakecli: "fakecli writes the 8 KiB before it stalls; the fakecli matrix ends the stall with a 3 s read timeout, which a healthy aws read (Python's start-up, then a whole object held before the first write) would trip as well"},
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
			fakecli: "as fakecli's stall, but ended by an interrupt instead of the fakecli matrix's 3 s read timeout"},
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

// realCell is one point of the real-cli matrix.
type realCell struct {
	fault  string
	policy adapter.Policy
	cfg    realConfig
}

func realEntries() []TableEntry {
	var entries []TableEntry
	for _, c := range realConfigs {
		for _, fault := range realFaultOrder {
			for _, policy := range adapter.Policies() {
				entries = append(entries, Entry(
					fmt.Sprintf("fault %s, policy %s, config %s (%s)", fault, policy, c.name, c.cli),
					Label("real-cli", "fault:"+fault, "policy:"+policy.String(), "config:"+c.name),
					SpecTimeout(3*time.Minute),
					realCell{fault: fault, policy: policy, cfg: c},
				))
			}
		}
	}
	return entries
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

var _ = Describe("the concurrent restore with real storage CLIs against a faulty object server", Label("real-cli"), func() {
	It("runs Debian's aws, the system curl and python, whatever comes first on PATH", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		t := requireRealCLIs()
		cmd := exec.CommandContext(ctx, "bash", "-c", `for t in aws curl python; do p=$(command -v "$t"); echo "$t $p $(readlink -f "$p")"; done`)
		cmd.Env = t.env()
		got, err := cmd.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Split(strings.TrimSpace(string(got)), "\n")).To(Equal([]string{
			"aws " + filepath.Join(t.dir, "aws") + " " + debianAWS,
			"curl " + filepath.Join(t.dir, "curl") + " " + systemCurl,
			"python " + filepath.Join(t.dir, "python") + " " + mustEval(debianPython),
		}))
		Expect(t.versions["aws"]).To(MatchRegexp(`^aws-cli/2\.\S+ Python/3\.\S+ .*source/\S+\.debian`), "Debian's build of aws-cli v2")
		Expect(t.versions["python"]).To(HavePrefix("Python 3."))
		Expect(t.versions["curl"]).To(HavePrefix("curl "))
		first, _ := exec.LookPath("aws")
		AddReportEntry("real CLIs", fmt.Sprintf("aws: %s (%s); curl: %s; python: %s (%s); first aws on the inherited PATH: %s (not used)",
			t.versions["aws"], debianAWS, t.versions["curl"], t.versions["python"], debianPython, first))
	})

	DescribeTable("real-cli matrix (network fault, policy, config)", func(ctx SpecContext, c realCell) {
		t := requireRealCLIs()
		backup := realFixture(ctx, t, c.cfg)
		spec := realPlan(c.fault, c.cfg, backup)
		AddReportEntry("plan", spec)
		AddReportEntry("cli", t.versions[c.cfg.cli])

		// The server first, then the baseline: its process and our end of
		// its stdin pipe are in the baseline, not leaks.
		srv, err := startObjServer(ctx, t, GinkgoT().TempDir(), spec)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			err := srv.stop()
			log, _ := os.ReadFile(srv.log)
			Expect(err).NotTo(HaveOccurred(), "objserver's stderr:\n%s", log)
		})
		s := newSpecRun(ctx, fmt.Sprintf("real-%s-%s-%s", c.fault, c.policy, c.cfg.name))

		cfg, err := adapter.LoadConfig(sharedConfig(c.cfg.file))
		Expect(err).NotTo(HaveOccurred())
		a := &adapter.Adapter{
			Config:      cfg,
			Policy:      c.policy,
			Env:         t.env(append(c.cfg.configEnv(srv.endpoint), s.run.Env())...),
			ReadTimeout: realReadTimeout,
			Stderr:      s.stderr,
			OnSpawn:     func(sp adapter.Spawn) { harness.Remember(sp.Pid, sp.Args, "spawn") },
		}
		target := c.cfg.handle(backup.Manifests[faultyManifest].Chunks[realFaultyChunk])
		outcome := realOutcomes[c.cfg.cli][c.fault]
		runCtx, cancelRun := context.WithCancel(ctx)
		defer cancelRun()
		interrupted := func() string { return "" }
		if outcome.cause == "interrupted" {
			interrupted = realInterrupt(runCtx, cancelRun, srv.journal, target)
		}
		res, err := restore.Run(runCtx, restore.Options{
			Adapter:          a,
			Concurrency:      realConcurrency,
			MetadataCacheDir: filepath.Join(s.dir, "metadata-cache"),
		})
		immediate := s.diffNow()
		if why := interrupted(); why != "" {
			AddReportEntry("interrupted", why)
		}

		By("checking the restore's outcome")
		if c.fault == "none" {
			Expect(err).NotTo(HaveOccurred(), "storage stderr:\n%s", s.stderrTail(20))
			Expect(res.LedgerInfos).To(Equal(backup.Epochs()))
			Expect(res.Waypoints).To(Equal(backup.Epochs()), "every waypoint verified")
			Expect(res.Manifests).To(Equal(len(backup.Manifests)))
		} else {
			Expect(err).To(HaveOccurred())
			if outcome.cause != "interrupted" {
				m := backup.Manifests[faultyManifest]
				Expect(err.Error()).To(And(
					ContainSubstring("manifest "+m.Handle),
					ContainSubstring("chunk "+m.Chunks[realFaultyChunk]),
				), "the error names the manifest and the file handle")
			}
			Expect(err).To(causedByReal(outcome.cause), "%s\nstorage stderr:\n%s", outcome.reason, s.stderrTail(20))
			AddReportEntry("error", err.Error())
			AddReportEntry("real CLI", outcome.reason)
			AddReportEntry("vs fakecli", outcome.fakecli)
		}

		By("settling and counting what is left")
		want := realExpectationFor(c)
		leaks := s.settle(ctx, want.quiet)
		reqs := srv.requests()
		AddReportEntry(reports.EntryName, realCounts(leaks, reqs))
		AddReportEntry("at-return", realCounts(immediate, reqs))
		AddReportEntry("expectation", want.reason)
		AddReportEntry("requests", requestSummary(reqs, target))

		By("checking the journal: every request, every retry")
		heads, gets := countRequests(reqs, target)
		if c.fault == "none" {
			for _, r := range reqs {
				Expect(r.Exit).To(BeNumerically("<", 300), "a healthy run gets only 2xx: %s", r)
				Expect(r.Persona).To(Equal(c.cfg.cli), "every request comes from %s: %s", c.cfg.cli, r)
			}
			// One listing, then one download per metadata file, manifest and
			// chunk: a GET each, and for aws a HeadObject before each GET.
			gets := 1 + len(backup.Metadata) + len(backup.Manifests)
			for _, m := range backup.Manifests {
				gets += len(m.Chunks)
			}
			wantHeads := 0
			if c.cfg.cli == "aws" {
				wantHeads = gets - 1
			}
			var methods []string
			for _, r := range reqs {
				methods = append(methods, r.Argv[0])
			}
			Expect(methods).To(And(
				HaveLen(gets+wantHeads),
				WithTransform(func(ms []string) int { return countOf(ms, "GET") }, Equal(gets)),
				WithTransform(func(ms []string) int { return countOf(ms, "HEAD") }, Equal(wantHeads)),
			), "every request of a healthy restore is in the journal, once")
		} else {
			Expect([]int{heads, gets}).To(Equal([]int{outcome.heads, outcome.gets}),
				"HEAD and GET requests for the faulty chunk (%s): %s\n%s", target, outcome.reason, requestSummary(reqs, target))
			for _, r := range reqs {
				if r.Handle == target {
					Expect(r.Persona).To(Equal(c.cfg.cli), "the journal names the client process: %s", r)
					Expect(r.Run).To(HavePrefix(s.run.ID), "the client carries the spec's run marker: %s", r)
				}
			}
		}

		want.check(leftBehind{immediate: immediate, leaks: leaks, stalled: stalledRequest(reqs, target), cli: c.cfg.cli})
	}, realEntries())
})

// realInterrupt cancels the restore (cancel) as soon as the journal at
// path shows the stalled request for handle: the shipped tool has no read
// timeout, aws's own (60 s, and s3transfer retries the GET 5 times) and
// curl's (none) are far beyond a spec, so a stalled restore ends the way an
// operator's Ctrl-C or a supervisor's deadline ends it. Cancelling aborts
// the restore like an error: the in-flight readers are dropped under the
// policy. The returned func stops the watch and says what it did ("" if it
// did not interrupt).
func realInterrupt(ctx context.Context, cancel context.CancelFunc, path, handle string) func() string {
	done := make(chan string, 1)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- ""
				return
			case <-tick.C:
			}
			invs, err := journal.Read(path)
			if err != nil {
				continue // a line being written; the next poll reads it whole
			}
			if r := stalledRequest(invs, handle); r != nil {
				cancel()
				done <- fmt.Sprintf("interrupted once the journal showed the stalled request: %s", r)
				return
			}
		}
	}()
	return func() string {
		cancel()
		return <-done
	}
}

// mustEval resolves every symlink of p (python3 → python3.11).
func mustEval(p string) string {
	r, err := filepath.EvalSymlinks(p)
	Expect(err).NotTo(HaveOccurred())
	return r
}

// realCounts is the "leaks" entry of a real-cli cell; Spawned counts the
// CLI processes that made requests (distinct client pids in the journal).
func realCounts(l harness.Leaks, reqs []journal.Invocation) reports.Leaks {
	n := counts(l, nil)
	pids := map[int]bool{}
	for _, r := range reqs {
		if r.PID != 0 {
			pids[r.PID] = true
		}
	}
	n.Spawned = len(pids)
	return n
}

// countOf counts the elements of ss equal to s.
func countOf(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

// countRequests counts the HEAD and GET requests for handle.
func countRequests(reqs []journal.Invocation, handle string) (heads, gets int) {
	for _, r := range reqs {
		if r.Handle != handle || len(r.Argv) == 0 {
			continue
		}
		switch r.Argv[0] {
		case "HEAD":
			heads++
		case "GET":
			gets++
		}
	}
	return heads, gets
}

// stalledRequest is the journal's record of the request the stall hit.
func stalledRequest(reqs []journal.Invocation, handle string) *journal.Invocation {
	for i, r := range reqs {
		if r.Handle == handle && strings.HasPrefix(r.Fault, "stall") {
			return &reqs[i]
		}
	}
	return nil
}

// requestSummary describes the journal in one paragraph: the count by
// method and status, then every request for the faulty handle.
func requestSummary(reqs []journal.Invocation, handle string) string {
	by := map[string]int{}
	for _, r := range reqs {
		method := "?"
		if len(r.Argv) > 0 {
			method = r.Argv[0]
		}
		status := "no status"
		if r.Ended && r.Exit != 0 {
			status = fmt.Sprint(r.Exit)
		} else if !r.Ended {
			status = "unfinished"
		}
		by[method+" "+status]++
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests:", len(reqs))
	for _, k := range keys {
		fmt.Fprintf(&b, " %s ×%d;", k, by[k])
	}
	for _, r := range reqs {
		if r.Handle == handle {
			fmt.Fprintf(&b, "\n  %s", r)
		}
	}
	return b.String()
}
