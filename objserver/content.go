package objserver

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// content is a response body: bytes in memory (listings, error documents)
// or a section of a file (an object, or a range of it), which is streamed
// with a fixed buffer, so a 1 GiB object costs no more memory than a
// small one.
type content struct {
	data []byte      // the bytes, if r is nil
	r    io.ReaderAt // else n bytes of r from offset off
	off  int64
	n    int64
}

// bytesContent is b as a content.
func bytesContent(b []byte) content { return content{data: b, n: int64(len(b))} }

// section is the inclusive byte range from..to of c (c must be a file).
func (c content) section(from, to int64) content {
	return content{r: c.r, off: c.off + from, n: to - from + 1}
}

// reader reads c from its start.
func (c content) reader() io.Reader {
	if c.r == nil {
		return bytes.NewReader(c.data)
	}
	return io.NewSectionReader(c.r, c.off, c.n)
}

// MaxFaultBody bounds the object a fault that rewrites the body bytes
// (truncate, corrupt, slow, and reset and stall after > 0) may act on:
// such a fault needs the whole body in memory. A larger one answers 500
// and says so in the journal, as any fault that does not fit.
const MaxFaultBody = 256 << 20

// errTooBig is wrapped by load for a body over MaxFaultBody.
var errTooBig = errors.New("too big for a fault that rewrites the body")

// load returns c's bytes, reading a file section whole (at most
// MaxFaultBody bytes).
func (c content) load() ([]byte, error) {
	if c.r == nil {
		return c.data, nil
	}
	if c.n > MaxFaultBody {
		return nil, fmt.Errorf("%d bytes (the bound is %d): %w", c.n, MaxFaultBody, errTooBig)
	}
	b := make([]byte, c.n)
	if _, err := io.ReadFull(c.reader(), b); err != nil {
		return nil, fmt.Errorf("read the object: %w", err)
	}
	return b, nil
}

// errSource is wrapped by copyTo's error when reading the body's source
// failed (rather than writing to the client).
var errSource = errors.New("reading the object")

// copyTo writes c to w and returns the bytes written; a read error wraps
// errSource.
func (c content) copyTo(w io.Writer) (int64, error) {
	if c.r == nil {
		n, err := w.Write(c.data)
		return int64(n), err
	}
	return io.CopyBuffer(w, sourceReader{c.reader()}, make([]byte, 64<<10))
}

// sourceReader tags its reader's errors with errSource.
type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", errSource, err)
	}
	return n, err
}

// sums caches the MD5 of files by identity and version (device, inode,
// size, mtime), so the ranged GETs of a large object (the aws CLI sends
// one per 8 MiB) hash it once rather than once per range. At most
// maxSums files are remembered.
type sums struct {
	mu sync.Mutex
	m  map[fileVersion][]byte
}

const maxSums = 4096

type fileVersion struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

// of returns the MD5 of f, whose stat is st, reading it from the start
// (with ReadAt: f's offset is left alone).
func (s *sums) of(f *os.File, st os.FileInfo) ([]byte, error) {
	var k fileVersion
	sys, ok := st.Sys().(*syscall.Stat_t)
	if ok {
		k = fileVersion{dev: uint64(sys.Dev), ino: sys.Ino, size: st.Size(), mtime: st.ModTime()}
		s.mu.Lock()
		sum, hit := s.m[k]
		s.mu.Unlock()
		if hit {
			return sum, nil
		}
	}
	h := md5.New()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, st.Size()), make([]byte, 64<<10)); err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	sum := h.Sum(nil)
	if ok {
		s.mu.Lock()
		if s.m == nil || len(s.m) >= maxSums {
			s.m = map[fileVersion][]byte{}
		}
		s.m[k] = sum
		s.mu.Unlock()
	}
	return sum, nil
}
