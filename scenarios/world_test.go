package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onsi/gomega/gexec"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/fakecli/fakeenv"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
)

// The fixture every config stores: more manifests than the restore's
// concurrency, chunks bigger than a pipe's 64 KiB buffer, records that do
// not compress (so the gzip'ed objects stay that big too).
var fixtureSpec = fixture.Spec{Manifests: 12, ChunksPerManifest: 2, RecordsPerChunk: 8, RecordSize: 16 << 10}

// binaries are the commands under cmd/ the suite builds once.
var binaries = []string{"fakecli", "restore", "leakgate"}

// configFiles are the CommandAdapter configs of the matrix: "local" is the
// project's own (open_for_read execs fakecli directly, one process per
// read); "s3" is the shipped s3.sample.yaml, unchanged (open_for_read is the
// pipeline `aws s3 cp … - | gzip -cd`).
var configFiles = map[string]string{
	"local": "../testdata/configs/local.yaml",
	"s3":    sharedConfig("s3.sample.yaml"),
}

// world is what SynchronizedBeforeSuite builds once and every parallel
// process reads: fakecli on a PATH directory under its persona names, and a
// bucket holding one synthetic backup per config, written through that
// config's own write commands.
type world struct {
	Bins       map[string]string          // binaries built from cmd/: "fakecli", "restore", "leakgate" → path
	Root       string                     // temp dir holding the bucket and personas; removed after the suite
	PersonaDir string                     // put first on PATH: aws, gsutil, fakecli → the fakecli binary
	Bucket     string                     // LEAKGATE_BUCKET
	Configs    map[string]string          // config name → absolute YAML path
	Backups    map[string]*fixture.Backup // config name → what the fixture wrote

	configs map[string]*adapter.Config // loaded by load
}

// buildWorld builds fakecli, lays out its personas and writes the fixtures.
func buildWorld(ctx context.Context) (*world, error) {
	bins := map[string]string{}
	for _, name := range binaries {
		bin, err := gexec.Build("github.com/leakgate/leakgate/cmd/" + name)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", name, err)
		}
		bins[name] = bin
	}
	root, err := os.MkdirTemp("", "leakgate-scenarios-")
	if err != nil {
		return nil, err
	}
	b := &world{
		Bins:       bins,
		Root:       root,
		PersonaDir: filepath.Join(root, "personas"),
		Bucket:     filepath.Join(root, "bucket"),
		Configs:    map[string]string{},
		Backups:    map[string]*fixture.Backup{},
	}
	for _, dir := range []string{b.PersonaDir, b.Bucket} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := fakeenv.LinkPersonas(bins["fakecli"], b.PersonaDir); err != nil {
		return nil, err
	}
	for name, path := range configFiles {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		b.Configs[name] = abs
	}
	if err := b.load(); err != nil {
		return nil, err
	}
	setupLog, err := os.Create(filepath.Join(root, "setup-stderr.log"))
	if err != nil {
		return nil, err
	}
	defer setupLog.Close()
	for _, name := range b.configNames() {
		a := &adapter.Adapter{Config: b.configs[name], Policy: adapter.KillGroup, Env: b.env(), Stderr: setupLog}
		backup, err := fixture.Write(ctx, a, fixtureSpec)
		if err != nil {
			log, _ := os.ReadFile(setupLog.Name())
			return nil, fmt.Errorf("write the %s fixture: %w\nstderr of the storage commands:\n%s", name, err, log)
		}
		b.Backups[name] = backup
	}
	return b, nil
}

// load parses the configs (the adapter config is not serialisable).
func (b *world) load() error {
	b.configs = map[string]*adapter.Config{}
	for name, path := range b.Configs {
		cfg, err := adapter.LoadConfig(path)
		if err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		b.configs[name] = cfg
	}
	return nil
}

func (b *world) configNames() []string {
	names := make([]string, 0, len(b.Configs))
	for name := range b.Configs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// env is the environment the storage commands run in: this process's,
// without any LEAKGATE_ variable of its own, with the personas first on PATH
// and the bucket set, then extra.
func (b *world) env(extra ...string) []string {
	var env []string
	path := os.Getenv("PATH")
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LEAKGATE_") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PATH="+b.PersonaDir+string(os.PathListSeparator)+path,
		fakecli.EnvBucket+"="+b.Bucket,
	)
	return append(env, extra...)
}

// sharedConfig locates a shipped config: ../shared/fixtures/aptos-configs
// next to the project (the real files, read unchanged), or the project's
// byte-for-byte copy in testdata/aptos-configs when that folder is absent
// (a clone outside the workspace). TestConfigCopiesMatchShared keeps the
// copies honest.
func sharedConfig(name string) string {
	shared := filepath.Join("..", "..", "shared", "fixtures", "aptos-configs", name)
	if _, err := os.Stat(shared); err == nil {
		return shared
	}
	return filepath.Join("..", "testdata", "aptos-configs", name)
}

// specRun is what one spec needs to run a restore and measure it.
type specRun struct {
	run     harness.Marker
	dir     string   // the spec's temp dir
	journal string   // LEAKGATE_JOURNAL
	stderr  *os.File // the storage commands' stderr
	before  harness.Snapshot
	// sampler records the spec's timeline from the baseline until settling
	// (see timeline_test.go); stopped says it was stopped and reported.
	sampler *harness.Sampler
	stopped bool
	// serverFacts, if set, is what a server's journal says of the spec's
	// processes (objserver's, in the real-cli specs), beside what the
	// fakecli journal says (see facts).
	serverFacts func() []harness.Fact
}

// adapter builds an adapter for config under policy whose children carry
// the spec's run marker, write the spec's journal and obey faultSpec.
func (s *specRun) adapter(config string, policy adapter.Policy, faultSpec string, opts ...func(*adapter.Adapter)) *adapter.Adapter {
	a := &adapter.Adapter{
		Config: w.configs[config],
		Policy: policy,
		Env: w.env(
			s.run.Env(),
			fakecli.EnvJournal+"="+s.journal,
			fakecli.EnvFaults+"="+faultSpec,
			fakecli.EnvHurry+"="+s.hurryFile(),
		),
		Stderr: s.stderr,
		OnSpawn: func(sp adapter.Spawn) {
			harness.Remember(sp.Pid, sp.Args, "spawn")
		},
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// stderrTail is the last lines the storage commands wrote to stderr.
func (s *specRun) stderrTail(n int) string {
	data, err := os.ReadFile(s.stderr.Name())
	if err != nil {
		return fmt.Sprintf("(stderr log unreadable: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
