//! The epoch-ending restore's read path (verify only): metadata sync, plan,
//! preheat every manifest through an ordered bounded stream, consume in
//! order. The first error drops the stream, and with it every reader in
//! flight: what each child then meets is the adapter's variant.
//!
//! The stream is `futures::stream::iter(preheats).buffered(2 * c)`, each
//! preheat holding one of `c` semaphore permits while it reads: at most
//! 2C results queued, at most C downloads running, results in input order,
//! and (as in backup-cli's `buffered_x(2C, C)`) nothing runs unless the
//! consumer polls the stream.
//!
//! ```ignore
//! let summary = run(&adapter, Options { concurrency: 8, metadata_cache_dir: None }).await?;
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use crate::adapter::Adapter;
use crate::ledger::{self, LedgerInfo};
use crate::manifest::{self, BackupMeta, Chunk, Manifest};
use crate::record::{RecordReader, DEFAULT_MAX_LEN};

/// What `run` needs besides the adapter.
pub struct Options {
    /// --concurrent-downloads.
    pub concurrency: usize,
    /// --metadata-cache-dir; None: a temporary folder, removed at the end.
    pub metadata_cache_dir: Option<PathBuf>,
}

/// What a successful restore verified.
#[derive(Debug, Default)]
pub struct Summary {
    pub manifests: usize,
    pub chunks: usize,
    pub ledger_infos: usize,
    pub last_epoch: u64,
    pub last_waypoint: String,
}

/// One manifest, read and verified by its preheat.
struct Preheated {
    meta: BackupMeta,
    manifest: Manifest,
    infos: usize,
    last: Option<(LedgerInfo, String)>,
}

/// Restores (verifies) the epoch-ending history the adapter's storage holds.
pub async fn run(a: &Adapter, opts: Options) -> Result<Summary, String> {
    let c = opts.concurrency.max(1);
    let sem = Arc::new(Semaphore::new(c));
    let metas = with_cache_dir(opts.metadata_cache_dir, |dir| sync_metadata(a, &sem, c, dir)).await
        .map_err(|e| format!("metadata sync: {e}"))?;
    let plan = manifest::plan_epoch_ending(metas).map_err(|e| format!("plan: {e}"))?;

    let preheats = plan.into_iter().map(|meta| {
        let sem = sem.clone();
        async move {
            let _permit = sem.acquire_owned().await.expect("semaphore never closed");
            preheat(a, meta).await
        }
    });
    let mut s = Box::pin(stream::iter(preheats).buffered(2 * c));
    let mut sum = Summary::default();
    let mut prev: Option<(u64, u64)> = None; // (last epoch, next block epoch)
    while let Some(p) = s.next().await {
        // The first error drops the stream: every future in it, and every
        // reader those futures hold, is dropped here.
        let p = p?;
        check_continuity(prev, &p)?;
        sum.manifests += 1;
        sum.chunks += p.manifest.chunks.len();
        sum.ledger_infos += p.infos;
        sum.last_epoch = p.manifest.last_epoch;
        if let Some((li, wp)) = &p.last {
            sum.last_waypoint = wp.clone();
            prev = Some((p.manifest.last_epoch, li.next_block_epoch()));
        }
    }
    Ok(sum)
}

/// Runs f with the given cache dir, or a temporary one removed afterwards.
async fn with_cache_dir<T, F, Fut>(dir: Option<PathBuf>, f: F) -> Result<T, String>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    if let Some(d) = dir {
        return f(d).await;
    }
    let tmp = std::env::temp_dir().join(format!("tokio-restore-metadata-{}", std::process::id()));
    let res = f(tmp.clone()).await;
    let _ = std::fs::remove_dir_all(&tmp);
    res
}

/// The first manifest starts at epoch 0; each next one continues the
/// previous one's last epoch and is the epoch its last ledger info hands
/// over to.
fn check_continuity(prev: Option<(u64, u64)>, p: &Preheated) -> Result<(), String> {
    let (h, first) = (&p.meta.manifest, p.manifest.first_epoch);
    match prev {
        None if first != 0 => Err(format!("manifest {h}: first epoch {first}, want 0")),
        Some((last, _)) if first != last + 1 => {
            Err(format!("manifest {h}: first epoch {first} does not continue the previous manifest (last epoch {last})"))
        }
        Some((_, next)) if first != next => Err(format!(
            "manifest {h}: previous epoch-ending ledger info is not the one expected: first epoch {first}, next block epoch {next}"
        )),
        _ => Ok(()),
    }
}

/// Reads a manifest, verifies it, then reads its chunks one after another.
async fn preheat(a: &Adapter, meta: BackupMeta) -> Result<Preheated, String> {
    let h = meta.manifest.clone();
    let mut data = Vec::new();
    let mut r = a.open_for_read(&h).map_err(|e| format!("manifest {h}: read manifest: {e}"))?;
    r.read_to_end(&mut data).await.map_err(|e| format!("manifest {h}: read manifest: {e}"))?;
    drop(r);
    let m = manifest::parse_manifest(&data, &h).map_err(|e| format!("manifest {h}: {e}"))?;
    if m.first_epoch != meta.first_epoch || m.last_epoch != meta.last_epoch {
        return Err(format!("manifest {h}: covers epochs {}..{}, metadata says {}..{}",
            m.first_epoch, m.last_epoch, meta.first_epoch, meta.last_epoch));
    }
    let mut p = Preheated { meta, manifest: m.clone(), infos: 0, last: None };
    let mut next = m.first_epoch;
    for ch in &m.chunks {
        read_chunk(a, &m, ch, &mut next, &mut p)
            .await
            .map_err(|e| format!("manifest {h}: chunk {}: {e}", ch.ledger_infos))?;
    }
    Ok(p)
}

/// Reads one chunk to EOF, decoding each record as it comes (a bad record
/// fails before EOF, dropping the reader), then checks the count and each
/// ledger info's epoch and waypoint against the manifest.
async fn read_chunk(a: &Adapter, m: &Manifest, ch: &Chunk, next: &mut u64, p: &mut Preheated) -> Result<(), String> {
    let reader = a.open_for_read(&ch.ledger_infos)?;
    let mut rr = RecordReader::new(reader, DEFAULT_MAX_LEN);
    let mut recs = Vec::new();
    while let Some(rec) = rr.next().await.map_err(|e| e.to_string())? {
        let li = ledger::decode(&rec).map_err(|e| format!("record {}: {e}", rr.count()))?;
        let wp = ledger::waypoint(li.version, &rec);
        recs.push((li, wp));
    }
    let got = recs.len() as u64;
    if got != ch.last_epoch - ch.first_epoch + 1 {
        return Err(format!(
            "number of items in chunk doesn't match that in manifest: first_epoch {}, last_epoch {}, items in chunk {got}",
            ch.first_epoch, ch.last_epoch
        ));
    }
    for (i, (li, wp)) in recs.into_iter().enumerate() {
        if li.epoch != *next {
            return Err(format!("record {}: ledger info epoch not expected: expected {next}, actual {}", i + 1, li.epoch));
        }
        let idx = (*next - m.first_epoch) as usize;
        let want = match m.waypoints.get(idx) {
            Some(w) => w,
            None => return Err(format!("record {}: more ledger infos than waypoints", i + 1)),
        };
        if *want != wp {
            return Err(format!("record {}: waypoints don't match. In manifest: {want}, In chunk: {wp}", i + 1));
        }
        *next += 1;
        p.infos += 1;
        p.last = Some((li, wp));
    }
    Ok(())
}

/// Lists the metadata files, drops stale cache entries, downloads the
/// missing ones (temp file, then rename) through the same bounded stream,
/// and parses every listed file.
async fn sync_metadata(a: &Adapter, sem: &Arc<Semaphore>, c: usize, dir: PathBuf) -> Result<Vec<BackupMeta>, String> {
    std::fs::create_dir_all(&dir).map_err(|e| format!("metadata cache dir {}: {e}", dir.display()))?;
    let handles = a.list_metadata_files().await?;
    let mut names = Vec::new();
    for h in &handles {
        let name = h.rsplit('/').next().unwrap_or("");
        if name.is_empty() || name.starts_with(".download-") {
            return Err(format!("metadata file handle {h:?}: unusable file name"));
        }
        names.push((name.to_string(), h.clone()));
    }
    remove_stale(&dir, &names)?;
    let missing: Vec<(String, String)> = names.iter().filter(|(n, _)| !dir.join(n).exists()).cloned().collect();
    let downloads = missing.into_iter().map(|(name, h)| {
        let (sem, dir) = (sem.clone(), dir.clone());
        async move {
            let _permit = sem.acquire_owned().await.expect("semaphore never closed");
            download(a, &h, &dir, &name).await.map_err(|e| format!("download {h}: {e}"))
        }
    });
    let mut s = Box::pin(stream::iter(downloads).buffered(2 * c));
    while let Some(res) = s.next().await {
        res?;
    }
    drop(s);
    names.sort();
    let mut metas = Vec::new();
    for (name, h) in &names {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("metadata file {h}: {e}"))?;
        match manifest::parse_metadata(&text, &path.display().to_string()) {
            Ok(m) => metas.extend(m),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(format!("metadata file {h}: {e} (removed from the cache: the next run downloads it again)"));
            }
        }
    }
    Ok(metas)
}

/// Deletes cache files the listing no longer names.
fn remove_stale(dir: &Path, keep: &[(String, String)]) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("metadata cache: {e}"))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() || keep.iter().any(|(n, _)| *n == name) {
            continue;
        }
        std::fs::remove_file(e.path()).map_err(|err| format!("remove stale metadata cache file {name}: {err}"))?;
    }
    Ok(())
}

/// Copies one metadata file into dir via a temp file and a rename.
async fn download(a: &Adapter, handle: &str, dir: &Path, name: &str) -> Result<(), String> {
    let tmp = dir.join(format!(".download-{name}-{}", std::process::id()));
    let mut r = a.open_for_read(handle)?;
    let mut data = Vec::new();
    let res = r.read_to_end(&mut data).await;
    drop(r);
    res.map_err(|e| e.to_string())?;
    std::fs::write(&tmp, &data).map_err(|e| format!("metadata cache: {e}"))?;
    std::fs::rename(&tmp, dir.join(name)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("metadata cache: {e}")
    })
}
