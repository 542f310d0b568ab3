package adapter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// oneShots runs each one-shot operation of a.
var oneShots = map[string]func(ctx context.Context, a *Adapter) error{
	OpListMetadataFiles: func(ctx context.Context, a *Adapter) error { _, err := a.ListMetadataFiles(ctx); return err },
	OpCreateBackup: func(ctx context.Context, a *Adapter) error {
		_, err := a.CreateBackup(ctx, "epoch_ending_0-")
		return err
	},
	OpCreateForWrite: func(ctx context.Context, a *Adapter) error {
		_, w, err := a.CreateForWrite(ctx, "b", "0-.chunk")
		if w != nil {
			w.Abort()
		}
		return err
	},
	OpSaveMetadataLine: func(ctx context.Context, a *Adapter) error {
		_, err := a.SaveMetadataLine(ctx, "x.meta", []byte("{}\n"))
		return err
	},
	OpBackupMetadataFile: func(ctx context.Context, a *Adapter) error { return a.BackupMetadataFile(ctx, "metadata/x.meta") },
}

// every sets each of the five one-shot commands to cmd.
func every(cmd string) Commands {
	return Commands{CreateBackup: cmd, CreateForWrite: cmd, SaveMetadataLine: cmd, ListMetadataFiles: cmd, BackupMetadataFile: cmd}
}

// TestOneShotCancelled: cancelling the context while a one-shot command
// hangs (before its handle, or after it, in save_metadata_line's
// shutdown) ends the operation with an error wrapping ErrCancelled and the
// cause, and applies the policy: under KillGroup the command's group is
// gone when the call returns.
func TestOneShotCancelled(t *testing.T) {
	t.Parallel()
	for name, cmd := range map[string]string{
		"before any output": "sleep 300; true",
		"after the handle":  "echo metadata/x.meta; exec >&-; sleep 300; true",
	} {
		for op, call := range oneShots {
			if op == OpCreateForWrite && name == "after the handle" {
				continue // the call is over once the handle came: its Writer owns the child
			}
			t.Run(name+"/"+op, func(t *testing.T) {
				l := newLab(t)
				a := l.adapter(KillGroup, every(cmd))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- call(ctx, a) }()
				var pid int
				if !waitUntil(func() bool {
					l.mu.Lock()
					defer l.mu.Unlock()
					if len(l.spawns) > 0 {
						pid = l.spawns[0].Pid
					}
					return pid != 0
				}) {
					t.Fatal("the command never started")
				}
				l.tree(pid, "sleep")
				cancel()
				var err error
				select {
				case err = <-done:
				case <-time.After(pollDeadline):
					t.Fatalf("%s ignored the cancellation for %v", op, pollDeadline)
				}
				if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), op) {
					t.Fatalf("err = %v; want %s's ErrCancelled with context.Canceled", err, op)
				}
				if kerr := unix.Kill(-pid, 0); !errors.Is(kerr, unix.ESRCH) {
					t.Errorf("process group %d still present after the cancelled call (kill: %v)", pid, kerr)
				}
			})
		}
	}
}

// TestOneShotOutputBounded: a one-shot command that prints forever is
// stopped at its bound: MaxOutput for the listing (and
// backup_metadata_file), MaxHandleLen for a handle; the error names the
// operation and the bound, and the group is gone.
func TestOneShotOutputBounded(t *testing.T) {
	t.Parallel()
	for op, call := range oneShots {
		t.Run(op, func(t *testing.T) {
			l := newLab(t)
			a := l.adapter(KillGroup, every("exec yes metadata/x.meta"))
			a.MaxOutput, a.MaxOutputSetting = 1<<20, "--max-listing-bytes"
			err := call(context.Background(), a)
			want := "printed more than 64 KiB"
			if op == OpListMetadataFiles || op == OpBackupMetadataFile {
				want = "printed more than 1 MiB: output exceeds its bound (raise it with --max-listing-bytes)"
			}
			if !errors.Is(err, ErrOutputTooLarge) || !strings.HasPrefix(err.Error(), op) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v; want %s's ErrOutputTooLarge saying %q", err, op, want)
			}
			for _, s := range l.spawns {
				if kerr := unix.Kill(-s.Pgid, 0); !errors.Is(kerr, unix.ESRCH) {
					t.Errorf("process group %d still present (kill: %v)", s.Pgid, kerr)
				}
			}
		})
	}
}

// TestQuote: outside text in messages is quoted (binary shows as escapes)
// and cut.
func TestQuote(t *testing.T) {
	bin := string([]byte{0, 0xff, 0x1b, '[', '2', 'J', '\n'})
	if got := Quote(bin); got != `"\x00\xff\x1b[2J\n"` {
		t.Errorf("Quote(binary) = %s", got)
	}
	long := strings.Repeat(bin, 1000)
	got := Quote(long)
	if !utf8.ValidString(got) || len(got) > 4*maxQuoted+40 || !strings.HasSuffix(got, "… (7000 bytes)") {
		t.Errorf("Quote(7000 bytes) = %s (%d bytes)", got, len(got))
	}
	if got := (EnvVar{"FILE_HANDLE", long}).String(); len(got) > 4*maxQuoted+60 {
		t.Errorf("EnvVar.String of a long value is %d bytes", len(got))
	}
}
