//! The seed audit's proof of concept under real tokio: 32 readers opened
//! through open_for_read and dropped unread, for every variant.
//!
//! Two children: one that writes a few KiB and exits (the audit's case:
//! does a zombie stay?), and one that stalls without writing (does the
//! variant kill it?). Each test prints its census; run with --nocapture.

use std::time::Duration;

use tokio_restore::adapter::{Adapter, Variant};
use tokio_restore::config::{Commands, Config};
use tokio_restore::poc::{kill_and_reap, observe, open_and_drop, Census};

const READERS: usize = 32;

fn adapter(open_for_read: &str, variant: Variant) -> Adapter {
    let config = Config {
        env_vars: vec![],
        commands: Commands {
            create_backup: "false".into(),
            create_for_write: "false".into(),
            open_for_read: open_for_read.into(),
            save_metadata_line: "false".into(),
            list_metadata_files: "false".into(),
            backup_metadata_file: None,
        },
    };
    Adapter { config, variant, read_timeout: None }
}

/// Runs the PoC for one variant and child, returning (right after the
/// drop, at the end, how long it took); kills what is left.
fn run(variant: Variant, script: &str, limit: Duration) -> (Census, Census, Duration) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let a = adapter(script, variant);
        let pids = open_and_drop(&a, "poc-file", READERS).expect("open 32 readers");
        let seen = observe(&pids, limit).await;
        kill_and_reap(&pids);
        println!("poc {:<12} {script:<40} after drop {:?}; after {:?}: {:?}", variant.name(), seen.0, seen.2, seen.1);
        seen
    })
}

/// The audit's object: a few KiB written into the pipe, then exit.
const WRITES_AND_EXITS: &str = "head -c 4096 /dev/zero";
/// A stalled download: writes nothing, never exits by itself.
const STALLS: &str = "exec sleep 30";

#[test]
fn a_child_that_exits_is_reaped_by_tokio_under_every_variant() {
    for v in Variant::ALL {
        let (_, last, took) = run(v, WRITES_AND_EXITS, Duration::from_secs(10));
        assert_eq!(last, Census { alive: 0, zombies: 0, gone: READERS }, "{}: tokio's orphan queue reaps every dropped child (after {took:?})", v.name());
    }
}

#[test]
fn a_stalled_child_survives_shipped_and_the_audit_fix() {
    for v in [Variant::Shipped, Variant::AuditFix] {
        let (first, last, _) = run(v, STALLS, Duration::from_secs(1));
        assert_eq!(first.alive, READERS, "{}: nothing kills a stalled child at drop", v.name());
        assert_eq!(last.alive, READERS, "{}: a second later all 32 are still alive", v.name());
    }
}

#[test]
fn a_stalled_child_is_killed_and_reaped_by_kill_on_drop_and_group() {
    for v in [Variant::KillOnDrop, Variant::Group] {
        let (_, last, took) = run(v, STALLS, Duration::from_secs(10));
        assert_eq!(last, Census { alive: 0, zombies: 0, gone: READERS }, "{}: killed and reaped (after {took:?})", v.name());
    }
    // group reaps inside drop: nothing is left the instant the drop returns.
    let (first, _, _) = run(Variant::Group, STALLS, Duration::from_secs(10));
    assert_eq!(first, Census { alive: 0, zombies: 0, gone: READERS }, "group: drop returns after the reap");
}
