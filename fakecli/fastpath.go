package fakecli

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendStdout copies the open file f to stdout with sendfile(2), writeChunk
// bytes per call, the kernel moving pages from the file to the pipe or file
// on fd 1 with no copy through this process: a healthy read's whole cost
// beyond start-up. The byte count and a broken pipe behave as for writeOut
// (a chunk is counted before its call and corrected after; EPIPE ends the
// process in diePipe). done reports whether the copy ran to its end; when
// the kernel refuses sendfile for this pair (EINVAL, ENOSYS: stdout a
// terminal or a socket on some kernels; EAGAIN: a non-blocking stdout) it
// returns done false with nothing lost, and the caller finishes the copy
// from f's offset with read and write.
//
//	if done, err := s.sendStdout(f); !done && err == nil { /* copy the rest */ }
func (s *session) sendStdout(f *os.File) (done bool, err error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return false, nil
	}
	var serr error
	cerr := sc.Read(func(fd uintptr) bool {
		for {
			s.count(writeChunk)
			n, err := unix.Sendfile(1, int(fd), nil, writeChunk)
			s.count(max(n, 0) - writeChunk)
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EPIPE):
				s.diePipe()
			case err != nil:
				serr = err
				return true
			case n == 0:
				done = true
				return true
			}
		}
	})
	if cerr != nil {
		return false, nil
	}
	if errors.Is(serr, syscall.EINVAL) || errors.Is(serr, syscall.ENOSYS) || errors.Is(serr, syscall.EAGAIN) {
		return false, nil
	}
	return done, serr
}
