package fakecli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/leakgate/leakgate/internal/clip"
)

// ErrEscape is wrapped by Bucket.Path when a key would resolve outside the
// bucket root: an absolute path, a ".." component, or a symlink (of the
// object or of an existing parent) pointing out.
var ErrEscape = errors.New("resolves outside the bucket root")

// ErrNoBucket is wrapped by OpenBucket when the root is unset or not a
// directory.
var ErrNoBucket = errors.New("bucket root must be an existing directory")

// Bucket is the folder fakecli serves objects from. Keys are slash-separated
// paths relative to it: "velor-backup/backup1/e1/metadata/x.meta".
//
//	b, err := fakecli.OpenBucket(os.Getenv(fakecli.EnvBucket))
//	p, err := b.Path("velor-backup/backup1/e1/metadata/x.meta")
type Bucket struct {
	root string // as given, made absolute
	real string // root with symlinks resolved
}

// OpenBucket checks that root is an existing directory and returns the
// bucket it holds. An empty root or one that is not a directory is an error
// wrapping ErrNoBucket.
//
//	b, err := fakecli.OpenBucket("/tmp/bucket")
func OpenBucket(root string) (*Bucket, error) {
	if root == "" {
		return nil, fmt.Errorf("%s is not set: %w", EnvBucket, ErrNoBucket)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", EnvBucket, root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w: %w", EnvBucket, root, ErrNoBucket, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s=%s: not a directory: %w", EnvBucket, root, ErrNoBucket)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", EnvBucket, root, err)
	}
	return &Bucket{root: abs, real: real}, nil
}

// Root returns the bucket's root folder (absolute).
//
//	fmt.Println(b.Root()) // /tmp/bucket
func (b *Bucket) Root() string { return b.root }

// Path returns the file path of key inside the bucket. key is slash-separated
// and relative; "" is the root itself, "." and empty components are ignored.
// It refuses, with an error wrapping ErrEscape, an absolute key, any ".."
// component, a NUL byte, and a key whose existing part (the object itself or
// its nearest existing parent) is a symlink resolving outside the root.
//
//	p, err := b.Path("b/e1/metadata/x.meta") // /tmp/bucket/b/e1/metadata/x.meta
//	_, err = b.Path("b/../../etc/passwd")     // error: key "b/../../etc/passwd": ".." component: resolves outside the bucket root
func (b *Bucket) Path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	clean := path.Clean("/" + key)[1:]
	p := filepath.Join(b.root, filepath.FromSlash(clean))
	// Resolve the deepest existing part; what does not exist yet will be
	// created under it.
	existing := p
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		// A dangling symlink: refuse rather than guess where it points.
		return "", fmt.Errorf("key %q: %w: %w", clip.Word(key), ErrEscape, err)
	}
	if !within(b.real, real) {
		return "", fmt.Errorf("key %q: %s is %s: %w", clip.Word(key), existing, real, ErrEscape)
	}
	return p, nil
}

// checkKey refuses keys that escape lexically.
func checkKey(key string) error {
	switch {
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("key %q: absolute path: %w", clip.Word(key), ErrEscape)
	case strings.ContainsRune(key, 0):
		return fmt.Errorf("key %q: NUL byte: %w", clip.Word(key), ErrEscape)
	}
	for _, c := range strings.Split(key, "/") {
		if c == ".." {
			return fmt.Errorf("key %q: \"..\" component: %w", clip.Word(key), ErrEscape)
		}
	}
	return nil
}

// within reports whether p is root or below it (both cleaned, absolute).
func within(root, p string) bool {
	if p == root {
		return true
	}
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// TempPrefix starts the names of the temporary files of fakecli's atomic
// writes (renamed to the object's name once complete); a listing skips
// them, and so must anything that counts a bucket's objects.
//
//	strings.HasPrefix(name, fakecli.TempPrefix) // an upload in progress
const TempPrefix = ".fakecli-tmp-"

// writeAtomic stores what r yields as the object at p: a temporary file in
// the same folder (parents created), then rename (or, if exclusive, a link
// that fails when p exists, so no existing object is ever replaced). It
// returns the bytes read from r. On error the temporary file is removed and
// no object is created. track, if not nil, is told the temporary file's name
// (and "" once it is gone) so a signal handler can remove it.
func writeAtomic(p string, r io.Reader, exclusive bool, track func(string)) (int64, error) {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(dir, TempPrefix+filepath.Base(p)+"-*")
	if err != nil {
		return 0, err
	}
	if track != nil {
		track(tmp.Name())
		defer track("")
	}
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if exclusive {
			if err = os.Link(tmp.Name(), p); err == nil {
				err = os.Remove(tmp.Name())
				return n, err
			}
		} else {
			err = os.Rename(tmp.Name(), p)
		}
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return n, err
}
