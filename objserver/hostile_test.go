package objserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawConn dials ts and sends raw bytes; the test closes it.
func rawConn(t *testing.T, ts *testServer, send string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	return c
}

// response reads one response from c, failing the test after 10s.
func response(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestUploadShorterThanItsLengthIs400(t *testing.T) {
	for _, c := range []struct{ name, head, want string }{
		{"s3 put", "PUT /b/short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", "IncompleteBody"},
		{"s3 part", "PUT /b/short?partNumber=1&uploadId=UPLOAD HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", "IncompleteBody"},
		{"aws-chunked", "PUT /b/short HTTP/1.1\r\nHost: x\r\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\nContent-Length: 100\r\n\r\n", "IncompleteBody"},
		{"plain put", "PUT " + AccessURI("b") + "short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", `"code":"IncompleteBody"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := serve(t, "")
			head := c.head
			if strings.Contains(head, "UPLOAD") {
				id, err := ts.uploads.create("b/short")
				if err != nil {
					t.Fatal(err)
				}
				head = strings.Replace(head, "UPLOAD", id, 1)
			}
			conn := rawConn(t, ts, head+"a;chunk-signature=x\r\n0123")
			conn.(*net.TCPConn).CloseWrite()
			resp, body := response(t, conn)
			if resp.StatusCode != 400 || !strings.Contains(body, c.want) || !strings.Contains(body, "bytes of the 100 its Content-Length declares") {
				t.Errorf("status %d, body %s; want 400 %s saying how far it got", resp.StatusCode, body, c.want)
			}
			if _, err := os.Stat(filepath.Join(ts.root, "b", "short")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a short upload was stored (%v)", err)
			}
			left, _ := os.ReadDir(filepath.Join(ts.root, "b"))
			if len(left) > 0 {
				t.Errorf("a short upload left %v in the bucket", left)
			}
		})
	}
}

func TestHalfSentRequestsAreTimedOut(t *testing.T) {
	const limit = 300 * time.Millisecond
	ts := serve(t, "", func(c *Config) { c.ReadHeaderTimeout, c.BodyTimeout, c.IdleTimeout = limit, limit, limit })
	// Headers that never end: the server closes the connection.
	c := rawConn(t, ts, "GET /b/k HTTP/1.1\r\nHost: x\r\n")
	if err := closedWithin(c, 10*time.Second); err != nil {
		t.Errorf("half-sent headers: %v", err)
	}
	// A body that stops: 400 RequestTimeout, nothing stored.
	c = rawConn(t, ts, "PUT /b/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123")
	resp, body := response(t, c)
	if resp.StatusCode != 400 || !strings.Contains(body, "RequestTimeout") || !strings.Contains(body, "after 4 bytes of the 100") {
		t.Errorf("stalled body: status %d, %s; want 400 RequestTimeout after 4 of 100 bytes", resp.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "slow")); err == nil {
		t.Errorf("a stalled upload was stored")
	}
	// An idle kept-alive connection: closed after its request.
	c = rawConn(t, ts, "GET /b?list-type=2 HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := closedWithin(readerConn{c, r}, 10*time.Second); err != nil {
		t.Errorf("idle connection: %v", err)
	}
}

type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// closedWithin waits until the server closes c (a read sees EOF or a reset),
// failing if it is still open after d.
func closedWithin(c net.Conn, d time.Duration) error {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("still open after " + d.String())
	}
	return nil
}

func TestNegativeTimeoutIsRefused(t *testing.T) {
	_, err := New(Config{Root: t.TempDir(), BodyTimeout: -time.Second})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "body timeout -1s is negative") {
		t.Errorf("New = %v, want ErrConfig naming the body timeout", err)
	}
}

func TestUnwritableJournalIsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, j := range []string{dir, "/dev/full", filepath.Join(dir, "missing", "j.jsonl")} {
		if _, err := New(Config{Root: dir, Journal: j}); err == nil || !strings.Contains(err.Error(), "LEAKGATE_JOURNAL: journal "+j) {
			t.Errorf("New with journal %s = %v, want an error naming it", j, err)
		}
	}
}

func TestBodyOverMaxBodyIs400(t *testing.T) {
	ts := serve(t, "", func(c *Config) { c.MaxBody = 10 })
	for _, c := range []struct{ name, path, body string }{
		{"s3 put", "/b/big", "0123456789A"},
		{"plain put", AccessURI("b") + "big", "0123456789A"},
	} {
		resp, body := ts.mustDo(t, "PUT", c.path, strings.NewReader(c.body))
		if resp.StatusCode != 400 || !strings.Contains(string(body), "EntityTooLarge") || !strings.Contains(string(body), "over 10 bytes") {
			t.Errorf("%s: status %d, %s; want 400 EntityTooLarge naming the bound", c.name, resp.StatusCode, body)
		}
	}
	// At the bound it is stored.
	if resp, body := ts.mustDo(t, "PUT", "/b/fits", strings.NewReader("0123456789")); resp.StatusCode != 200 {
		t.Errorf("a body at the bound: status %d, %s", resp.StatusCode, body)
	}
	if left, _ := os.ReadDir(filepath.Join(ts.root, "b")); len(left) != 1 {
		t.Errorf("bucket holds %v, want only the object at the bound", left)
	}
}

// TestCompletionListingAPartTwiceIsRefused: a completion that lists part 1
// ten thousand times would open its file ten thousand times and store it
// ten thousand times over; it is InvalidPart.
func TestCompletionListingAPartTwiceIsRefused(t *testing.T) {
	ts := serve(t, "")
	id, err := ts.uploads.create("b/k")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := ts.mustDo(t, "PUT", "/b/k?partNumber=1&uploadId="+id, strings.NewReader("part")); resp.StatusCode != 200 {
		t.Fatalf("UploadPart: %d %s", resp.StatusCode, body)
	}
	xml := "<CompleteMultipartUpload>" + strings.Repeat("<Part><PartNumber>1</PartNumber></Part>", 10000) + "</CompleteMultipartUpload>"
	resp, body := ts.mustDo(t, "POST", "/b/k?uploadId="+id, strings.NewReader(xml))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "InvalidPart") || !strings.Contains(string(body), "10000 parts: want 1 to 10000, each once, in ascending order") || len(body) > 1024 {
		t.Errorf("status %d, %d bytes: %.300s; want 400 InvalidPart, short", resp.StatusCode, len(body), body)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "k")); err == nil {
		t.Errorf("the object was stored")
	}
}

// TestRefusedExpectContinueSendsNoLateContinue: a PUT that waits for
// "100 Continue" and is answered at once (a status fault) gets its final
// response and nothing after it, never a 100 Continue.
func TestRefusedExpectContinueSendsNoLateContinue(t *testing.T) {
	ts := serve(t, "status code=503 op=write")
	c := rawConn(t, ts, "PUT /b/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	rest, _ := io.ReadAll(r)
	if len(rest) > 0 {
		t.Errorf("after the 503 the server sent %q", rest)
	}
}

// TestOpenUploadsAreBounded: a client that starts multipart uploads and
// never ends them gets SlowDown (503) at MaxOpenUploads; aborting one makes
// room again.
func TestOpenUploadsAreBounded(t *testing.T) {
	ts := serve(t, "")
	var first string
	for i := range MaxOpenUploads {
		id, err := ts.uploads.create("b/k")
		if err != nil {
			t.Fatalf("upload %d of %d: %v", i+1, MaxOpenUploads, err)
		}
		if first == "" {
			first = id
		}
	}
	resp, body := ts.mustDo(t, "POST", "/b/k?uploads", nil)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "SlowDown") || !strings.Contains(string(body), "1000 uploads are open") {
		t.Errorf("upload %d: status %d %.300s; want 503 SlowDown naming the open uploads", MaxOpenUploads+1, resp.StatusCode, body)
	}
	if resp, body := ts.mustDo(t, "DELETE", "/b/k?uploadId="+first, nil); resp.StatusCode != 204 {
		t.Fatalf("AbortMultipartUpload: %d %s", resp.StatusCode, body)
	}
	if resp, body := ts.mustDo(t, "POST", "/b/k?uploads", nil); resp.StatusCode != 200 {
		t.Errorf("after an abort: %d %s; want room for one more upload", resp.StatusCode, body)
	}
}
