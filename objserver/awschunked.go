package objserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/leakgate/leakgate/internal/clip"
)

// ErrChunked is wrapped by the errors of an aws-chunked body that is not
// well formed.
var ErrChunked = errors.New("malformed aws-chunked body")

// chunkedReader decodes an aws-chunked request body (SigV4 streaming
// uploads, "x-amz-content-sha256: STREAMING-…"): chunks of
// "<hex size>[;chunk-signature=…]\r\n<data>\r\n", ended by a zero-size
// chunk and optional trailer lines ("x-amz-checksum-crc32:…") and an empty
// line. Signatures and checksums are not verified (objserver ignores
// authentication).
type chunkedReader struct {
	r    *bufio.Reader
	left int64 // bytes left in the current chunk
	n    int   // chunks read, for errors
	done bool
	err  error
}

func newChunkedReader(r io.Reader) *chunkedReader {
	return &chunkedReader{r: bufio.NewReaderSize(r, maxLine)}
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.left == 0 && !c.done && c.err == nil {
		c.err = c.next()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.done {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = fmt.Errorf("chunk %d: %d bytes missing: %w", c.n, c.left, ErrChunked)
	}
	if err == nil && c.left == 0 {
		err = c.crlf()
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// next reads a chunk header; a zero-size chunk reads the trailers too.
func (c *chunkedReader) next() error {
	c.n++
	line, err := c.line()
	if err == io.EOF {
		return fmt.Errorf("chunk %d: the body ends without the final zero-size chunk: %w", c.n, ErrChunked)
	}
	if err != nil {
		return fmt.Errorf("chunk %d header: %w", c.n, err)
	}
	size, _, _ := strings.Cut(line, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("chunk %d: size %q: %w", c.n, clip.Word(size), ErrChunked)
	}
	if n > 0 {
		c.left = n
		return nil
	}
	for i := 0; ; i++ {
		if i == maxTrailers {
			return fmt.Errorf("more than %d trailer lines: %w", maxTrailers, ErrChunked)
		}
		line, err := c.line()
		switch {
		case err == io.EOF && line == "":
			c.done = true // no trailer section at all
			return nil
		case err != nil:
			return fmt.Errorf("trailers: %w", err)
		case line == "":
			c.done = true
			return nil
		}
	}
}

// maxLine bounds a chunk header or trailer line (the bufio.Reader's
// buffer): a chunk signature is 80 bytes, a checksum trailer less.
const maxLine = 4096

// maxTrailers bounds the trailer lines after the final chunk.
const maxTrailers = 64

// line reads a CRLF- (or LF-) terminated line without its terminator, of
// at most maxLine bytes.
func (c *chunkedReader) line() (string, error) {
	b, err := c.r.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return "", fmt.Errorf("a line longer than %d bytes: %s: %w", maxLine, clip.Bytes(b, 0), ErrChunked)
	case err == io.EOF && len(b) > 0:
		err = fmt.Errorf("line %s without an end: %w", clip.Bytes(b, 0), ErrChunked)
	}
	return strings.TrimRight(string(b), "\r\n"), err
}

// crlf reads the CRLF that ends a chunk's data.
func (c *chunkedReader) crlf() error {
	line, err := c.line()
	if err != nil || line != "" {
		return fmt.Errorf("chunk %d: want CRLF after the data, got %q: %w", c.n, clip.Word(line), ErrChunked)
	}
	return nil
}
