// Command gocopy copies one file to stdout and does nothing else: the
// least a storage CLI written in Go can cost per read, the floor the
// benchmark holds fakecli against (bench's doc, "the Go floor"). It imports
// os and syscall only, journals nothing, parses nothing:
//
//	gocopy "$FOLDER/$FILE_HANDLE"
package main

import (
	"os"
	"syscall"
)

func main() {
	if len(os.Args) != 2 {
		os.Stderr.WriteString("usage: gocopy FILE\n")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		os.Stderr.WriteString("gocopy: " + err.Error() + "\n")
		os.Exit(1)
	}
	for {
		// Whole pages from the file to the pipe, as fakecli's healthy read.
		n, err := syscall.Sendfile(1, int(f.Fd()), nil, 64<<10)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			os.Stderr.WriteString("gocopy: sendfile: " + err.Error() + "\n")
			os.Exit(1)
		case n == 0:
			return
		}
	}
}
