package objserver

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/leakgate/leakgate/internal/clip"
	"github.com/leakgate/leakgate/internal/ownedtemp"
)

// ErrNoUpload is wrapped by the errors of multipart requests that name an
// upload id objserver did not hand out (or that was completed or aborted).
var ErrNoUpload = errors.New("no such multipart upload")

// ErrBadPart is wrapped when a completion lists a part that was not
// uploaded, or lists parts out of order.
var ErrBadPart = errors.New("invalid part list")

// uploads stages the parts of multipart uploads in a temporary folder of
// its own, outside the bucket, so listings never see them. The folder is
// made by the first upload, so a server that never sees one (or fails to
// start) leaves nothing behind; close removes it.
type uploads struct {
	mu     sync.Mutex
	dir    string             // "" until the first upload
	closed bool               // close ran: no more uploads
	m      map[string]*upload // by upload id
}

type upload struct {
	key   string
	parts map[int]string // part number → ETag
}

// errUploadsClosed is wrapped when an upload starts after the server closed.
var errUploadsClosed = errors.New("server closed")

// MaxOpenUploads bounds the multipart uploads open at once (created, not
// yet completed or aborted): a client that starts uploads and never ends
// them cannot fill the disk with staging folders or the server's memory.
const MaxOpenUploads = 1000

// ErrTooManyUploads is wrapped when an upload would exceed MaxOpenUploads
// (S3's SlowDown, 503).
var ErrTooManyUploads = errors.New("too many open multipart uploads")

// folder returns the staging folder, making it on first use.
func (u *uploads) folder() (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return "", fmt.Errorf("multipart staging folder: %w", errUploadsClosed)
	}
	if u.dir == "" {
		// Named after this process: a later server removes it if this one
		// was killed before it could (ownedtemp.RemoveStale).
		ownedtemp.RemoveStale("uploads")
		dir, err := ownedtemp.Mkdir("uploads")
		if err != nil {
			return "", fmt.Errorf("multipart staging folder: %w", err)
		}
		u.dir = dir
		u.m = map[string]*upload{}
	}
	return u.dir, nil
}

// close removes the staging folder, if one was made.
func (u *uploads) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = true
	if u.dir != "" {
		os.RemoveAll(u.dir)
	}
}

// create starts an upload for key and returns its id.
func (u *uploads) create(key string) (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	dir, err := u.folder()
	if err != nil {
		return "", err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if open := len(u.m); open >= MaxOpenUploads {
		return "", fmt.Errorf("%d uploads are open (complete or abort one first): %w", open, ErrTooManyUploads)
	}
	if err := os.Mkdir(filepath.Join(dir, id), 0o700); err != nil {
		return "", fmt.Errorf("upload %s: %w", clip.Word(id), err)
	}
	u.m[id] = &upload{key: key, parts: map[int]string{}}
	return id, nil
}

func (u *uploads) get(id, key string) (*upload, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	up, ok := u.m[id]
	if !ok || up.key != key {
		return nil, fmt.Errorf("upload id %q for key %q: %w", clip.Word(id), clip.Word(key), ErrNoUpload)
	}
	return up, nil
}

// part stores part number n (1..10000) of upload id from r; it returns
// the bytes stored and the part's ETag.
func (u *uploads) part(id, key string, n int, r io.Reader) (int64, string, error) {
	if n < 1 || n > 10000 {
		return 0, "", fmt.Errorf("part number %d out of range 1..10000: %w", n, ErrBadPart)
	}
	up, err := u.get(id, key)
	if err != nil {
		return 0, "", err
	}
	f, err := os.Create(filepath.Join(u.dir, id, strconv.Itoa(n)))
	if err != nil {
		return 0, "", err
	}
	sum := md5.New()
	size, err := io.Copy(io.MultiWriter(f, sum), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return size, "", fmt.Errorf("upload %s part %d: %w", clip.Word(id), n, err)
	}
	etag := quoted(sum)
	u.mu.Lock()
	up.parts[n] = etag
	u.mu.Unlock()
	return size, etag, nil
}

// assemble returns a reader over the listed parts of upload id, in order;
// the caller closes it, then calls finish. Parts must have been uploaded
// and be listed in ascending order.
func (u *uploads) assemble(id, key string, numbers []int) (io.ReadCloser, error) {
	up, err := u.get(id, key)
	if err != nil {
		return nil, err
	}
	if len(numbers) == 0 || len(numbers) > 10000 || !strictlyAscending(numbers) {
		return nil, fmt.Errorf("upload %s: %d parts: want 1 to 10000, each once, in ascending order: %w", clip.Word(id), len(numbers), ErrBadPart)
	}
	u.mu.Lock()
	for _, n := range numbers {
		if _, ok := up.parts[n]; !ok {
			u.mu.Unlock()
			return nil, fmt.Errorf("upload %s: part %d was not uploaded: %w", clip.Word(id), n, ErrBadPart)
		}
	}
	u.mu.Unlock()
	var files []*os.File
	var readers []io.Reader
	for _, n := range numbers {
		f, err := os.Open(filepath.Join(u.dir, id, strconv.Itoa(n)))
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, err
		}
		files = append(files, f)
		readers = append(readers, f)
	}
	return &multiFile{Reader: io.MultiReader(readers...), files: files}, nil
}

// finish forgets upload id and removes its parts (complete or abort).
func (u *uploads) finish(id, key string) error {
	if _, err := u.get(id, key); err != nil {
		return err
	}
	u.mu.Lock()
	delete(u.m, id)
	u.mu.Unlock()
	return os.RemoveAll(filepath.Join(u.dir, id))
}

type multiFile struct {
	io.Reader
	files []*os.File
}

func (m *multiFile) Close() error {
	var err error
	for _, f := range m.files {
		err = errors.Join(err, f.Close())
	}
	return err
}

// strictlyAscending reports whether every number is larger than the one
// before: a part listed twice would be opened (and stored) twice.
func strictlyAscending(numbers []int) bool {
	for i := 1; i < len(numbers); i++ {
		if numbers[i] <= numbers[i-1] {
			return false
		}
	}
	return true
}
