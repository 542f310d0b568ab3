package objserver

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakgate/leakgate/fakecli"
)

// TestBigObjectsAreStreamed serves a 128 MiB object (a sparse file) from
// objserver as a command and checks its peak RSS stays far below the
// object's size: objects are streamed, not read whole (before: 1 GiB
// object, 1.06 GB peak RSS; after: 9 MB).
func TestBigObjectsAreStreamed(t *testing.T) {
	const size = 128 << 20
	const bound = 64 << 20
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(root, "b", "big"))
	if err == nil {
		err = big.Truncate(size)
		big.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(t.TempDir(), "addr")
	cmd, _, stderr := command(t, []string{fakecli.EnvBucket + "=" + root}, "-addr-file", addr, "-watch-stdin")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	endpoint := waitForAddr(t, addr, stderr)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, path := range []string{"/b/big", AccessURI("b") + "big"} {
		resp, err := client.Get(endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != size || resp.StatusCode != 200 {
			t.Fatalf("GET %s: status %d, %d bytes, %v; want 200, %d bytes", path, resp.StatusCode, n, err, size)
		}
	}
	peak := peakRSS(t, cmd.Process.Pid)
	t.Logf("objserver peak RSS after serving a %d MiB object twice: %.1f MiB", size>>20, float64(peak)/(1<<20))
	if peak > bound {
		t.Errorf("peak RSS %d bytes, want under %d: the object was held in memory", peak, bound)
	}
}

// waitForAddr polls the address file (with a deadline) and returns the endpoint.
func waitForAddr(t *testing.T, addr string, stderr interface{ String() string }) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b, err := os.ReadFile(addr); err == nil {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address file within 10s; stderr: %s", stderr)
		}
		time.Sleep(10 * time.Millisecond) // polling the address file, with a deadline
	}
}

// peakRSS is VmHWM of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}
