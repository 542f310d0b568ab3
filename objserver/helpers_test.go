package objserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/journal"
)

// testServer is a Server on a loopback port of this test.
type testServer struct {
	*Server
	url     string // http://127.0.0.1:PORT
	root    string // the bucket folder
	journal string
	client  *http.Client
}

// serve starts a server over a fresh bucket folder with the faults of spec;
// cfg, if given, adjusts the config.
func serve(t *testing.T, spec string, cfg ...func(*Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "bucket")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	plan, err := faults.Parse("spec", spec)
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Root: root, Plan: plan, Journal: filepath.Join(dir, "journal.jsonl"), Log: testLog{t}}
	for _, f := range cfg {
		f(&c)
	}
	srv, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	tr := &http.Transport{}
	ts := &testServer{Server: srv, url: "http://" + ln.Addr().String(), root: root, journal: c.Journal, client: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-errc; err != ErrClosed {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	return ts
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// put stores data as the object key, directly in the folder.
func (ts *testServer) put(t *testing.T, key string, data []byte) {
	t.Helper()
	p := filepath.Join(ts.root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// do sends a request and returns the response with its body read whole
// (and the error the body ended with, if any).
func (ts *testServer) do(t *testing.T, method, path string, body io.Reader, hdr ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// mustDo is do that fails the test on a transport or body error.
func (ts *testServer) mustDo(t *testing.T, method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	resp, b, err := ts.do(t, method, path, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, b
}

// requests reads the journal, waiting (up to 5s) until every request has
// its end entry and there are at least n.
func (ts *testServer) requests(t *testing.T, n int) []journal.Invocation {
	t.Helper()
	var invs []journal.Invocation
	var err error
	done := poll.Until(context.Background(), 5*time.Second, func() bool {
		if invs, err = journal.Read(ts.journal); err != nil {
			return true
		}
		ended := len(invs) >= n
		for _, inv := range invs {
			ended = ended && inv.Ended
		}
		return ended
	})
	switch {
	case err != nil:
		t.Fatal(err)
	case !done:
		t.Fatalf("journal: want %d ended requests within 5s, have %d: %v", n, len(invs), invs)
	}
	return invs
}

// records frames payloads as a record stream.
func records(payloads ...string) []byte {
	var b []byte
	for _, p := range payloads {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
