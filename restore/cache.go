package restore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/leakgate/leakgate/restore/adapter"
)

// CacheMarker is the file that makes a folder a metadata cache: its first
// line is cacheMarkerHeader, each further line the name of a file the cache
// wrote (or is about to write) there. The cache deletes and overwrites only
// files it names, and its own temp downloads (tmpPrefix); it leaves every
// other file alone.
const CacheMarker = ".leakgate-metadata-cache"

// cacheMarkerHeader is the marker's first line.
const cacheMarkerHeader = "leakgate metadata cache v1"

// ErrCacheDir is wrapped by the error for a metadata cache dir the restore
// will not use: a folder that holds files it did not write and has no
// CacheMarker (the user's files: `--metadata-cache-dir .`), or one whose
// marker is not the cache's, or a cached name that the marker does not
// record.
var ErrCacheDir = errors.New("not a metadata cache dir")

// cache is a metadata cache dir and the names its marker records.
type cache struct {
	dir   string
	owned map[string]bool
}

// openCache makes dir a metadata cache: creates it (and the marker) if it
// is missing or empty, reads the marker if it has one, and refuses any
// other folder without touching it.
func openCache(dir string) (*cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata cache dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("metadata cache dir: %w", err)
	}
	c := &cache{dir: dir, owned: map[string]bool{}}
	if len(entries) == 0 {
		return c, c.save()
	}
	data, err := os.ReadFile(filepath.Join(dir, CacheMarker))
	if errors.Is(err, os.ErrNotExist) {
		var names []string
		for _, e := range entries[:min(3, len(entries))] {
			names = append(names, adapter.Quote(e.Name()))
		}
		return nil, fmt.Errorf("metadata cache dir %s: %w: it holds %d entries the cache did not write (%s…) and no %s; "+
			"the cache deletes files no longer listed, so it uses only an empty or new folder, or one it made",
			dir, ErrCacheDir, len(entries), strings.Join(names, ", "), CacheMarker)
	}
	if err != nil {
		return nil, fmt.Errorf("metadata cache dir: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	if !sc.Scan() || sc.Text() != cacheMarkerHeader {
		return nil, fmt.Errorf("metadata cache dir %s: %w: %s does not start with %q", dir, ErrCacheDir, CacheMarker, cacheMarkerHeader)
	}
	for sc.Scan() {
		if name := sc.Text(); name != "" {
			c.owned[name] = true
		}
	}
	return c, nil
}

// save rewrites the marker (temp file, then rename) with the names owned.
func (c *cache) save() error {
	names := make([]string, 0, len(c.owned))
	for name := range c.owned {
		names = append(names, name)
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.WriteString(cacheMarkerHeader + "\n")
	for _, n := range names {
		b.WriteString(n + "\n")
	}
	f, err := os.CreateTemp(c.dir, tmpPrefix+"marker-*")
	if err != nil {
		return fmt.Errorf("metadata cache marker: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(c.dir, CacheMarker))
	}
	if err != nil {
		return fmt.Errorf("metadata cache marker: %w", err)
	}
	return nil
}

// prune removes what the cache wrote and no longer needs: recorded files
// the listing (keep) no longer names, and temp downloads a killed run left.
// A listed name present but not recorded is a file the cache did not
// write: an error, and nothing is removed.
func (c *cache) prune(keep map[string]string) error {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("metadata cache: %w", err)
	}
	for _, e := range entries {
		if _, listed := keep[e.Name()]; listed && !c.owned[e.Name()] {
			return fmt.Errorf("metadata cache dir %s: %w: it holds %s, which the listing names but the cache did not write; "+
				"remove it or use another folder", c.dir, ErrCacheDir, adapter.Quote(e.Name()))
		}
	}
	for _, e := range entries {
		name := e.Name()
		_, listed := keep[name]
		stale := c.owned[name] && !listed
		if (stale || strings.HasPrefix(name, tmpPrefix)) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(c.dir, name)); err != nil {
				return fmt.Errorf("remove stale metadata cache file: %w", err)
			}
		}
	}
	for name := range c.owned {
		if _, listed := keep[name]; !listed {
			delete(c.owned, name)
		}
	}
	return c.save()
}

// claim records names in the marker before they are downloaded, so that a
// run killed after a rename still owns the file it renamed.
func (c *cache) claim(names []string) error {
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		c.owned[n] = true
	}
	return c.save()
}
