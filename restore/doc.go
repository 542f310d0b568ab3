// Package restore is a Go port of Aptos backup-cli's epoch-ending restore
// (REFERENCE.md §5): metadata sync, planning, the ordered bounded concurrent
// preheat of manifests, and the in-order consume that verifies every ledger
// info against its manifest's waypoints.
//
//	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}
//	res, err := restore.Run(ctx, restore.Options{Adapter: a, Concurrency: 8})
//
// The subpackages are its parts: adapter (the CommandAdapter and the four
// child-cleanup policies), record (framing), ledger (ledger infos and
// waypoints), manifest (manifests, metadata, planning), stream (ordered
// bounded concurrency) and fixture (writes a synthetic backup).
//
// What matches the real program: every file read is one `open_for_read`
// child; preheats run through a stream with at most 2×C queued and C running,
// and yield in order; a preheat stores its error instead of failing; the
// first error the consumer sees aborts the restore and drops every in-flight
// reader, whose child is then treated by the adapter's cleanup policy.
//
// Where the port differs, deliberately: the record length is capped
// (record.DefaultMaxLen) where the real reader allocates whatever the prefix
// says; an optional read timeout (Options via adapter.Adapter.ReadTimeout,
// off by default as shipped) lets a stalled read end; and the target DB is
// not written yet (every ledger info is decoded and verified, then counted).
package restore
