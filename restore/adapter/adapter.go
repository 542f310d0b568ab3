package adapter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ShellPrefix is put before every command: the script bash runs is
// ShellPrefix + the config's command, as backup-cli does:
// exec.Command("bash", "-c", adapter.ShellPrefix+cfg.Commands.OpenForRead).
const ShellPrefix = "set -o nounset -o errexit -o pipefail; "

// DefaultWaitDelay is KillGroup's bound on waiting for a closed child and its
// process group when Adapter.WaitDelay is 0: 5s.
const DefaultWaitDelay = 5 * time.Second

// Parameter names passed to commands as environment variables
// (docs/backup-cli.md#operations), e.g. `aws s3 cp "s3://$BUCKET/$SUB_DIR/$FILE_HANDLE" -`.
const (
	// ParamBackupName is create_backup's BACKUP_NAME.
	ParamBackupName = "BACKUP_NAME"
	// ParamBackupHandle is create_for_write's BACKUP_HANDLE.
	ParamBackupHandle = "BACKUP_HANDLE"
	// ParamFileName is create_for_write's, save_metadata_line's and
	// backup_metadata_file's FILE_NAME.
	ParamFileName = "FILE_NAME"
	// ParamFileHandle is open_for_read's FILE_HANDLE.
	ParamFileHandle = "FILE_HANDLE"
)

// Operation names, as in the config's `commands:` keys, in Spawn.Op and in
// error messages: `open_for_read FILE_HANDLE="…": bash exited with status 3`.
const (
	// OpCreateBackup is create_backup (Adapter.CreateBackup).
	OpCreateBackup = "create_backup"
	// OpCreateForWrite is create_for_write (Adapter.CreateForWrite).
	OpCreateForWrite = "create_for_write"
	// OpOpenForRead is open_for_read (Adapter.OpenForRead).
	OpOpenForRead = "open_for_read"
	// OpSaveMetadataLine is save_metadata_line (Adapter.SaveMetadataLine).
	OpSaveMetadataLine = "save_metadata_line"
	// OpListMetadataFiles is list_metadata_files (Adapter.ListMetadataFiles).
	OpListMetadataFiles = "list_metadata_files"
	// OpBackupMetadataFile is backup_metadata_file (Adapter.BackupMetadataFile).
	OpBackupMetadataFile = "backup_metadata_file"
)

// Adapter runs a Config's commands with `bash -c`, the Go port of
// backup-cli's CommandAdapter. Config is required. Policy picks what closing
// a Reader early (or aborting a Writer) does; the zero value, Drop, is the
// shipped behaviour. Env is the base environment (nil = os.Environ() at each
// call); the config's env_vars and then the call's parameters are laid over
// it, later wins, one entry per key. ReadTimeout > 0 bounds each Read's wait
// for data (0 = none, as shipped); WriteTimeout > 0 is its twin for writers
// (create_for_write, save_metadata_line): how long a Write may wait for the
// child to take any byte, and how long Close waits for it to exit once its
// stdin is closed (0 = none, as shipped). WaitDelay bounds
// KillGroup's wait for bash and its process group on close (0 or negative =
// DefaultWaitDelay).
// Stderr receives the children's stderr (nil = os.Stderr, inherited as
// shipped). OnSpawn, if set, is called synchronously right after each child
// starts. Pdeathsig, if non-zero, is each bash's parent-death signal
// (PR_SET_PDEATHSIG; see "When the parent dies" in the package
// documentation): it reaches bash alone, never bash's own children. An
// Adapter is safe for concurrent use; do not change its fields while calls
// are running.
//
//	a := &adapter.Adapter{Config: cfg, Policy: adapter.KillGroup, WaitDelay: 2 * time.Second}
//	r, err := a.OpenForRead(ctx, "b.1a2b/0-.chunk")
//	a.Pdeathsig = syscall.SIGKILL // set before the first call: bash dies with us, even if we are SIGKILLed
type Adapter struct {
	Config       *Config
	Policy       Policy
	Env          []string
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	WaitDelay    time.Duration
	Stderr       *os.File
	OnSpawn      func(Spawn)
	Pdeathsig    syscall.Signal
	// MaxOutput bounds what list_metadata_files and backup_metadata_file
	// may print (0 = DefaultMaxOutput); MaxOutputSetting names the setting
	// that raises it in the error ("--max-listing-bytes"; "" = none).
	MaxOutput        int64
	MaxOutputSetting string
}

// Spawn describes one started child, passed to Adapter.OnSpawn: the
// operation, bash's pid, its process group (its own under KillGroup, else
// ours), the argv (`bash -c <script>`), the call's parameters and the start
// time. Record it at spawn: a zombie's /proc/<pid>/cmdline is empty.
//
//	a.OnSpawn = func(s adapter.Spawn) { log.Printf("%s pid %d pgid %d", s.Op, s.Pid, s.Pgid) }
type Spawn struct {
	Op      string
	Pid     int
	Pgid    int
	Args    []string
	Params  []EnvVar
	Started time.Time
}

// bashPath looks bash up on the process's PATH once, at first use.
var bashPath = sync.OnceValues(func() (string, error) { return exec.LookPath("bash") })

var shellSafe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{2,126}$`)

// checkName rejects a name that is not shell safe.
func checkName(op string, params []EnvVar, name string) error {
	if !shellSafe.MatchString(name) {
		return fmt.Errorf("%s: %q: %w (want ^[a-zA-Z0-9][a-zA-Z0-9._-]{2,126}$)", opDesc(op, params), name, ErrUnsafeName)
	}
	return nil
}

func (a *Adapter) waitDelay() time.Duration {
	if a.WaitDelay <= 0 {
		return DefaultWaitDelay
	}
	return a.WaitDelay
}

// environ builds the child's environment: base, then config env_vars, then
// params; exactly one entry per key, a later layer replacing an earlier
// entry in place.
func (a *Adapter) environ(params []EnvVar) []string {
	base := a.Env
	if base == nil {
		base = os.Environ()
	}
	return buildEnv(base, a.Config.EnvVars, params)
}

// buildEnv lays layers of variables over base ("K=V" strings); an entry
// without '=' is kept and keyed by its whole text.
func buildEnv(base []string, layers ...[]EnvVar) []string {
	n := len(base)
	for _, l := range layers {
		n += len(l)
	}
	out := make([]string, 0, n)
	index := make(map[string]int, n)
	set := func(key, entry string) {
		if i, ok := index[key]; ok {
			out[i] = entry
			return
		}
		index[key] = len(out)
		out = append(out, entry)
	}
	for _, kv := range base {
		key, _, _ := strings.Cut(kv, "=")
		set(key, kv)
	}
	for _, l := range layers {
		for _, v := range l {
			set(v.Key, v.Key+"="+v.Value)
		}
	}
	return out
}

// spawn starts `bash -c ShellPrefix+command` with piped stdin and stdout.
// ctx is consulted here only; the one-shot operations watch it afterwards
// (readOutput), a Reader or Writer does not.
func (a *Adapter) spawn(ctx context.Context, op, command string, params []EnvVar) (*child, error) {
	desc := opDesc(op, params)
	bash, err := a.preflight(ctx, desc)
	if err != nil {
		return nil, err
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%s: stdin pipe: %w", desc, err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		_, _ = stdinR.Close(), stdinW.Close()
		return nil, fmt.Errorf("%s: stdout pipe: %w", desc, err)
	}
	cmd := a.command(bash, command, params, stdinR, stdoutW)
	err = cmd.Start()
	// The child has its own copies now (or none, on error).
	_, _ = stdinR.Close(), stdoutW.Close()
	if err != nil {
		_, _ = stdinW.Close(), stdoutR.Close()
		return nil, fmt.Errorf("%s: start bash: %w", desc, err)
	}
	started := time.Now()
	pid := cmd.Process.Pid
	pgid := a.pgidOf(pid)
	c := &child{
		op:        op,
		params:    params,
		command:   command,
		policy:    a.Policy,
		waitDelay: a.waitDelay(),
		cmd:       cmd,
		pid:       pid,
		pgid:      pgid,
		stdin:     stdinW,
		stdout:    stdoutR,
		waitDone:  make(chan struct{}),
	}
	if a.OnSpawn != nil {
		a.OnSpawn(Spawn{Op: op, Pid: pid, Pgid: pgid, Args: slices.Clone(cmd.Args), Params: slices.Clone(params), Started: started})
	}
	return c, nil
}

// preflight checks what must hold before a child starts (ctx not done, a
// known Policy, bash on PATH) and returns bash's path; desc names the
// operation in the errors.
//
//	bash, err := a.preflight(ctx, opDesc(op, params))
func (a *Adapter) preflight(ctx context.Context, desc string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: not started: %w", desc, err)
	}
	if !a.Policy.valid() {
		return "", fmt.Errorf("%s: %w: %v", desc, ErrUnknownPolicy, a.Policy)
	}
	bash, err := bashPath()
	if err != nil {
		return "", fmt.Errorf("%s: %w", desc, err)
	}
	return bash, nil
}

// command is the unstarted `bash -c ShellPrefix+command` with the
// environment of params (environ), stdin and stdout, Stderr, WaitDelay,
// and its own process group under KillGroup and Pdeathsig if set.
//
//	cmd := a.command(bash, cfg.Commands.OpenForRead, params, stdinR, stdoutW)
func (a *Adapter) command(bash, command string, params []EnvVar, stdin, stdout *os.File) *exec.Cmd {
	stderr := a.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	cmd := &exec.Cmd{
		Path:      bash,
		Args:      []string{"bash", "-c", ShellPrefix + command},
		Env:       a.environ(params),
		Stdin:     stdin,
		Stdout:    stdout,
		Stderr:    stderr,
		WaitDelay: a.waitDelay(),
	}
	if a.Policy == KillGroup || a.Pdeathsig != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: a.Policy == KillGroup, Pdeathsig: a.Pdeathsig}
	}
	return cmd
}

// pgidOf is the process group of the started child pid: its own under
// KillGroup, else looked up (ours if the lookup fails).
func (a *Adapter) pgidOf(pid int) int {
	if a.Policy == KillGroup {
		return pid
	}
	pgid, err := unix.Getpgid(pid)
	if err != nil {
		return unix.Getpgrp()
	}
	return pgid
}

// config returns a.Config or an error naming op.
func (a *Adapter) config(op string) (*Config, error) {
	if a == nil || a.Config == nil {
		return nil, fmt.Errorf("%s: adapter has no Config", op)
	}
	return a.Config, nil
}

// runToEnd runs a command to completion: read stdout to EOF (at most
// limit bytes, see readOutput), then join (close stdin, reap). Stdin stays
// open until stdout ends, as shipped. Cancelling ctx stops the command by
// the policy.
func (a *Adapter) runToEnd(ctx context.Context, op, command string, params []EnvVar, limit int64, setting string) ([]byte, error) {
	c, err := a.spawn(ctx, op, command, params)
	if err != nil {
		return nil, err
	}
	out, err := c.readOutput(ctx, limit, setting)
	if err != nil {
		return nil, err
	}
	if err := c.finish(ctx); err != nil {
		return out, err
	}
	return out, nil
}

// readHandle reads the handle a write command prints before closing its
// stdout (at most MaxHandleLen bytes). If it printed nothing, the command
// is shut down (stdin closed, reaped) and its exit status, or
// ErrEmptyHandle, is the error. Cancelling ctx stops the command by the
// policy.
func (c *child) readHandle(ctx context.Context) (string, error) {
	out, err := c.readOutput(ctx, MaxHandleLen, "")
	if err != nil {
		return "", err
	}
	h := strings.TrimSpace(string(out))
	if h == "" {
		if err := c.finish(ctx); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%s: %w", c.desc(), ErrEmptyHandle)
	}
	return h, nil
}

// OpenForRead runs open_for_read with FILE_HANDLE=fileHandle and returns a
// Reader over its stdout. ctx only gates the start: cancelling it later
// does not touch the child (Close does, per Policy). The caller must Close
// the Reader (also after EOF; then Close is a no-op).
//
//	r, err := a.OpenForRead(ctx, "b.1a2b/0-.chunk")
//	if err != nil { return err }
//	defer r.Close()
//	data, err := io.ReadAll(r) // a non-zero exit is a *ExitError here
func (a *Adapter) OpenForRead(ctx context.Context, fileHandle string) (*Reader, error) {
	cfg, err := a.config(OpOpenForRead)
	if err != nil {
		return nil, err
	}
	c, err := a.spawn(ctx, OpOpenForRead, cfg.Commands.OpenForRead, []EnvVar{{ParamFileHandle, fileHandle}})
	if err != nil {
		return nil, err
	}
	return &Reader{
		c:         c,
		handle:    fileHandle,
		timeout:   a.ReadTimeout,
		closing:   make(chan struct{}),
		closeDone: make(chan struct{}),
	}, nil
}

// ListMetadataFiles runs list_metadata_files and returns its stdout's lines,
// trimmed, without empty ones, in the order printed.
//
//	handles, err := a.ListMetadataFiles(ctx) // ["metadata/epoch_ending_0-9.meta", …]
func (a *Adapter) ListMetadataFiles(ctx context.Context) ([]string, error) {
	cfg, err := a.config(OpListMetadataFiles)
	if err != nil {
		return nil, err
	}
	out, err := a.runToEnd(ctx, OpListMetadataFiles, cfg.Commands.ListMetadataFiles, nil, a.maxOutput(), a.MaxOutputSetting)
	if err != nil {
		return nil, err
	}
	var handles []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			handles = append(handles, line)
		}
	}
	return handles, nil
}

// CreateBackup runs create_backup with BACKUP_NAME=name (shell safe, else
// ErrUnsafeName) and returns its trimmed stdout, the backup handle
// (ErrEmptyHandle if blank).
//
//	bh, err := a.CreateBackup(ctx, "epoch_ending_0-") // "epoch_ending_0-.1a2b"
func (a *Adapter) CreateBackup(ctx context.Context, name string) (string, error) {
	cfg, err := a.config(OpCreateBackup)
	if err != nil {
		return "", err
	}
	params := []EnvVar{{ParamBackupName, name}}
	if err := checkName(OpCreateBackup, params, name); err != nil {
		return "", err
	}
	out, err := a.runToEnd(ctx, OpCreateBackup, cfg.Commands.CreateBackup, params, MaxHandleLen, "")
	if err != nil {
		return "", err
	}
	h := strings.TrimSpace(string(out))
	if h == "" {
		return "", fmt.Errorf("%s: %w", opDesc(OpCreateBackup, params), ErrEmptyHandle)
	}
	return h, nil
}

// CreateForWrite runs create_for_write with BACKUP_HANDLE and FILE_NAME
// (shell safe), reads the file handle the command prints before it closes
// its stdout, and returns it with a Writer to the command's stdin. Write the
// file's bytes, then Close (shutdown: exit status checked) or Abort (early
// close, per Policy).
//
//	fh, w, err := a.CreateForWrite(ctx, bh, "0-.chunk")
//	if err != nil { return err }
//	if _, err := w.Write(data); err != nil { w.Abort(); return err }
//	err = w.Close()
func (a *Adapter) CreateForWrite(ctx context.Context, backupHandle, fileName string) (string, *Writer, error) {
	cfg, err := a.config(OpCreateForWrite)
	if err != nil {
		return "", nil, err
	}
	params := []EnvVar{{ParamBackupHandle, backupHandle}, {ParamFileName, fileName}}
	if err := checkName(OpCreateForWrite, params, fileName); err != nil {
		return "", nil, err
	}
	c, err := a.spawn(ctx, OpCreateForWrite, cfg.Commands.CreateForWrite, params)
	if err != nil {
		return "", nil, err
	}
	h, err := c.readHandle(ctx)
	if err != nil {
		return "", nil, err
	}
	return h, newWriter(c, h, a.WriteTimeout), nil
}

// SaveMetadataLine runs save_metadata_line with FILE_NAME=fileName (shell
// safe), reads the printed file handle, writes content to the command's
// stdin and shuts it down. It returns the handle. A write error aborts the
// command per Policy.
//
//	fh, err := a.SaveMetadataLine(ctx, "epoch_ending_0-9.meta", line) // "metadata/epoch_ending_0-9.meta"
func (a *Adapter) SaveMetadataLine(ctx context.Context, fileName string, content []byte) (string, error) {
	cfg, err := a.config(OpSaveMetadataLine)
	if err != nil {
		return "", err
	}
	params := []EnvVar{{ParamFileName, fileName}}
	if err := checkName(OpSaveMetadataLine, params, fileName); err != nil {
		return "", err
	}
	c, err := a.spawn(ctx, OpSaveMetadataLine, cfg.Commands.SaveMetadataLine, params)
	if err != nil {
		return "", err
	}
	h, err := c.readHandle(ctx)
	if err != nil {
		return "", err
	}
	w := newWriter(c, h, a.WriteTimeout)
	// Cancelling ctx unblocks the write or the shutdown (under every
	// policy: deadlines close nothing) and aborts the command by the policy.
	stop := context.AfterFunc(ctx, func() {
		_ = c.stdin.SetWriteDeadline(time.Now())
		_ = c.stdout.SetReadDeadline(time.Now())
		_ = w.Abort()
	})
	defer stop()
	_, err = w.Write(content)
	if err == nil {
		err = w.Close()
	} else {
		err = errors.Join(err, w.Abort())
	}
	if ctx.Err() != nil {
		// Wait for the policy's abort (a later Abort waits for the first).
		return "", errors.Join(fmt.Errorf("%s: %w: %w", c.desc(), ErrCancelled, context.Cause(ctx)), w.Abort())
	}
	if err != nil {
		return "", err
	}
	return h, nil
}

// BackupMetadataFile runs backup_metadata_file with FILE_NAME set to the
// handle's last '/'-separated element ("metadata/x.meta" → "x.meta"). If the
// config has no backup_metadata_file, the error wraps ErrNoCommand.
//
//	err := a.BackupMetadataFile(ctx, "metadata/epoch_ending_0-9.meta")
func (a *Adapter) BackupMetadataFile(ctx context.Context, fileHandle string) error {
	cfg, err := a.config(OpBackupMetadataFile)
	if err != nil {
		return err
	}
	if cfg.Commands.BackupMetadataFile == "" {
		return fmt.Errorf("%s: %s: %w", opDesc(OpBackupMetadataFile, []EnvVar{{ParamFileHandle, fileHandle}}), cfg.Source, ErrNoCommand)
	}
	name := fileHandle[strings.LastIndexByte(fileHandle, '/')+1:]
	params := []EnvVar{{ParamFileName, name}}
	if name == "" {
		return fmt.Errorf("%s: file handle %q has no file name", opDesc(OpBackupMetadataFile, params), fileHandle)
	}
	_, err = a.runToEnd(ctx, OpBackupMetadataFile, cfg.Commands.BackupMetadataFile, params, a.maxOutput(), a.MaxOutputSetting)
	return err
}
