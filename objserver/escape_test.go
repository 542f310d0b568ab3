package objserver

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNoRouteEscapesTheRoot sends every route objserver has a key, a
// prefix, a bucket name or a copy source that points outside the bucket
// root (".." components, raw and percent-encoded, and symlinks out), and
// checks each is refused with a 4xx that names the key, that no response
// carries anything of the outside folder, and that the outside folder is
// unchanged.
func TestNoRouteEscapesTheRoot(t *testing.T) {
	ts := serve(t, "")
	outside := filepath.Join(filepath.Dir(ts.root), "outside")
	if err := os.MkdirAll(filepath.Join(outside, "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"secret.txt", "deep/secret2.txt"} {
		if err := os.WriteFile(filepath.Join(outside, name), []byte("SECRET-CONTENT"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts.put(t, "b/ok.chunk", []byte("inside"))
	for link, to := range map[string]string{"b/dlink": "../../outside", "b/flink": "../../outside/secret.txt", "dlink": "../outside"} {
		if err := os.Symlink(to, filepath.Join(ts.root, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	before := tree(t, outside)

	par := strings.TrimSuffix(AccessURI("b"), "/")
	parUp := "/p/leakgate/n/leakgate/b/../o"
	for _, c := range []struct {
		method, path string
		hdr          []string
	}{
		// Listings: the prefix's folder part resolves as a key.
		{"GET", "/b?list-type=2&prefix=../../outside/", nil},
		{"GET", "/b?list-type=2&prefix=../", nil},
		{"GET", "/b?list-type=2&prefix=" + url.QueryEscape("../../outside/deep/"), nil},
		{"GET", "/b?list-type=2&prefix=dlink/", nil},
		{"GET", "/b?list-type=2&prefix=dlink/deep/", nil},
		{"GET", "/b?list-type=2&prefix=x/../../../outside/&delimiter=/", nil},
		{"GET", "/..?list-type=2&prefix=outside/", nil},
		{"GET", "/dlink?list-type=2", nil},
		{"GET", par + "/?prefix=../../outside/", nil},
		{"GET", par + "/?prefix=/../../outside/", nil},
		{"GET", par + "/?prefix=dlink/", nil},
		{"GET", parUp + "/?prefix=outside/", nil},
		// Objects: read, head, write, delete, tagging.
		{"GET", "/b/../outside/secret.txt", nil},
		{"GET", "/b/%2e%2e/%2e%2e/outside/secret.txt", nil},
		{"GET", "/b/dlink/secret.txt", nil},
		{"GET", "/b/flink", nil},
		{"HEAD", "/b/flink", nil},
		{"GET", "/b/flink?tagging", nil},
		{"PUT", "/b/%2e%2e/%2e%2e/outside/new", nil},
		{"PUT", "/b/dlink/new", nil},
		{"DELETE", "/b/dlink/secret.txt", nil},
		{"DELETE", "/b/flink", nil},
		{"POST", "/b/dlink/new?uploads", nil},
		// Copies: the source and the target.
		{"PUT", "/b/copied", []string{"x-amz-copy-source", "/b/../../outside/secret.txt"}},
		{"PUT", "/b/copied", []string{"x-amz-copy-source", "/b/flink"}},
		{"PUT", "/b/dlink/copied", []string{"x-amz-copy-source", "/b/ok.chunk"}},
		{"PUT", "/b/copied?partNumber=1&uploadId=x", []string{"x-amz-copy-source", "/b/dlink/secret.txt"}},
		// Buckets.
		{"HEAD", "/..", nil},
		{"PUT", "/%2e%2e", nil},
		{"HEAD", "/dlink", nil},
		// The plain API.
		{"GET", par + "/../../../outside/secret.txt", nil},
		{"GET", par + "//dlink/secret.txt", nil},
		{"HEAD", par + "/flink", nil},
		{"PUT", par + "/dlink/new", nil},
		{"DELETE", par + "/flink", nil},
		{"GET", parUp + "/outside/secret.txt", nil},
	} {
		resp, body, err := ts.do(t, c.method, c.path, strings.NewReader(""), c.hdr...)
		if err != nil {
			t.Errorf("%s %s: %v", c.method, c.path, err)
			continue
		}
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s %s %v: status %d, want 4xx: %s", c.method, c.path, c.hdr, resp.StatusCode, body)
		}
		if bytes.Contains(body, []byte("SECRET")) || bytes.Contains(body, []byte("secret2")) {
			t.Errorf("%s %s: the response shows the outside folder: %s", c.method, c.path, body)
		}
		if resp.StatusCode == 400 && c.method != "HEAD" && !bytes.Contains(body, []byte("outside the bucket root")) {
			t.Errorf("%s %s: 400 without saying why: %s", c.method, c.path, body)
		}
	}
	// A listing of the whole bucket shows no symlinked object from outside.
	_, body := ts.mustDo(t, "GET", "/b?list-type=2", nil)
	if bytes.Contains(body, []byte("secret")) || bytes.Contains(body, []byte("flink")) {
		t.Errorf("full listing shows what symlinks point at: %s", body)
	}
	if after := tree(t, outside); !slices.Equal(before, after) {
		t.Errorf("outside folder changed: before %v, after %v", before, after)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "b", "copied")); err == nil {
		t.Errorf("a copy from outside the root was stored")
	}
}

// tree lists every file under dir with its contents.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out = append(out, p+"="+string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
