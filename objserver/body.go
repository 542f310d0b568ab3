package objserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// ErrBody is wrapped by the errors of a request body that could not be
// read whole: it ended before its Content-Length (the client closed the
// connection), or went longer than Config.BodyTimeout without a byte.
// Such a request is the client's fault: 400 (S3 IncompleteBody or
// RequestTimeout), never 500.
var ErrBody = errors.New("request body incomplete")

// ErrTooLarge is wrapped by the errors of a request body longer than
// Config.MaxBody: 400 EntityTooLarge, nothing stored.
var ErrTooLarge = errors.New("request body too large")

// requestBody is a request's body with a deadline on each read (the pause
// between two pieces of the body is bounded, not the whole upload), whose
// errors say how far it got and wrap ErrBody.
type requestBody struct {
	r       io.ReadCloser
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration // > 0
	max     int64         // most bytes the body may hold
	length  int64         // Content-Length; -1 if unknown
	n       int64         // bytes read so far
	eof     bool
}

// timedBody puts a requestBody in place of r's body (if it has one) and
// returns a function to call when the handler is done: it bounds what
// net/http reads of a body the handler left unread (with the same
// timeout), so no half-sent body holds the connection.
func timedBody(w http.ResponseWriter, r *http.Request, timeout time.Duration, max int64) (done func()) {
	if r.Body == nil || r.Body == http.NoBody {
		return func() {}
	}
	orig := r.Body
	b := &requestBody{r: orig, w: w, rc: http.NewResponseController(w), timeout: timeout, max: max, length: r.ContentLength}
	r.Body = b
	return func() {
		// net/http looks at the body's own type after the handler (an
		// unanswered "Expect: 100-continue" is not discarded, so no
		// 100 Continue follows the final response).
		r.Body = orig
		if !b.eof {
			_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
		}
	}
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.length > b.max || b.n > b.max {
		b.w.Header().Set("Connection", "close")
		return 0, fmt.Errorf("%w: over %d bytes (Content-Length %d)", ErrTooLarge, b.max, b.length)
	}
	if left := b.max + 1 - b.n; int64(len(p)) > left {
		p = p[:left] // one byte past the bound tells it was crossed
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max && err == nil {
		b.w.Header().Set("Connection", "close")
		return 0, fmt.Errorf("%w: over %d bytes", ErrTooLarge, b.max)
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		// The deadline must not outlive the body: a response that
		// stalls on purpose must not be cut by it.
		b.eof = true
		_ = b.rc.SetReadDeadline(time.Time{})
		return n, err
	}
	// The rest of the request cannot be read: the connection ends with
	// this response (else net/http would try to read past it).
	b.w.Header().Set("Connection", "close")
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, fmt.Errorf("%w: no byte for %v after %d bytes%s: %w", ErrBody, b.timeout, b.n, b.of(), err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, fmt.Errorf("%w: the connection ended after %d bytes%s: %w", ErrBody, b.n, b.of(), err)
	}
	return n, fmt.Errorf("%w: after %d bytes%s: %w", ErrBody, b.n, b.of(), err)
}

// of is " of N" for a body of known length N.
func (b *requestBody) of() string {
	if b.length < 0 {
		return ""
	}
	return fmt.Sprintf(" of the %d its Content-Length declares", b.length)
}

func (b *requestBody) Close() error { return b.r.Close() }

// bodyCode is the S3 error code for err, a request body's error (ErrBody,
// ErrTooLarge or ErrChunked): EntityTooLarge, RequestTimeout,
// IncompleteBody or InvalidRequest.
func bodyCode(err error) string {
	switch {
	case errors.Is(err, ErrTooLarge):
		return "EntityTooLarge"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "RequestTimeout"
	case errors.Is(err, ErrBody):
		return "IncompleteBody"
	}
	return "InvalidRequest"
}
