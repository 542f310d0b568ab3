// Package bench holds leakgate's end-to-end benchmarks of the restore; it
// has no code of its own, only benchmarks, run by `make bench`:
//
//	go test -run '^$' -bench . ./bench
//
// BenchmarkRestore writes one fixture through the local config's write
// commands (fakecli), then restores it, in one run, with the local config
// (open_for_read: `exec fakecli open_for_read`), with a config identical
// but for `open_for_read: 'cat "$FOLDER/$FILE_HANDLE"'` over the same
// objects, and with one whose reader is testdata/gocopy, interleaved, and
// reports the throughput of each in MB/s of record bytes (10^6 bytes of
// ledger-info records, without their 4-byte length prefixes, per second of
// restore.Run), fakecli's ratio to cat (the median of the per-round
// ratios), the same ratio in CPU time (steadier on a loaded machine) and
// the peak RSS of the built bin/restore restoring the same fixture into a
// target DB (ru_maxrss, bytes).
//
// The Go floor: gocopy is a Go program that opens the object and sendfiles
// it to stdout, nothing else (no journal, no parsing, two imports). Its
// ratio to cat is the most any storage CLI written in Go can reach here:
// the gap to cat is the Go runtime's own start (its threads, signal
// handlers and heap set up before main), paid once per read. fakecli's
// ratio to gocopy is what fakecli's own work costs on top.
//
// With LEAKGATE_BENCH_JSON set (make bench) the figures are merged into
// that file as restore_throughput_ratio_vs_cat, restore_go_floor_ratio_vs_cat,
// restore_throughput_ratio_vs_go_floor, restore_mb_per_s,
// restore_cat_mb_per_s, restore_cpu_ratio_vs_cat and
// restore_peak_rss_bytes. It takes about a minute on a 2-core machine.
// LEAKGATE_BENCH_FAKECLI=path runs it with another fakecli binary, to
// compare two builds in the same conditions.
package bench
