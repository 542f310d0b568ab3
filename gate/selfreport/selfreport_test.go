package selfreport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "self.jsonl")
	t.Setenv(Env, "")
	if err := Report("goroutine", "x"); err != nil {
		t.Fatalf("unset: %v", err)
	}
	t.Setenv(Env, path)
	if err := Report("", "x"); !errors.Is(err, ErrNoKind) {
		t.Errorf("empty kind: %v, want ErrNoKind", err)
	}
	if err := Report("goroutine", "goroutine 21 [chan receive]\n  main.blockForever"); err != nil {
		t.Fatal(err)
	}
	if err := Report("cache", "3 entries"); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Leak{{Kind: "goroutine", Detail: "goroutine 21 [chan receive]\n  main.blockForever", Line: 1}, {Kind: "cache", Detail: "3 entries", Line: 2}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestReadSelfReport(t *testing.T) {
	dir := t.TempDir()
	if got, err := Read(filepath.Join(dir, "missing")); err != nil || got != nil {
		t.Errorf("missing file: %v, %v; want nothing", got, err)
	}
	path := filepath.Join(dir, "self.jsonl")
	os.WriteFile(path, []byte("{\"kind\":\"goroutine\",\"detail\":\"g\"}\n\nnot json\n{\"detail\":\"no kind\"}\n"), 0o644)
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d findings, want 3: %+v", len(got), got)
	}
	for i, tc := range []struct {
		kind, detail string
		line         int
	}{{"goroutine", "g", 1}, {"malformed", "self.jsonl:3: invalid character", 3}, {"malformed", "self.jsonl:4: no kind", 4}} {
		if got[i].Kind != tc.kind || !strings.Contains(got[i].Detail, tc.detail) || got[i].Line != tc.line {
			t.Errorf("finding %d = %+v, want kind %s, detail containing %q, line %d", i, got[i], tc.kind, tc.detail, tc.line)
		}
	}
	if s := got[0].String(); s != "goroutine (self-report line 1): g" {
		t.Errorf("String = %q", s)
	}
}
