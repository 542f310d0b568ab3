package journal_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/journal"
)

func TestNextCallRefusesToWrap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	full := strconv.Itoa(math.MaxInt) + "\n"
	if err := os.WriteFile(path+".seq", []byte(strconv.Itoa(math.MaxInt-1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := journal.NextCall(path); n != math.MaxInt || err != nil {
		t.Fatalf("NextCall = %d, %v; want MaxInt", n, err)
	}
	n, err := journal.NextCall(path)
	if n != 0 || !errors.Is(err, journal.ErrCounterFull) || !strings.Contains(err.Error(), path+".seq: "+strconv.Itoa(math.MaxInt)) {
		t.Errorf("NextCall at MaxInt = %d, %v; want ErrCounterFull naming the counter", n, err)
	}
	if b, _ := os.ReadFile(path + ".seq"); string(b) != full {
		t.Errorf("counter file %q after a refusal, want it left at %q", b, full)
	}
}

func TestReadBoundsAndQuotes(t *testing.T) {
	dir := t.TempDir()
	good := `{"event":"start","pid":1,"start":"2026-01-01T00:00:00Z"}` + "\n"
	for _, c := range []struct {
		name, text string
		line       int
		want       string
		is         error
	}{
		{"line over MaxLine", good + `{"event":"start","argv":["` + strings.Repeat("a", journal.MaxLine) + `"]}` + "\n", 2,
			"invalid journal entry: line too long: over 16777216 bytes", journal.ErrLineTooLong},
		{"binary event", good + good + `{"event":"\u0000\u00ff` + strings.Repeat("x", 500) + `"}` + "\n", 3,
			`invalid journal entry: event "\x00ÿxxxxx`, journal.ErrEvent},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := journal.Read(path)
		var le *journal.LineError
		if !errors.As(err, &le) || le.Line != c.line || !errors.Is(err, c.is) || !strings.Contains(err.Error(), path+":"+strconv.Itoa(c.line)+": "+c.want) {
			t.Errorf("%s: Read = %v; want a LineError at line %d: %s", c.name, err, c.line, c.want)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("%s: the error is %d bytes long: %.200s…", c.name, len(err.Error()), err)
		}
	}
}
