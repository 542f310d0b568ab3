//! How long the runtime stays up once the restore has returned (--linger).
//!
//! ```ignore
//! let (took, why) = linger::linger(Duration::from_secs(3)).await;
//! ```

use std::time::{Duration, Instant};

/// Why a linger ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Nothing the restore started is left: no child of this process (the
    /// runtime reaped them all) and no other live process in its group.
    NothingLeft,
    /// The limit passed with something still there.
    Limit,
}

impl Ended {
    /// The word the subject prints: "nothing left" or "the limit".
    pub fn name(self) -> &'static str {
        match self {
            Ended::NothingLeft => "nothing left",
            Ended::Limit => "the limit",
        }
    }
}

/// Keeps the runtime running (tokio's reaping of dropped children
/// included) for at most `limit`, ending sooner once nothing the restore
/// started can change any more: no child of this process is left, zombie
/// or alive, and no other live process shares its process group (a
/// pipeline's aws or gzip whose bash a drop killed, still writing into a
/// pipe nobody reads). A stalled child keeps it to the limit. Returns how
/// long it lingered and why it ended. Run from a shell's process group (not
/// a group of its own), the group test never passes and it lingers the
/// whole limit, as it always did.
pub async fn linger(limit: Duration) -> (Duration, Ended) {
    let start = Instant::now();
    loop {
        if nothing_left() {
            return (start.elapsed(), Ended::NothingLeft);
        }
        if start.elapsed() >= limit {
            return (start.elapsed(), Ended::Limit);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether this process has no child and no other live process is in its
/// process group. An unreadable /proc says no: the linger then runs out.
pub fn nothing_left() -> bool {
    match (children(), group_alive()) {
        (Some(0), Some(0)) => true,
        _ => false,
    }
}

/// The number of children of every thread of this process (zombies
/// included: the kernel lists a child until it is reaped), from
/// /proc/self/task/*/children.
fn children() -> Option<usize> {
    let mut n = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("children");
        if let Ok(s) = std::fs::read_to_string(path) {
            n += s.split_whitespace().count();
        }
    }
    Some(n)
}

/// The number of live processes (not zombies) other than this one whose
/// process group is this process's, from every /proc/<pid>/stat.
fn group_alive() -> Option<usize> {
    // SAFETY: getpgrp and getpid cannot fail.
    let (me, group) = unsafe { (libc::getpid(), libc::getpgrp()) };
    let mut n = 0;
    for entry in std::fs::read_dir("/proc").ok()? {
        let name = entry.ok()?.file_name();
        let pid: i32 = match name.to_str().and_then(|s| s.parse().ok()) {
            Some(p) => p,
            None => continue,
        };
        if pid == me {
            continue;
        }
        if let Some((state, pgrp)) = state_and_group(pid) {
            if pgrp == group && state != 'Z' && state != 'X' {
                n += 1;
            }
        }
    }
    Some(n)
}

/// The state letter and process group of pid, from /proc/<pid>/stat; None
/// if it vanished.
fn state_and_group(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp …: comm may hold spaces; split after the last ')'.
    let mut f = stat.get(stat.rfind(')')? + 2..)?.split(' ');
    let state = f.next()?.chars().next()?;
    let _ppid = f.next()?;
    let pgrp = f.next()?.parse().ok()?;
    Some((state, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_stat() {
        let me = std::process::id() as i32;
        let (state, pgrp) = state_and_group(me).expect("own stat");
        assert!(state == 'R' || state == 'S', "state {state}");
        assert_eq!(pgrp, unsafe { libc::getpgrp() });
    }

    #[test]
    fn a_child_is_counted_until_reaped() {
        let before = children().expect("children");
        let mut c = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        assert_eq!(children(), Some(before + 1));
        assert!(!nothing_left(), "a live child is something left");
        c.kill().expect("kill");
        c.wait().expect("wait");
        assert_eq!(children(), Some(before));
    }
}
