package objserver

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/internal/clip"
)

// s3Route routes a path-style S3 request, /BUCKET/KEY: to the service
// (ListBuckets), a bucket (s3BucketRoute) or an object (s3ObjectRoute);
// anything else is answered NotImplemented.
func (s *Server) s3Route(r *http.Request) route {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case bucket == "":
		if r.Method == http.MethodGet {
			return otherRoute(s.s3ListBuckets)
		}
	case key == "":
		if rt, ok := s.s3BucketRoute(r.Method, q, bucket); ok {
			return rt
		}
	case unsupportedSubresource(q) != "":
		// ?acl, ?retention, …: not GetObject or PutObject; serving the
		// object instead would mislead the client.
	default:
		if rt, ok := s.s3ObjectRoute(r, q, bucket, key); ok {
			return rt
		}
	}
	return otherRoute(func(x *exchange) {
		s.s3Error(x, http.StatusNotImplemented, "NotImplemented", "objserver does not implement "+clip.Quote(r.Method+" "+r.URL.RequestURI(), 0), r.URL.Path)
	})
}

// otherRoute is a route that touches no object (faults.OpOther).
//
//	return otherRoute(s.s3ListBuckets)
func otherRoute(serve func(*exchange)) route { return route{op: faults.OpOther, serve: serve} }

// s3BucketRoute routes a request to /BUCKET/ by method: ListObjectsV2 (a
// GET without list-type=2 is NotImplemented), HeadBucket, CreateBucket. It
// reports false for any other method.
//
//	rt, ok := s.s3BucketRoute(http.MethodGet, url.Values{"list-type": {"2"}}, "b")
func (s *Server) s3BucketRoute(method string, q url.Values, bucket string) (route, bool) {
	switch method {
	case http.MethodGet:
		if q.Get("list-type") == "2" {
			return route{op: faults.OpList, body: true, serve: func(x *exchange) { s.s3List(x, bucket) }}, true
		}
		return otherRoute(func(x *exchange) {
			s.s3Error(x, http.StatusNotImplemented, "NotImplemented", "objserver lists with ListObjectsV2 (list-type=2) only", "/"+bucket)
		}), true
	case http.MethodHead:
		return otherRoute(func(x *exchange) { s.s3HeadBucket(x, bucket) }), true
	case http.MethodPut:
		return otherRoute(func(x *exchange) { s.s3CreateBucket(x, bucket) }), true
	}
	return route{}, false
}

// s3ObjectRoute routes a request to /BUCKET/KEY by method: GetObject or
// GetObjectTagging, HeadObject, the PUTs (s3PutRoute), the multipart
// upload's create and complete, AbortMultipartUpload or DeleteObject. It
// reports false for a request objserver does not implement.
//
//	rt, ok := s.s3ObjectRoute(r, r.URL.Query(), "b", "e1/x.chunk")
func (s *Server) s3ObjectRoute(r *http.Request, q url.Values, bucket, key string) (route, bool) {
	handle := bucket + "/" + key
	switch r.Method {
	case http.MethodGet:
		if q.Has("tagging") {
			return route{op: faults.OpOther, handle: handle, serve: func(x *exchange) { s.s3Tagging(x, handle) }}, true
		}
		return route{op: faults.OpRead, handle: handle, body: true, serve: func(x *exchange) { s.s3Get(x, handle) }}, true
	case http.MethodHead:
		return route{op: faults.OpRead, handle: handle, serve: func(x *exchange) { s.s3Get(x, handle) }}, true
	case http.MethodPut:
		return s.s3PutRoute(r, q, handle)
	case http.MethodPost:
		if q.Has("uploads") {
			return route{op: faults.OpWrite, handle: handle, serve: func(x *exchange) { s.s3CreateUpload(x, bucket, key, handle) }}, true
		}
		if q.Has("uploadId") {
			return route{op: faults.OpWrite, handle: handle, serve: func(x *exchange) { s.s3Complete(x, bucket, key, handle) }}, true
		}
	case http.MethodDelete:
		if q.Has("uploadId") {
			return route{op: faults.OpWrite, handle: handle, serve: func(x *exchange) { s.s3Abort(x, handle) }}, true
		}
		return route{op: faults.OpMove, handle: handle, serve: func(x *exchange) { s.s3Delete(x, handle) }}, true
	}
	return route{}, false
}

// s3PutRoute routes a PUT of object handle: UploadPartCopy or CopyObject
// (x-amz-copy-source; the route's handle is the source), UploadPart or
// PutObject. It reports false for PutObjectTagging, not supported.
//
//	rt, ok := s.s3PutRoute(r, r.URL.Query(), "b/e1/x.chunk")
func (s *Server) s3PutRoute(r *http.Request, q url.Values, handle string) (route, bool) {
	if src := r.Header.Get("x-amz-copy-source"); src != "" {
		if q.Has("uploadId") {
			return route{op: faults.OpMove, handle: copySource(src), serve: func(x *exchange) { s.s3PartCopy(x, src, handle) }}, true
		}
		return route{op: faults.OpMove, handle: copySource(src), serve: func(x *exchange) { s.s3Copy(x, src, handle) }}, true
	}
	if q.Has("tagging") {
		return route{}, false // PutObjectTagging: not supported
	}
	if q.Has("uploadId") {
		return route{op: faults.OpWrite, handle: handle, serve: func(x *exchange) { s.s3Part(x, handle) }}, true
	}
	return route{op: faults.OpWrite, handle: handle, serve: func(x *exchange) { s.s3Put(x, handle) }}, true
}

// unsupportedSubresource names a sub-resource query parameter of an
// object request that objserver does not implement, "" if none.
func unsupportedSubresource(q url.Values) string {
	for _, k := range []string{"acl", "attributes", "legal-hold", "retention", "torrent", "restore", "select"} {
		if q.Has(k) {
			return k
		}
	}
	return ""
}

// copySource turns an x-amz-copy-source value ("/b/k", "b/k", URL-encoded,
// maybe "?versionId=…") into a bucket-relative handle.
func copySource(v string) string {
	v, _, _ = strings.Cut(v, "?")
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	return strings.TrimPrefix(v, "/")
}

// s3ErrorBody is S3's XML error document.
type s3ErrorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// s3Code is the S3 error code a status fault answers with.
func s3Code(status int) string {
	switch status {
	case 400:
		return "InvalidRequest"
	case 403:
		return "AccessDenied"
	case 404:
		return "NoSuchKey"
	case 500:
		return "InternalError"
	case 503:
		return "SlowDown"
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

// s3ErrorFor renders the error document of a status fault.
func (x *exchange) s3ErrorFor(code int) (string, []byte) {
	return "application/xml", s3XML(s3ErrorBody{
		Code:      s3Code(code),
		Message:   "objserver fault: status " + strconv.Itoa(code),
		Resource:  x.r.URL.Path,
		RequestID: x.w.Header().Get("x-amz-request-id"),
	})
}

func s3XML(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("objserver: marshal %T: %v", v, err)) // our own types always marshal
	}
	return append([]byte(xml.Header), b...)
}

// s3Error answers with an S3 error document (no body for HEAD).
func (s *Server) s3Error(x *exchange, status int, code, msg, resource string) {
	if x.rule != nil && needsBody(x.rule.Fault) {
		x.notApplied("an error response")
	}
	x.note("%d %s: %s", status, code, msg)
	body := s3XML(s3ErrorBody{Code: code, Message: msg, Resource: resource, RequestID: x.w.Header().Get("x-amz-request-id")})
	s.reply(x, status, http.Header{"Content-Type": {"application/xml"}}, body, x.s3ErrorFor)
}

// fail answers an error of objserver's own (a bad key, a disk error).
func (s *Server) fail(x *exchange, status int, err error, errBody func(int) (string, []byte)) {
	x.note("%v", err)
	ct, b := errBody(status)
	x.rule = nil
	s.plain(x, status, http.Header{"Content-Type": {ct}}, b)
}

// s3Fail maps err to an S3 error: a missing object is NoSuchKey (404),
// a key outside the bucket InvalidArgument (400), a request body that
// ended early, stalled or is not well formed 400 (see bodyCode), anything else
// InternalError (500).
func (s *Server) s3Fail(x *exchange, key string, err error) {
	switch {
	case errors.Is(err, ErrNoObject), errors.Is(err, fs.ErrNotExist):
		s.s3Error(x, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", key)
	case errors.Is(err, fakecli.ErrEscape):
		s.s3Error(x, http.StatusBadRequest, "InvalidArgument", err.Error(), key)
	case errors.Is(err, ErrNoUpload):
		s.s3Error(x, http.StatusNotFound, "NoSuchUpload", err.Error(), key)
	case errors.Is(err, ErrBadPart):
		s.s3Error(x, http.StatusBadRequest, "InvalidPart", err.Error(), key)
	case errors.Is(err, ErrTooManyUploads):
		s.s3Error(x, http.StatusServiceUnavailable, "SlowDown", err.Error(), key)
	case errors.Is(err, ErrBody), errors.Is(err, ErrChunked), errors.Is(err, ErrTooLarge):
		s.s3Error(x, http.StatusBadRequest, bodyCode(err), err.Error(), key)
	case errors.Is(err, errBadDigest):
		s.s3Error(x, http.StatusBadRequest, "BadDigest", err.Error(), key)
	default:
		s.s3Error(x, http.StatusInternalServerError, "InternalError", err.Error(), key)
	}
}

// objectHeader is the header of a GET or HEAD of o.
func objectHeader(o *object) http.Header {
	return http.Header{
		"Content-Type":  {"binary/octet-stream"},
		"Etag":          {o.etag()},
		"Last-Modified": {o.modTime.UTC().Format(http.TimeFormat)},
		"Accept-Ranges": {"bytes"},
	}
}

// s3Get answers GetObject and HeadObject. A Range request (which the aws
// CLI sends only for objects of 8 MiB and more) is served without faults.
func (s *Server) s3Get(x *exchange, handle string) {
	o, err := s.store.get(handle)
	if err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	defer o.Close()
	hdr := objectHeader(o)
	if rg := x.r.Header.Get("Range"); rg != "" {
		from, to, ok := parseRange(rg, o.size)
		if !ok {
			x.w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(o.size, 10))
			s.s3Error(x, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range "+clip.Quote(rg, 0)+" is not satisfiable", handle)
			return
		}
		if x.rule != nil && needsBody(x.rule.Fault) {
			x.notApplied("a range request")
		}
		hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, o.size))
		s.replyContent(x, http.StatusPartialContent, hdr, o.content().section(from, to), x.s3ErrorFor)
		return
	}
	s.replyContent(x, http.StatusOK, hdr, o.content(), x.s3ErrorFor)
}

// parseRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range of
// an object of size bytes into inclusive offsets.
func parseRange(v string, size int64) (from, to int64, ok bool) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	switch {
	case a == "":
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(0, size-n), size - 1, size > 0
	default:
		from, err := strconv.ParseInt(a, 10, 64)
		if err != nil || from < 0 || from >= size {
			return 0, 0, false
		}
		to = size - 1
		if b != "" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n < from {
				return 0, 0, false
			}
			to = min(n, size-1)
		}
		return from, to, true
	}
}

// errBadDigest is wrapped when an upload's Content-MD5 does not match.
var errBadDigest = errors.New("Content-MD5 does not match the body")

// uploadBody is the request body of an upload, decoded if aws-chunked, and
// a check of its Content-MD5, if the client sent one.
func uploadBody(r *http.Request) (io.Reader, func([]byte) error) {
	var body io.Reader = r.Body
	if strings.HasPrefix(r.Header.Get("x-amz-content-sha256"), "STREAMING-") || strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		body = newChunkedReader(r.Body)
	}
	want := r.Header.Get("Content-MD5")
	if want == "" {
		return body, nil
	}
	return body, func(sum []byte) error {
		if got := base64.StdEncoding.EncodeToString(sum); got != want {
			return fmt.Errorf("%w: got %s, header says %s", errBadDigest, got, want)
		}
		return nil
	}
}

// s3Put answers PutObject: the body (plain or aws-chunked) replaces the
// object.
func (s *Server) s3Put(x *exchange, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	body, check := uploadBody(x.r)
	n, etag, err := s.store.put(handle, body, check)
	x.bytes = n
	if err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	s.reply(x, http.StatusOK, http.Header{"Etag": {etag}}, nil, x.s3ErrorFor)
}

// preamble acts out a fault that comes before the status line on a
// request without a response body (status, reset, stall at after=0); it
// reports whether the response was given (or the connection cut) and the
// handler must stop.
func (s *Server) preamble(x *exchange, errBody func(int) (string, []byte)) bool {
	f := x.fault()
	if f == nil || needsBody(f) {
		return false
	}
	if st, ok := f.(faults.Stall); ok {
		x.note("fault: stall before the status line")
		if !s.pause(x, st.For) {
			panic(http.ErrAbortHandler)
		}
		x.rule = nil
		return false
	}
	s.reply(x, http.StatusOK, nil, nil, errBody)
	return true
}

type copyResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// s3Copy answers CopyObject (what `aws s3 mv` does before DeleteObject).
func (s *Server) s3Copy(x *exchange, src, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	from := copySource(src)
	o, err := s.store.get(from)
	if err != nil {
		s.s3Fail(x, from, err)
		return
	}
	_, etag, err := s.store.put(handle, o.content().reader(), nil)
	o.Close()
	if err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	body := s3XML(copyResult{ETag: etag, LastModified: time.Now().UTC().Format(s3Time)})
	s.plainOK(x, body)
}

// plainOK sends a 200 XML body that no fault shapes (a fault acting before
// the status line was handled by preamble).
func (s *Server) plainOK(x *exchange, body []byte) {
	s.plain(x, http.StatusOK, http.Header{"Content-Type": {"application/xml"}}, body)
}

// s3Delete answers DeleteObject: 204, whether or not the object existed.
func (s *Server) s3Delete(x *exchange, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	if err := s.store.remove(handle); err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	s.plain(x, http.StatusNoContent, nil, nil)
}

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// s3CreateUpload answers CreateMultipartUpload.
func (s *Server) s3CreateUpload(x *exchange, bucket, key, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	if _, err := s.store.bucket.Path(handle); err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	id, err := s.uploads.create(handle)
	if err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	s.plainOK(x, s3XML(initiateResult{Bucket: bucket, Key: key, UploadID: id}))
}

// s3Part answers UploadPart.
func (s *Server) s3Part(x *exchange, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	q := x.r.URL.Query()
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil {
		s.s3Error(x, http.StatusBadRequest, "InvalidArgument", "partNumber "+clip.Quote(q.Get("partNumber"), 0)+" is not a number", handle)
		return
	}
	body, check := uploadBody(x.r)
	size, etag, err := s.uploads.part(q.Get("uploadId"), handle, n, body)
	x.bytes = size
	if err == nil && check != nil {
		sum, _ := hex.DecodeString(strings.Trim(etag, `"`))
		err = check(sum)
	}
	if err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	s.plain(x, http.StatusOK, http.Header{"Etag": {etag}}, nil)
}

type completeRequest struct {
	Parts []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// s3Complete answers CompleteMultipartUpload: the listed parts, in order,
// become the object; its ETag is S3's: the MD5 of the parts' MD5s, "-N".
func (s *Server) s3Complete(x *exchange, bucket, key, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	id := x.r.URL.Query().Get("uploadId")
	var req completeRequest
	if err := xml.NewDecoder(io.LimitReader(x.r.Body, 1<<20)).Decode(&req); err != nil {
		if errors.Is(err, ErrBody) || errors.Is(err, ErrTooLarge) {
			s.s3Fail(x, handle, err)
			return
		}
		s.s3Error(x, http.StatusBadRequest, "MalformedXML", "CompleteMultipartUpload body (at most 1 MiB): "+clip.Quote(err.Error(), 200), handle)
		return
	}
	var numbers []int
	sums := md5.New()
	for _, p := range req.Parts {
		numbers = append(numbers, p.PartNumber)
		b, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		sums.Write(b)
	}
	rc, err := s.uploads.assemble(id, handle, numbers)
	if err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	_, _, err = s.store.put(handle, rc, nil)
	rc.Close()
	if err == nil {
		err = s.uploads.finish(id, handle)
	}
	if err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	etag := fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(sums.Sum(nil)), len(numbers))
	s.plainOK(x, s3XML(completeResult{Location: "/" + handle, Bucket: bucket, Key: key, ETag: etag}))
}

// s3Abort answers AbortMultipartUpload.
func (s *Server) s3Abort(x *exchange, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	if err := s.uploads.finish(x.r.URL.Query().Get("uploadId"), handle); err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	s.plain(x, http.StatusNoContent, nil, nil)
}

// s3HeadBucket answers HeadBucket: 200 if the bucket folder exists.
func (s *Server) s3HeadBucket(x *exchange, bucket string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	p, err := s.store.bucket.Path(bucket)
	if err == nil {
		var st os.FileInfo
		if st, err = os.Stat(p); err == nil && !st.IsDir() {
			err = fs.ErrNotExist
		}
	}
	if err != nil {
		s.plain(x, http.StatusNotFound, nil, nil)
		return
	}
	s.plain(x, http.StatusOK, nil, nil)
}

// s3CreateBucket answers CreateBucket: makes the bucket folder.
func (s *Server) s3CreateBucket(x *exchange, bucket string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	p, err := s.store.bucket.Path(bucket)
	if err == nil {
		err = os.MkdirAll(p, 0o755)
	}
	if err != nil {
		s.s3Fail(x, bucket, err)
		return
	}
	s.plain(x, http.StatusOK, http.Header{"Location": {"/" + bucket}}, nil)
}

type listBucketsResult struct {
	XMLName xml.Name `xml:"ListAllMyBucketsResult"`
	Buckets []struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
	} `xml:"Buckets>Bucket"`
}

// s3ListBuckets answers ListBuckets: the root's folders.
func (s *Server) s3ListBuckets(x *exchange) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	ents, err := os.ReadDir(s.store.bucket.Root())
	if err != nil {
		s.s3Fail(x, "", err)
		return
	}
	var res listBucketsResult
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		res.Buckets = append(res.Buckets, struct {
			Name         string `xml:"Name"`
			CreationDate string `xml:"CreationDate"`
		}{e.Name(), info.ModTime().UTC().Format(s3Time)})
	}
	s.plainOK(x, s3XML(res))
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  struct{} `xml:"TagSet"`
}

// s3Tagging answers GetObjectTagging (which `aws s3 mv` asks before a
// multipart copy): objserver keeps no tags, so the set is empty.
func (s *Server) s3Tagging(x *exchange, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	if err := s.store.check(handle); err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	s.plainOK(x, s3XML(tagging{}))
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// s3PartCopy answers UploadPartCopy (what `aws s3 mv` sends for an object
// of 8 MiB and more): a part from a byte range (x-amz-copy-source-range,
// "bytes=a-b") of the source, or all of it.
func (s *Server) s3PartCopy(x *exchange, src, handle string) {
	if s.preamble(x, x.s3ErrorFor) {
		return
	}
	q := x.r.URL.Query()
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil {
		s.s3Error(x, http.StatusBadRequest, "InvalidArgument", "partNumber "+clip.Quote(q.Get("partNumber"), 0)+" is not a number", handle)
		return
	}
	from := copySource(src)
	o, err := s.store.get(from)
	if err != nil {
		s.s3Fail(x, from, err)
		return
	}
	defer o.Close()
	c := o.content()
	if rg := x.r.Header.Get("x-amz-copy-source-range"); rg != "" {
		a, b, ok := parseRange(rg, o.size)
		if !ok {
			s.s3Error(x, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The copy source range "+clip.Quote(rg, 0)+" is not satisfiable", from)
			return
		}
		c = c.section(a, b)
	}
	_, etag, err := s.uploads.part(q.Get("uploadId"), handle, n, c.reader())
	if err != nil {
		s.s3Fail(x, handle, err)
		return
	}
	s.plainOK(x, s3XML(copyPartResult{ETag: etag, LastModified: time.Now().UTC().Format(s3Time)}))
}
