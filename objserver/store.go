package objserver

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/internal/clip"
)

// ErrNoObject is wrapped by the errors of requests for an object (or a
// folder where an object is wanted) that the bucket does not hold.
var ErrNoObject = errors.New("no such object")

// tempPrefix starts the names of objserver's temporary files of atomic
// writes; listings skip them, and fakecli's (".fakecli-tmp-").
const tempPrefix = ".objserver-tmp-"

// store is the bucket folder as objects: keys are slash-separated paths
// relative to the root, resolved by fakecli.Bucket (so objserver and
// fakecli serve one folder the same way and refuse the same escapes).
type store struct {
	bucket *fakecli.Bucket
	sums   sums
}

// object is one stored object, open for reading: it is streamed from its
// file, never held whole in memory unless a fault that rewrites its bytes
// applies (see content). The caller closes it.
type object struct {
	key     string
	file    *os.File
	size    int64
	modTime time.Time
	md5     []byte // the MD5 of its bytes
}

// etag is the object's S3 ETag: the quoted hex MD5 of its bytes.
func (o *object) etag() string { return `"` + hex.EncodeToString(o.md5) + `"` }

// content is the whole object, to send.
func (o *object) content() content { return content{r: o.file, n: o.size} }

func (o *object) Close() error { return o.file.Close() }

// check reports whether the object at key exists, without reading it: a
// missing object, or a folder, wraps ErrNoObject.
func (s *store) check(key string) error {
	p, err := s.bucket.Path(key)
	if err != nil {
		return err
	}
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && !st.Mode().IsRegular()):
		return fmt.Errorf("key %q: %w", clip.Word(key), ErrNoObject)
	case err != nil:
		return fmt.Errorf("key %q: %w", clip.Word(key), err)
	}
	return nil
}

// get opens the object at key and hashes it (a hash cached per file
// version, see sums). A missing object, or a folder, wraps ErrNoObject.
func (s *store) get(key string) (*object, error) {
	p, err := s.bucket.Path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key %q: %w", clip.Word(key), ErrNoObject)
	}
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", clip.Word(key), err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a file: %w", ErrNoObject)
	}
	var sum []byte
	if err == nil {
		sum, err = s.sums.of(f, st)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("key %q: %w", clip.Word(key), err)
	}
	return &object{key: key, file: f, size: st.Size(), modTime: st.ModTime(), md5: sum}, nil
}

// put stores what r yields as the object at key, atomically (a temporary
// file in the object's folder, parents created, then rename; an existing
// object is replaced). It returns the bytes stored and their ETag. check,
// if not nil, is given the MD5 of the bytes before the rename and may
// refuse them.
func (s *store) put(key string, r io.Reader, check func(sum []byte) error) (n int64, etag string, err error) {
	p, err := s.bucket.Path(key)
	if err != nil {
		return 0, "", err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return 0, "", fmt.Errorf("key %q: not an object name", clip.Word(key))
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, "", fmt.Errorf("key %q: %w", clip.Word(key), err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+filepath.Base(p)+"-*")
	if err != nil {
		return 0, "", fmt.Errorf("key %q: %w", clip.Word(key), err)
	}
	sum := md5.New()
	n, err = io.Copy(io.MultiWriter(tmp, sum), r)
	if err == nil {
		err = tmp.Chmod(0o644) // as a plain file would be; CreateTemp makes 0600
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && check != nil {
		err = check(sum.Sum(nil))
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return n, "", fmt.Errorf("key %q: store %d bytes: %w", clip.Word(key), n, err)
	}
	return n, quoted(sum), nil
}

func quoted(h hash.Hash) string { return `"` + hex.EncodeToString(h.Sum(nil)) + `"` }

// remove deletes the object at key; a missing object is not an error (S3
// answers 204 either way).
func (s *store) remove(key string) error {
	p, err := s.bucket.Path(key)
	if err != nil {
		return err
	}
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("key %q: %w", clip.Word(key), err)
	case st.IsDir():
		return fmt.Errorf("key %q: a folder: %w", clip.Word(key), ErrNoObject)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("key %q: %w", clip.Word(key), err)
	}
	return nil
}

// entry is one object of a listing.
type entry struct {
	key     string // relative to the listed root
	size    int64
	modTime time.Time
	path    string // file path, to hash it when an ETag is wanted
}

// list returns every object below the folder root (a key; "" is the
// bucket root) whose key relative to root starts with prefix, sorted by
// key (byte order, as S3 sorts). A missing root lists nothing; a root
// that is not a folder wraps ErrNoObject.
func (s *store) list(root, prefix string) ([]entry, error) {
	dir, err := s.bucket.Path(root)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("list %q: %w", clip.Word(root), err)
	case !st.IsDir():
		return nil, fmt.Errorf("list %q: not a folder: %w", clip.Word(root), ErrNoObject)
	}
	// Walk only the folders the prefix can reach: "e1/metadata/x" needs
	// e1/metadata only. That folder is resolved as a key, so a prefix
	// that climbs out ("../../etc/") or through a symlink pointing out is
	// refused (ErrEscape) like a key, never walked.
	start := dir
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		if start, err = s.bucket.Path(strings.TrimPrefix(root+"/"+prefix[:i], "/")); err != nil {
			return nil, fmt.Errorf("list %q prefix %s: %w", clip.Word(root), clip.Quote(prefix, 0), err)
		}
	}
	var out []entry
	err = filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		name := d.Name()
		if strings.HasPrefix(name, tempPrefix) || strings.HasPrefix(name, fakecli.TempPrefix) {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		out = append(out, entry{key: key, size: info.Size(), modTime: info.ModTime(), path: p})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q prefix %s: %w", clip.Word(root), clip.Quote(prefix, 0), err)
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	return out, nil
}

// etagOfFile is the ETag of the file at p, "" if it cannot be read.
func (s *store) etagOfFile(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	sum, err := s.sums.of(f, st)
	if err != nil {
		return ""
	}
	return `"` + hex.EncodeToString(sum) + `"`
}

// isDir reports whether p is an existing folder.
func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
