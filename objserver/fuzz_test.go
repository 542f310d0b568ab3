package objserver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzChunkedReader decodes arbitrary aws-chunked bodies: it never panics,
// never yields more bytes than the body holds, and every refusal wraps
// ErrChunked and says where (the chunk, the line) in a bounded message.
//
// Seeds: testdata/fuzz/FuzzChunkedReader (run by plain go test).
func FuzzChunkedReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := io.ReadAll(newChunkedReader(bytes.NewReader(body)))
		if len(got) > len(body) {
			t.Fatalf("decoded %d bytes from a %d-byte body", len(got), len(body))
		}
		if err == nil {
			return
		}
		if !errors.Is(err, ErrChunked) {
			t.Fatalf("error %v does not wrap ErrChunked", err)
		}
		if msg := err.Error(); len(msg) > 1024 || !strings.Contains(msg, "chunk") && !strings.Contains(msg, "line") && !strings.Contains(msg, "trailer") {
			t.Fatalf("error %.200q (%d bytes): want a bounded message naming the chunk or line", msg, len(msg))
		}
	})
}

// FuzzS3Request sends arbitrary requests (method, target, headers,
// body; S3 and the plain API) to a server over a bucket beside a folder
// it must never touch: no panic, a status in 200..599, and the folder
// outside stays as it was.
//
// Seeds: testdata/fuzz/FuzzS3Request (run by plain go test).
func FuzzS3Request(f *testing.F) {
	dir := f.TempDir()
	root := filepath.Join(dir, "bucket")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{filepath.Join(root, "b", "e"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for p, data := range map[string]string{filepath.Join(root, "b", "k"): "0123456789", filepath.Join(root, "b", "e", "x"): "x", filepath.Join(outside, "secret"): "SECRET"} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	srv, err := New(Config{Root: root, Log: io.Discard})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	f.Fuzz(func(t *testing.T, method, target, hdr string, body []byte) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.ReadRequest(bufioReader(method + " " + target + " HTTP/1.1\r\nHost: x\r\n" + hdr + "\r\n\r\n"))
		if err != nil {
			return // not a request net/http would hand a handler
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.RemoteAddr = "127.0.0.1:1"
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code < 200 || w.Code > 599 {
			t.Fatalf("%s %s: status %d", method, target, w.Code)
		}
		if left, err := os.ReadDir(outside); err != nil || len(left) != 1 {
			t.Fatalf("%s %s: the outside folder now holds %v (%v)", method, target, left, err)
		}
		if b, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(b) != "SECRET" {
			t.Fatalf("%s %s: the outside file changed: %q, %v", method, target, b, err)
		}
		if bytes.Contains(w.Body.Bytes(), []byte("SECRET")) {
			t.Fatalf("%s %s: the response shows the outside file", method, target)
		}
	})
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
