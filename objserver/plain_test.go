package objserver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestAccessURI(t *testing.T) {
	uri := AccessURI("oci")
	for _, c := range []struct {
		path, bucket, name string
		ok                 bool
	}{
		{uri + "/e1/x.chunk", "oci", "/e1/x.chunk", true},
		{uri + "e1/x.chunk", "oci", "e1/x.chunk", true},
		{uri, "oci", "", true},
		{strings.TrimSuffix(uri, "/"), "oci", "", true},
		{"/p/x/n/y/b//o/k", "", "", false},
		{"/b/e1/x.chunk", "", "", false},
		{"/p/x/n/y/c/b/o/k", "", "", false},
	} {
		bucket, name, ok := plainPath(c.path)
		if bucket != c.bucket || name != c.name || ok != c.ok {
			t.Errorf("plainPath(%q) = %q, %q, %v; want %q, %q, %v", c.path, bucket, name, ok, c.bucket, c.name, c.ok)
		}
	}
}

func TestPlainObjects(t *testing.T) {
	ts := serve(t, "")
	uri := AccessURI("oci")
	// helm-oci.yaml: curl -s -X PUT --data-binary "@-" "$ENDPOINT$ACCESS_URI/$SUB_DIR/$FILE_HANDLE"
	if resp, _ := ts.mustDo(t, "PUT", uri+"/e1/b.1a2b/0-.chunk", strings.NewReader("chunk")); resp.StatusCode != 200 {
		t.Fatalf("PUT: status %d", resp.StatusCode)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.root, "oci", "e1", "b.1a2b", "0-.chunk")); string(got) != "chunk" {
		t.Fatalf("stored %q", got)
	}
	resp, body := ts.mustDo(t, "GET", uri+"/e1/b.1a2b/0-.chunk", nil)
	if resp.StatusCode != 200 || string(body) != "chunk" || resp.Header.Get("Content-MD5") == "" {
		t.Errorf("GET: status %d, body %q, Content-MD5 %q", resp.StatusCode, body, resp.Header.Get("Content-MD5"))
	}
	resp, body = ts.mustDo(t, "GET", uri+"/e1/missing", nil)
	var e ociError
	if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != 404 || e.Code != "ObjectNotFound" {
		t.Errorf("GET missing: status %d, %s", resp.StatusCode, body)
	}
	if resp, _ := ts.mustDo(t, "POST", uri+"/e1/metadata_backup/x", strings.NewReader("moved")); resp.StatusCode != 200 {
		t.Errorf("POST: status %d", resp.StatusCode)
	}
	if resp, _ := ts.mustDo(t, "DELETE", uri+"/e1/metadata_backup/x", nil); resp.StatusCode != 204 {
		t.Errorf("DELETE: status %d", resp.StatusCode)
	}
	if resp, _ := ts.mustDo(t, "DELETE", uri+"/e1/metadata_backup/x", nil); resp.StatusCode != 404 {
		t.Errorf("DELETE of a missing object: status %d, want 404", resp.StatusCode)
	}
	if resp, _ := ts.mustDo(t, "PATCH", uri+"/e1/x", nil); resp.StatusCode != 405 {
		t.Errorf("PATCH: status %d, want 405", resp.StatusCode)
	}
}

func TestPlainList(t *testing.T) {
	ts := serve(t, "")
	for _, k := range []string{"oci/e1/metadata/a.meta", "oci/e1/metadata/b.meta", "oci/e1/b.1a2b/0-.chunk", "oci/e2/metadata/c.meta"} {
		ts.put(t, k, []byte(k))
	}
	names := func(query string) []string {
		t.Helper()
		resp, body := ts.mustDo(t, "GET", AccessURI("oci")+query, nil)
		var l ociListing
		if err := json.Unmarshal(body, &l); err != nil || resp.StatusCode != 200 {
			t.Fatalf("list %s: status %d, %v: %s", query, resp.StatusCode, err, body)
		}
		var out []string
		for _, o := range l.Objects {
			out = append(out, o.Name)
		}
		return out
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		// helm-oci.yaml: curl -s "$ENDPOINT$ACCESS_URI?prefix=/$SUB_DIR/metadata/"
		{"?prefix=/e1/metadata/", []string{"/e1/metadata/a.meta", "/e1/metadata/b.meta"}},
		{"?prefix=e1/metadata/", []string{"e1/metadata/a.meta", "e1/metadata/b.meta"}},
		{"?prefix=/e9/", nil},
		{"?prefix=e&limit=2", []string{"e1/b.1a2b/0-.chunk", "e1/metadata/a.meta"}},
		{"?prefix=e&start=e1/metadata/b.meta", []string{"e1/metadata/b.meta", "e2/metadata/c.meta"}},
	} {
		if got := names(c.query); !reflect.DeepEqual(got, c.want) {
			t.Errorf("list %s = %q, want %q", c.query, got, c.want)
		}
	}
	// What the config's python line makes of the names.
	var handles []string
	for _, n := range names("?prefix=/e1/metadata/") {
		handles = append(handles, strings.Join(strings.Split(n, "/")[2:], "/"))
	}
	if want := []string{"metadata/a.meta", "metadata/b.meta"}; !reflect.DeepEqual(handles, want) {
		t.Errorf("helm-oci's handles = %q, want %q", handles, want)
	}
}
