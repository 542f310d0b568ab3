// Package backup is the Go port of backup-cli's epoch-ending backup
// controller (EpochEndingBackupController in
// storage/backup/backup-cli/src/backup_types/epoch_ending/backup.rs): it
// writes one epoch-ending backup through a CommandAdapter's write commands.
//
//	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup, WriteTimeout: 30 * time.Second}
//	res, err := backup.Run(ctx, backup.Options{Adapter: a, StartEpoch: 0, EndEpoch: 10, LedgerInfos: src})
//	// res.Manifest == "epoch_ending_0-.1a2b/epoch_ending.manifest", res.Metadata == "metadata/epoch_ending_0-9.meta"
//
// # The protocol, step by step
//
// As the real controller does, in this order, one step at a time:
//
//  1. create_backup with BACKUP_NAME "epoch_ending_<start>-.<4 hex>" (a
//     random suffix, so that a retry never reuses a name); its output is the
//     backup handle.
//  2. Read the ledger infos of epochs StartEpoch..EndEpoch−1 from
//     Options.LedgerInfos, a record stream (4-byte big-endian length, then
//     the bytes; docs/backup-cli.md#records) such as the backup service serves. Each
//     record is decoded; its epoch must be the next one expected; its
//     waypoint is computed. Records are gathered into a chunk until the next
//     one would make the chunk exceed MaxChunkSize bytes (backup-cli's
//     should_cut_chunk), then the chunk is written:
//  3. per chunk: create_for_write with BACKUP_HANDLE and FILE_NAME
//     "<first epoch>-.chunk", which prints the chunk's file handle; write
//     the chunk's bytes to its stdin; shut it down (close stdin, wait for
//     the command, check its exit status).
//  4. The manifest (JSON: first_epoch, last_epoch, waypoints, chunks) is
//     written the same way as "epoch_ending.manifest".
//  5. save_metadata_line with FILE_NAME "epoch_ending_<first>-<last>.meta"
//     and the one-line EpochEndingBackup entry naming the manifest's handle.
//  6. Options.MoveAside: metadata files to move aside with
//     backup_metadata_file once the new line is saved, as backup-cli's
//     metadata compaction does after saving the compacted files; like it,
//     a failed move does not fail the backup (Result.MoveAsideErrors).
//
// The writes are sequential, as in the real program, whose run_impl awaits
// each write_chunk (create_for_write, write_all, shutdown) inside its record
// loop, then write_manifest, then save_metadata_line: there is never more
// than one writer in flight, so a failure drops at most one child.
//
// # Failure
//
// The first error ends the backup. A writer whose step failed before its
// shutdown (a failed or timed-out write, a cancelled context) is dropped the
// way the real `?` drops its ChildStdinAsDataSink: Writer.Abort applies the
// adapter's Policy (see package adapter: under Drop a child blocked reading
// stdin sees EOF and may complete a truncated upload under the file's final
// name). A failed shutdown has already joined its child: nothing is left to
// drop. Every error is an *Error naming the backup, the file (name and
// handle) and the step. The metadata line is written only after every chunk
// and the manifest were shut down successfully, so a failed backup is never
// listed; what it did store (chunks, possibly a complete or truncated object
// under the failed file's name) stays in the store, referenced by nothing.
// Run returns the handles stored so far along with the error.
//
// Cancelling ctx aborts the writer in flight at once (from another
// goroutine, as dropping the real future would), so a blocked Write or
// shutdown returns, except under Abandon, which closes nothing: there only
// Adapter.WriteTimeout ends a Write blocked on a stalled child, or a
// shutdown waiting for an upload that never exits. The other
// commands see ctx only before they start (package adapter never kills a
// child behind the policy's back): a create_backup, save_metadata_line or
// backup_metadata_file that hangs, or a create_for_write that never prints
// its handle, is not interrupted.
//
// # Where the port differs
//
// Deliberately: the real tool has no write timeout and would wait forever
// on a stalled upload (adapter.Adapter.WriteTimeout, off by default as
// shipped); a ledger info stream that is empty, too short or too long is an
// error here (the real tool asserts and panics after writing its chunks);
// ChunkRecords can cut chunks by record count, for fixtures that need exact
// chunk shapes; the metadata versions come from the decoded ledger infos,
// which equal the waypoints' versions the real tool uses.
package backup
