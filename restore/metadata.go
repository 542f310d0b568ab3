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

	"github.com/leakgate/leakgate/restore/manifest"
	"github.com/leakgate/leakgate/restore/stream"
)

// tmpPrefix marks a metadata download in progress in the cache dir.
const tmpPrefix = ".download-"

// syncMetadata lists the metadata files, removes cached files no longer
// listed (and downloads a killed run left behind), downloads the ones not
// cached yet through the ordered bounded stream (temp file, then rename),
// and parses every listed file.
//
// A failed download is an error naming the file handle, returned before
// anything is parsed; the file is then absent from the cache (its temp file
// removed), so the next run downloads it again. A cached file that does not
// parse is removed for the same reason, and the error names it.
func (r *run) syncMetadata(ctx context.Context, dir string) ([]manifest.EpochEndingBackupMeta, error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "leakgate-metadata-")
		if err != nil {
			return nil, fmt.Errorf("temporary metadata cache dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata cache dir: %w", err)
	}
	handles, err := r.a.ListMetadataFiles(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]string{}
	for _, h := range handles {
		name := path.Base(h)
		if name == "." || name == "/" || strings.HasPrefix(name, tmpPrefix) {
			return nil, fmt.Errorf("metadata file handle %q: unusable file name", h)
		}
		if other, dup := byName[name]; dup && other != h {
			return nil, fmt.Errorf("metadata file handles %q and %q share the file name %q", other, h, name)
		}
		byName[name] = h
	}
	if err := removeStale(dir, byName); err != nil {
		return nil, err
	}

	var missing []string
	for name, h := range byName {
		if _, err := os.Stat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, h)
		} else if err != nil {
			return nil, fmt.Errorf("metadata cache: %w", err)
		}
	}
	slices.Sort(missing)
	tasks := make([]stream.Task[error], len(missing))
	for i, h := range missing {
		tasks[i] = func(ctx context.Context, g *stream.Gate) error {
			if err := r.download(ctx, g, h, dir); err != nil {
				return fmt.Errorf("download %s: %w", h, err)
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
			return nil, abort(r, s, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, abort(r, s, err)
	}
	s.Wait()

	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	var metas []manifest.EpochEndingBackupMeta
	for _, name := range names {
		p := filepath.Join(dir, name)
		m, err := parseMetadataFile(p)
		if err != nil {
			err = fmt.Errorf("metadata file %s: %w", byName[name], err)
			if rerr := os.Remove(p); rerr != nil {
				return nil, errors.Join(err, fmt.Errorf("remove it from the cache: %w", rerr))
			}
			return nil, fmt.Errorf("%w (removed from the cache: the next run downloads it again)", err)
		}
		metas = append(metas, m...)
	}
	return metas, nil
}

// removeStale deletes cached files (and leftover downloads) that the
// listing no longer names.
func removeStale(dir string, keep map[string]string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("metadata cache: %w", err)
	}
	for _, e := range entries {
		if _, ok := keep[e.Name()]; ok || e.IsDir() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remove stale metadata cache file: %w", err)
		}
	}
	return nil
}

// download copies one metadata file into dir via a temp file and a rename,
// so the cache never holds a partial file under its real name.
func (r *run) download(ctx context.Context, g *stream.Gate, handle, dir string) error {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("metadata cache: %w", err)
	}
	defer os.Remove(f.Name())
	err = r.withReader(ctx, g, handle, func(rd io.Reader) error {
		_, err := io.Copy(f, rd)
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

func parseMetadataFile(p string) ([]manifest.EpochEndingBackupMeta, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return manifest.ParseMetadata(f, p)
}
