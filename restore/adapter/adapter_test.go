package adapter

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestEnvOrdering(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	// /proc/$$/environ is exactly the environment execve got: it shows
	// duplicates, which bash's own `env` would hide.
	a := l.adapter(Drop, Commands{OpenForRead: `tr '\0' '\n' < /proc/$$/environ`},
		EnvVar{"B", "cfg"}, EnvVar{"C", "cfg"}, EnvVar{"FILE_HANDLE", "cfg"})
	a.Env = []string{"PATH=" + os.Getenv("PATH"), "A=base", "B=base", "C=base", "FILE_HANDLE=base", "C=base2"}
	r := l.open(a, "param")
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read env: %v", err)
	}
	got := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = append(got[k], v)
	}
	want := map[string][]string{"A": {"base"}, "B": {"cfg"}, "C": {"cfg"}, "FILE_HANDLE": {"param"}}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("child env %s = %q, want %q (exactly once)", k, got[k], w)
		}
	}
	if len(got) != 5 { // PATH, A, B, C, FILE_HANDLE
		t.Errorf("child env has %d keys, want 5: %q", len(got), out)
	}
}

func TestEnvDefaultsToParent(t *testing.T) {
	t.Setenv("LEAKGATE_ADAPTER_TEST_PARENT", "from-parent")
	l := newLab(t)
	a := l.adapter(Drop, Commands{OpenForRead: `printf '%s' "$LEAKGATE_ADAPTER_TEST_PARENT"`})
	out, err := io.ReadAll(l.open(a, "h"))
	if err != nil || string(out) != "from-parent" {
		t.Fatalf("read = %q, %v; want the parent's variable", out, err)
	}
}

func TestReadToEOF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cmd    string
		out    string
		code   int
		signal syscall.Signal
		msg    string // regexp for the error text; "" = success
	}{
		{name: "exit 0", cmd: "printf hello", out: "hello"},
		{name: "exit 3", cmd: "printf partial; exit 3", out: "partial", code: 3,
			msg: `^open_for_read FILE_HANDLE="b\.1a2b/0-\.chunk": bash exited with status 3 \(command: printf partial; exit 3\)$`},
		{name: "pipefail", cmd: "false | cat", code: 1,
			msg: `^open_for_read FILE_HANDLE="b\.1a2b/0-\.chunk": bash exited with status 1 \(command: false \| cat\)$`},
		{name: "nounset", cmd: `echo "$NO_SUCH_VARIABLE_HERE"`, code: 1, msg: `: bash exited with status 1 \(command: echo "\$NO_SUCH_VARIABLE_HERE"\)$`},
		{name: "signal", cmd: "printf x; kill -KILL $$", out: "x", code: -1, signal: syscall.SIGKILL,
			msg: `bash killed by signal 9 \(killed\) \(command: printf x; kill -KILL \$\$\)$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			a := l.adapter(KillGroup, Commands{OpenForRead: tt.cmd})
			a.Stderr = devNull(t)
			r := l.open(a, "b.1a2b/0-.chunk")
			var got bytes.Buffer
			buf := make([]byte, 3)
			var err error
			for {
				var n int
				n, err = r.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if got.String() != tt.out {
				t.Errorf("read %q, want %q", got.String(), tt.out)
			}
			if tt.msg == "" {
				if err != io.EOF {
					t.Fatalf("final Read err = %v, want io.EOF", err)
				}
			} else {
				var xe *ExitError
				if !errors.As(err, &xe) {
					t.Fatalf("final Read err = %v (%T), want *ExitError", err, err)
				}
				if xe.ExitCode != tt.code || xe.Signal != tt.signal || xe.Op != OpOpenForRead || xe.Pid != r.Pid() || xe.Command != tt.cmd {
					t.Errorf("ExitError = %+v, want code %d signal %d op %s pid %d", xe, tt.code, tt.signal, OpOpenForRead, r.Pid())
				}
				if !regexp.MustCompile(tt.msg).MatchString(err.Error()) {
					t.Errorf("error text %q, want match for %s", err, tt.msg)
				}
			}
			if _, again := r.Read(buf); again != err {
				t.Errorf("Read after the end = %v, want the same %v", again, err)
			}
			if cerr := r.Close(); cerr != nil {
				t.Errorf("Close after join = %v, want nil", cerr)
			}
			if !groupEmpty(r.Pgid()) {
				t.Errorf("process group %d not empty after the join", r.Pgid())
			}
		})
	}
}

// devNull opens /dev/null for writing, closed at cleanup.
func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestContextCheckedBeforeSpawnOnly(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	fifo := filepath.Join(l.dir, "gate")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	a := l.adapter(Kill, Commands{OpenForRead: `cat "$GATE"`}, EnvVar{"GATE", fifo})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.OpenForRead(ctx, "h"); !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenForRead(cancelled ctx) err = %v, want context.Canceled", err)
	}
	if len(l.spawns) != 0 {
		t.Fatalf("a cancelled ctx still spawned %d children", len(l.spawns))
	}

	ctx, cancel = context.WithCancel(context.Background())
	r, err := a.OpenForRead(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}
	l.keep(r.c)
	cancel()
	// The child (bash, or cat if bash exec'd it) must outlive the
	// cancellation: release it through the fifo, and it must still deliver
	// its bytes and exit 0.
	if !running(l.bash(r.Pid())) {
		t.Fatalf("cancelling ctx ended the child")
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.WriteString("still here")
	_ = w.Close()
	out, err := io.ReadAll(r)
	if err != nil || string(out) != "still here" {
		t.Fatalf("read after cancel = %q, %v; want the data and exit 0", out, err)
	}
}

func TestOneShotOperations(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	ctx := context.Background()
	dir := l.dir
	a := l.adapter(KillGroup, Commands{
		CreateBackup:       `echo "  $BACKUP_NAME.1a2b  "`,
		ListMetadataFiles:  `printf 'metadata/a.meta\n\n   metadata/b.meta  \n'`,
		CreateForWrite:     "FILE_HANDLE=\"$BACKUP_HANDLE/$FILE_NAME\"\necho \"$FILE_HANDLE\"\nexec 1>&-\ncat > \"$DIR/$FILE_NAME\"",
		SaveMetadataLine:   "echo \"metadata/$FILE_NAME\"\nexec 1>&-\ncat > \"$DIR/$FILE_NAME\"",
		BackupMetadataFile: `printf '%s' "$FILE_NAME" > "$DIR/moved"`,
	}, EnvVar{"DIR", dir})

	bh, err := a.CreateBackup(ctx, "epoch_ending_0-")
	if err != nil || bh != "epoch_ending_0-.1a2b" {
		t.Errorf("CreateBackup = %q, %v; want trimmed handle", bh, err)
	}
	list, err := a.ListMetadataFiles(ctx)
	if want := []string{"metadata/a.meta", "metadata/b.meta"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("ListMetadataFiles = %q, %v; want %q", list, err, want)
	}

	fh, w, err := a.CreateForWrite(ctx, bh, "0-.chunk")
	if err != nil {
		t.Fatalf("CreateForWrite: %v", err)
	}
	l.keep(w.c)
	if fh != "epoch_ending_0-.1a2b/0-.chunk" || w.Handle() != fh || w.Policy() != KillGroup || w.Pgid() != w.Pid() {
		t.Errorf("CreateForWrite handle %q, writer %q %v pid %d pgid %d", fh, w.Handle(), w.Policy(), w.Pid(), w.Pgid())
	}
	payload := bytes.Repeat([]byte("record"), 50000) // more than a pipe buffer
	if n, err := w.Write(payload); err != nil || n != len(payload) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Writer.Close: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "0-.chunk")); !bytes.Equal(got, payload) {
		t.Errorf("written file has %d bytes, want %d", len(got), len(payload))
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want the first result (nil)", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after shutdown = %v, want nil (no-op)", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}

	mh, err := a.SaveMetadataLine(ctx, "epoch_ending_0-9.meta", []byte("{\"x\":1}\n"))
	if err != nil || mh != "metadata/epoch_ending_0-9.meta" {
		t.Errorf("SaveMetadataLine = %q, %v", mh, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "epoch_ending_0-9.meta")); string(got) != "{\"x\":1}\n" {
		t.Errorf("metadata file = %q", got)
	}

	if err := a.BackupMetadataFile(ctx, "metadata/epoch_ending_0-9.meta"); err != nil {
		t.Errorf("BackupMetadataFile: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "moved")); string(got) != "epoch_ending_0-9.meta" {
		t.Errorf("backup_metadata_file saw FILE_NAME=%q, want the handle's basename", got)
	}
	for _, s := range l.spawns {
		if s.Args[0] != "bash" || s.Args[1] != "-c" || !strings.HasPrefix(s.Args[2], ShellPrefix) || s.Pgid != s.Pid {
			t.Errorf("spawn %s: args %q pgid %d pid %d", s.Op, s.Args, s.Pgid, s.Pid)
		}
	}
	if got := len(l.spawns); got != 5 {
		t.Errorf("OnSpawn called %d times, want 5", got)
	}
}

func TestOperationErrors(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	ctx := context.Background()
	quiet := devNull(t)

	noOptional := l.adapter(Drop, Commands{})
	err := noOptional.BackupMetadataFile(ctx, "metadata/x.meta")
	if !errors.Is(err, ErrNoCommand) || !strings.Contains(err.Error(), `backup_metadata_file FILE_HANDLE="metadata/x.meta"`) {
		t.Errorf("missing backup_metadata_file: %v, want ErrNoCommand naming the call", err)
	}

	for _, name := range []string{"", "ab", "-x.chunk", "a/b.chunk", "a b.chunk", strings.Repeat("a", 128)} {
		if _, err := noOptional.CreateBackup(ctx, name); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("CreateBackup(%q) = %v, want ErrUnsafeName", name, err)
		}
		if _, _, err := noOptional.CreateForWrite(ctx, "b", name); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("CreateForWrite(%q) = %v, want ErrUnsafeName", name, err)
		}
		if _, err := noOptional.SaveMetadataLine(ctx, name, nil); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("SaveMetadataLine(%q) = %v, want ErrUnsafeName", name, err)
		}
	}

	empty := l.adapter(KillGroup, Commands{CreateBackup: "echo '   '", CreateForWrite: "exec 1>&-; cat >/dev/null", SaveMetadataLine: "exec 1>&-; exit 5"})
	empty.Stderr = quiet
	if _, err := empty.CreateBackup(ctx, "backup1"); !errors.Is(err, ErrEmptyHandle) {
		t.Errorf("CreateBackup printing blanks = %v, want ErrEmptyHandle", err)
	}
	if _, _, err := empty.CreateForWrite(ctx, "b", "f.chunk"); !errors.Is(err, ErrEmptyHandle) {
		t.Errorf("CreateForWrite printing nothing = %v, want ErrEmptyHandle", err)
	}
	var xe *ExitError
	if _, err := empty.SaveMetadataLine(ctx, "x.meta", []byte("l")); !errors.As(err, &xe) || xe.ExitCode != 5 {
		t.Errorf("SaveMetadataLine exiting 5 before printing = %v, want *ExitError 5", err)
	}

	failing := l.adapter(KillGroup, Commands{CreateBackup: "echo h; exit 2", ListMetadataFiles: "(exit 4) | cat"})
	failing.Stderr = quiet
	if _, err := failing.CreateBackup(ctx, "backup1"); !errors.As(err, &xe) || xe.ExitCode != 2 ||
		err.Error() != `create_backup BACKUP_NAME="backup1": bash exited with status 2 (command: echo h; exit 2)` {
		t.Errorf("CreateBackup exit 2 = %v", err)
	}
	if _, err := failing.ListMetadataFiles(ctx); !errors.As(err, &xe) || xe.ExitCode != 4 || len(xe.Params) != 0 {
		t.Errorf("ListMetadataFiles pipefail = %v", err)
	}

	if _, err := (&Adapter{}).OpenForRead(ctx, "h"); err == nil {
		t.Errorf("OpenForRead without Config succeeded")
	}
	bad := l.adapter(Policy(9), Commands{})
	if _, err := bad.OpenForRead(ctx, "h"); !errors.Is(err, ErrUnknownPolicy) {
		t.Errorf("OpenForRead with Policy(9) = %v, want ErrUnknownPolicy", err)
	}
}

func TestWriterShutdownFailure(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a := l.adapter(Drop, Commands{CreateForWrite: "echo \"$BACKUP_HANDLE/$FILE_NAME\"\nexec 1>&-\ncat > /dev/null\nexit 4"})
	_, w, err := a.CreateForWrite(context.Background(), "bk", "f.chunk")
	if err != nil {
		t.Fatal(err)
	}
	l.keep(w.c)
	if _, err := w.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	err = w.Close()
	var xe *ExitError
	if !errors.As(err, &xe) || xe.ExitCode != 4 || xe.Op != OpCreateForWrite {
		t.Fatalf("Close = %v, want *ExitError status 4", err)
	}
	want := `create_for_write BACKUP_HANDLE="bk" FILE_NAME="f.chunk": bash exited with status 4 (command: echo "$BACKUP_HANDLE/$FILE_NAME" …)`
	if err.Error() != want {
		t.Errorf("Close error\n  %s\nwant\n  %s", err, want)
	}
	if again := w.Close(); again != err {
		t.Errorf("second Close = %v, want the first result", again)
	}
}

// TestShippedConfigRuns runs the real s3 config unchanged, with a fake `aws`
// on PATH that prints a gzip object: the pipeline `aws s3 cp … - | gzip -cd`
// decodes it.
func TestShippedConfigRuns(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	cfg, err := LoadConfig(filepath.Join(shippedConfigs, "s3.sample.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(l.dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// aws s3 cp s3://<bucket>/<sub>/<handle> -   → cat the object file.
	fake := "#!/bin/sh\nexec cat \"$OBJECTS/${3#s3://}\"\n"
	if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	objects := filepath.Join(l.dir, "objects")
	obj := filepath.Join(objects, "velor-backup/backup1/e1/b.1a2b/0-.chunk")
	if err := os.MkdirAll(filepath.Dir(obj), 0o755); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("records!"))
	_ = zw.Close()
	if err := os.WriteFile(obj, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &Adapter{Config: cfg, Policy: KillGroup, OnSpawn: l.onSpawn,
		Env: []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "OBJECTS=" + objects}}
	out, err := io.ReadAll(l.open(a, "b.1a2b/0-.chunk"))
	if err != nil || string(out) != "records!" {
		t.Fatalf("read through s3.sample.yaml = %q, %v", out, err)
	}
}

// TestChildGetsNoExtraPipeEnds checks that our pipe ends are close-on-exec:
// in bash, each of the two pipes appears once, as fd 0 and fd 1. (Other
// fds the test binary inherited from its own parent are not ours to judge.)
func TestChildGetsNoExtraPipeEnds(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a := l.adapter(Drop, Commands{OpenForRead: `cd /proc/$$/fd; for f in *; do printf '%s %s\n' "$f" "$(readlink "$f")"; done`})
	r := l.open(a, "fds")
	stdin, err1 := fdTarget(r.c.stdin)
	stdout, err2 := fdTarget(r.c.stdout)
	if err1 != nil || err2 != nil {
		t.Fatalf("our pipe ends: %v %v", err1, err2)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read bash's fd list: %v", err)
	}
	uses := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fd, target, _ := strings.Cut(line, " ")
		uses[target] = append(uses[target], fd)
	}
	if got := uses[stdin]; !slices.Equal(got, []string{"0"}) {
		t.Errorf("stdin pipe %s open in bash as fds %v, want only 0\n%s", stdin, got, out)
	}
	if got := uses[stdout]; !slices.Equal(got, []string{"1"}) {
		t.Errorf("stdout pipe %s open in bash as fds %v, want only 1\n%s", stdout, got, out)
	}
}
