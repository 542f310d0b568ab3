package gate

import (
	"errors"
	"os"
	"slices"
	"testing"
)

func TestParseStat(t *testing.T) {
	// Fields after comm: state(3) ppid(4) pgrp session tty tpgid flags(9)
	// minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
	// num_threads itrealvalue starttime(22) vsize …
	tail := " 4100 4242 4242 0 -1 4194564 1 0 0 0 0 0 0 0 20 0 1 0 98765 1000"
	for _, tc := range []struct {
		line string
		want procStat
		err  bool
	}{
		{line: "4242 (fakecli) S" + tail, want: procStat{State: 'S', PPid: 4100, Pgrp: 4242, Flags: 4194564, StartTicks: 98765}},
		{line: "4242 (a b) (c)) Z" + tail, want: procStat{State: 'Z', PPid: 4100, Pgrp: 4242, Flags: 4194564, StartTicks: 98765}},
		{line: "4242 (x) R 4100 1 1", err: true},
		{line: "4242 x S" + tail, err: true},
		{line: "4242 (x) S nope" + tail[5:], err: true},
	} {
		got, err := parseStat("/proc/4242/stat", []byte(tc.line))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, error %v", tc.line, got, err, tc.want, tc.err)
		}
	}
	if !(procStat{Flags: pfExiting, State: 'R'}).exiting() || (procStat{State: 'S'}).exiting() || !(procStat{State: 'Z'}).exiting() {
		t.Error("exiting() disagrees with PF_EXITING / state Z")
	}
}

func TestReadSelf(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil || st.State == 'Z' || st.exiting() || st.StartTicks == 0 {
		t.Fatalf("readStat(self) = %+v, %v", st, err)
	}
	fds, err := readFDs(os.Getpid())
	if err != nil || fds[0] == "" {
		t.Fatalf("readFDs(self) = %v, %v", fds, err)
	}
	kids, err := readChildren(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(kids, os.Getpid()) {
		t.Errorf("a process is its own child: %v", kids)
	}
	if _, err := readChildren(1 << 30); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("children of a missing pid: %v, want ErrNotExist", err)
	}
}
