//! CommandAdapter: every operation is one `bash -c` through
//! `tokio::process::Command`, with the parent's environment, then the
//! config's `env_vars`, then the operation's parameters.
//!
//! `open_for_read` returns [`ChildReader`], an `AsyncRead` over the child's
//! stdout. At EOF it joins the child (closes its stdin, waits) and a
//! non-zero exit status becomes a read error. What dropping it before EOF
//! does depends on the [`Variant`]:
//!
//! - `Shipped`: nothing of its own (backup-cli has no `Drop`): tokio drops
//!   the `Child`, which closes our pipe ends and queues a still-running
//!   child for background reaping. Nothing is killed.
//! - `AuditFix`: the audit's `Drop`, `let _ = child.kill();`. In tokio
//!   `Child::kill` is an `async fn`: the statement builds a future and drops
//!   it unpolled, so nothing is killed and the behaviour is `Shipped`'s.
//! - `KillOnDrop`: `Command::kill_on_drop(true)`: tokio SIGKILLs bash when
//!   the `Child` is dropped and reaps it in the background.
//! - `Group`: bash leads its own process group; `Drop` SIGKILLs the group,
//!   reaps bash and waits (bounded) until the group is gone.
//!
//! ```ignore
//! let a = Adapter { config, variant: Variant::Shipped, read_timeout: None };
//! let mut r = a.open_for_read("b.1a2b/0-.chunk")?;
//! let mut data = Vec::new();
//! r.read_to_end(&mut data).await?; // a non-zero exit is an error here
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::process::{Child, ChildStdout, Command};

use crate::config::Config;

/// Put before every command, as backup-cli does.
pub const SHELL_PREFIX: &str = "set -o nounset -o errexit -o pipefail; ";

/// How long `Group`'s drop waits for bash and its process group.
const GROUP_WAIT: Duration = Duration::from_secs(5);

/// What dropping a reader before EOF does to its child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Shipped,
    AuditFix,
    KillOnDrop,
    Group,
}

impl Variant {
    /// Every variant, in the order of the matrix's columns.
    pub const ALL: [Variant; 4] = [Variant::Shipped, Variant::AuditFix, Variant::KillOnDrop, Variant::Group];

    /// The flag value: "shipped", "audit-fix", "kill-on-drop", "group".
    pub fn name(self) -> &'static str {
        match self {
            Variant::Shipped => "shipped",
            Variant::AuditFix => "audit-fix",
            Variant::KillOnDrop => "kill-on-drop",
            Variant::Group => "group",
        }
    }

    /// Parses a flag value.
    pub fn parse(s: &str) -> Result<Variant, String> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("unknown variant {s:?} (known: shipped, audit-fix, kill-on-drop, group)"))
    }
}

/// Runs a config's commands.
#[derive(Debug, Clone)]
pub struct Adapter {
    pub config: Config,
    pub variant: Variant,
    /// Give up on a read that gets no data for this long (None: wait
    /// forever, as shipped).
    pub read_timeout: Option<Duration>,
}

impl Adapter {
    /// Builds `bash -c PREFIX+script` with the layered environment and
    /// piped stdin and stdout (stderr inherited).
    fn command(&self, script: &str, params: &[(&str, &str)]) -> Command {
        let mut std_cmd = std::process::Command::new("bash");
        std_cmd.arg("-c").arg(format!("{SHELL_PREFIX}{script}"));
        for v in &self.config.env_vars {
            std_cmd.env(&v.key, &v.value);
        }
        for (k, v) in params {
            std_cmd.env(k, v);
        }
        std_cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        if self.variant == Variant::Group {
            use std::os::unix::process::CommandExt;
            // SAFETY: setpgid is async-signal-safe. (CommandExt::process_group
            // needs Rust 1.64; Debian bookworm's rustc is 1.63.)
            unsafe {
                std_cmd.pre_exec(|| if libc::setpgid(0, 0) == 0 { Ok(()) } else { Err(io::Error::last_os_error()) });
            }
        }
        let mut cmd = Command::from(std_cmd);
        if self.variant == Variant::KillOnDrop {
            cmd.kill_on_drop(true);
        }
        cmd
    }

    /// Runs open_for_read with FILE_HANDLE=handle and returns a reader over
    /// the child's stdout.
    pub fn open_for_read(&self, handle: &str) -> Result<ChildReader, String> {
        let desc = format!("open_for_read FILE_HANDLE={handle:?}");
        let mut child = self
            .command(&self.config.commands.open_for_read, &[("FILE_HANDLE", handle)])
            .spawn()
            .map_err(|e| format!("{desc}: start bash: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let pid = child.id().unwrap_or(0) as i32;
        Ok(ChildReader {
            state: State::Reading { child, stdout },
            desc,
            variant: self.variant,
            pid,
            timeout: self.read_timeout,
            idle: None,
        })
    }

    /// Runs list_metadata_files to its end and returns its non-empty lines.
    pub async fn list_metadata_files(&self) -> Result<Vec<String>, String> {
        let desc = "list_metadata_files";
        let out = self
            .command(&self.config.commands.list_metadata_files, &[])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| format!("{desc}: {e}"))?;
        check_status(desc, out.status).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
    }
}

/// Turns a non-zero exit into an error naming the operation.
fn check_status(desc: &str, status: ExitStatus) -> io::Result<()> {
    if status.success() {
        return Ok(());
    }
    let how = match status.code() {
        Some(code) => format!("bash exited with status {code}"),
        None => {
            use std::os::unix::process::ExitStatusExt;
            format!("bash killed by signal {}", status.signal().unwrap_or(0))
        }
    };
    Err(io::Error::new(io::ErrorKind::Other, format!("{desc}: {how}")))
}

type JoinFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

enum State {
    Reading { child: Child, stdout: ChildStdout },
    Joining(JoinFuture),
    Done,
}

/// The reader open_for_read returns: the child's stdout until EOF, then the
/// child's exit status. See the module documentation for its drop.
pub struct ChildReader {
    state: State,
    desc: String,
    variant: Variant,
    pid: i32,
    timeout: Option<Duration>,
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl ChildReader {
    /// bash's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Fails the read once no data came for the read timeout.
    fn poll_timeout(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let limit = match self.timeout {
            Some(limit) => limit,
            None => return Poll::Pending,
        };
        let idle = self.idle.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match idle.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{}: read timeout: no data for {:?}", self.desc, limit),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for ChildReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Reading { stdout, .. } => {
                    let before = buf.filled().len();
                    match Pin::new(stdout).poll_read(cx, buf) {
                        Poll::Pending => return this.poll_timeout(cx),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(())) if buf.filled().len() > before || buf.remaining() == 0 => {
                            this.idle = None;
                            return Poll::Ready(Ok(()));
                        }
                        Poll::Ready(Ok(())) => {
                            // EOF: join the child.
                            if let State::Reading { child, stdout } = std::mem::replace(&mut this.state, State::Done) {
                                drop(stdout);
                                this.state = State::Joining(Box::pin(join(child, this.desc.clone())));
                            }
                        }
                    }
                }
                State::Joining(fut) => {
                    let res = futures::ready!(fut.as_mut().poll(cx));
                    this.state = State::Done;
                    return Poll::Ready(res);
                }
                State::Done => return Poll::Ready(Ok(())),
            }
        }
    }
}

/// Closes the child's stdin, waits for it and checks its exit status.
async fn join(mut child: Child, desc: String) -> io::Result<()> {
    drop(child.stdin.take());
    let status = child.wait().await?;
    check_status(&desc, status)
}

impl Drop for ChildReader {
    fn drop(&mut self) {
        let (child, stdout) = match std::mem::replace(&mut self.state, State::Done) {
            State::Reading { child, stdout } => (child, stdout),
            _ => return, // after EOF (or mid-join): nothing to clean up
        };
        match self.variant {
            // backup-cli has no Drop: the Child is dropped with us.
            // kill_on_drop is tokio's, set on the Command.
            Variant::Shipped | Variant::KillOnDrop => drop((child, stdout)),
            Variant::AuditFix => audit_fix_drop(Some(child)),
            Variant::Group => {
                drop(stdout);
                kill_group_and_reap(child, self.pid);
            }
        }
    }
}

/// The audit's recommended Drop, as written: `child.kill()` is tokio's
/// `async fn kill(&mut self)`; `let _ =` drops its future unpolled. rustc
/// says nothing (a `let _ =` binding silences `unused_must_use`; only
/// clippy's `let_underscore_future` would flag it).
fn audit_fix_drop(child: Option<Child>) {
    if let Some(mut child) = child {
        // Child wasn't properly joined via poll_read reaching EOF
        // Kill the process to prevent zombies
        let _ = child.kill();
    }
}

/// SIGKILLs bash's process group, reaps bash (try_wait, polled) and waits
/// until no process of the group is left, each bounded by GROUP_WAIT.
fn kill_group_and_reap(mut child: Child, pgid: i32) {
    if pgid > 0 {
        // SAFETY: plain syscall on a process group we created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    drop(child.stdin.take());
    let deadline = Instant::now() + GROUP_WAIT;
    let mut pause = Duration::from_micros(200);
    while Instant::now() < deadline {
        let bash_done = !matches!(child.try_wait(), Ok(None));
        // SAFETY: signal 0 only probes whether the group has members.
        let group_gone = pgid <= 0 || unsafe { libc::kill(-pgid, 0) } != 0;
        if bash_done && group_gone {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    eprintln!("tokio-restore: process group {pgid} still has members {:?} after SIGKILL", GROUP_WAIT);
}
