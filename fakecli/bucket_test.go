package fakecli_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
)

func TestOpenBucket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		root, want string
	}{
		{"", "LEAKGATE_BUCKET is not set: bucket root must be an existing directory"},
		{file, "LEAKGATE_BUCKET=" + file + ": not a directory: bucket root must be an existing directory"},
		{filepath.Join(dir, "none"), "LEAKGATE_BUCKET=" + filepath.Join(dir, "none") + ": bucket root must be an existing directory: stat "},
	}
	for _, tt := range tests {
		_, err := fakecli.OpenBucket(tt.root)
		if !errors.Is(err, fakecli.ErrNoBucket) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("OpenBucket(%q) = %v, want ErrNoBucket with prefix %q", tt.root, err, tt.want)
		}
	}
	b, err := fakecli.OpenBucket(dir)
	if err != nil || b.Root() != dir {
		t.Fatalf("OpenBucket(%q) = %v, %v", dir, b, err)
	}
}

func TestBucketPath(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	for _, d := range []string{"b/e1/metadata", "inner"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"out":              outside,                           // folder pointing out
		"b/passwd":         "/etc/passwd",                     // object pointing out
		"dangling":         filepath.Join(outside, "nothing"), // points nowhere
		"in":               filepath.Join(root, "inner"),      // stays inside
		"b/e1/metadata/up": "../..",                           // relative, stays inside
		"b/e1/escape":      "../../..",                        // relative, leaves
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := fakecli.OpenBucket(root)
	if err != nil {
		t.Fatal(err)
	}
	good := []struct{ key, want string }{
		{"b/e1/metadata/x.meta", "b/e1/metadata/x.meta"},
		{"b/e1/new/dir/x.chunk", "b/e1/new/dir/x.chunk"},
		{"b//e1/./x", "b/e1/x"},
		{"", ""},
		{"in/x", "in/x"},
		{"b/e1/metadata/up/x", "b/e1/metadata/up/x"},
		{"b.1a2b/epoch_ending_0-/0-.chunk", "b.1a2b/epoch_ending_0-/0-.chunk"},
	}
	for _, tt := range good {
		got, err := b.Path(tt.key)
		want := filepath.Join(root, tt.want)
		if err != nil || got != want {
			t.Errorf("Path(%q) = %q, %v; want %q", tt.key, got, err, want)
		}
	}
	bad := []struct{ key, want string }{
		{"b/../../etc/passwd", `key "b/../../etc/passwd": ".." component: resolves outside the bucket root`},
		{"b/../x", `key "b/../x": ".." component`},
		{"..", `key "..": ".." component`},
		{"/etc/passwd", `key "/etc/passwd": absolute path: resolves outside the bucket root`},
		{"b/\x00", `key "b/\x00": NUL byte`},
		{"out/x", `key "out/x": ` + filepath.Join(root, "out") + " is " + outside + ": resolves outside the bucket root"},
		{"out", `key "out": `},
		{"b/passwd", `key "b/passwd": ` + filepath.Join(root, "b/passwd") + " is /etc/passwd: resolves outside the bucket root"},
		{"dangling", `key "dangling": resolves outside the bucket root: lstat `},
		{"b/e1/escape/new/x", `key "b/e1/escape/new/x": ` + filepath.Join(root, "b/e1/escape") + " is "},
	}
	for _, tt := range bad {
		_, err := b.Path(tt.key)
		if !errors.Is(err, fakecli.ErrEscape) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Path(%q) = %v, want ErrEscape with prefix %q", tt.key, err, tt.want)
		}
	}
}
