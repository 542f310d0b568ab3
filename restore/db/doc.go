// Package db is the restore's target DB: an embedded pebble store, the Go
// counterpart of the RocksDB an Aptos node keeps under --target-db-dir, holding
// the restored epoch-ending ledger infos and what a resumed restore needs.
//
//	d, err := db.Open("/var/lib/restore/db") // creates the dir if missing
//	if err != nil { … }                       // "open target DB /var/lib/restore/db: …"
//	defer d.Close()
//	err = d.PutManifest(db.Manifest{Handle: h, FirstEpoch: 0, LastEpoch: 9, LastWaypoint: wp}, recs)
//
// # Key layout
//
// Every key starts with a readable prefix; epochs are 8-byte big-endian
// integers, so a scan yields ledger infos and manifests in epoch order:
//
//	ledger_info/<epoch, 8 bytes BE>        the ledger info record, byte for byte as read
//	                                       from the chunk (BCS); with its version, the
//	                                       sha3-256 of these bytes is its waypoint
//	manifest/<first epoch, 8 bytes BE>     completion marker of one restored epoch-ending
//	                                       backup: JSON {"manifest","first_epoch","last_epoch",
//	                                       "first_version","last_version","last_waypoint"}
//	latest                                 JSON {"epoch","waypoint","manifest"}: the last
//	                                       restored epoch, its waypoint and its manifest
//
// FormatKey renders a key for people ("ledger_info/17", "manifest/8",
// "latest").
//
// # Invariants
//
// PutManifest writes one backup's ledger infos, its marker and the new latest
// in one pebble batch committed with Sync: a manifest is in the DB whole or not
// at all, whatever kills the process. It accepts only the manifest that
// continues the DB (first epoch 0 on an empty DB, latest+1 after), so the DB
// always holds epochs 0..latest, covered exactly by its markers. Check verifies
// that from a full scan.
//
// # A DB that cannot be written
//
// Pebble retries a failed flush forever and ends the process from inside a
// commit whose WAL write fails. So Open first writes, syncs and removes a
// 64 KiB probe file in the dir (a read-only mount, an immutable dir, a
// file-size limit or a full disk fail here), and returns early if pebble
// reports a failed background write before its Open returns; PutManifest
// refuses a batch unless twice its size and MinFree (8 MiB) are free on
// the file system, and turns a failed commit into an error. Each error
// wraps ErrNotWritable and names the dir; pebble's error log is cut after
// ten messages. After a failed commit the DB fails every write and Close
// leaves pebble as it is (its Close may not return); the batch is then in
// the DB whole or not at all, and a re-run resumes.
//
// # Closing
//
// A DB holds a handful of fds (the LOCK file, the WAL, the MANIFEST, the
// directory) and a few goroutines until Close; Close releases all of them and
// is safe to call twice. The LOCK makes a second Open of the same dir fail
// while the first is open, in this process or another; fds are close-on-exec,
// so children never inherit the lock.
//
// Dump and Keys read a whole DB for tests that compare two DBs key for key;
// Diff says how two dumps differ.
package db
