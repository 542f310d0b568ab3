package backup

import (
	"errors"
	"fmt"
	"strings"
)

// Step names a step of the backup protocol in an *Error: "create_backup",
// "read ledger infos", "create_for_write", "write", "shutdown",
// "save_metadata_line" or "backup_metadata_file".
//
//	var be *backup.Error
//	if errors.As(err, &be) && be.Step == backup.StepWrite { … }
type Step string

// The steps, in protocol order.
const (
	// StepCreateBackup is create_backup (the backup's folder and handle).
	StepCreateBackup Step = "create_backup"
	// StepLedgerInfos is reading and checking Options.LedgerInfos.
	StepLedgerInfos Step = "read ledger infos"
	// StepCreateForWrite is starting create_for_write and reading the file
	// handle it prints.
	StepCreateForWrite Step = "create_for_write"
	// StepWrite is writing a file's bytes to the command's stdin; a failure
	// here drops the writer (Error.Dropped).
	StepWrite Step = "write"
	// StepShutdown is closing the command's stdin and waiting for its exit
	// status.
	StepShutdown Step = "shutdown"
	// StepSaveMetadata is save_metadata_line.
	StepSaveMetadata Step = "save_metadata_line"
	// StepMoveAside is backup_metadata_file (Options.MoveAside).
	StepMoveAside Step = "backup_metadata_file"
)

var (
	// ErrOptions is matched by the error for unusable Options (no adapter,
	// no ledger infos, an empty epoch range, a negative size).
	ErrOptions = errors.New("invalid backup options")
	// ErrUnexpectedEpoch is matched when a ledger info is not of the epoch
	// that comes next (backup-cli: "Epoch not expected").
	ErrUnexpectedEpoch = errors.New("ledger info of an unexpected epoch")
	// ErrEpochRange is matched when Options.LedgerInfos ends before
	// EndEpoch (or holds no record at all) or goes on past it.
	ErrEpochRange = errors.New("ledger infos do not cover the epoch range")
)

// Error is a failed backup step. Backup is the backup handle (the name
// passed to create_backup when the failure came before it answered); File
// is the file being written ("1-.chunk", "epoch_ending.manifest",
// "epoch_ending_0-9.meta"; "" for create_backup and reading the ledger
// infos); Handle is the file handle the storage printed for it ("" if none
// yet); Step is what failed; Dropped says whether a writer was dropped
// before its shutdown (Writer.Abort, the adapter's Policy applied); Err is
// the cause (an *adapter.ExitError, an error wrapping adapter.ErrWriteTimeout
// or syscall.EPIPE, context.Canceled, …).
//
//	var be *backup.Error
//	if errors.As(err, &be) { log.Printf("%s: %s of %s failed", be.Backup, be.Step, be.File) }
type Error struct {
	Backup  string
	File    string
	Handle  string
	Step    Step
	Dropped bool
	Err     error
}

// Error renders e.g. `epoch-ending backup epoch_ending_0-.1a2b: file
// 1-.chunk (handle epoch_ending_0-.1a2b/1-.chunk): write (writer dropped):
// create_for_write …: write timeout`.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch-ending backup %s", e.Backup)
	if e.File != "" {
		fmt.Fprintf(&b, ": file %s", e.File)
		if e.Handle != "" {
			fmt.Fprintf(&b, " (handle %s)", e.Handle)
		}
	}
	fmt.Fprintf(&b, ": %s", e.Step)
	if e.Dropped {
		b.WriteString(" (writer dropped)")
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
