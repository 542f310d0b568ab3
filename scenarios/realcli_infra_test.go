package scenarios_test

import (
	"context"
	"encoding/json"
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
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/journal"
	"github.com/leakgate/leakgate/objserver"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
)

// The real-cli specs' infrastructure: the real CLIs found on the machine
// and their environment, the configs they run, objserver as a child
// process, the backup they restore, and reading objserver's journal.

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

// realConfig is one shipped config run with a real CLI.
type realConfig struct {
	name   string // label value: "helm-r2"
	file   string // the shipped YAML, unchanged
	cli    string // "aws" or "curl"
	bucket string // bucket folder under w.Bucket
	// readTimeout is how long the CLI waits for a response that does not
	// come before it gives up on its own: botocore's read_timeout (60 s)
	// for aws; none (0) for curl without -m.
	readTimeout time.Duration
	// backdrop paces every manifest after the faulty one (see backdropFor).
	backdrop string
}

// backdropFor is the pace of the manifests after the faulty one in a cell
// with fault: slow enough that they are still mid-download when the error
// surfaces, and no slower, since a dropped reader's CLI finishes its
// download before it meets the broken pipe, and the cell waits for that.
// curl: 64 KiB/s (an 80 KiB chunk takes 1.25 s): curl starts in
// milliseconds and every fault surfaces 0.1–0.7 s into the restore. aws:
// 32 KiB/s (2.5 s): its errors surface after Python's start-up, and a
// dropped aws holds the whole object before it writes; but 16 KiB/s (5 s)
// for truncate, which aws retries five times, and 10 KiB/s (8 s) for
// status, which botocore retries three times with its standard backoff
// (random waits of up to 2 s, then up to 4 s): at 32 KiB/s the later
// downloads could end, and be joined, before the error came, and an
// abandon cell would have nothing to leak.
func (c realConfig) backdropFor(fault string) string {
	if c.cli == "aws" {
		switch fault {
		case "status":
			return "10KiB"
		case "truncate":
			return "16KiB"
		}
	}
	return c.backdrop
}

var realConfigs = []realConfig{
	{name: "helm-r2", file: "helm-r2.yaml", cli: "aws", bucket: "realcli-r2", readTimeout: 60 * time.Second, backdrop: "32KiB"},
	{name: "helm-oci", file: "helm-oci.yaml", cli: "curl", bucket: "realcli-oci", backdrop: "64KiB"},
}

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
		missing := notExecutable(debianAWS, systemCurl, debianPython)
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

// realPart is the real-cli family's optional part: the real aws and curl.
var realPart = &optionalPart{what: "the real CLIs", env: envRealCLI, family: "real-cli"}

// requireRealCLIs skips the spec (with the reason) if the real CLIs are
// missing, or fails it if LEAKGATE_REAL_CLI=require. In the default
// (non-verbose) output a skip is just an "S": the first skip of each test
// process also shows the reason, so a run without the CLIs says why.
func requireRealCLIs() *realCLIs {
	t := realTools()
	if t.broken != "" {
		Fail("setting up the real CLIs: " + t.broken)
	}
	realPart.require(t.missing)
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
		harness.NewMarker("objserver").Env(),
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
	var log []byte
	listening := poll.Until(ctx, 30*time.Second, func() bool {
		b, err := os.ReadFile(addr)
		if err == nil {
			o.endpoint = strings.TrimSpace(string(b))
			return true
		}
		// Before it listens objserver writes to stderr only to say why it
		// gives up.
		log, _ = os.ReadFile(o.log)
		return len(log) > 0
	})
	if !listening || o.endpoint == "" {
		o.stop()
		return nil, fmt.Errorf("objserver did not start listening: %s", log)
	}
	return o, nil
}

// hurry ends the server's pacing (objserver's SIGUSR1, Server.Hurry): the
// paced downloads send their rest at once.
func (o *objServer) hurry() {
	Expect(o.cmd.Process.Signal(syscall.SIGUSR1)).To(Succeed(), "hurry objserver")
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

// facts is what the server's journal says of the clients it is stalling
// on purpose right now: each such client process is held still until the
// stall ends or, if sooner, until its own readTimeout (0: none) gives up
// on the response (for the settling of harness.OnEvidence). An unreadable
// journal gives none.
func (o *objServer) facts(readTimeout time.Duration) []harness.Fact {
	reqs, err := journal.Read(o.journal)
	if err != nil {
		return nil
	}
	now := time.Now()
	var facts []harness.Fact
	for _, r := range reqs {
		if r.PID == 0 || !r.StallingAt(now) {
			continue
		}
		until := r.StallUntil
		if readTimeout > 0 && r.StallFrom.Add(readTimeout).Before(until) {
			until = r.StallFrom.Add(readTimeout)
		}
		facts = append(facts, harness.Fact{Pid: r.PID, Started: r.Start, Fault: r.Fault, Source: "objserver journal", HeldUntil: until})
	}
	return facts
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
// `curl -X PUT --data-binary @-` store it), then restored once, cleanly,
// into the metadata cache template the faulty cells copy (realWarmCache);
// the first test process does both under a lock and leaves the backup's
// description for the others.
func realFixture(ctx context.Context, t *realCLIs, c realConfig) *fixture.Backup {
	realFixtureMu.Lock()
	defer realFixtureMu.Unlock()
	if b := realFixtures[c.name]; b != nil {
		return b
	}
	lock, err := os.OpenFile(filepath.Join(w.Root, "realcli-"+c.name+".lock"), os.O_CREATE|os.O_RDWR, 0o644) // one per config: a curl cell never waits for the aws fixture
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
	if err == nil {
		_, err = restore.Run(ctx, restore.Options{Adapter: a, Concurrency: realConcurrency, MetadataCacheDir: realCacheTemplate(c)})
	}
	if err != nil {
		log, _ := os.ReadFile(stderr.Name())
		Fail(fmt.Sprintf("write the %s fixture with %s, and restore it once into the metadata cache: %v\nstderr:\n%s", c.name, c.cli, err, log))
	}
	data, err := json.Marshal(b)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(desc, data, 0o644)).To(Succeed())
	realFixtures[c.name] = b
	return b
}

// realCacheTemplate is the metadata cache a clean restore of c's fixture
// left, written with the fixture (realFixture).
func realCacheTemplate(c realConfig) string {
	return filepath.Join(w.Root, "realcli-"+c.name+"-metadata-cache")
}

// realWarmCache copies c's cache template into dir (which must not
// exist), so that a cell's restore finds every metadata file cached and
// downloads none: the port's cache downloads only the files it does not
// hold (restore's doc, "Metadata cache"), as a restore re-run with the same
// --metadata-cache-dir does. A faulty cell's fault is on a chunk, after the
// metadata sync: the sync's 3 aws processes (3 s of Python on a loaded
// machine) would change nothing it shows. The healthy cells keep a cold
// cache: they check every request of a whole restore.
func realWarmCache(c realConfig, dir string) error {
	return os.CopyFS(dir, os.DirFS(realCacheTemplate(c)))
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
