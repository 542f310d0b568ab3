//! Metadata lines, the epoch-ending manifest and the plan: the JSON the Go
//! port reads, with the checks it makes, in the same order.
//!
//! ```ignore
//! let metas = parse_metadata(&text, "metadata/epoch_ending_0-9.meta")?;
//! let plan = plan_epoch_ending(metas)?;
//! let m = parse_manifest(&bytes, &plan[0].manifest)?;
//! ```

use serde::Deserialize;

use crate::ledger::check_waypoint;

/// One `EpochEndingBackup` metadata line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct BackupMeta {
    pub first_epoch: u64,
    pub last_epoch: u64,
    pub first_version: u64,
    pub last_version: u64,
    pub manifest: String,
}

/// One chunk of a manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Chunk {
    pub first_epoch: u64,
    pub last_epoch: u64,
    pub ledger_infos: String,
}

/// An epoch-ending manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub first_epoch: u64,
    pub last_epoch: u64,
    pub waypoints: Vec<String>,
    pub chunks: Vec<Chunk>,
}

/// Parses a metadata file: one externally tagged JSON object per line;
/// kinds other than EpochEndingBackup are skipped; a line that is not
/// such an object is an error naming source and line.
pub fn parse_metadata(text: &str, source: &str) -> Result<Vec<BackupMeta>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let err = |e: String| format!("{source}:{}: {e}", i + 1);
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| err(format!("invalid JSON: {e}")))?;
        if obj.len() != 1 {
            return Err(err(format!("invalid JSON: want an object with exactly one key (the metadata kind), got {} keys", obj.len())));
        }
        let v = match obj.get("EpochEndingBackup") {
            Some(v) => v,
            None => continue,
        };
        let m: BackupMeta =
            serde_json::from_value(v.clone()).map_err(|e| err(format!("EpochEndingBackup: invalid JSON: {e}")))?;
        if m.last_epoch < m.first_epoch || m.last_version < m.first_version {
            return Err(err(format!("EpochEndingBackup: invalid range: epochs {}..{}, versions {}..{}",
                m.first_epoch, m.last_epoch, m.first_version, m.last_version)));
        }
        out.push(m);
    }
    Ok(out)
}

/// Parses and verifies a manifest; errors name the handle.
pub fn parse_manifest(data: &[u8], handle: &str) -> Result<Manifest, String> {
    let m: Manifest = serde_json::from_slice(data).map_err(|e| format!("manifest {handle}: invalid JSON: {e}"))?;
    verify(&m).map_err(|e| format!("manifest {handle}: {e}"))?;
    Ok(m)
}

/// The manifest checks, in order: waypoint forms and count, at least one
/// chunk, continuous valid chunk ranges, the last chunk ends the manifest.
fn verify(m: &Manifest) -> Result<(), String> {
    for (i, w) in m.waypoints.iter().enumerate() {
        check_waypoint(w).map_err(|e| format!("waypoints[{i}]: {e}"))?;
    }
    let n = m.waypoints.len() as u64;
    if m.first_epoch > m.last_epoch || n == 0 || n - 1 != m.last_epoch - m.first_epoch {
        return Err(format!("number of waypoints ({n}) does not match epoch range {}..{}", m.first_epoch, m.last_epoch));
    }
    if m.chunks.is_empty() {
        return Err("no chunks".into());
    }
    let mut next = Some(m.first_epoch);
    for (i, c) in m.chunks.iter().enumerate() {
        if next != Some(c.first_epoch) {
            return Err(format!("chunks[{i}] (epochs {}..{}): chunk ranges not continuous: expected first epoch {next:?}",
                c.first_epoch, c.last_epoch));
        }
        if c.last_epoch < c.first_epoch {
            return Err(format!("chunks[{i}]: chunk range invalid: {}..{}", c.first_epoch, c.last_epoch));
        }
        next = c.last_epoch.checked_add(1);
    }
    let last = m.chunks[m.chunks.len() - 1].last_epoch;
    if last != m.last_epoch {
        return Err(format!("last epoch in chunks ({last}) does not match manifest last epoch ({})", m.last_epoch));
    }
    Ok(())
}

/// Picks backups covering epochs 0..=the highest last epoch: from epoch 0,
/// each step takes the backup starting there that reaches furthest.
/// (The Go port searches every chain; for backups that do not overlap, as
/// the fixtures write them, both pick the same.)
pub fn plan_epoch_ending(mut metas: Vec<BackupMeta>) -> Result<Vec<BackupMeta>, String> {
    metas.sort();
    metas.dedup();
    let goal = match metas.iter().map(|m| m.last_epoch).max() {
        Some(goal) => goal,
        None => return Err("no epoch-ending backup in metadata".into()),
    };
    let mut plan = Vec::new();
    let mut next = 0u64;
    loop {
        let best = metas.iter().filter(|m| m.first_epoch == next).max_by_key(|m| m.last_epoch);
        let m = match best {
            Some(m) => m,
            None => return Err(format!("epoch-ending backups leave a gap: no backup starts at epoch {next}")),
        };
        plan.push(m.clone());
        if m.last_epoch >= goal {
            return Ok(plan);
        }
        next = m.last_epoch + 1;
    }
}
