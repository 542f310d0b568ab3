package objserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/journal"
)

// testObject is a gzip'ed stream of 4 records of 4 KiB of incompressible bytes.
func testObject(t *testing.T) []byte {
	t.Helper()
	r := rand.New(rand.NewSource(1))
	var payloads []string
	for range 4 {
		p := make([]byte, 4<<10)
		r.Read(p)
		payloads = append(payloads, string(p))
	}
	return gz(t, records(payloads...))
}

func script(t *testing.T, f faults.Fault, data []byte) []byte {
	t.Helper()
	s, err := f.Script(data)
	if err != nil {
		t.Fatal(err)
	}
	return written(s)
}

func TestFaultsOnTheWire(t *testing.T) {
	obj := testObject(t)
	for _, c := range []struct {
		spec   string
		check  func(t *testing.T, resp *http.Response, body []byte, err error)
		status int // the journal's exit: the status sent, 0 for none
		bytes  int64
	}{
		{"truncate record=3", func(t *testing.T, resp *http.Response, body []byte, err error) {
			want := script(t, faults.Truncate{Record: 3}, obj)
			if resp.ContentLength != int64(len(obj)) || !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(body, want) {
				t.Errorf("Content-Length %d (want %d), %d bytes (want %d), err %v (want unexpected EOF)", resp.ContentLength, len(obj), len(body), len(want), err)
			}
		}, 200, int64(len(script(t, faults.Truncate{Record: 3}, obj)))},
		{"truncate after=100", func(t *testing.T, resp *http.Response, body []byte, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(body, obj[:100]) {
				t.Errorf("%d bytes, err %v; want the first 100, unexpected EOF", len(body), err)
			}
		}, 200, 100},
		{"reset after=1KiB", func(t *testing.T, resp *http.Response, body []byte, err error) {
			// A reset may overtake bytes the client had not read yet.
			if resp.ContentLength != int64(len(obj)) || !errors.Is(err, syscall.ECONNRESET) || len(body) > 1024 || !bytes.Equal(body, obj[:len(body)]) {
				t.Errorf("Content-Length %d, %d bytes, err %v; want %d, at most 1024 bytes of the object, connection reset", resp.ContentLength, len(body), err, len(obj))
			}
		}, 200, 1024},
		{"reset", func(t *testing.T, resp *http.Response, body []byte, err error) {
			if resp != nil || !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("response %v, err %v; want no response, connection reset", resp, err)
			}
		}, 0, 0},
		{"status code=500", func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 500 || !strings.Contains(string(body), "<Code>InternalError</Code>") {
				t.Errorf("status %d, err %v, body %s; want 500 InternalError", resp.StatusCode, err, body)
			}
		}, 500, -1},
		{"status", func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 503 || !strings.Contains(string(body), "<Code>SlowDown</Code>") {
				t.Errorf("status %d, err %v, body %s; want 503 SlowDown", resp.StatusCode, err, body)
			}
		}, 503, -1},
		{"stall after=1KiB for=50ms", func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || !bytes.Equal(body, obj) {
				t.Errorf("%d bytes, err %v; want the whole object", len(body), err)
			}
		}, 200, int64(len(obj))},
		{"stall for=50ms", func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || !bytes.Equal(body, obj) {
				t.Errorf("%d bytes, err %v; want the whole object", len(body), err)
			}
		}, 200, int64(len(obj))},
		{"slow rate=1MiB", func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || !bytes.Equal(body, obj) {
				t.Errorf("%d bytes, err %v; want the whole object", len(body), err)
			}
		}, 200, int64(len(obj))},
		{"corrupt record=2", func(t *testing.T, resp *http.Response, body []byte, err error) {
			want := script(t, faults.Corrupt{Record: 2, Mode: faults.CorruptPayload}, obj)
			if err != nil || resp.ContentLength != int64(len(want)) || !bytes.Equal(body, want) {
				t.Errorf("Content-Length %d, %d bytes, err %v; want the damaged object whole (%d bytes)", resp.ContentLength, len(body), err, len(want))
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := io.ReadAll(zr)
			if rec2 := plain[2*4+4<<10 : 2*4+8<<10]; !bytes.Equal(rec2, bytes.Repeat([]byte{0xff}, 4<<10)) {
				t.Errorf("record 2's payload is not all 0xFF")
			}
			if resp.Header.Get("ETag") != etagOfBytes(obj) {
				t.Errorf("ETag %s, want the stored object's %s", resp.Header.Get("ETag"), etagOfBytes(obj))
			}
		}, 200, int64(len(script(t, faults.Corrupt{Record: 2, Mode: faults.CorruptPayload}, obj)))},
	} {
		t.Run(c.spec, func(t *testing.T) {
			ts := serve(t, c.spec+" on=b/e1/*")
			ts.put(t, "b/e1/0-.chunk", obj)
			resp, body, err := ts.do(t, "GET", "/b/e1/0-.chunk", nil)
			c.check(t, resp, body, err)
			invs := ts.requests(t, 1)
			inv := invs[0]
			if rule, _ := faults.Parse("", c.spec+" on=b/e1/*"); inv.Fault != rule.String() || inv.Exit != c.status || (c.bytes >= 0 && inv.Bytes != c.bytes) {
				t.Errorf("journal: %s\nwant fault %q, status %d, %d bytes", inv, rule, c.status, c.bytes)
			}
		})
	}
}

func TestStallUntilTheClientLeaves(t *testing.T) {
	ts := serve(t, "stall after=1KiB")
	ts.put(t, "b/k", testObject(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/b/k", nil)
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadFull(resp.Body, make([]byte, 1024))
	if err != nil || got != 1024 {
		t.Fatalf("read %d bytes before the stall, %v; want 1024", got, err)
	}
	var stalled []journal.Invocation
	marked := poll.Until(context.Background(), 5*time.Second, func() bool {
		stalled, _ = journal.Read(ts.journal)
		return len(stalled) == 1 && stalled[0].StallingAt(time.Now())
	})
	if !marked || stalled[0].PID != os.Getpid() || time.Until(stalled[0].StallUntil) < time.Minute {
		t.Fatalf("journal: %v; want the GET marked as stalling, until the stall cap (10m), naming this process as its client", stalled)
	}
	cancel() // the client gives up
	resp.Body.Close()
	inv := ts.requests(t, 1)[0]
	if !strings.Contains(inv.Error, "client went away") || inv.Bytes != 1024 || inv.Exit != 200 {
		t.Errorf("journal: %s\nwant 200, 1024 bytes, the client went away during the stall", inv)
	}
}

func TestStallCap(t *testing.T) {
	capped := func(c *Config) { c.StallCap = 50 * time.Millisecond }
	t.Run("mid-body", func(t *testing.T) {
		ts := serve(t, "stall after=1KiB", capped)
		obj := testObject(t)
		ts.put(t, "b/k", obj)
		_, body, err := ts.do(t, "GET", "/b/k", nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(body, obj[:1024]) {
			t.Errorf("%d bytes, %v; want 1024 then the connection dropped", len(body), err)
		}
		if inv := ts.requests(t, 1)[0]; !strings.Contains(inv.Error, "stall cap 50ms reached") {
			t.Errorf("journal: %s", inv)
		}
	})
	t.Run("a finite stall longer than the cap", func(t *testing.T) {
		ts := serve(t, "stall after=1KiB for=1h", capped)
		obj := testObject(t)
		ts.put(t, "b/k", obj)
		_, body, err := ts.do(t, "GET", "/b/k", nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(body, obj[:1024]) {
			t.Errorf("%d bytes, %v; want 1024 then the connection dropped", len(body), err)
		}
		if inv := ts.requests(t, 1)[0]; !strings.Contains(inv.Error, "stall cap 50ms reached") {
			t.Errorf("journal: %s", inv)
		}
	})
	t.Run("a rate that would run past the cap", func(t *testing.T) {
		ts := serve(t, "slow rate=1KiB", capped)
		obj := testObject(t)
		ts.put(t, "b/k", obj)
		start := time.Now()
		_, body, err := ts.do(t, "GET", "/b/k", nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(body) >= len(obj) || time.Since(start) > 10*time.Second {
			t.Errorf("%d of %d bytes, %v after %v; want the connection dropped at the cap", len(body), len(obj), err, time.Since(start))
		}
		if inv := ts.requests(t, 1)[0]; !strings.Contains(inv.Error, "stall cap 50ms reached: paced at 1024 B/s") {
			t.Errorf("journal: %s", inv)
		}
	})
	t.Run("before the status line", func(t *testing.T) {
		ts := serve(t, "stall", capped)
		ts.put(t, "b/k", testObject(t))
		if resp, _, err := ts.do(t, "GET", "/b/k", nil); err == nil {
			t.Errorf("status %d; want the connection dropped without a response", resp.StatusCode)
		}
		if inv := ts.requests(t, 1)[0]; inv.Exit != 0 || !strings.Contains(inv.Error, "stall cap 50ms reached") {
			t.Errorf("journal: %s\nwant no status, the cap reached", inv)
		}
	})
}

func TestCloseEndsStalls(t *testing.T) {
	ts := serve(t, "stall")
	ts.put(t, "b/k", testObject(t))
	errc := make(chan error, 1)
	go func() {
		_, _, err := ts.do(t, "GET", "/b/k", nil)
		errc <- err
	}()
	if !poll.Until(context.Background(), 5*time.Second, func() bool {
		b, _ := os.ReadFile(ts.journal)
		return bytes.Contains(b, []byte(`"event":"start"`))
	}) {
		t.Fatal("the request never arrived")
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Error("the stalled request got a response; want the connection closed")
	}
	if inv := ts.requests(t, 1)[0]; !strings.Contains(inv.Error, "server closed during a stall") {
		t.Errorf("journal: %s", inv)
	}
}

func TestSlowPaces(t *testing.T) {
	ts := serve(t, "slow rate=10000")
	data := bytes.Repeat([]byte("x"), 2000)
	ts.put(t, "b/k", data)
	start := time.Now()
	_, body := ts.mustDo(t, "GET", "/b/k", nil)
	// 200-byte pieces every 20ms: the last one is due 180ms in.
	if d := time.Since(start); d < 150*time.Millisecond || !bytes.Equal(body, data) {
		t.Errorf("2000 bytes at 10000 B/s arrived whole (%v) in %v; want at least 150ms", bytes.Equal(body, data), d)
	}
}

// TestHurryEndsPacing: Hurry sends the rest of a paced body at once (at
// 100 B/s the 4000 bytes would take 40 s; the 30 s cap would cut them),
// and a body that begins after it is not paced at all; the journal says so
// for each.
func TestHurryEndsPacing(t *testing.T) {
	ts := serve(t, "slow rate=100", func(c *Config) { c.StallCap = 30 * time.Second })
	data := bytes.Repeat([]byte("x"), 4000)
	ts.put(t, "b/k", data)
	resp, err := ts.client.Get(ts.url + "/b/k")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 2)
	if _, err := io.ReadFull(resp.Body, first); err != nil { // the paced body is under way
		t.Fatal(err)
	}
	ts.Hurry()
	rest, err := io.ReadAll(resp.Body)
	if got := append(first, rest...); err != nil || !bytes.Equal(got, data) {
		t.Errorf("%d of %d bytes, %v; want the whole body", len(got), len(data), err)
	}
	if _, body := ts.mustDo(t, "GET", "/b/k", nil); !bytes.Equal(body, data) {
		t.Errorf("after Hurry: %d of %d bytes", len(body), len(data))
	}
	invs := ts.requests(t, 2)
	if !strings.Contains(invs[0].Error, "paced at 100 B/s for ") || !strings.Contains(invs[0].Error, "then hurried") {
		t.Errorf("journal of the hurried GET: %s", invs[0])
	}
	if !strings.Contains(invs[1].Error, "hurried before it began") {
		t.Errorf("journal of the GET after Hurry: %s", invs[1])
	}
}

func TestBodyFaultsSkipBodilessRequests(t *testing.T) {
	ts := serve(t, "truncate after=1 op=any; slow rate=1 op=any")
	obj := []byte("0123456789")
	ts.put(t, "b/k", obj)
	if resp, _ := ts.mustDo(t, "HEAD", "/b/k", nil); resp.StatusCode != 200 || resp.ContentLength != 10 {
		t.Errorf("HEAD: status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	if resp, _ := ts.mustDo(t, "PUT", "/b/w", bytes.NewReader(obj)); resp.StatusCode != 200 {
		t.Errorf("PUT: status %d", resp.StatusCode)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.root, "b", "w")); !bytes.Equal(got, obj) {
		t.Errorf("PUT stored %q, want it whole", got)
	}
	for _, inv := range ts.requests(t, 2) {
		if inv.Fault != "" {
			t.Errorf("journal records a fault for a request without a body: %s", inv)
		}
	}
}

func TestStatusAndResetOnOtherOps(t *testing.T) {
	ts := serve(t, "status code=503 op=write; reset op=list; status code=500 op=move")
	if resp, _ := ts.mustDo(t, "PUT", "/b/w", strings.NewReader("data")); resp.StatusCode != 503 {
		t.Errorf("PUT: status %d, want 503", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "w")); !os.IsNotExist(err) {
		t.Errorf("a refused PUT stored the object: %v", err)
	}
	if _, _, err := ts.do(t, "GET", "/b?list-type=2", nil); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("list: err %v, want a reset", err)
	}
	if resp, _ := ts.mustDo(t, "DELETE", "/b/w", nil); resp.StatusCode != 500 {
		t.Errorf("DELETE: status %d, want 500", resp.StatusCode)
	}
	got := map[string]int{}
	for _, inv := range ts.requests(t, 3) {
		got[inv.Op] = inv.Exit
	}
	if want := map[string]int{"write": 503, "list": 0, "move": 500}; !equalMaps(got, want) {
		t.Errorf("journal status by op = %v, want %v", got, want)
	}
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFaultThatDoesNotFit(t *testing.T) {
	ts := serve(t, "truncate record=9")
	ts.put(t, "b/k", gz(t, records("a", "b", "c")))
	resp, body := ts.mustDo(t, "GET", "/b/k", nil)
	if resp.StatusCode != 500 || !strings.Contains(string(body), "InternalError") {
		t.Errorf("status %d: %s; want 500", resp.StatusCode, body)
	}
	if inv := ts.requests(t, 1)[0]; !strings.Contains(inv.Error, "not applied") || !strings.Contains(inv.Error, "object has 3 records, want record 9") {
		t.Errorf("journal: %s", inv)
	}
}

func TestNewRefuses(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		spec, text string
		is         error
	}{
		{"slow rate=1; exit code=3", `spec:1:14: exit code=3: a process exit status has no meaning on the network`, ErrNotNetwork},
		{"truncate record=2 exit=1", `spec:1:1: truncate record=2 exit=1: exit=1 has no meaning on the network`, ErrNotNetwork},
	} {
		plan, err := faults.Parse("spec", c.spec)
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(Config{Root: root, Plan: plan})
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("New(%q) = %v; want %q (%v)", c.spec, err, c.text, c.is)
		}
	}
	if _, err := New(Config{Root: filepath.Join(root, "missing")}); !errors.Is(err, fakecli.ErrNoBucket) {
		t.Errorf("New with a missing root = %v, want ErrNoBucket", err)
	}
}

// etagOfBytes is the S3 ETag of b: its quoted hex MD5.
func etagOfBytes(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}
