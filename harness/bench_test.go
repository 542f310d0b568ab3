package harness_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/reports"
)

// benchJSONEnv names the file `make bench` collects figures in (an absolute
// path, normally reports/out/bench.json); unset, benchmarks only print.
const benchJSONEnv = "LEAKGATE_BENCH_JSON"

// BenchmarkSnapshot measures Take against the number of live descendants
// (0, 100, 1000 sleeping children), next to the physical floor: listing
// /proc and reading every /proc/<pid>/stat once (open, one read, close),
// which any snapshot must do to find the descendants.
//
//   - floor: the floor alone.
//   - take: a snapshot once every process has been seen (what Sample and
//     Settle pay per poll).
//   - take-cold: a snapshot with the registry emptied first (the first
//     snapshot of a run reads every process's environ, and the
//     descendants' cmdline).
//   - ratio: floor and take interleaved, each timed, so that the machine's
//     load changes both alike; it reports floor_ns, take_ns and x_floor
//     (take_ns / floor_ns). With LEAKGATE_BENCH_JSON set (make bench),
//     x_floor is merged into that file as snapshot_ratio_to_floor_<n>.
func BenchmarkSnapshot(b *testing.B) {
	figures := map[string]any{}
	for _, n := range []int{0, 100, 1000} {
		b.Run("descendants="+strconv.Itoa(n), func(b *testing.B) {
			spawnSleepers(b, n)
			if s := takeB(b); len(s.Descendants) != n {
				b.Fatalf("%d descendants, want %d", len(s.Descendants), n)
			}
			b.Run("floor", func(b *testing.B) {
				for b.Loop() {
					if got := procfs.ReadEveryStat(); got < n {
						b.Fatalf("read %d stat files, want at least %d", got, n)
					}
				}
			})
			b.Run("take", func(b *testing.B) {
				for b.Loop() {
					takeB(b)
				}
			})
			b.Run("take-cold", func(b *testing.B) {
				for b.Loop() {
					harness.ForgetForTest()
					takeB(b)
				}
			})
			b.Run("ratio", func(b *testing.B) {
				var floor, take time.Duration
				for b.Loop() {
					t0 := time.Now()
					procfs.ReadEveryStat()
					t1 := time.Now()
					takeB(b)
					floor += t1.Sub(t0)
					take += time.Since(t1)
				}
				r := float64(take) / float64(floor)
				b.ReportMetric(float64(floor)/float64(b.N), "floor_ns")
				b.ReportMetric(float64(take)/float64(b.N), "take_ns")
				b.ReportMetric(r, "x_floor")
				figures["snapshot_ratio_to_floor_"+strconv.Itoa(n)] = math.Round(r*100) / 100
			})
			b.Run("tree-ratio", func(b *testing.B) {
				if !unrelatedRunning() {
					b.Skipf("fewer than %d processes on the machine (startUnrelated starts them under -bench)", unrelatedCount)
				}
				var own, take time.Duration
				for b.Loop() {
					t0 := time.Now()
					if got := readOwnTree(); got < n {
						b.Fatalf("read %d tree entries, want at least %d", got, n)
					}
					t1 := time.Now()
					takeB(b)
					own += t1.Sub(t0)
					take += time.Since(t1)
				}
				r := float64(take) / float64(own)
				b.ReportMetric(float64(own)/float64(b.N), "tree_ns")
				b.ReportMetric(float64(take)/float64(b.N), "take_ns")
				b.ReportMetric(r, "x_tree")
				figures["snapshot_ratio_to_tree_"+strconv.Itoa(n)] = math.Round(r*100) / 100
			})
		})
	}
	if path := os.Getenv(benchJSONEnv); path != "" && len(figures) > 0 {
		if err := reports.MergeBench(path, figures); err != nil {
			b.Fatalf("merge bench figures: %v", err)
		}
	}
}

// BenchmarkAttribute measures Leaks.Attribute for one leaked pipe with
// 1000 sleeping children on the machine (each holding three fds): it scans
// every process's fd table.
func BenchmarkAttribute(b *testing.B) {
	spawnSleepers(b, 1000)
	before := takeB(b)
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	leaks := harness.Diff(before, takeB(b))
	if len(leaks.FDs) != 2 {
		b.Fatalf("want the two pipe fds, got:\n%s", leaks)
	}
	for b.Loop() {
		if l := leaks.Attribute(); len(l.FDs[0].Peers) != 1 {
			b.Fatalf("want one peer, got:\n%s", l)
		}
	}
}

func perOp(b *testing.B) float64 { return float64(b.Elapsed()) / float64(b.N) }

func takeB(b *testing.B) harness.Snapshot {
	s, err := harness.Take()
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// spawnSleepers starts n `sleep 600` children tagged with a run, in one
// process group, waits until each has exec'd, and kills and reaps them
// when the benchmark ends.
func spawnSleepers(b *testing.B, n int) {
	b.Helper()
	if n == 0 {
		return
	}
	run := harness.NewMarker(b.Name())
	null, err := os.Open(os.DevNull)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	env := append(os.Environ(), run.Env())
	var pids []int
	b.Cleanup(func() {
		if len(pids) > 0 {
			_ = unix.Kill(-pids[0], unix.SIGKILL)
		}
		for _, pid := range pids {
			var ws unix.WaitStatus
			for {
				if _, err := unix.Wait4(pid, &ws, 0, nil); !errors.Is(err, unix.EINTR) {
					break
				}
			}
		}
	})
	for i := range n {
		attr := &syscall.ProcAttr{Env: env, Files: []uintptr{null.Fd(), null.Fd(), null.Fd()}, Sys: &syscall.SysProcAttr{Setpgid: true}}
		if i > 0 {
			attr.Sys.Pgid = pids[0]
		}
		pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "600"}, attr)
		if err != nil {
			b.Fatalf("start sleeper %d of %d: %v", i+1, n, err)
		}
		pids = append(pids, pid)
	}
	sleeping := 0
	if !poll.Until(context.Background(), time.Minute, func() bool {
		sleeping = 0
		for _, p := range takeB(b).Descendants {
			if p.Name == "sleep" {
				sleeping++
			}
		}
		return sleeping == n
	}) {
		b.Fatalf("only %d of %d sleepers exec'd within a minute", sleeping, n)
	}
}

// readOwnTree is the tree floor: the measured tree's own entries, read from
// the top down (each process's children lists and stat line, parsing
// nothing beyond the pids), what finding the descendants needs whatever
// else runs. It returns the number of descendants read.
func readOwnTree() int {
	queue, n := []int32{int32(os.Getpid())}, 0
	var buf [2048]byte
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		kids, _ := procfs.Children(pid)
		for _, k := range kids {
			if f, err := os.Open("/proc/" + strconv.Itoa(int(k)) + "/stat"); err == nil {
				f.Read(buf[:])
				f.Close()
				n++
			}
		}
		queue = append(queue, kids...)
	}
	return n
}
