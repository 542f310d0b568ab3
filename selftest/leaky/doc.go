// Command leaky is the leak gate's self-test: a small program that leaks
// one thing on purpose, or, with -clean, does the same work and cleans up
// (its clean twin). `leakgate run` must flag every leaky mode and none of
// the clean ones.
//
//	leaky -mode zombie            # a child that exited, never waited for
//	leaky -mode orphan            # a stalled child left running at exit
//	leaky -mode escaped           # a stalled grandchild orphaned while leaky runs
//	leaky -mode pipe              # both ends of a pipe, never closed
//	leaky -mode file              # an open temporary file, never closed
//	leaky -mode socket            # a listening TCP socket, never closed
//	leaky -mode goroutine         # a goroutine blocked forever; reported to the gate
//	leaky -mode pipe -clean       # the clean twin of any mode
//
// Each mode prints what it leaked (or cleaned) on stdout, one line each, so
// a test can check that the gate names the right pid or fd:
//
//	leaky: zombie leaked pid=4242
//	leaky: pipe clean fd=7
//
// The fd modes and escaped hold still for -hold (default 1s) after leaking,
// before exiting: the gate sees a process's fds and its orphans only while
// it runs. Stalled children sleep at most -stall-cap (default 2m), so
// nothing outlives a lost cleanup for long.
//
// A goroutine cannot be seen from outside the process: the goroutine mode
// checks itself with gleak (a snapshot at start, then HaveLeaked polled for
// up to -hold) and reports a leak with selfreport.Report, which appends it to
// the file named by LEAKGATE_SELF_REPORT. It exits 0 either way.
//
// Exit status: 0 when it did what it was asked, 2 on a usage error, 1 when
// it could not (a failed fork, say).
package main
