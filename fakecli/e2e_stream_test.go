package fakecli_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/internal/rusage"
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

// TestUploadsAreStreamed: a 256 MiB upload (no fault, and a fault that
// does not rewrite it) is stored without holding it in memory: the
// pipeline's largest process stays far below its size. Before, fakecli
// read stdin whole (a `yes |` upload grew without bound).
func TestUploadsAreStreamed(t *testing.T) {
	t.Parallel()
	const size, bound = 256 << 20, 64 << 20
	w := newWorld(t)
	for i, spec := range []string{"", "exit code=3 after=all op=write", "stall after=1KiB for=1ms op=write"} {
		key := fmt.Sprintf("b/big%d", i)
		p := w.start([]string{"bash", "-c", fmt.Sprintf("head -c %d /dev/zero | aws s3 cp - s3://%s", size, key)}, []string{fakecli.EnvFaults + "=" + spec}, nil)
		r := p.finish(t)
		if r.code != 0 && !(strings.HasPrefix(spec, "exit") && r.code == 3) {
			t.Fatalf("%q: exit %d: %s", spec, r.code, r.stderr)
		}
		maxRSS := rusage.MaxRSS(p.cmd.ProcessState)
		limit := max(bound, rusage.Inherited()) // what bash inherited at exec from this process (internal/rusage)
		t.Logf("fault %q: largest process of the pipeline: %.1f MiB (limit %.1f MiB)", spec, float64(maxRSS)/(1<<20), float64(limit)/(1<<20))
		if maxRSS > limit {
			t.Errorf("fault %q: a process of the pipeline peaked at %d bytes storing %d: the upload was held in memory", spec, maxRSS, size)
		}
		if st, err := os.Stat(filepath.Join(w.root, filepath.FromSlash(key))); err != nil || st.Size() != size {
			t.Errorf("fault %q: stored %v, %v; want %d bytes", spec, st, err, size)
		}
		os.Remove(filepath.Join(w.root, filepath.FromSlash(key)))
	}
}

// TestFaultOnHugeObjectDoesNotFit: a fault that needs the whole object
// refuses one over MaxFaultObject (a sparse file) instead of reading it.
func TestFaultOnHugeObjectDoesNotFit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.put("b/huge", nil)
	if err := os.Truncate(filepath.Join(w.root, "b", "huge"), fakecli.MaxFaultObject+1); err != nil {
		t.Fatal(err)
	}
	r := w.run(nil, []string{fakecli.EnvFaults + "=truncate after=1"}, "aws", "s3", "cp", "s3://b/huge", "-")
	checkCode(t, "huge object", r, fakecli.ExitUsage)
	if !strings.Contains(r.stderr, `aws: fault "truncate after=1" does not fit object s3://b/huge: 268435457 bytes, over the 268435456 it can hold`) {
		t.Errorf("stderr %q", r.stderr)
	}
}
