package journal_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/journal"
)

// FuzzRead reads arbitrary journal files: it never panics, and every
// refusal is a *LineError naming the file and a line that exists, in a
// bounded message; every invocation it returns has a line number.
//
// Seeds: testdata/fuzz/FuzzRead (run by plain go test).
func FuzzRead(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "journal.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		invs, err := journal.Read(path)
		lines := strings.Count(string(data), "\n") + 1
		if err != nil {
			var le *journal.LineError
			if !errors.As(err, &le) || le.Path != path || le.Line < 1 || le.Line > lines {
				t.Fatalf("error %v: want a *LineError at a line of %s (1..%d)", err, path, lines)
			}
			if len(err.Error()) > 1024 {
				t.Fatalf("error of %d bytes: %.200q", len(err.Error()), err)
			}
			return
		}
		for _, inv := range invs {
			if inv.Line < 1 || inv.Line > lines {
				t.Fatalf("invocation at line %d of a %d-line journal", inv.Line, lines)
			}
			_ = inv.String()
		}
	})
}
