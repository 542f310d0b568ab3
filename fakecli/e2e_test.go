package fakecli_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/journal"
)

// binDir holds the fakecli binary built for this test binary, with a
// symlink per persona (aws, azcopy, fakecli, gcloud, gsutil, s5cmd); it goes
// first on PATH (this machine has a Python aws shim further down).
var binDir string

func TestMain(m *testing.M) { os.Exit(harness.RunReaped(func() int { return runTests(m) })) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fakecli-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "fakecli.bin"), "github.com/leakgate/leakgate/cmd/fakecli")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build fakecli:", err)
		return 1
	}
	for _, name := range fakecli.Personas() {
		if err := os.Symlink("fakecli.bin", filepath.Join(dir, name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	binDir = dir
	return m.Run()
}

// Paths of the configs, relative to this package's folder: the shipped
// ones from ../shared next to the project, or the project's byte-for-byte
// copies when that folder is absent (a clone outside the workspace).
var (
	aptosConfigs = shippedConfigDir(filepath.Join("..", "..", "shared", "fixtures", "aptos-configs"), filepath.Join("..", "testdata", "aptos-configs"))
	localConfig  = filepath.Join("..", "testdata", "configs", "local.yaml")
)

// shippedConfigDir is shared if it exists, else copies.
func shippedConfigDir(shared, copies string) string {
	if _, err := os.Stat(shared); err == nil {
		return shared
	}
	return copies
}

// adapterConfig is the part of a CommandAdapter config the tests use.
type adapterConfig struct {
	EnvVars []struct {
		Key   string `yaml:"key"`
		Value string `yaml:"value"`
	} `yaml:"env_vars"`
	Commands map[string]string `yaml:"commands"`
}

func loadConfig(t *testing.T, path string) adapterConfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c adapterConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, op := range []string{"create_backup", "create_for_write", "open_for_read", "save_metadata_line", "list_metadata_files", "backup_metadata_file"} {
		if c.Commands[op] == "" {
			t.Fatalf("%s: no %s command", path, op)
		}
	}
	return c
}

// world is one test's bucket, journal and environment.
type world struct {
	t       *testing.T
	root    string   // bucket root
	journal string   // journal path
	env     []string // environment of every process started
}

func newWorld(t *testing.T, extraEnv ...string) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, root: filepath.Join(dir, "bucket"), journal: filepath.Join(dir, "journal.jsonl")}
	if err := os.Mkdir(w.root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case fakecli.EnvBucket, fakecli.EnvFaults, fakecli.EnvFaultPlan, fakecli.EnvJournal, fakecli.EnvStallCap, "PATH":
			continue
		}
		w.env = append(w.env, kv)
	}
	w.env = append(w.env, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		fakecli.EnvBucket+"="+w.root, fakecli.EnvJournal+"="+w.journal)
	w.env = append(w.env, extraEnv...)
	return w
}

// result is what a finished process did.
type result struct {
	stdout, stderr string
	code           int // exit status; 128+signal if killed by one
}

// proc is a started process, in its own process group; cleanup kills the
// group and waits, whatever happened.
type proc struct {
	cmd      *exec.Cmd
	stdout   io.ReadCloser
	stderr   bytes.Buffer
	waitOnce sync.Once
	waitErr  error
	waited   atomic.Bool
}

// start starts argv with the world's environment plus env, stdin as given.
func (w *world) start(argv []string, env []string, stdin []byte) *proc {
	w.t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string{}, w.env...), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdin = bytes.NewReader(stdin)
	p := &proc{cmd: cmd}
	cmd.Stderr = &p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	p.stdout = out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if !p.waited.Load() {
			// Still running (a failed test): kill the whole group. Once
			// waited, its pid may be reused, so never signal it then.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		p.wait()
	})
	return p
}

func (p *proc) wait() error {
	p.waitOnce.Do(func() {
		p.waitErr = p.cmd.Wait()
		p.waited.Store(true)
	})
	return p.waitErr
}

// finish reads all of stdout, waits (killing the group after a minute) and
// returns the result.
func (p *proc) finish(t *testing.T) result {
	t.Helper()
	timer := time.AfterFunc(time.Minute, func() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) })
	defer timer.Stop()
	out, _ := io.ReadAll(p.stdout)
	_ = p.wait()
	return result{stdout: string(out), stderr: p.stderr.String(), code: status(p.cmd.ProcessState)}
}

// status is the exit status as a shell reports it.
func status(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// command runs a config command as the restore does: bash -c "set -o
// nounset -o errexit -o pipefail; CMD" with the config's env_vars, then the
// parameters, then env.
func (w *world) command(c adapterConfig, op string, params map[string]string, stdin []byte, env ...string) result {
	w.t.Helper()
	var vars []string
	for _, kv := range c.EnvVars {
		vars = append(vars, kv.Key+"="+kv.Value)
	}
	for k, v := range params {
		vars = append(vars, k+"="+v)
	}
	vars = append(vars, env...)
	return w.start([]string{"bash", "-c", "set -o nounset -o errexit -o pipefail; " + c.Commands[op]}, vars, stdin).finish(w.t)
}

// run runs persona directly: binDir/persona args….
func (w *world) run(stdin []byte, env []string, persona string, args ...string) result {
	w.t.Helper()
	return w.start(append([]string{filepath.Join(binDir, persona)}, args...), env, stdin).finish(w.t)
}

// events returns the event of each journal line, in order, after checking
// that every line is a JSON object of its own.
func (w *world) events() []string {
	w.t.Helper()
	b, err := os.ReadFile(w.journal)
	if err != nil {
		w.t.Fatal(err)
	}
	var evs []string
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var e struct{ Event string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			w.t.Fatalf("journal line %d: %v: %q", i+1, err, line)
		}
		evs = append(evs, e.Event)
	}
	return evs
}

// invocations reads the journal.
func (w *world) invocations() []journal.Invocation {
	w.t.Helper()
	invs, err := journal.Read(w.journal)
	if err != nil {
		w.t.Fatal(err)
	}
	return invs
}

// last returns the journal's last invocation.
func (w *world) last() journal.Invocation {
	w.t.Helper()
	invs := w.invocations()
	if len(invs) == 0 {
		w.t.Fatal("journal is empty")
	}
	return invs[len(invs)-1]
}

// put stores an object in the bucket.
func (w *world) put(key string, data []byte) {
	w.t.Helper()
	p := filepath.Join(w.root, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// get reads an object; nil if missing.
func (w *world) get(key string) []byte {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.root, key))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// records builds a record stream: n records of size bytes each (4-byte
// big-endian length + payload), payloads from seed.
func records(n, size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	var b bytes.Buffer
	for range n {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		binary.Write(&b, binary.BigEndian, uint32(size))
		b.Write(p)
	}
	return b.Bytes()
}

// splitRecords parses a record stream; rest is what follows the last whole
// record.
func splitRecords(b []byte) (recs [][]byte, rest []byte) {
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if len(b)-4 < n {
			break
		}
		recs = append(recs, b[4:4+n])
		b = b[4+n:]
	}
	return recs, b
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// checkResult fails unless r has the wanted exit status.
func checkCode(t *testing.T, what string, r result, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout: %q\nstderr: %s", what, r.code, want, r.stdout, r.stderr)
	}
}
