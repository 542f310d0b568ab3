// Package manifest reads what an epoch-ending backup is made of: the
// metadata lines that list backups, the manifest of each backup, and the
// plan of which backups a restore needs (docs/backup-cli.md#manifests,
// #metadata-sync and #plan).
//
// Metadata files hold one externally tagged JSON object per line. Only
// epoch-ending entries are returned; other kinds are skipped; a line that is
// not JSON fails with its source and line number:
//
//	metas, err := manifest.ParseMetadata(f, "metadata/epoch_ending_0-9.meta")
//	// err: "metadata/epoch_ending_0-9.meta:3: invalid JSON: invalid character 'x' looking for beginning of value"
//	line, err := manifest.MetadataLine(meta) // for writers, newline included
//
// Planning picks a continuous chain of backups from epoch 0:
//
//	plan, err := manifest.PlanEpochEnding(metas, nil) // all epochs; or &target
//	// err: "epoch-ending backups leave a gap: epochs 10..19 are missing (no backup starts at epoch 10)"
//
// A manifest is decoded with serde's rules (unknown fields ignored, missing
// or mistyped ones rejected) and then verified with backup-cli's checks, in
// backup-cli's order, each with its own sentinel error:
//
//	m, err := manifest.ParseEpochEnding(data, handle)
//	// err: "manifest b.1a2b/epoch_ending.manifest: number of waypoints (9) does not match epoch range 0..9 (10 epochs)"
//	errors.Is(err, manifest.ErrWaypointCount) // true
//	wps, err := m.ParsedWaypoints()             // []ledger.Waypoint, one per epoch
package manifest
