//! tokio-restore: leakgate's Rust/tokio test subject, a verify-only
//! epoch-ending restore taking bin/restore's flags.
//!
//!     tokio-restore bootstrap-db --command-adapter-config s3.yaml \
//!         --concurrent-downloads 8 [--metadata-cache-dir DIR] \
//!         [--read-timeout 3s] [--variant shipped|audit-fix|kill-on-drop|group] \
//!         [--linger 3s]
//!
//! --linger keeps the tokio runtime running up to that long after the
//! restore returned, before the process exits: the restore as a library
//! inside a long-lived process (as leakgate's in-process Go matrix runs its
//! port), so that tokio's background reaping of dropped children is
//! measured rather than cut short by the exit. It ends sooner once nothing
//! the restore started is left (no child, no other live process in the
//! process group: linger::linger) and says on stderr how long it lingered
//! and why ("lingered 412ms of 3s: nothing left"). The shipped CLI exits at
//! once (0).
//!
//! Exit status: 0 restored and verified, 1 the restore failed, 2 usage.
//!
//! The audit's proof of concept, for leakgate's audit-poc specs:
//!
//!     tokio-restore poc --command-adapter-config local.yaml --file-handle H \
//!         [--readers 32] [--variant shipped] [--linger 1s]
//!
//! opens the readers on H, drops them unread, watches their children for
//! --linger with the runtime running, and prints what it saw.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio_restore::adapter::{Adapter, Variant};
use tokio_restore::config::Config;
use tokio_restore::restore::{self, Options};

const USAGE: &str = "usage: tokio-restore bootstrap-db --command-adapter-config FILE [--concurrent-downloads N] \
[--metadata-cache-dir DIR] [--read-timeout DURATION] [--variant shipped|audit-fix|kill-on-drop|group] [--linger DURATION]";

struct Args {
    config: String,
    concurrency: usize,
    cache_dir: Option<PathBuf>,
    read_timeout: Option<Duration>,
    variant: Variant,
    linger: Option<Duration>,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("poc") {
        return poc_main(&argv[1..]);
    }
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tokio-restore: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tokio-restore: {e}");
            return ExitCode::from(2);
        }
    };
    let a = Adapter { config, variant: args.variant, read_timeout: args.read_timeout };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio-restore: start the tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let start = Instant::now();
    let opts = Options { concurrency: args.concurrency, metadata_cache_dir: args.cache_dir };
    let linger = args.linger;
    let res = rt.block_on(async {
        let res = restore::run(&a, opts).await;
        if let Some(d) = linger {
            let (took, why) = tokio_restore::linger::linger(d).await;
            eprintln!("tokio-restore: lingered {took:?} of {d:?}: {}", why.name());
        }
        res
    });
    match res {
        Ok(s) => {
            println!(
                "restored epochs 0..{}: {} manifests, {} chunks, {} ledger infos verified (last {}); verify only; variant {}; in {:?}",
                s.last_epoch, s.manifests, s.chunks, s.ledger_infos, s.last_waypoint, args.variant.name(), start.elapsed()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tokio-restore: restore: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    match argv.first().map(String::as_str) {
        Some("bootstrap-db") => {}
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("no command".into()),
    }
    let mut a = Args { config: String::new(), concurrency: 0, cache_dir: None, read_timeout: None, variant: Variant::Shipped, linger: None };
    let mut it = argv[1..].iter();
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| format!("{name}: missing value"));
        match name.trim_start_matches('-') {
            "command-adapter-config" => a.config = value()?,
            "concurrent-downloads" => {
                let v = value()?;
                a.concurrency = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| format!("{name}: want a number >= 1, got {v:?}"))?;
            }
            "metadata-cache-dir" => a.cache_dir = Some(PathBuf::from(value()?)),
            "read-timeout" => a.read_timeout = parse_duration(&value()?).map_err(|e| format!("{name}: {e}"))?,
            "variant" => a.variant = Variant::parse(&value()?)?,
            "linger" => a.linger = parse_duration(&value()?).map_err(|e| format!("{name}: {e}"))?,
            "target-db-dir" => return Err(format!("{name}: not supported: this subject verifies only and writes no DB")),
            _ => return Err(format!("unknown flag {flag:?}")),
        }
    }
    if a.config.is_empty() {
        return Err("--command-adapter-config is required".into());
    }
    if a.concurrency == 0 {
        a.concurrency = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    }
    Ok(a)
}

/// Parses "3s", "500ms", "2m" or "0" (no timeout).
fn parse_duration(s: &str) -> Result<Option<Duration>, String> {
    let bad = || format!("want a duration like 3s, 500ms or 2m, got {s:?}");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let d = match unit {
        "" if n == 0 => Duration::ZERO,
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(60 * n),
        _ => return Err(bad()),
    };
    Ok(if d.is_zero() { None } else { Some(d) })
}

/// The `poc` command: see the crate documentation.
fn poc_main(argv: &[String]) -> ExitCode {
    let (mut config, mut handle, mut readers, mut variant, mut linger) = (String::new(), String::new(), 32usize, Variant::Shipped, Duration::from_secs(1));
    let mut it = argv.iter();
    let parsed: Result<(), String> = (|| {
        while let Some(flag) = it.next() {
            let value = it.next().cloned().ok_or_else(|| format!("{flag}: missing value"))?;
            match flag.trim_start_matches('-') {
                "command-adapter-config" => config = value,
                "file-handle" => handle = value,
                "readers" => readers = value.parse().map_err(|_| format!("{flag}: want a number, got {value:?}"))?,
                "variant" => variant = Variant::parse(&value)?,
                "linger" => linger = parse_duration(&value)?.unwrap_or_default(),
                _ => return Err(format!("unknown flag {flag:?}")),
            }
        }
        if config.is_empty() || handle.is_empty() {
            return Err("poc: --command-adapter-config and --file-handle are required".into());
        }
        Ok(())
    })();
    if let Err(e) = parsed {
        eprintln!("tokio-restore: {e}");
        return ExitCode::from(2);
    }
    let cfg = match Config::load(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tokio-restore: {e}");
            return ExitCode::from(2);
        }
    };
    let a = Adapter { config: cfg, variant, read_timeout: None };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        let pids = match tokio_restore::poc::open_and_drop(&a, &handle, readers) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("tokio-restore: poc: {e}");
                return ExitCode::from(1);
            }
        };
        let (first, last, took) = tokio_restore::poc::observe(&pids, linger).await;
        println!(
            "poc: variant {}: {readers} readers dropped unread; right after the drop: {} alive, {} zombies, {} reaped; \
after {:?}: {} alive, {} zombies, {} reaped",
            variant.name(), first.alive, first.zombies, first.gone, took, last.alive, last.zombies, last.gone
        );
        ExitCode::SUCCESS
    })
}
