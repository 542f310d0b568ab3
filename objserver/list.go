package objserver

import (
	"encoding/base64"
	"encoding/xml"
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
	q := x.r.URL.Query()
	p, err := s.store.bucket.Path(bucket)
	if err == nil {
		if !isDir(p) {
			s.s3Error(x, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", "/"+bucket)
			return
		}
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.s3Error(x, http.StatusBadRequest, "InvalidArgument", "max-keys "+clip.Quote(v, 0)+" is not a number ≥ 0", "/"+bucket)
			return
		}
		maxKeys = min(n, 1000)
	}
	after := q.Get("start-after")
	token := q.Get("continuation-token")
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			s.s3Error(x, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect", "/"+bucket)
			return
		}
		after = string(b)
	}
	var ents []entry
	if err == nil {
		ents, err = s.store.list(bucket, prefix)
	}
	if err != nil {
		s.s3Fail(x, bucket, err)
		return
	}
	enc := func(v string) string { return v }
	if q.Get("encoding-type") == "url" {
		enc = url.QueryEscape // botocore decodes with unquote_plus
	}
	res := listResult{
		Xmlns:             "http://s3.amazonaws.com/doc/2006-03-01/",
		Name:              bucket,
		Prefix:            enc(prefix),
		Delimiter:         enc(delim),
		MaxKeys:           maxKeys,
		EncodingType:      q.Get("encoding-type"),
		ContinuationToken: token,
		StartAfter:        enc(q.Get("start-after")),
	}
	seen := map[string]bool{}
	last := ""
	for _, e := range ents {
		name := e.key
		if delim != "" {
			if i := strings.Index(name[len(prefix):], delim); i >= 0 {
				name = name[:len(prefix)+i+len(delim)] // a common prefix
			}
		}
		if name <= after || seen[name] {
			continue
		}
		if res.KeyCount == maxKeys {
			res.IsTruncated = true
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		seen[name] = true
		last = name
		res.KeyCount++
		if name != e.key {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc(name)})
			continue
		}
		res.Contents = append(res.Contents, listObject{
			Key:          enc(e.key),
			LastModified: e.modTime.UTC().Format(s3Time),
			ETag:         s.store.etagOfFile(e.path),
			Size:         e.size,
			StorageClass: "STANDARD",
		})
	}
	s.reply(x, http.StatusOK, http.Header{"Content-Type": {"application/xml"}}, s3XML(res), x.s3ErrorFor)
}
