package objserver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/internal/clip"
)

// AccessURI is the path of bucket's objects in objserver's plain API, in
// the shape of an OCI pre-authenticated request (PAR) URL, ending in a
// slash: helm-oci.yaml's $ACCESS_URI. An object's URL is
// ENDPOINT + AccessURI(bucket) + name, and name may itself start with a
// slash (helm-oci.yaml writes "$ACCESS_URI/$SUB_DIR/…").
//
//	objserver.AccessURI("oci-bucket") // "/p/leakgate/n/leakgate/b/oci-bucket/o/"
func AccessURI(bucket string) string {
	return "/p/leakgate/n/leakgate/b/" + bucket + "/o/"
}

// plainPath splits a plain-API path /p/PAR/n/NAMESPACE/b/BUCKET/o[/NAME]
// into bucket and name (NAME as written, maybe with leading slashes); ok
// is false for any other path.
func plainPath(p string) (bucket, name string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 8)
	if len(parts) < 7 || parts[0] != "p" || parts[2] != "n" || parts[4] != "b" || parts[6] != "o" || parts[5] == "" {
		return "", "", false
	}
	if len(parts) == 8 {
		name = parts[7]
	}
	return parts[5], name, true
}

// plainRoute routes a plain-API request: GET/HEAD/PUT/POST/DELETE of an
// object, or GET of the bucket's listing (no name).
func (s *Server) plainRoute(r *http.Request, bucket, name string) route {
	handle := bucket + "/" + strings.TrimLeft(name, "/")
	if strings.Trim(name, "/") == "" {
		if r.Method == http.MethodGet {
			return route{op: faults.OpList, body: true, serve: func(x *exchange) { s.plainList(x, bucket) }}
		}
	} else {
		switch r.Method {
		case http.MethodGet:
			return route{op: faults.OpRead, handle: handle, body: true, serve: func(x *exchange) { s.plainGet(x, handle) }}
		case http.MethodHead:
			return route{op: faults.OpRead, handle: handle, serve: func(x *exchange) { s.plainGet(x, handle) }}
		case http.MethodPut, http.MethodPost:
			return route{op: faults.OpWrite, handle: handle, serve: func(x *exchange) { s.plainPut(x, handle) }}
		case http.MethodDelete:
			return route{op: faults.OpMove, handle: handle, serve: func(x *exchange) { s.plainDelete(x, handle) }}
		}
	}
	return route{op: faults.OpOther, serve: func(x *exchange) {
		s.plainError(x, http.StatusMethodNotAllowed, "MethodNotAllowed", clip.Quote(r.Method, 0)+" is not supported here")
	}}
}

// ociError is the JSON error body of the plain API (OCI's shape).
type ociError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func ociCode(status int) string {
	switch status {
	case 404:
		return "ObjectNotFound"
	case 429:
		return "TooManyRequests"
	case 503:
		return "ServiceUnavailable"
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

func plainJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("objserver: marshal: " + err.Error()) // our own types always marshal
	}
	return append(b, '\n')
}

// plainErrorFor renders the error body of a status fault.
func plainErrorFor(code int) (string, []byte) {
	return "application/json", plainJSON(ociError{Code: ociCode(code), Message: "objserver fault: status " + strconv.Itoa(code)})
}

func (s *Server) plainError(x *exchange, status int, code, msg string) {
	if x.rule != nil && needsBody(x.rule.Fault) {
		x.notApplied("an error response")
	}
	x.note("%d %s: %s", status, code, msg)
	s.reply(x, status, http.Header{"Content-Type": {"application/json"}}, plainJSON(ociError{Code: code, Message: msg}), plainErrorFor)
}

func (s *Server) plainFail(x *exchange, err error) {
	switch {
	case errors.Is(err, ErrNoObject), errors.Is(err, fs.ErrNotExist):
		s.plainError(x, http.StatusNotFound, "ObjectNotFound", err.Error())
	case errors.Is(err, fakecli.ErrEscape):
		s.plainError(x, http.StatusBadRequest, "InvalidParameter", err.Error())
	case errors.Is(err, ErrBody), errors.Is(err, ErrTooLarge):
		s.plainError(x, http.StatusBadRequest, bodyCode(err), err.Error())
	default:
		s.plainError(x, http.StatusInternalServerError, "InternalServerError", err.Error())
	}
}

// plainGet answers GET and HEAD of an object.
func (s *Server) plainGet(x *exchange, handle string) {
	o, err := s.store.get(handle)
	if err != nil {
		s.plainFail(x, err)
		return
	}
	defer o.Close()
	hdr := http.Header{
		"Content-Type":  {"application/octet-stream"},
		"Etag":          {o.etag()},
		"Content-Md5":   {base64.StdEncoding.EncodeToString(o.md5)},
		"Last-Modified": {o.modTime.UTC().Format(http.TimeFormat)},
	}
	s.replyContent(x, http.StatusOK, hdr, o.content(), plainErrorFor)
}

// plainPut answers PUT (and POST) of an object: the body replaces it.
func (s *Server) plainPut(x *exchange, handle string) {
	if s.preamble(x, plainErrorFor) {
		return
	}
	n, etag, err := s.store.put(handle, x.r.Body, nil)
	x.bytes = n
	if err != nil {
		s.plainFail(x, err)
		return
	}
	s.plain(x, http.StatusOK, http.Header{"Etag": {etag}}, nil)
}

// plainDelete answers DELETE of an object: 204, or 404 if it is missing.
func (s *Server) plainDelete(x *exchange, handle string) {
	if s.preamble(x, plainErrorFor) {
		return
	}
	if err := s.store.check(handle); err != nil {
		s.plainFail(x, err)
		return
	}
	if err := s.store.remove(handle); err != nil {
		s.plainFail(x, err)
		return
	}
	s.plain(x, http.StatusNoContent, nil, nil)
}

type ociListing struct {
	Objects       []ociObject `json:"objects"`
	Prefixes      []string    `json:"prefixes,omitempty"`
	NextStartWith string      `json:"nextStartWith,omitempty"`
}

type ociObject struct {
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	TimeModified string `json:"timeModified"`
}

// plainList answers GET of the bucket's URL: {"objects":[{"name":…},…]}
// for every object whose name starts with the prefix query parameter.
// Names come back in the form the prefix was asked in: with a leading
// slash if the prefix has one (helm-oci.yaml asks for "/$SUB_DIR/metadata/"
// and keeps the name's parts from the third on), else without. start and
// limit (default and cap 1000) page through.
func (s *Server) plainList(x *exchange, bucket string) {
	q := x.r.URL.Query()
	prefix := q.Get("prefix")
	lead := ""
	if strings.HasPrefix(prefix, "/") {
		lead = "/"
	}
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.plainError(x, http.StatusBadRequest, "InvalidParameter", "limit "+clip.Quote(v, 0)+" is not a number ≥ 1")
			return
		}
		limit = min(n, 1000)
	}
	start := strings.TrimLeft(q.Get("start"), "/")
	ents, err := s.store.list(bucket, strings.TrimLeft(prefix, "/"))
	if err != nil {
		s.plainFail(x, err)
		return
	}
	res := ociListing{Objects: []ociObject{}}
	for _, e := range ents {
		if e.key < start {
			continue
		}
		if len(res.Objects) == limit {
			res.NextStartWith = lead + e.key
			break
		}
		res.Objects = append(res.Objects, ociObject{Name: lead + e.key, Size: e.size, TimeModified: e.modTime.UTC().Format(s3Time)})
	}
	s.reply(x, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, plainJSON(res), plainErrorFor)
}
