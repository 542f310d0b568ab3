// Package adapter is the Go port of backup-cli's CommandAdapter: it loads a
// CommandAdapter YAML config and runs its commands with bash, handing back
// a Reader over a child's stdout (open_for_read) or a Writer to a child's
// stdin (create_for_write), and it implements the four child-cleanup
// policies whose differences leakgate measures.
//
// # Running commands
//
// Every command runs as
//
//	bash -c "set -o nounset -o errexit -o pipefail; <command>"
//
// (bash looked up on PATH once) with the environment built from
// Adapter.Env (nil = os.Environ()), then the config's env_vars, then the
// call's parameters (BACKUP_NAME, BACKUP_HANDLE, FILE_NAME, FILE_HANDLE);
// later wins and each key appears once. stdin and stdout are pipes (stdin
// too for reads: the real adapter pipes it and keeps it open until the
// join); stderr is Adapter.Stderr, by default inherited. Our pipe ends are
// close-on-exec (os.Pipe), so of the two pipes a child holds only its own
// ends, as fds 0 and 1; every fd this package opens is close-on-exec, though
// fds the process itself inherited without it still pass through. A context
// passed to OpenForRead or CreateForWrite is checked before spawning only:
// cancelling it later never kills a Reader's or Writer's child behind the
// policy's back (exec.CommandContext is not used). The one-shot operations
// (ListMetadataFiles, CreateBackup, SaveMetadataLine, BackupMetadataFile,
// and CreateForWrite until its handle is read) watch their context while
// the command runs: cancelling it stops the command by the policy, as a
// dropped reader, and the error wraps ErrCancelled.
//
// # Bounds
//
// Every read of a command's output is bounded: list_metadata_files and
// backup_metadata_file may print Adapter.MaxOutput bytes (DefaultMaxOutput,
// 64 MiB), a printed handle MaxHandleLen (64 KiB), a config file
// MaxConfigLen (1 MiB). Past the bound the command is stopped by the
// policy and the error wraps ErrOutputTooLarge (a config: ErrConfig),
// naming the operation and the bound. Outside text in messages goes through
// Quote: Go-quoted and cut to 120 bytes.
//
// A child is "joined" the way tokio's Child::wait does it: close its stdin,
// wait for bash, close stdout. A Reader joins at EOF; a Writer's Close and
// the one-shot operations (CreateBackup, ListMetadataFiles,
// BackupMetadataFile, SaveMetadataLine) join when the command's stdout has
// ended. A non-zero exit is a *ExitError naming the operation, its
// parameters and the status.
//
// # Policies
//
// What happens when a Reader is closed before EOF, or a Writer is aborted
// before its shutdown (the restore's error path), depends on
// Adapter.Policy. docs/backup-cli.md#drop describes the real program; the
// audit that prompted this project overstates it in places (it expects a
// zombie per dropped reader and says killing bash is the fix;
// docs/backup-cli.md#audit).
//
//   - Drop (the zero value) is backup-cli as shipped, Rust/tokio semantics
//     of dropping a Child: our pipe ends (stdout read end, stdin write end)
//     are closed, nothing is killed, and a goroutine waits for bash (the
//     equivalent of tokio's orphan reaper queue). A child that was writing
//     gets SIGPIPE, exits, and is reaped soon after: a short-lived zombie. A
//     stalled child (a hung download that writes nothing) never exits: bash,
//     the storage CLI and gzip stay alive forever, holding their own fds and
//     sockets.
//   - Abandon is what a naive Go port does: nothing at all. Our pipe fds and
//     the os.Process's pidfd stay open until the garbage collector finalizes
//     the *os.File and *os.Process values (which may be never, in a short
//     run); nothing waits for bash, so once it exits it stays a zombie until
//     the parent process exits. A writing child blocks on the full pipe
//     (64 KiB) instead of getting SIGPIPE, because the read end stays open.
//     A Read blocked in another goroutine stays blocked.
//   - Kill is the audit's proposed fix (tokio's kill_on_drop plus a wait):
//     SIGKILL bash, close our pipe ends, reap bash before returning.
//     Grandchildren (the storage CLI and gzip of a pipeline) are not
//     touched: they are reparented to init (or the nearest subreaper) and
//     live on as long as they have nothing to write; a stalled download
//     lives forever.
//   - KillGroup is the fix of docs/backup-cli.md#fix. Every child starts in its own
//     process group (Setpgid, pgid = bash's pid). Closing SIGKILLs the whole
//     group (kill(-pgid)), closes our pipe ends, reaps bash, then polls
//     kill(-pgid, 0) with a short backoff until ESRCH; both waits together
//     are bounded by Adapter.WaitDelay (default 5s), after which Close
//     returns a *GroupError naming the pgid and what is left. So Close
//     returns only when everything the command started is gone. After a
//     normal EOF join (and a Writer's shutdown) whatever bash left in its
//     group (something it backgrounded) is killed and waited for the same
//     way. exec.Cmd.WaitDelay is set to the same bound, though with our own
//     *os.File pipes Go starts no copying goroutines for it to cut short.
//     Limits: a process that leaves the group (setsid, setpgid) escapes; a
//     process in uninterruptible sleep cannot be killed in time and is
//     reported.
//
// Orphaned grandchildren become zombies that only their new parent, init or
// the nearest subreaper (PR_SET_CHILD_SUBREAPER), can reap, and a zombie
// still counts as a group member. On this machine pid 1 reaps orphans about
// a second late (1–2s measured), so a KillGroup Close of a pipeline can take
// that long unless the process runs under a subreaper (leakgate's tests
// will, through harness.RunReaped).
//
// # When the parent dies
//
// The policies act when a Reader or Writer is closed, so they need the
// process to live long enough to close it: a process that is SIGKILLed runs
// no code, and every child it had in flight survives under every policy
// (bash, and a pipeline's storage CLI and gzip alike; a stalled one lives
// until its own end). Adapter.Pdeathsig narrows that: the kernel sends the
// signal to bash when the thread that started it exits, which in a Go
// program that never exits a locked OS thread means when the process dies,
// however it dies. It is cleared on fork and kept across exec, so it reaches
// bash and whatever bash execs (`exec fakecli …`: one process, which dies),
// but not bash's own children: the grandchildren of a pipeline are
// reparented and live on. Putting every child in its own process group
// changes nothing here, since no one is left to kill the group, and neither
// does making the process a child subreaper (PR_SET_CHILD_SUBREAPER), which
// only affects orphans while the subreaper lives. Killing the grandchildren
// too takes a process that outlives the parent: bin/restore's --guard.
//
// # Config
//
// LoadConfig and ParseConfig read the YAML with yaml.Node so that every
// error carries file:line:col. env_vars must be a sequence of {key, value}
// mappings; the upstream local_folder.sample.yaml, whose env_vars is a
// mapping, is rejected with an error naming env_vars, its position and what
// was expected. Every config error matches ErrConfig.
package adapter
