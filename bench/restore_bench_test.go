package bench_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/reports"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/fixture"
)

// TestMain runs the benchmarks under harness.RunReaped: every process they
// start carries the benchmark's run marker, and anything left at exit is
// killed and reaped.
func TestMain(m *testing.M) { os.Exit(harness.RunReaped(m.Run)) }

// benchJSONEnv names the file `make bench` collects figures in (an absolute
// path, normally reports/out/bench.json); unset, benchmarks only print.
const benchJSONEnv = "LEAKGATE_BENCH_JSON"

// fakecliEnv, if set, names a fakecli binary to use instead of building
// cmd/fakecli: to compare two builds of it in the same conditions.
const fakecliEnv = "LEAKGATE_BENCH_FAKECLI"

const (
	// localConfig is the project's own config: open_for_read is
	// `exec fakecli open_for_read`, objects stored uncompressed.
	localConfig = "../testdata/configs/local.yaml"
	// catOpenForRead replaces local.yaml's open_for_read in the cat config:
	// the same objects, read by cat from the bucket folder.
	catOpenForRead = `'cat "$FOLDER/$FILE_HANDLE"'`
	// floorOpenForRead replaces it in the Go-floor config: the same
	// objects, read by testdata/gocopy, a Go program that only copies.
	floorOpenForRead = `'gocopy "$FOLDER/$FILE_HANDLE"'`
	// concurrency is --concurrent-downloads for every restore here: the
	// scenario matrix's 8 (more than this machine's 2 cores, so the
	// children's start-up overlaps the restore's own work).
	concurrency = 8
	// rounds is how many (fakecli, cat, Go floor) restore triples one
	// iteration of the throughput benchmark runs, rotating which goes first.
	rounds = 7
	// rssRuns is how many times bin/restore runs for its peak RSS.
	rssRuns = 3
)

// benchSpec is the fixture: 32 manifests × 4 chunks × 16 records of 64 KiB,
// 128 MiB of records in 1 MiB chunk objects, 224 objects in all. A restore
// of it takes about a second on this 2-core machine.
var benchSpec = fixture.Spec{Manifests: 32, ChunksPerManifest: 4, RecordsPerChunk: 16, RecordSize: 64 << 10}

// BenchmarkRestore restores one fixture with the local config (fakecli),
// with the cat config and with the Go-floor config, and measures
// bin/restore's peak RSS on it.
//
//   - throughput: per iteration, rounds × (a restore with fakecli, one with
//     cat, one with gocopy), in rotating order, each timed around
//     restore.Run (verify only, KillGroup, a fresh metadata cache). It
//     reports the medians fakecli_MB/s, cat_MB/s and floor_MB/s (10^6 bytes
//     of records per second), x_cat (the median over rounds of fakecli's
//     throughput / cat's, same round), x_cat_min and x_cat_max (its
//     spread), floor_x_cat (gocopy's throughput / cat's: the most any
//     storage CLI written in Go reaches here, whatever it does before its
//     first byte) and x_floor (fakecli's / gocopy's: what fakecli's own
//     work costs beyond the Go runtime's start). On a loaded machine
//     wall-clock time varies a lot from run to run, so it also reports the
//     CPU time each restore cost, this process's (the restore itself) plus
//     its children's (bash and the storage CLI), user and system:
//     fakecli_cpu_s and cat_cpu_s (medians, seconds) and x_cat_cpu (the
//     median of cat's CPU time / fakecli's, same round), which barely moves
//     with the machine's load.
//   - peak-rss: bin/restore bootstrap-db restoring the fixture into a fresh
//     target DB, rssRuns times; rss_bytes is the median ru_maxrss (the
//     largest RSS bin/restore reached; the kernel reports the larger of
//     that and its largest waited-for child's, here always bin/restore's
//     own), rss_min_bytes and rss_max_bytes its spread.
//
// With LEAKGATE_BENCH_JSON set, the medians are merged into that file.
func BenchmarkRestore(b *testing.B) {
	e := setup(b)
	figures := map[string]any{}
	b.Run("throughput", func(b *testing.B) {
		var fake, cat, floor, ratio, floorRatio, overFloor, cpuRatio, fakeCPU, catCPU []float64
		for b.Loop() {
			for i := range rounds {
				costs := e.round(b, i, e.local, e.cat, e.floor)
				f, c, g := costs[0], costs[1], costs[2]
				fake = append(fake, e.mbPerSec(f.wall))
				cat = append(cat, e.mbPerSec(c.wall))
				floor = append(floor, e.mbPerSec(g.wall))
				ratio = append(ratio, c.wall.Seconds()/f.wall.Seconds())
				floorRatio = append(floorRatio, c.wall.Seconds()/g.wall.Seconds())
				overFloor = append(overFloor, g.wall.Seconds()/f.wall.Seconds())
				fakeCPU = append(fakeCPU, f.cpu().Seconds())
				catCPU = append(catCPU, c.cpu().Seconds())
				cpuRatio = append(cpuRatio, c.cpu().Seconds()/f.cpu().Seconds())
			}
		}
		b.ReportMetric(median(fake), "fakecli_MB/s")
		b.ReportMetric(median(cat), "cat_MB/s")
		b.ReportMetric(median(floor), "floor_MB/s")
		b.ReportMetric(median(ratio), "x_cat")
		b.ReportMetric(slices.Min(ratio), "x_cat_min")
		b.ReportMetric(slices.Max(ratio), "x_cat_max")
		b.ReportMetric(median(floorRatio), "floor_x_cat")
		b.ReportMetric(median(overFloor), "x_floor")
		b.ReportMetric(median(fakeCPU), "fakecli_cpu_s")
		b.ReportMetric(median(catCPU), "cat_cpu_s")
		b.ReportMetric(median(cpuRatio), "x_cat_cpu")
		b.Logf("%d rounds; MB/s fakecli %s, cat %s, gocopy %s; fakecli/cat %s; gocopy/cat %s; CPU s fakecli %s, cat %s",
			len(ratio), list(fake), list(cat), list(floor), list(ratio), list(floorRatio), list(fakeCPU), list(catCPU))
		figures["restore_mb_per_s"] = round(median(fake), 1)
		figures["restore_cat_mb_per_s"] = round(median(cat), 1)
		figures["restore_throughput_ratio_vs_cat"] = round(median(ratio), 3)
		figures["restore_go_floor_ratio_vs_cat"] = round(median(floorRatio), 3)
		figures["restore_throughput_ratio_vs_go_floor"] = round(median(overFloor), 3)
		figures["restore_cpu_ratio_vs_cat"] = round(median(cpuRatio), 3)
	})
	b.Run("peak-rss", func(b *testing.B) {
		var rss []float64
		for b.Loop() {
			for range rssRuns {
				rss = append(rss, float64(e.peakRSS(b)))
			}
		}
		b.ReportMetric(median(rss), "rss_bytes")
		b.ReportMetric(slices.Min(rss), "rss_min_bytes")
		b.ReportMetric(slices.Max(rss), "rss_max_bytes")
		figures["restore_peak_rss_bytes"] = int64(median(rss))
	})
	if path := os.Getenv(benchJSONEnv); path != "" && len(figures) > 0 {
		if err := reports.MergeBench(path, figures); err != nil {
			b.Fatalf("merge bench figures: %v", err)
		}
	}
}

// round restores the fixture once with each of cfgs, starting with cfgs[i
// mod len(cfgs)] (so no config always goes first, after the same one), and
// returns their costs in cfgs' order.
func (e *benchEnv) round(b *testing.B, i int, cfgs ...*adapter.Config) []cost {
	costs := make([]cost, len(cfgs))
	for k := range cfgs {
		j := (i + k) % len(cfgs)
		costs[j] = e.restore(b, cfgs[j])
	}
	return costs
}

// benchEnv is the fixture and what restores it.
type benchEnv struct {
	dir         string
	bins        map[string]string // "fakecli", "restore" → built binary
	env         []string          // the storage commands' environment
	stderr      *os.File          // their stderr
	localPath   string            // local.yaml, absolute
	local, cat  *adapter.Config
	floor       *adapter.Config // open_for_read through gocopy
	epochs      int
	recordBytes int64 // ledger-info record bytes in the fixture, prefixes excluded
}

// setup builds fakecli, bin/restore and gocopy, lays fakecli and gocopy on
// a PATH directory, writes the fixture through the local config and derives
// the cat and Go-floor configs.
func setup(b *testing.B) *benchEnv {
	b.Helper()
	dir := b.TempDir()
	e := &benchEnv{dir: dir, bins: map[string]string{}}
	var err error
	if e.localPath, err = filepath.Abs(localConfig); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator),
		"github.com/leakgate/leakgate/cmd/fakecli", "github.com/leakgate/leakgate/cmd/restore")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build fakecli and restore: %v\n%s", err, out)
	}
	build = exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "./testdata/gocopy")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build testdata/gocopy: %v\n%s", err, out)
	}
	e.bins["fakecli"], e.bins["restore"] = filepath.Join(bin, "fakecli"), filepath.Join(bin, "restore")
	if other := os.Getenv(fakecliEnv); other != "" {
		abs, err := filepath.Abs(other)
		if err != nil {
			b.Fatal(err)
		}
		e.bins["fakecli"] = abs
		b.Logf("fakecli: %s (%s)", abs, fakecliEnv)
	}
	personas, bucket := filepath.Join(dir, "personas"), filepath.Join(dir, "bucket")
	for _, d := range []string{personas, bucket} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.Symlink(e.bins["fakecli"], filepath.Join(personas, "fakecli")); err != nil {
		b.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(bin, "gocopy"), filepath.Join(personas, "gocopy")); err != nil {
		b.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEAKGATE_") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "FOLDER=") {
			e.env = append(e.env, kv)
		}
	}
	run := harness.NewMarker("bench-restore")
	e.env = append(e.env,
		"PATH="+personas+string(os.PathListSeparator)+os.Getenv("PATH"),
		fakecli.EnvBucket+"="+bucket,
		"FOLDER="+bucket,
		run.Env(),
	)
	if e.stderr, err = os.Create(filepath.Join(dir, "stderr.log")); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.stderr.Close() })

	if e.local, err = adapter.LoadConfig(e.localPath); err != nil {
		b.Fatal(err)
	}
	if e.cat, err = readerConfig(e.localPath, dir, "cat", catOpenForRead); err != nil {
		b.Fatal(err)
	}
	if e.floor, err = readerConfig(e.localPath, dir, "floor", floorOpenForRead); err != nil {
		b.Fatal(err)
	}

	start := time.Now()
	a := &adapter.Adapter{Config: e.local, Policy: adapter.KillGroup, Env: e.env, Stderr: e.stderr}
	fx, err := fixture.Write(context.Background(), a, benchSpec)
	if err != nil {
		b.Fatalf("write the fixture: %v\n%s", err, e.stderrTail())
	}
	e.epochs = fx.Epochs()
	var stored int64
	for _, m := range fx.Manifests {
		for _, c := range m.Chunks {
			st, err := os.Stat(filepath.Join(bucket, c))
			if err != nil {
				b.Fatalf("chunk object %s: %v", c, err)
			}
			stored += st.Size()
		}
	}
	e.recordBytes = stored - 4*int64(e.epochs)
	b.Logf("fixture %+v: %d epochs, %.1f MB of records, written in %s",
		benchSpec, e.epochs, float64(e.recordBytes)/1e6, time.Since(start).Round(time.Millisecond))
	return e
}

// openForReadLine is local.yaml's open_for_read line.
var openForReadLine = regexp.MustCompile(`(?m)^(\s+open_for_read:).*$`)

// readerConfig writes into dir, as NAME.yaml, a copy of the config at path
// whose open_for_read is openForRead, every other byte unchanged, and loads
// it.
func readerConfig(path, dir, name, openForRead string) (*adapter.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if n := len(openForReadLine.FindAllIndex(data, -1)); n != 1 {
		return nil, fmt.Errorf("%s: %d open_for_read lines, want 1", path, n)
	}
	out := openForReadLine.ReplaceAllFunc(data, func(line []byte) []byte {
		key, _, _ := strings.Cut(string(line), ":")
		return []byte(key + ": " + openForRead)
	})
	p := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		return nil, err
	}
	return adapter.LoadConfig(p)
}

// cost is what one restore took: wall-clock time, and the CPU time of
// this process (the restore, in process) and of its children (bash and
// the storage CLI it runs), user and system.
type cost struct {
	wall, self, children time.Duration
}

func (c cost) cpu() time.Duration { return c.self + c.children }

// cpuTimes is the user+system CPU time of this process and of its waited-for
// children so far.
func cpuTimes(b *testing.B) (self, children time.Duration) {
	var s, c syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &s); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c); err != nil {
		b.Fatal(err)
	}
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(s.Utime) + tv(s.Stime), tv(c.Utime) + tv(c.Stime)
}

// restore runs one clean, verify-only restore of the fixture with cfg and
// returns what restore.Run cost.
func (e *benchEnv) restore(b *testing.B, cfg *adapter.Config) cost {
	b.Helper()
	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup, Env: e.env, Stderr: e.stderr}
	cache, err := os.MkdirTemp(e.dir, "metadata-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(cache)
	b.StopTimer()
	runtime.GC() // the previous restore's garbage is not this one's to collect
	b.StartTimer()
	self0, children0 := cpuTimes(b)
	start := time.Now()
	res, err := restore.Run(context.Background(), restore.Options{Adapter: a, Concurrency: concurrency, MetadataCacheDir: cache})
	c := cost{wall: time.Since(start)}
	self1, children1 := cpuTimes(b)
	c.self, c.children = self1-self0, children1-children0
	if err != nil {
		b.Fatalf("restore with %s: %v\n%s", cfg.Commands.OpenForRead, err, e.stderrTail())
	}
	if res.LedgerInfos != e.epochs || res.Waypoints != e.epochs {
		b.Fatalf("restore with %s: %d ledger infos, %d waypoints verified, want %d", cfg.Commands.OpenForRead, res.LedgerInfos, res.Waypoints, e.epochs)
	}
	return c
}

// peakRSS runs bin/restore bootstrap-db on the fixture into a fresh target
// DB and returns its ru_maxrss in bytes.
func (e *benchEnv) peakRSS(b *testing.B) int64 {
	b.Helper()
	work, err := os.MkdirTemp(e.dir, "rss-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(work)
	cmd := exec.Command(e.bins["restore"], "bootstrap-db",
		"--command-adapter-config", e.localPath,
		"--cleanup-policy", adapter.KillGroup.String(),
		"--concurrent-downloads", strconv.Itoa(concurrency),
		"--metadata-cache-dir", filepath.Join(work, "metadata"),
		"--target-db-dir", filepath.Join(work, "db"))
	cmd.Env = e.env
	cmd.Stderr = e.stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("bin/restore: %v\n%s\n%s", err, out, e.stderrTail())
	}
	if want := fmt.Sprintf("%d ledger infos", e.epochs); !strings.Contains(string(out), want) {
		b.Fatalf("bin/restore did not restore %s: %s", want, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatalf("no rusage for bin/restore")
	}
	return ru.Maxrss * 1024 // Linux: KiB
}

// mbPerSec is the fixture's record bytes per d, in 10^6 bytes per second.
func (e *benchEnv) mbPerSec(d time.Duration) float64 {
	return float64(e.recordBytes) / 1e6 / d.Seconds()
}

// stderrTail is the end of the storage commands' stderr, for failures.
func (e *benchEnv) stderrTail() string {
	data, err := os.ReadFile(e.stderr.Name())
	if err != nil {
		return fmt.Sprintf("(stderr log unreadable: %v)", err)
	}
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return string(data)
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func list(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}
