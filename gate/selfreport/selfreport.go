// Package selfreport lets a program run under `leakgate run` report leaks
// only it can see (goroutines, above all), and lets the gate read them back:
//
//	if leaked { err = selfreport.Report("goroutine", description) }
//
// A leaf package: it imports only the standard library, so a program that
// checks itself links nothing of leakgate's but this.
package selfreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Env is the environment variable naming the file where a command
// run under the gate reports leaks it found in itself, which the gate cannot
// see from outside (goroutines, above all). Run sets it for every command;
// Report writes to it. Defined here and nowhere else.
const Env = "LEAKGATE_SELF_REPORT"

// Leak is one leak a command reported about itself through
// Env: one JSON line {"kind": "goroutine", "detail": "…"}, read
// back as rep.SelfReported[i].
type Leak struct {
	Kind   string `json:"kind"`   // what leaked, e.g. "goroutine"; "malformed" for a line the gate could not read
	Detail string `json:"detail"` // the program's own description, possibly several lines
	Line   int    `json:"line"`   // 1-based line of the self-report file
}

// String renders the finding: "goroutine (self-report line 1): …".
func (l Leak) String() string {
	return fmt.Sprintf("%s (self-report line %d): %s", l.Kind, l.Line, l.Detail)
}

// ErrNoKind is returned by Report for an empty kind.
var ErrNoKind = errors.New("self-report: empty kind")

// Report appends a leak finding to the file named by Env, for
// a program run under `leakgate run` that checks itself (e.g. with gleak)
// before it exits:
//
//	if leaked { err = selfreport.Report("goroutine", description) }
//
// It does nothing and returns nil when Env is unset (the program
// is not under the gate). Each call is one write(2) of one line to a file
// opened with O_APPEND, so concurrent reporters do not interleave lines
// shorter than a page. Any program can do the same without this package.
func Report(kind, detail string) error {
	path := os.Getenv(Env)
	if path == "" {
		return nil
	}
	if kind == "" {
		return ErrNoKind
	}
	line, err := json.Marshal(Leak{Kind: kind, Detail: detail})
	if err != nil {
		return fmt.Errorf("self-report %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("self-report: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("self-report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("self-report %s: %w", path, err)
	}
	return nil
}

// Read reads a self-report file: leaks, err := selfreport.Read(path). A missing file holds no
// findings. A line that is not a JSON object with a non-empty kind becomes
// a finding of kind "malformed" naming the line: the program said something
// went wrong, and the gate will not guess what.
func Read(path string) ([]Leak, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read self-report: %w", err)
	}
	var out []Leak
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l Leak
		err := json.Unmarshal(line, &l)
		switch {
		case err != nil:
			l = Leak{Kind: "malformed", Detail: fmt.Sprintf("%s:%d: %v: %.200q", path, n, err, line)}
		case l.Kind == "":
			l = Leak{Kind: "malformed", Detail: fmt.Sprintf("%s:%d: no kind: %.200q", path, n, line)}
		}
		l.Line = n
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read self-report %s: %w", path, err)
	}
	return out, nil
}
