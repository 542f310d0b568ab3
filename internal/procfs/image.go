package procfs

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"syscall"
)

// bigBufs holds read buffers for Cmdline and EnvValue: environments are
// usually a few KiB.
var bigBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// Cmdline reads /proc/<pid>/cmdline as an argument vector, e.g.
// Cmdline(4242) == []string{"sleep", "300"}. A zombie or a kernel thread
// has none (nil, nil). A vanished process gives an error satisfying
// errors.Is(err, ErrGone) (ENOENT); ESRCH, which the kernel returns for a
// process without an address space, gives (nil, nil).
func Cmdline(pid int32) ([]string, error) {
	bp := bigBufs.Get().(*[]byte)
	defer bigBufs.Put(bp)
	var pathBuf [32]byte
	path := appendProcPath(pathBuf[:0], pid, "cmdline")
	b, err := readSmall(path, *bp, false)
	if errors.Is(err, syscall.ESRCH) {
		return nil, nil // no address space: a zombie, or exiting
	}
	if err != nil {
		return nil, gone(&os.PathError{Op: "read", Path: string(path), Err: err})
	}
	return SplitNul(b), nil
}

// SplitNul splits NUL-terminated strings, as in /proc/<pid>/cmdline:
// SplitNul([]byte("a\x00b\x00")) == []string{"a", "b"}. A missing final
// NUL is tolerated; empty input gives nil.
func SplitNul(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	n := bytes.Count(b, []byte{0}) + 1
	out := make([]string, 0, n)
	for {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return append(out, string(b))
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
}

// EnvValue reads /proc/<pid>/environ, the environment the process was
// started with, and returns the value of key (the last one, as os/exec
// keeps the last of duplicates; "" if absent) and the number of non-empty
// entries. entries == 0 means the environment is empty or unreadable as
// such: a zombie's, a kernel thread's, or one caught while its address
// space is being replaced (ESRCH, which some kernels return for those,
// also gives entries == 0 and no error). A vanished process gives an error
// satisfying errors.Is(err, ErrGone).
//
//	v, n, err := EnvValue(4242, "LEAKGATE_RUN")
func EnvValue(pid int32, key string) (value string, entries int, err error) {
	bp := bigBufs.Get().(*[]byte)
	defer bigBufs.Put(bp)
	var pathBuf [32]byte
	path := appendProcPath(pathBuf[:0], pid, "environ")
	b, err := readSmall(path, *bp, false)
	if errors.Is(err, syscall.ESRCH) {
		return "", 0, nil // no address space: a zombie, or exiting
	}
	if err != nil {
		return "", 0, gone(&os.PathError{Op: "read", Path: string(path), Err: err})
	}
	var found []byte
	for len(b) > 0 {
		var kv []byte
		if i := bytes.IndexByte(b, 0); i >= 0 {
			kv, b = b[:i], b[i+1:]
		} else {
			kv, b = b, nil
		}
		if len(kv) == 0 {
			continue
		}
		entries++
		if len(kv) > len(key) && kv[len(key)] == '=' && string(kv[:len(key)]) == key {
			found = kv[len(key)+1:]
		}
	}
	return string(found), entries, nil
}
