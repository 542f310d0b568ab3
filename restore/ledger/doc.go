// Package ledger decodes and encodes the records of epoch-ending chunks:
// ledger infos with signatures, in a strict subset of BCS, and the waypoints
// a manifest checks them against.
//
// The types are a simplified Aptos LedgerInfoWithSignatures: the same shape
// (an enum with one variant V0, a ledger info whose optional next epoch state
// lists validators, an aggregate signature), with hashes as fixed 32-byte
// arrays. Decoding is strict the way BCS is: every byte must be accounted
// for (a trailing extra byte is an error), bools and option tags are 0 or 1,
// ULEB128 lengths are canonical and fit in a u32, and a length is checked
// against the input left before anything is allocated, so a decode never
// allocates much more than its input. Errors name the field and the byte
// offset:
//
//	li, err := ledger.Decode(rec)
//	// err: "decode ledger info: variant at byte 0: ULEB128 value overflows u32 (more than 5 bytes)"
//	var de *ledger.DecodeError
//	errors.As(err, &de) // de.Field == "variant", de.Offset == 0; errors.Is(err, ledger.ErrOverflow)
//
// A waypoint is a version and the sha3-256 of the record's bytes, written
// "<version>:<64 lowercase hex digits>". (Aptos hashes the ledger info in a
// different way; for the restore port what matters is that a changed record
// changes its waypoint.)
//
//	wp := ledger.WaypointOf(li.Info.Version, rec)
//	want, err := ledger.ParseWaypoint("9999:0f3a…")
//	if wp != want { … "Waypoints don't match" … }
//
// Synthetic makes deterministic ledger infos of a chosen encoded size for
// fixtures and tests:
//
//	rec := ledger.Synthetic(3, 16<<10).Encode() // epoch 3, ≥ 16 KiB
package ledger
