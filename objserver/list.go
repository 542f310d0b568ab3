package objserver

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/leakgate/leakgate/internal/clip"
)

// s3Time is S3's timestamp format in XML bodies.
const s3Time = "2006-01-02T15:04:05.000Z"

type listResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Xmlns                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	Contents              []listObject   `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type listObject struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// s3List answers ListObjectsV2 (what `aws s3 ls` sends): prefix,
// delimiter, max-keys (default and cap 1000), start-after,
// continuation-token and encoding-type=url are honoured. A bucket folder
// that does not exist is NoSuchBucket.
func (s *Server) s3List(x *exchange, bucket string) {
	p, err := s.store.bucket.Path(bucket)
	if err == nil {
		if !isDir(p) {
			s.s3Error(x, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", "/"+bucket)
			return
		}
	}
	lq, qerr := parseListQuery(x.r.URL.Query())
	if qerr != nil {
		s.s3Error(x, http.StatusBadRequest, "InvalidArgument", qerr.Error(), "/"+bucket)
		return
	}
	var ents []entry
	if err == nil {
		ents, err = s.store.list(bucket, lq.prefix)
	}
	if err != nil {
		s.s3Fail(x, bucket, err)
		return
	}
	res := s.listPage(bucket, lq, ents)
	s.reply(x, http.StatusOK, http.Header{"Content-Type": {"application/xml"}}, s3XML(res), x.s3ErrorFor)
}

// listQuery is what a ListObjectsV2 request asks for.
type listQuery struct {
	prefix, delim string
	maxKeys       int    // at most 1000
	startAfter    string // the start-after parameter, as sent
	after         string // list keys after this: the continuation token's key, else startAfter
	token         string // continuation-token, as sent
	encodingType  string // "url" or "" (as sent)
}

// parseListQuery reads a ListObjectsV2 query. Its errors are the message
// of an InvalidArgument answer (a bad max-keys or continuation token).
//
//	lq, err := parseListQuery(url.Values{"prefix": {"e1/"}, "max-keys": {"2"}})
func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{prefix: q.Get("prefix"), delim: q.Get("delimiter"), maxKeys: 1000,
		startAfter: q.Get("start-after"), token: q.Get("continuation-token"), encodingType: q.Get("encoding-type")}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return listQuery{}, errors.New("max-keys " + clip.Quote(v, 0) + " is not a number ≥ 0")
		}
		lq.maxKeys = min(n, 1000)
	}
	lq.after = lq.startAfter
	if lq.token != "" {
		b, err := base64.RawURLEncoding.DecodeString(lq.token)
		if err != nil {
			return listQuery{}, errors.New("The continuation token provided is incorrect")
		}
		lq.after = string(b)
	}
	return lq, nil
}

// enc encodes a key or prefix for the answer: URL-encoded with
// encoding-type=url (botocore decodes with unquote_plus), else as is.
func (lq listQuery) enc(v string) string {
	if lq.encodingType == "url" {
		return url.QueryEscape(v)
	}
	return v
}

// listPage is the answer to lq from ents (the keys under lq.prefix, in
// order): up to maxKeys objects and common prefixes after lq.after, with a
// continuation token if more follow.
//
//	res := s.listPage("b", lq, ents)
func (s *Server) listPage(bucket string, lq listQuery, ents []entry) listResult {
	res := listResult{
		Xmlns:             "http://s3.amazonaws.com/doc/2006-03-01/",
		Name:              bucket,
		Prefix:            lq.enc(lq.prefix),
		Delimiter:         lq.enc(lq.delim),
		MaxKeys:           lq.maxKeys,
		EncodingType:      lq.encodingType,
		ContinuationToken: lq.token,
		StartAfter:        lq.enc(lq.startAfter),
	}
	seen := map[string]bool{}
	last := ""
	for _, e := range ents {
		name := e.key
		if lq.delim != "" {
			if i := strings.Index(name[len(lq.prefix):], lq.delim); i >= 0 {
				name = name[:len(lq.prefix)+i+len(lq.delim)] // a common prefix
			}
		}
		if name <= lq.after || seen[name] {
			continue
		}
		if res.KeyCount == lq.maxKeys {
			res.IsTruncated = true
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		seen[name] = true
		last = name
		res.KeyCount++
		if name != e.key {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: lq.enc(name)})
			continue
		}
		res.Contents = append(res.Contents, listObject{
			Key:          lq.enc(e.key),
			LastModified: e.modTime.UTC().Format(s3Time),
			ETag:         s.store.etagOfFile(e.path),
			Size:         e.size,
			StorageClass: "STANDARD",
		})
	}
	return res
}
