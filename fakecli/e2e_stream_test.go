package fakecli_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
)

// TestStreamedRead: a read no fault applies to is served from the file as
// it is read (see read in execute.go), and does exactly what the whole-object
// path did: the same bytes, the journal's byte count, the same errors for a
// missing object and a folder. The sizes straddle the 64 KiB write chunk.
func TestStreamedRead(t *testing.T) {
	t.Parallel()
	const chunk = 64 << 10
	tests := []struct {
		name   string
		size   int // -1: no object; -2: a folder at the key
		faults string
		code   int
		stderr string
	}{
		{name: "empty", size: 0},
		{name: "one byte", size: 1},
		{name: "one chunk", size: chunk},
		{name: "chunk plus one", size: chunk + 1},
		{name: "several chunks", size: 3*chunk + 17},
		{name: "1 MiB", size: 1 << 20},
		{name: "a fault on another object", size: 2*chunk + 5, faults: `exit code=4 on="*other*"`},
		{name: "missing", size: -1, code: 1, stderr: "fakecli: open_for_read: no such object: b/x.chunk\n"},
		{name: "folder", size: -2, code: 1, stderr: "fakecli: open_for_read: no such object: b/x.chunk\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			var want []byte
			switch tt.size {
			case -1:
			case -2:
				if err := os.MkdirAll(filepath.Join(w.root, "b", "x.chunk"), 0o755); err != nil {
					t.Fatal(err)
				}
			default:
				want = records(1, max(tt.size-4, 0), uint64(tt.size))[:tt.size]
				w.put("b/x.chunk", want)
			}
			env := []string{"FILE_HANDLE=b/x.chunk"}
			if tt.faults != "" {
				env = append(env, fakecli.EnvFaults+"="+tt.faults)
			}
			r := w.run(nil, env, "fakecli", "open_for_read")
			checkCode(t, "fakecli open_for_read", r, tt.code)
			if !bytes.Equal([]byte(r.stdout), want) {
				t.Errorf("stdout: %d bytes, want %d (%s)", len(r.stdout), len(want), firstDiff([]byte(r.stdout), want))
			}
			if r.stderr != tt.stderr {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
			}
			inv := w.last()
			if !inv.Ended || inv.Exit != tt.code || inv.Bytes != int64(len(want)) || inv.Fault != "" {
				t.Errorf("journal: %v; want exit %d, %d bytes, no fault", inv, tt.code, len(want))
			}
		})
	}
}

// firstDiff describes where got and want first differ.
func firstDiff(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at byte %d", i)
		}
	}
	return "one is a prefix of the other"
}
