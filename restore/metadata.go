package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/leakgate/leakgate/internal/ownedtemp"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/manifest"
	"github.com/leakgate/leakgate/restore/stream"
)

// tmpPrefix marks a metadata download in progress in the cache dir.
const tmpPrefix = ".download-"

// DefaultMaxMetadataLen bounds one metadata file's download when
// Options.MaxMetadataLen is 0: 64 MiB.
const DefaultMaxMetadataLen = 64 << 20

// DefaultMaxMetadataDownload bounds all of one run's metadata downloads
// together when Options.MaxMetadataDownload is 0: 1 GiB.
const DefaultMaxMetadataDownload = 1 << 30

// ErrEmptyListing is returned when list_metadata_files printed no handle.
var ErrEmptyListing = errors.New("list_metadata_files listed no metadata file")

// ErrTooLarge is wrapped by the error for a file (manifest, metadata file)
// longer than its bound; the error names the file, the bound and the
// setting that raises it.
var ErrTooLarge = errors.New("file exceeds its bound")

// syncMetadata runs the metadata sync's phases: open the cache dir (a temp
// dir if ""), list the metadata files, prune what the cache no longer
// needs, download the files not cached yet, and parse every listed file.
//
// A failed download is an error naming the file handle, returned before
// anything is parsed; the file is then absent from the cache (its temp file
// removed), so the next run downloads it again. A cached file that does not
// parse is removed for the same reason, and the error names it.
func (r *run) syncMetadata(ctx context.Context, dir string) ([]manifest.EpochEndingBackupMeta, error) {
	if dir == "" {
		// Named after this process, so that the next run removes it if
		// this one dies without doing so (SIGKILL, a second Ctrl-C).
		ownedtemp.RemoveStale("metadata")
		tmp, err := ownedtemp.Mkdir("metadata")
		if err != nil {
			return nil, fmt.Errorf("temporary metadata cache dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	c, err := openCache(dir)
	if err != nil {
		return nil, err
	}
	byName, err := r.listMetadata(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.prune(byName); err != nil {
		return nil, err
	}
	if err := r.downloadMissing(ctx, c, byName); err != nil {
		return nil, err
	}
	return parseCached(dir, byName)
}

// listMetadata runs list_metadata_files and maps each handle's file name
// (the cache's name for it) to the handle.
func (r *run) listMetadata(ctx context.Context) (map[string]string, error) {
	handles, err := r.a.ListMetadataFiles(ctx)
	if err != nil {
		return nil, err
	}
	if len(handles) == 0 {
		return nil, ErrEmptyListing
	}
	byName := map[string]string{}
	for _, h := range handles {
		name := path.Base(h)
		if name == "." || name == "/" || name == CacheMarker || strings.HasPrefix(name, tmpPrefix) {
			return nil, fmt.Errorf("metadata file handle %s: unusable file name", adapter.Quote(h))
		}
		if !utf8.ValidString(h) || strings.ContainsFunc(h, unicode.IsControl) {
			return nil, fmt.Errorf("metadata file handle %s: holds a control character or invalid UTF-8", adapter.Quote(h))
		}
		if other, dup := byName[name]; dup && other != h {
			return nil, fmt.Errorf("metadata file handles %s and %s share the file name %s", adapter.Quote(other), adapter.Quote(h), adapter.Quote(name))
		}
		byName[name] = h
	}
	return byName, nil
}

// downloadMissing downloads the listed files the cache lacks through the
// ordered bounded stream, after recording their names in the marker.
func (r *run) downloadMissing(ctx context.Context, c *cache, byName map[string]string) error {
	var missing, names []string
	for name, h := range byName {
		if _, err := os.Stat(filepath.Join(c.dir, name)); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, h)
			names = append(names, name)
		} else if err != nil {
			return fmt.Errorf("metadata cache: %w", err)
		}
	}
	if err := c.claim(names); err != nil {
		return err
	}
	slices.Sort(missing)
	tasks := make([]stream.Task[error], len(missing))
	for i, h := range missing {
		tasks[i] = func(ctx context.Context, g *stream.Gate) error {
			if err := r.download(ctx, g, h, c.dir); err != nil {
				return fmt.Errorf("download %s: %w", adapter.Quote(h), err)
			}
			return nil
		}
	}
	s := stream.NewOrdered(ctx, tasks, 2*r.c, r.c)
	for {
		err, ok := s.Next()
		if !ok {
			break
		}
		if err != nil {
			return abort(r, s, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return abort(r, s, err)
	}
	s.Wait()
	return nil
}

// parseCached parses every listed file in the cache, in name order. Every
// file that does not parse is removed (the next run downloads it again),
// not only the first, so that one resume fetches all of them afresh; the
// error names each.
func parseCached(dir string, byName map[string]string) ([]manifest.EpochEndingBackupMeta, error) {
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	var metas []manifest.EpochEndingBackupMeta
	var broken []error
	for _, name := range names {
		p := filepath.Join(dir, name)
		m, err := parseMetadataFile(p)
		if err == nil {
			metas = append(metas, m...)
			continue
		}
		err = fmt.Errorf("metadata file %s: %w", adapter.Quote(byName[name]), err)
		if rerr := os.Remove(p); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove it from the cache: %w", rerr))
		} else {
			err = fmt.Errorf("%w (removed from the cache: the next run downloads it again)", err)
		}
		broken = append(broken, err)
	}
	switch len(broken) {
	case 0:
		return metas, nil
	case 1:
		return nil, broken[0]
	}
	return nil, fmt.Errorf("%d metadata files do not parse: %w", len(broken), errors.Join(broken...))
}

// download copies one metadata file, at most r.maxMetadata bytes, into dir
// via a temp file and a rename, so the cache never holds a partial file
// under its real name.
func (r *run) download(ctx context.Context, g *stream.Gate, handle, dir string) error {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("metadata cache: %w", err)
	}
	defer os.Remove(f.Name())
	err = r.withReader(ctx, g, handle, func(rd io.Reader) error {
		n, err := io.Copy(budget{f, &r.downloadLeft}, io.LimitReader(rd, r.maxMetadata+1))
		switch {
		case errors.Is(err, errBudget):
			err = fmt.Errorf("metadata downloads: more than %s in all: %w (raise it with --max-metadata-download-bytes); stopped reading",
				adapter.FormatBytes(r.maxDownload), ErrTooLarge)
		case err == nil && n > r.maxMetadata:
			err = tooLarge("metadata file", handle, r.maxMetadata, "--max-metadata-file-bytes")
		}
		return err
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, path.Base(handle))); err != nil {
		return fmt.Errorf("metadata cache: %w", err)
	}
	return nil
}

// errBudget is budget's error once the shared budget is spent.
var errBudget = errors.New("download budget spent")

// budget is a writer that spends a shared byte budget: a write past it
// fails with errBudget and writes nothing.
type budget struct {
	w    io.Writer
	left *atomic.Int64
}

func (b budget) Write(p []byte) (int, error) {
	if b.left.Add(-int64(len(p))) < 0 {
		return 0, errBudget
	}
	return b.w.Write(p)
}

// tooLarge is the error for a file longer than its bound.
func tooLarge(what, handle string, limit int64, setting string) error {
	return fmt.Errorf("%s %s: longer than %s: %w (raise it with %s); stopped reading",
		what, adapter.Quote(handle), adapter.FormatBytes(limit), ErrTooLarge, setting)
}

func parseMetadataFile(p string) ([]manifest.EpochEndingBackupMeta, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return manifest.ParseMetadata(f, p)
}
