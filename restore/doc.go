// Package restore is a Go port of Aptos backup-cli's epoch-ending restore
// (docs/backup-cli.md#restore): metadata sync, planning, the ordered bounded concurrent
// preheat of manifests, and the in-order consume that verifies every ledger
// info against its manifest's waypoints.
//
//	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup}
//	res, err := restore.Run(ctx, restore.Options{Adapter: a, Concurrency: 8})
//
// The subpackages are its parts: adapter (the CommandAdapter and the four
// child-cleanup policies), record (framing), ledger (ledger infos and
// waypoints), manifest (manifests, metadata, planning), stream (ordered
// bounded concurrency), db (the target DB) and fixture (writes a synthetic
// backup).
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
// off by default as shipped) lets a stalled read end; and a resumed restore
// skips the manifests the target DB already holds (below).
//
// Every read of outside input is bounded: a manifest by
// Options.MaxManifestLen (DefaultMaxManifestLen, 16 MiB), a metadata file's
// download by Options.MaxMetadataLen (DefaultMaxMetadataLen, 64 MiB), all
// of them together by Options.MaxMetadataDownload (1 GiB), a
// chunk by its manifest's range (reading stops at the first record past
// it), the listing and handles by the adapter's bounds. A longer file is an
// error wrapping ErrTooLarge naming the file and the bound. Every number a
// metadata line claims is checked against the verified data before
// anything of its manifest is stored: its epochs against the manifest, its
// first and last versions against the first and last ledger infos.
//
// # Metadata cache
//
// Options.MetadataCacheDir is a folder the cache owns. It must be missing,
// empty, or one the cache made: the cache writes CacheMarker there, which
// records the name of every file it downloads (before the download, so a
// killed run still owns what it renamed into place). It deletes only the
// files its marker records that the listing no longer names, and its own
// temp downloads (".download-*"); it never touches another file. A folder
// with other files and no marker (the user's `.` or home) is refused with
// an error wrapping ErrCacheDir, and so is a listed name present in the
// cache that the marker does not record. An empty listing is
// ErrEmptyListing, a listing without an epoch-ending backup ErrNoBackups.
//
// # Target DB and resume
//
// With Options.TargetDBDir the consumer writes each manifest's verified
// ledger infos, after the continuity check, to a pebble DB (package db) in one
// batch committed with Sync, with a completion marker: a failed, cancelled or
// killed restore leaves whole manifests only. Re-running the restore into the
// same dir resumes: the planned manifests whose markers the DB holds (they
// must be the plan's first ones, same handle, epochs and versions, else
// ErrTargetMismatch) are skipped without being read, the DB's last ledger
// info is re-read and checked (it decodes, hashes to the recorded waypoint,
// ends its epoch), the first manifest read must continue it, and the run
// ends with a DB identical, key for key, to a clean restore's.
// Result.Skipped counts what was skipped.
//
//	res, err := restore.Run(ctx, restore.Options{Adapter: a, TargetDBDir: "/data/db"})
//	// after a failure in manifest 5: the DB holds manifests 0..4; the re-run
//	// skips them (res.Skipped == 5) and reads manifests 5.. only
//
// The real tool resumes differently. Its coordinator skips transaction
// backups the DB already holds (by the DB's next expected version), and an
// already restored state snapshot, but it hands every epoch-ending manifest
// to EpochHistoryRestoreController on every run: each is downloaded,
// verified and written again (save_ledger_infos overwrites), because the
// epoch history it builds in memory verifies what follows. The port restores
// only epoch-ending history, so it can skip what the DB holds: nothing
// already restored is downloaded again.
package restore
