package objserver

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestS3ObjectRoundTrip(t *testing.T) {
	ts := serve(t, "")
	data := []byte("hello, bucket")
	sum := md5.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`

	resp, _ := ts.mustDo(t, "PUT", "/b/e1/x.chunk", bytes.NewReader(data))
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != etag {
		t.Fatalf("PUT: status %d, ETag %q; want 200, %q", resp.StatusCode, resp.Header.Get("ETag"), etag)
	}
	if got, err := os.ReadFile(filepath.Join(ts.root, "b", "e1", "x.chunk")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored object = %q, %v; want %q", got, err, data)
	}
	resp, body := ts.mustDo(t, "HEAD", "/b/e1/x.chunk", nil)
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) || len(body) != 0 || resp.Header.Get("ETag") != etag {
		t.Errorf("HEAD: status %d, length %d, body %q, ETag %q", resp.StatusCode, resp.ContentLength, body, resp.Header.Get("ETag"))
	}
	resp, body = ts.mustDo(t, "GET", "/b/e1/x.chunk", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("GET: status %d, body %q, Last-Modified %q", resp.StatusCode, body, resp.Header.Get("Last-Modified"))
	}
	resp, _ = ts.mustDo(t, "DELETE", "/b/e1/x.chunk", nil)
	if resp.StatusCode != 204 {
		t.Errorf("DELETE: status %d, want 204", resp.StatusCode)
	}
	resp, body = ts.mustDo(t, "GET", "/b/e1/x.chunk", nil)
	var e s3ErrorBody
	if err := xml.Unmarshal(body, &e); err != nil || resp.StatusCode != 404 || e.Code != "NoSuchKey" {
		t.Errorf("GET after DELETE: status %d, code %q (%v), want 404 NoSuchKey", resp.StatusCode, e.Code, err)
	}
	resp, body = ts.mustDo(t, "HEAD", "/b/e1/x.chunk", nil)
	if resp.StatusCode != 404 || len(body) != 0 {
		t.Errorf("HEAD after DELETE: status %d, body %q, want 404 without body", resp.StatusCode, body)
	}
}

func TestS3ListObjectsV2(t *testing.T) {
	ts := serve(t, "")
	for _, k := range []string{"b/e1/metadata/a.meta", "b/e1/metadata/b c.meta", "b/e1/metadata/sub/x", "b/e1/metadata-x", "b/e1/other/y", "b/e1/metadata/.objserver-tmp-z"} {
		ts.put(t, k, []byte(k))
	}
	type listing struct {
		keys, prefixes []string
		truncated      bool
		next           string
	}
	list := func(query string) listing {
		t.Helper()
		resp, body := ts.mustDo(t, "GET", "/b?list-type=2&"+query, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("list %s: status %d: %s", query, resp.StatusCode, body)
		}
		var r listResult
		if err := xml.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		var l listing
		for _, c := range r.Contents {
			l.keys = append(l.keys, c.Key)
		}
		for _, p := range r.CommonPrefixes {
			l.prefixes = append(l.prefixes, p.Prefix)
		}
		l.truncated, l.next = r.IsTruncated, r.NextContinuationToken
		if r.KeyCount != len(l.keys)+len(l.prefixes) {
			t.Errorf("list %s: KeyCount %d, want %d", query, r.KeyCount, len(l.keys)+len(l.prefixes))
		}
		return l
	}
	for _, c := range []struct {
		query string
		want  listing
	}{
		{"prefix=e1/metadata/&delimiter=/", listing{keys: []string{"e1/metadata/a.meta", "e1/metadata/b c.meta"}, prefixes: []string{"e1/metadata/sub/"}}},
		{"prefix=e1/metadata/&delimiter=/&encoding-type=url", listing{keys: []string{"e1%2Fmetadata%2Fa.meta", "e1%2Fmetadata%2Fb+c.meta"}, prefixes: []string{"e1%2Fmetadata%2Fsub%2F"}}},
		{"prefix=e1/metadata", listing{keys: []string{"e1/metadata-x", "e1/metadata/a.meta", "e1/metadata/b c.meta", "e1/metadata/sub/x"}}},
		{"prefix=e1/&delimiter=/", listing{prefixes: []string{"e1/metadata/", "e1/other/"}, keys: []string{"e1/metadata-x"}}},
		{"prefix=e9/", listing{}},
		{"prefix=e1/metadata/&start-after=e1/metadata/a.meta", listing{keys: []string{"e1/metadata/b c.meta", "e1/metadata/sub/x"}}},
	} {
		got := list(c.query)
		if !reflect.DeepEqual(got.keys, c.want.keys) || !reflect.DeepEqual(got.prefixes, c.want.prefixes) || got.truncated {
			t.Errorf("list %s:\n got keys %q prefixes %q truncated %v\nwant keys %q prefixes %q", c.query, got.keys, got.prefixes, got.truncated, c.want.keys, c.want.prefixes)
		}
	}
	// Paging: two keys a page, the token carries on.
	var all []string
	query := "prefix=e1/&max-keys=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		l := list(query)
		all = append(all, l.keys...)
		if !l.truncated {
			break
		}
		query = "prefix=e1/&max-keys=2&continuation-token=" + l.next
	}
	want := []string{"e1/metadata-x", "e1/metadata/a.meta", "e1/metadata/b c.meta", "e1/metadata/sub/x", "e1/other/y"}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("paged listing = %q, want %q", all, want)
	}
	resp, body := ts.mustDo(t, "GET", "/nobucket?list-type=2", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "NoSuchBucket") {
		t.Errorf("list of a missing bucket: status %d: %s", resp.StatusCode, body)
	}
}

func TestS3Multipart(t *testing.T) {
	ts := serve(t, "")
	resp, body := ts.mustDo(t, "POST", "/b/big?uploads", nil)
	var init initiateResult
	if err := xml.Unmarshal(body, &init); err != nil || resp.StatusCode != 200 || init.UploadID == "" {
		t.Fatalf("create upload: status %d, %+v, %v", resp.StatusCode, init, err)
	}
	parts := [][]byte{bytes.Repeat([]byte("a"), 1000), bytes.Repeat([]byte("b"), 10)}
	var etags []string
	for i, p := range parts {
		resp, _ := ts.mustDo(t, "PUT", fmt.Sprintf("/b/big?partNumber=%d&uploadId=%s", i+1, init.UploadID), bytes.NewReader(p))
		if resp.StatusCode != 200 {
			t.Fatalf("part %d: status %d", i+1, resp.StatusCode)
		}
		etags = append(etags, resp.Header.Get("ETag"))
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "big")); !os.IsNotExist(err) {
		t.Errorf("object exists before completion: %v", err)
	}
	complete := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, etags[0], etags[1])
	resp, body = ts.mustDo(t, "POST", "/b/big?uploadId="+init.UploadID, strings.NewReader(complete))
	var done completeResult
	if err := xml.Unmarshal(body, &done); err != nil || resp.StatusCode != 200 || !strings.HasSuffix(done.ETag, `-2"`) {
		t.Fatalf("complete: status %d, %+v, %v: %s", resp.StatusCode, done, err, body)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.root, "b", "big")); !bytes.Equal(got, bytes.Join(parts, nil)) {
		t.Errorf("object is %d bytes, want the %d bytes of both parts", len(got), 1010)
	}
	resp, body = ts.mustDo(t, "POST", "/b/big?uploadId="+init.UploadID, strings.NewReader(complete))
	if resp.StatusCode != 404 || !strings.Contains(string(body), "NoSuchUpload") {
		t.Errorf("second completion: status %d: %s", resp.StatusCode, body)
	}

	// Abort: the parts go, no object.
	_, body = ts.mustDo(t, "POST", "/b/gone?uploads", nil)
	xml.Unmarshal(body, &init)
	ts.mustDo(t, "PUT", "/b/gone?partNumber=1&uploadId="+init.UploadID, strings.NewReader("x"))
	if resp, _ := ts.mustDo(t, "DELETE", "/b/gone?uploadId="+init.UploadID, nil); resp.StatusCode != 204 {
		t.Errorf("abort: status %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "gone")); !os.IsNotExist(err) {
		t.Errorf("aborted upload left an object: %v", err)
	}
	// A part that was never uploaded.
	_, body = ts.mustDo(t, "POST", "/b/p?uploads", nil)
	xml.Unmarshal(body, &init)
	resp, body = ts.mustDo(t, "POST", "/b/p?uploadId="+init.UploadID, strings.NewReader(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "InvalidPart") {
		t.Errorf("completion with a missing part: status %d: %s", resp.StatusCode, body)
	}
}

func TestS3CopyThenDelete(t *testing.T) {
	ts := serve(t, "")
	ts.put(t, "b/metadata/x.meta", []byte("line"))
	resp, body := ts.mustDo(t, "PUT", "/b/metadata_backup/x.meta", nil, "x-amz-copy-source", "/b/metadata/x%2Emeta")
	var res copyResult
	if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || res.ETag == "" {
		t.Fatalf("copy: status %d, %+v, %v: %s", resp.StatusCode, res, err, body)
	}
	if resp, _ := ts.mustDo(t, "DELETE", "/b/metadata/x.meta", nil); resp.StatusCode != 204 {
		t.Errorf("delete: status %d", resp.StatusCode)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.root, "b", "metadata_backup", "x.meta")); string(got) != "line" {
		t.Errorf("copied object = %q", got)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "metadata", "x.meta")); !os.IsNotExist(err) {
		t.Errorf("source still there: %v", err)
	}
	resp, body = ts.mustDo(t, "PUT", "/b/y", nil, "x-amz-copy-source", "b/missing")
	if resp.StatusCode != 404 || !strings.Contains(string(body), "NoSuchKey") {
		t.Errorf("copy of a missing source: status %d: %s", resp.StatusCode, body)
	}
}

func TestS3StreamingPut(t *testing.T) {
	ts := serve(t, "")
	body := "5;chunk-signature=aaaa\r\nhello\r\n6;chunk-signature=bbbb\r\n world\r\n0;chunk-signature=cccc\r\n\r\n"
	resp, _ := ts.mustDo(t, "PUT", "/b/s", strings.NewReader(body),
		"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length", "11")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.root, "b", "s")); string(got) != "hello world" {
		t.Errorf("stored %q, want the decoded %q", got, "hello world")
	}
	resp, body2 := ts.mustDo(t, "PUT", "/b/bad", strings.NewReader("zz\r\nhello\r\n"), "Content-Encoding", "aws-chunked")
	if resp.StatusCode != 400 || !strings.Contains(string(body2), "<Code>InvalidRequest</Code>") || !strings.Contains(string(body2), "malformed aws-chunked body") {
		t.Errorf("malformed aws-chunked: status %d: %s", resp.StatusCode, body2)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "bad")); !os.IsNotExist(err) {
		t.Errorf("a malformed upload stored an object: %v", err)
	}
}

func TestS3ContentMD5(t *testing.T) {
	ts := serve(t, "")
	data := []byte("payload")
	sum := md5.Sum(data)
	good := base64.StdEncoding.EncodeToString(sum[:])
	if resp, _ := ts.mustDo(t, "PUT", "/b/ok", bytes.NewReader(data), "Content-MD5", good); resp.StatusCode != 200 {
		t.Errorf("matching Content-MD5: status %d", resp.StatusCode)
	}
	resp, body := ts.mustDo(t, "PUT", "/b/bad", bytes.NewReader(data), "Content-MD5", base64.StdEncoding.EncodeToString(make([]byte, 16)))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "BadDigest") {
		t.Errorf("wrong Content-MD5: status %d: %s", resp.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "bad")); !os.IsNotExist(err) {
		t.Errorf("a refused upload stored an object: %v", err)
	}
}

func TestS3Range(t *testing.T) {
	ts := serve(t, "truncate after=1")
	ts.put(t, "b/r", []byte("0123456789"))
	for _, c := range []struct {
		rng, want, contentRange string
		status                  int
	}{
		{"bytes=2-4", "234", "bytes 2-4/10", 206},
		{"bytes=7-", "789", "bytes 7-9/10", 206},
		{"bytes=-3", "789", "bytes 7-9/10", 206},
		{"bytes=8-100", "89", "bytes 8-9/10", 206},
		{"bytes=10-", "", "bytes */10", 416},
		{"bytes=1-2,4-5", "", "bytes */10", 416},
	} {
		resp, body := ts.mustDo(t, "GET", "/b/r", nil, "Range", c.rng)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Range") != c.contentRange || (c.status == 206 && string(body) != c.want) {
			t.Errorf("Range %s: status %d, Content-Range %q, body %q; want %d, %q, %q", c.rng, resp.StatusCode, resp.Header.Get("Content-Range"), body, c.status, c.contentRange, c.want)
		}
	}
	for _, inv := range ts.requests(t, 6) {
		if inv.Fault != "" && !strings.Contains(inv.Error, "not applied") {
			t.Errorf("a range request records a fault that did not act: %s", inv)
		}
	}
}

func TestS3RefusesEscapes(t *testing.T) {
	ts := serve(t, "")
	for _, path := range []string{"/b/../../etc/passwd", "/b/x/../../../y"} {
		req, _ := http.NewRequest("GET", ts.url+"/", nil)
		req.URL.Opaque = path // sent as is, not cleaned by the client
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("GET %s: status %d, want 400", path, resp.StatusCode)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		v        string
		size     int64
		from, to int64
		ok       bool
	}{
		{"bytes=0-0", 5, 0, 0, true},
		{"bytes=0-", 5, 0, 4, true},
		{"bytes=-10", 5, 0, 4, true},
		{"bytes=3-1", 5, 0, 0, false},
		{"bytes=-0", 5, 0, 0, false},
		{"bytes=5-", 5, 0, 0, false},
		{"items=0-1", 5, 0, 0, false},
		{"bytes=a-b", 5, 0, 0, false},
		{"bytes=-1", 0, 0, 0, false},
	} {
		from, to, ok := parseRange(c.v, c.size)
		if ok != c.ok || (ok && (from != c.from || to != c.to)) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", c.v, c.size, from, to, ok, c.from, c.to, c.ok)
		}
	}
}

func TestS3PartCopyAndTagging(t *testing.T) {
	ts := serve(t, "")
	ts.put(t, "b/src", []byte("0123456789"))
	resp, body := ts.mustDo(t, "GET", "/b/src?tagging", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<TagSet></TagSet>") {
		t.Errorf("GetObjectTagging: status %d: %s", resp.StatusCode, body)
	}
	if resp, body := ts.mustDo(t, "GET", "/b/src?acl", nil); resp.StatusCode != 501 {
		t.Errorf("GET ?acl: status %d, want 501 rather than the object: %s", resp.StatusCode, body)
	}
	_, body = ts.mustDo(t, "POST", "/b/dst?uploads", nil)
	var init initiateResult
	xml.Unmarshal(body, &init)
	for i, rng := range []string{"bytes=0-3", "bytes=4-9"} {
		resp, body := ts.mustDo(t, "PUT", fmt.Sprintf("/b/dst?partNumber=%d&uploadId=%s", i+1, init.UploadID), nil,
			"x-amz-copy-source", "/b/src", "x-amz-copy-source-range", rng)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<CopyPartResult>") {
			t.Fatalf("UploadPartCopy %s: status %d: %s", rng, resp.StatusCode, body)
		}
	}
	ts.mustDo(t, "POST", "/b/dst?uploadId="+init.UploadID, strings.NewReader(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part><Part><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`))
	if got, _ := os.ReadFile(filepath.Join(ts.root, "b", "dst")); string(got) != "0123456789" {
		t.Errorf("copied object = %q", got)
	}
}
