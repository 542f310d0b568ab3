//! The audit's proof of concept: open N readers through open_for_read and
//! drop them unread, then watch what becomes of their children.
//!
//! ```ignore
//! let pids = open_and_drop(&adapter, "handle", 32)?;
//! let seen = observe(&pids, Duration::from_secs(5)).await; // states over time
//! ```

use std::time::{Duration, Instant};

use crate::adapter::Adapter;

/// Opens n readers on handle (all before any is dropped), drops them all
/// unread, and returns their children's pids.
pub fn open_and_drop(a: &Adapter, handle: &str, n: usize) -> Result<Vec<i32>, String> {
    let mut readers = Vec::with_capacity(n);
    for i in 0..n {
        readers.push(a.open_for_read(handle).map_err(|e| format!("reader {i}: {e}"))?);
    }
    let pids = readers.iter().map(|r| r.pid()).collect();
    drop(readers);
    Ok(pids)
}

/// The state letter of pid ("R", "S", "Z", …) if it is still our child;
/// None once it is gone (reaped) or no longer ours.
pub fn child_state(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid …: comm may hold spaces; split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?.to_string();
    let ppid: u32 = f.next()?.parse().ok()?;
    (ppid == std::process::id()).then_some(state)
}

/// A census of pids: how many are in each state, and how many are gone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Census {
    pub alive: usize,
    pub zombies: usize,
    pub gone: usize,
}

impl Census {
    pub fn of(pids: &[i32]) -> Census {
        let mut c = Census::default();
        for p in pids {
            match child_state(*p).as_deref() {
                None => c.gone += 1,
                Some("Z") => c.zombies += 1,
                Some(_) => c.alive += 1,
            }
        }
        c
    }
}

/// Polls the census (the runtime keeps running meanwhile) until every pid
/// is gone or `limit` passed; returns the census right after the drop, the
/// last census and when it was taken.
pub async fn observe(pids: &[i32], limit: Duration) -> (Census, Census, Duration) {
    let start = Instant::now();
    let first = Census::of(pids);
    let mut last = first.clone();
    while last.gone < pids.len() && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(5)).await;
        last = Census::of(pids);
    }
    (first, last, start.elapsed())
}

/// SIGKILLs and reaps whatever of pids is still our child (a test's cleanup).
pub fn kill_and_reap(pids: &[i32]) {
    for p in pids {
        if child_state(*p).is_some() {
            // SAFETY: plain syscalls on our own children.
            unsafe {
                libc::kill(*p, libc::SIGKILL);
                libc::waitpid(*p, std::ptr::null_mut(), 0);
            }
        }
    }
}
