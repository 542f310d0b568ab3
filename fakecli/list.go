package fakecli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ListStyle is how a listing prints: like `aws s3 ls`, like `gsutil ls`, or
// the plain protocol's list_metadata_files.
type ListStyle int

// The listing styles.
const (
	// ListAWS prints sub-prefixes first, then objects, as `aws s3 ls`:
	//	                           PRE sub/
	//	2026-11-26 14:47:06       1234 name
	ListAWS ListStyle = iota + 1
	// ListGS prints one URL per line, Show + name, sub-prefixes with a
	// trailing slash, as `gsutil ls`: gs://b/e1/metadata/x.meta
	ListGS
	// ListPlain prints Show + name for objects only: metadata/x.meta
	ListPlain
	// ListAzure prints every object below Dir, recursively (a blob
	// container has no folders), by path relative to Dir in byte order, as
	// `azcopy ls` does:
	//	INFO: epoch_ending_0-9.meta;  Content Length: 1.21 KiB
	//	INFO: sub/inner.meta;  Content Length: 0.00 B
	ListAzure
	// ListS5 prints sub-prefixes first, then objects, as `s5cmd ls`
	// (modification time in UTC, the storage class and ETag columns empty):
	//	                                 DIR sub/
	//	2026/11/26 14:47:06             1234 name
	ListS5
)

// Listing says what an OpList command lists and how.
//
//	fakecli.Listing{Style: fakecli.ListAWS, Dir: "b/e1/metadata"}          // aws s3 ls s3://b/e1/metadata/
//	fakecli.Listing{Style: fakecli.ListAWS, Dir: "b/e1", Prefix: "meta"}   // aws s3 ls s3://b/e1/meta
type Listing struct {
	Style  ListStyle
	Dir    string // key of the folder listed; "" is the bucket root
	Prefix string // only names starting with this are listed
	Show   string // ListGS, ListPlain: printed before each name
	// Self, if not "", is printed (with a newline) when Dir is an object
	// rather than a folder: `gsutil ls gs://b/k` of an object prints its URL.
	Self      string
	Empty     string // stderr message (after the persona prefix) when nothing matched; "" prints none
	EmptyExit int    // exit status when nothing matched
}

// render lists l in bucket b. found is false when nothing matched (a missing
// folder is not an error).
func (l Listing) render(b *Bucket) (out []byte, found bool, err error) {
	dir, err := b.Path(l.Dir)
	if err != nil {
		return nil, false, err
	}
	if l.Style == ListAzure {
		return renderAzure(dir)
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case !st.IsDir():
		if l.Self != "" && l.Prefix == "" {
			return []byte(l.Self + "\n"), true, nil
		}
		return nil, false, nil
	}
	subs, objs, err := l.entries(dir)
	if err != nil {
		return nil, false, err
	}
	if l.Style == ListPlain {
		subs = nil // the plain protocol lists objects only
	}
	out, err = l.format(subs, objs)
	if err != nil {
		return nil, false, err
	}
	return out, len(subs)+len(objs) > 0, nil
}

// entries reads folder dir and returns its sub-folders and its objects
// whose names start with l.Prefix, in name order, uploads in progress
// (TempPrefix) left out.
//
//	subs, objs, err := l.entries(dir)
func (l Listing) entries(dir string) (subs, objs []fs.DirEntry, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, TempPrefix) || !strings.HasPrefix(name, l.Prefix) {
			continue
		}
		if e.IsDir() {
			subs = append(subs, e)
		} else {
			objs = append(objs, e)
		}
	}
	return subs, objs, nil
}

// format prints subs and objs in l's style (all but ListAzure).
//
//	out, err := l.format(subs, objs)
func (l Listing) format(subs, objs []fs.DirEntry) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch l.Style {
	case ListAWS:
		err = awsColumns.write(&buf, subs, objs)
	case ListS5:
		err = s5Columns.write(&buf, subs, objs)
	case ListGS:
		var names []string
		for _, e := range subs {
			names = append(names, e.Name()+"/")
		}
		for _, e := range objs {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			buf.WriteString(l.Show + n + "\n")
		}
	case ListPlain:
		for _, e := range objs {
			buf.WriteString(l.Show + e.Name() + "\n")
		}
	default:
		return nil, fmt.Errorf("listing %q: unknown style %d", l.Dir, l.Style)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// columns is a listing that prints a line per sub-prefix, then a line per
// object from its file info, as `aws s3 ls` and `s5cmd ls` do.
type columns struct {
	sub func(name string) string
	obj func(info fs.FileInfo, name string) string
}

// awsColumns are `aws s3 ls`'s lines (see ListAWS), times in local time.
var awsColumns = columns{
	sub: func(name string) string { return fmt.Sprintf("%30s %s/\n", "PRE", name) },
	obj: func(info fs.FileInfo, name string) string {
		return fmt.Sprintf("%s %10d %s\n", info.ModTime().In(time.Local).Format(time.DateTime), info.Size(), name)
	},
}

// s5Columns are `s5cmd ls`'s lines (see ListS5), times in UTC, the storage
// class and ETag columns empty.
var s5Columns = columns{
	sub: func(name string) string { return fmt.Sprintf("%19s %1s %-1s %12s %s\n", "", "", "", "DIR", name+"/") },
	obj: func(info fs.FileInfo, name string) string {
		return fmt.Sprintf("%19s %1s %-1s %12d %s\n", info.ModTime().UTC().Format("2006/01/02 15:04:05"), "", "", info.Size(), name)
	},
}

// write prints subs, then objs, to buf.
//
//	err := awsColumns.write(&buf, subs, objs)
func (c columns) write(buf *bytes.Buffer, subs, objs []fs.DirEntry) error {
	for _, e := range subs {
		buf.WriteString(c.sub(e.Name()))
	}
	for _, e := range objs {
		info, err := e.Info()
		if err != nil {
			return err
		}
		buf.WriteString(c.obj(info, e.Name()))
	}
	return nil
}

// renderAzure lists every object below dir, recursively, as `azcopy ls`.
// A missing dir, or one holding no object, lists nothing.
func renderAzure(dir string) (out []byte, found bool, err error) {
	type entry struct {
		rel  string
		size int64
	}
	var ents []entry
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), TempPrefix) {
			return nil
		}
		if p == dir {
			return fs.SkipAll // a blob, not a directory: azcopy ls of a blob URL is not imitated
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		ents = append(ents, entry{filepath.ToSlash(rel), info.Size()})
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].rel < ents[j].rel })
	var buf bytes.Buffer
	for _, e := range ents {
		fmt.Fprintf(&buf, "INFO: %s;  Content Length: %s\n", e.rel, azcopySize(e.size))
	}
	return buf.Bytes(), len(ents) > 0, nil
}

// azcopySize renders a size as azcopy does: two decimals and a binary unit,
// "10.00 B", "1.21 KiB".
func azcopySize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f, u := float64(n), 0
	for f/1024 >= 1 && u < len(units)-1 {
		f /= 1024
		u++
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + " " + units[u]
}
