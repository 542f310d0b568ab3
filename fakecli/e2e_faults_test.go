package fakecli_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/internal/poll"
)

// chunkKey is where the s3 sample config keeps handle b1.1a2b/0-.chunk.
const chunkKey = "velor-backup/backup1/e1/b1.1a2b/0-.chunk"

// TestReadFaultsThroughS3Pipeline reads a gzip'ed record object through the
// s3 sample config's open_for_read (`aws s3 cp … - | gzip -cd`) under each
// fault, and checks the record stream, the exit status and the journal.
func TestReadFaultsThroughS3Pipeline(t *testing.T) {
	t.Parallel()
	c := loadConfig(t, filepath.Join(aptosConfigs, "s3.sample.yaml"))
	chunk := records(3, 2000, 7)
	tests := []struct {
		spec      string
		fault     string // canonical text in the journal
		code      int    // exit status of bash
		awsExit   int    // exit status of the aws invocation
		check     func(t *testing.T, out []byte)
		atLeast   time.Duration // lower bound of the aws invocation's duration
		wholeSent bool          // aws wrote the whole object
	}{
		{spec: "", code: 0, check: exact(chunk), wholeSent: true},
		{spec: "truncate record=2", fault: "truncate record=2", code: 0, check: func(t *testing.T, out []byte) {
			recs, rest := splitRecords(out)
			// record 1 whole, then record 2's prefix and half its payload
			if len(recs) != 1 || !bytes.Equal(out[:4+2000], chunk[:4+2000]) || len(rest) != 4+1000 || !bytes.Equal(rest, chunk[4+2000:4+2000+4+1000]) {
				t.Errorf("got %d whole records and %d more bytes; want 1 and 1004", len(recs), len(rest))
			}
		}},
		{spec: "corrupt record=2", fault: "corrupt record=2", code: 0, wholeSent: false, check: func(t *testing.T, out []byte) {
			recs, rest := splitRecords(out)
			want, _ := splitRecords(chunk)
			if len(recs) != 3 || len(rest) != 0 {
				t.Fatalf("framing broken: %d records, %d bytes left", len(recs), len(rest))
			}
			if !bytes.Equal(recs[0], want[0]) || !bytes.Equal(recs[2], want[2]) || !bytes.Equal(recs[1], bytes.Repeat([]byte{0xff}, 2000)) {
				t.Error("want records 1 and 3 intact and record 2 all 0xFF")
			}
		}},
		{spec: "exit code=3", fault: "exit code=3", code: 3, awsExit: 3, check: exact(chunk), wholeSent: true},
		{spec: "stall after=10 for=300ms", fault: "stall after=10 for=300ms", code: 0, check: exact(chunk), atLeast: 300 * time.Millisecond, wholeSent: true},
		{spec: "slow rate=32KiB", fault: "slow rate=32KiB", code: 0, check: exact(chunk), wholeSent: true},
		{spec: "truncate record=9", fault: "truncate record=9", code: 1 /* gzip -cd of nothing */, awsExit: 2, check: exact(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, fakecli.EnvFaults+"="+tt.spec)
			w.put(chunkKey, gz(t, chunk))
			stored := int64(len(w.get(chunkKey)))
			r := w.command(c, "open_for_read", map[string]string{"FILE_HANDLE": "b1.1a2b/0-.chunk"}, nil)
			checkCode(t, "open_for_read", r, tt.code)
			tt.check(t, []byte(r.stdout))

			inv := w.last()
			if !inv.Ended || inv.Persona != "aws" || inv.Op != "read" || inv.Handle != chunkKey || inv.Fault != tt.fault || inv.Exit != tt.awsExit || inv.Call != 1 {
				t.Errorf("journal: %v", inv)
			}
			if tt.wholeSent && inv.Bytes != stored {
				t.Errorf("journal: %d bytes, want %d", inv.Bytes, stored)
			}
			if tt.atLeast > 0 && inv.Duration() < tt.atLeast {
				t.Errorf("journal: took %v, want at least %v", inv.Duration(), tt.atLeast)
			}
			if strings.HasPrefix(tt.spec, "slow") {
				if min := time.Duration(float64(stored) / (32 << 10) * float64(time.Second)); inv.Duration() < min*9/10 {
					t.Errorf("slow: took %v for %d bytes, want at least %v", inv.Duration(), stored, min)
				}
			}
			if tt.awsExit == 2 && !strings.Contains(r.stderr, `aws: fault "truncate record=9" does not fit object s3://velor-backup/backup1/e1/b1.1a2b/0-.chunk`) {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}
}

func exact(want []byte) func(*testing.T, []byte) {
	return func(t *testing.T, out []byte) {
		t.Helper()
		if !bytes.Equal(out, want) {
			t.Errorf("got %d bytes, want the %d of the object", len(out), len(want))
		}
	}
}

// TestWriteFaultsThroughS3Pipeline uploads through the s3 sample config's
// create_for_write (`gzip -c | aws s3 cp - …`, with stdout closed).
func TestWriteFaultsThroughS3Pipeline(t *testing.T) {
	t.Parallel()
	c := loadConfig(t, filepath.Join(aptosConfigs, "s3.sample.yaml"))
	chunk := records(3, 2000, 9)
	tests := []struct {
		spec    string
		code    int
		check   func(t *testing.T, obj []byte)
		atLeast time.Duration
		read    int64 // stdin bytes in the journal; -1 = the whole upload
	}{
		{spec: "exit code=4 after=none op=write", code: 4, read: 0, check: func(t *testing.T, obj []byte) {
			if obj != nil {
				t.Errorf("object stored (%d bytes)", len(obj))
			}
		}},
		{spec: "exit code=4 op=write", code: 4, read: -1, check: func(t *testing.T, obj []byte) {
			if !bytes.Equal(gunzip(t, obj), chunk) {
				t.Error("object differs from the upload")
			}
		}},
		{spec: "truncate after=20 op=write", code: 0, read: -1, check: func(t *testing.T, obj []byte) {
			if len(obj) != 20 || obj[0] != 0x1f || obj[1] != 0x8b {
				t.Errorf("object: %d bytes % x…, want the upload's first 20", len(obj), obj[:min(len(obj), 4)])
			}
		}},
		{spec: "stall after=5 for=300ms op=write", code: 0, read: -1, atLeast: 300 * time.Millisecond, check: func(t *testing.T, obj []byte) {
			if !bytes.Equal(gunzip(t, obj), chunk) {
				t.Error("object differs from the upload")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, fakecli.EnvFaults+"="+tt.spec)
			r := w.command(c, "create_for_write", map[string]string{"BACKUP_HANDLE": "b1.1a2b", "FILE_NAME": "0-.chunk"}, chunk)
			checkCode(t, "create_for_write", r, tt.code)
			obj := w.get(chunkKey)
			tt.check(t, obj)
			inv := w.last()
			if !inv.Ended || inv.Op != "write" || inv.Fault != tt.spec || inv.Exit != tt.code {
				t.Errorf("journal: %v", inv)
			}
			if tt.read == 0 && inv.Bytes != 0 {
				t.Errorf("journal: read %d bytes of stdin, want none", inv.Bytes)
			}
			if tt.read == -1 && (inv.Bytes < 20 || inv.Bytes < int64(len(obj))) {
				t.Errorf("journal: read %d bytes of stdin, object has %d", inv.Bytes, len(obj))
			}
			if inv.Duration() < tt.atLeast {
				t.Errorf("journal: took %v, want at least %v", inv.Duration(), tt.atLeast)
			}
		})
	}
}

// startStalled starts local.yaml's open_for_read (exec fakecli: the child is
// fakecli itself) under a forever stall after 100 bytes and returns once
// those 100 bytes have arrived, so the child is stalled.
func startStalled(t *testing.T, w *world) *proc {
	t.Helper()
	c := loadConfig(t, localConfig)
	data := records(2, 500, 3)
	w.put("b1.1a2b/0-.chunk", data)
	p := w.start([]string{"bash", "-c", "set -o nounset -o errexit -o pipefail; " + c.Commands["open_for_read"]},
		[]string{"FILE_HANDLE=b1.1a2b/0-.chunk", fakecli.EnvFaults + "=stall after=100 for=forever"}, nil)
	got := make([]byte, 100)
	if _, err := io.ReadFull(p.stdout, got); err != nil || !bytes.Equal(got, data[:100]) {
		t.Fatalf("first 100 bytes: %v (stderr %s)", err, p.stderr.String())
	}
	return p
}

func TestStallForeverKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := startStalled(t, w)
	stalling := func() bool {
		invs := w.invocations()
		return len(invs) == 1 && invs[0].StallingAt(time.Now())
	}
	if !poll.Until(context.Background(), 10*time.Second, stalling) {
		t.Fatalf("the journal never said the invocation is stalling: %v", w.invocations())
	}
	if until := w.invocations()[0].StallUntil; time.Until(until) < time.Minute {
		t.Errorf("stalling until %v: a stall that lasts until killed holds until the cap (10m)", until)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.wait()
	if got := status(p.cmd.ProcessState); got != 128+int(syscall.SIGKILL) {
		t.Errorf("status %d, want %d", got, 128+int(syscall.SIGKILL))
	}
	invs := w.invocations()
	if evs := w.events(); len(invs) != 1 || !slices.Equal(evs, []string{"start", "stall"}) {
		t.Fatalf("journal: %v, events %v; want a start line and a stall line", invs, evs)
	}
	inv := invs[0]
	if inv.Ended || inv.PID != p.cmd.Process.Pid || inv.Persona != "fakecli" || inv.Fault != "stall after=100" || inv.Handle != "b1.1a2b/0-.chunk" {
		t.Errorf("journal: %+v", inv)
	}
	if s := inv.String(); !strings.HasSuffix(s, "fakecli open_for_read [fault: stall after=100]: killed before it ended") {
		t.Errorf("String() = %q", s)
	}
}

func TestStallForeverTerminated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := startStalled(t, w)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = p.wait()
	if got := status(p.cmd.ProcessState); got != 128+int(syscall.SIGTERM) {
		t.Errorf("status %d, want %d", got, 128+int(syscall.SIGTERM))
	}
	inv := w.last()
	if !inv.Ended || inv.Exit != 143 || inv.Bytes != 100 || inv.Error != "killed by SIGTERM" {
		t.Errorf("journal: %v", inv)
	}
}

func TestStallCap(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fakecli.EnvStallCap+"=200ms")
	w.put("b/k", []byte("0123456789"))
	r := w.run(nil, []string{fakecli.EnvFaults + "=stall after=4"}, "aws", "s3", "cp", "s3://b/k", "-")
	checkCode(t, "capped stall", r, fakecli.ExitStallCap)
	if r.stdout != "0123" || !strings.Contains(r.stderr, `aws: fault "stall after=4": stalled for 200ms (LEAKGATE_STALL_CAP); giving up`) {
		t.Errorf("stdout %q, stderr %s", r.stdout, r.stderr)
	}
	if inv := w.last(); inv.Exit != fakecli.ExitStallCap || inv.Bytes != 4 || inv.Duration() < 200*time.Millisecond {
		t.Errorf("journal: %v", inv)
	}
}

// TestStallCapBoundsEveryPause: a finite stall or a paced transfer that
// would run past LEAKGATE_STALL_CAP gives up at the cap, as a forever
// stall does, on reads and writes.
func TestStallCapBoundsEveryPause(t *testing.T) {
	t.Parallel()
	const capText, cap = "300ms", 300 * time.Millisecond
	w := newWorld(t, fakecli.EnvStallCap+"="+capText)
	w.put("b/k", []byte("0123456789"))
	for _, c := range []struct {
		name, spec string
		stdin      []byte
		args       []string
		want       string
	}{
		{"read stall for=1h", "stall after=4 for=1h", nil, []string{"cp", "s3://b/k", "-"},
			`aws: fault "stall after=4 for=1h0m0s": a pause of 1h0m0s would run past the stall cap (LEAKGATE_STALL_CAP=300ms); giving up`},
		{"read slow", "slow rate=10", nil, []string{"cp", "s3://b/k", "-"},
			`aws: fault "slow rate=10": paced at 10 B/s, it would run past the stall cap after `},
		{"write stall for=1h", "stall after=2 for=1h op=write", []byte("abcdef"), []string{"cp", "-", "s3://b/up1"},
			`aws: fault "stall after=2 for=1h0m0s": a pause of 1h0m0s would run past the stall cap`},
		{"write slow", "slow rate=10 op=write", bytes.Repeat([]byte("x"), 100), []string{"cp", "-", "s3://b/up2"},
			`aws: fault "slow rate=10": paced at 10 B/s, it would run past the stall cap after `},
	} {
		start := time.Now()
		r := w.run(c.stdin, []string{fakecli.EnvFaults + "=" + c.spec}, "aws", append([]string{"s3"}, c.args...)...)
		took := time.Since(start)
		checkCode(t, c.name, r, fakecli.ExitStallCap)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: stderr %q, want %q", c.name, r.stderr, c.want)
		}
		if took < cap || took > cap+10*time.Second {
			t.Errorf("%s: took %v, want about the cap %v", c.name, took, cap)
		}
		if inv := w.last(); inv.Exit != fakecli.ExitStallCap || inv.Duration() < cap {
			t.Errorf("%s: journal: %v", c.name, inv)
		}
	}
	for _, k := range []string{"up1", "up2"} {
		if _, err := os.Stat(filepath.Join(w.root, "b", k)); err == nil {
			t.Errorf("a capped upload stored b/%s", k)
		}
	}
}

// TestHurryEndsPacing: once the LEAKGATE_HURRY file exists, a paced
// transfer sends its rest at once. At 100 B/s the 4000 bytes would take
// 40 s, and the 3 s stall cap would end them with exit 124 after about
// 300 bytes; hurried mid-read, or before an upload began, they go whole.
func TestHurryEndsPacing(t *testing.T) {
	t.Parallel()
	hurry := filepath.Join(t.TempDir(), "hurry")
	w := newWorld(t, fakecli.EnvStallCap+"=3s", fakecli.EnvHurry+"="+hurry)
	data := bytes.Repeat([]byte("x"), 4000)
	w.put("b/k", data)

	p := w.start([]string{filepath.Join(binDir, "aws"), "s3", "cp", "s3://b/k", "-"}, []string{fakecli.EnvFaults + "=slow rate=100"}, nil)
	first := make([]byte, 2)
	if _, err := io.ReadFull(p.stdout, first); err != nil { // the paced read is under way
		t.Fatal(err)
	}
	if err := os.WriteFile(hurry, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := p.finish(t)
	checkCode(t, "hurried read", r, fakecli.ExitOK)
	if got := len(first) + len(r.stdout); got != len(data) {
		t.Errorf("hurried read: %d of %d bytes", got, len(data))
	}

	r = w.run(data, []string{fakecli.EnvFaults + "=slow rate=100 op=write"}, "aws", "s3", "cp", "-", "s3://b/up")
	checkCode(t, "upload after the hurry", r, fakecli.ExitOK)
	if got := w.get("b/up"); !bytes.Equal(got, data) {
		t.Errorf("upload after the hurry stored %d of %d bytes", len(got), len(data))
	}
}

// TestBrokenPipe: a reader that goes away makes fakecli die of SIGPIPE, as a
// real CLI, after journaling it.
func TestBrokenPipe(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	big := records(1, 256<<10, 5)
	w.put("b/big", big)
	r := w.start([]string{"bash", "-c", "set -o nounset -o errexit -o pipefail; aws s3 cp s3://b/big - | head -c 10 >/dev/null"}, nil, nil).finish(t)
	checkCode(t, "pipeline", r, 128+int(syscall.SIGPIPE))
	inv := w.last()
	if !inv.Ended || inv.Exit != 141 || inv.Error != "broken pipe" || inv.Bytes < 10 || inv.Bytes >= int64(len(big)) {
		t.Errorf("journal: %v", inv)
	}
	r = w.start([]string{"bash", "-c", "aws s3 cp s3://b/big - | head -c 10 >/dev/null; echo ${PIPESTATUS[0]}"}, nil, nil).finish(t)
	if r.stdout != "141\n" {
		t.Errorf("aws status in the pipeline: %q, want 141", r.stdout)
	}
}

func TestListAndMoveFaults(t *testing.T) {
	t.Parallel()
	c := loadConfig(t, filepath.Join(aptosConfigs, "s3.sample.yaml"))
	w := newWorld(t)
	w.put("velor-backup/backup1/e1/metadata/x.meta", gz(t, []byte("{}\n")))

	// A failing ls is swallowed by the config's `||:`: the restore sees an
	// empty list.
	r := w.command(c, "list_metadata_files", nil, nil, fakecli.EnvFaults+"=exit code=3 after=none op=list")
	checkCode(t, "list under exit", r, 0)
	if r.stdout != "" {
		t.Errorf("list printed %q", r.stdout)
	}
	if inv := w.last(); inv.Op != "list" || inv.Exit != 3 || inv.Fault != "exit code=3 after=none op=list" || inv.Handle != "" {
		t.Errorf("journal: %v", inv)
	}
	// after=all: the listing is printed, then the failure.
	r = w.run(nil, []string{fakecli.EnvFaults + "=exit code=3 op=list"}, "aws", "s3", "ls", "s3://velor-backup/backup1/e1/metadata/")
	checkCode(t, "ls under exit after=all", r, 3)
	if !strings.HasSuffix(r.stdout, " x.meta\n") {
		t.Errorf("ls printed %q", r.stdout)
	}

	r = w.command(c, "backup_metadata_file", map[string]string{"FILE_NAME": "x.meta"}, nil, fakecli.EnvFaults+"=exit code=5 after=none op=move")
	checkCode(t, "move under exit after=none", r, 5)
	if w.get("velor-backup/backup1/e1/metadata/x.meta") == nil {
		t.Error("moved despite after=none")
	}
	r = w.command(c, "backup_metadata_file", map[string]string{"FILE_NAME": "x.meta"}, nil, fakecli.EnvFaults+"=exit code=5 op=move")
	checkCode(t, "move under exit after=all", r, 5)
	if w.get("velor-backup/backup1/e1/metadata_backup/x.meta") == nil {
		t.Error("not moved under after=all")
	}
	if !strings.Contains(r.stdout, "move: s3://velor-backup/backup1/e1/metadata/x.meta to s3://velor-backup/backup1/e1/metadata_backup/x.meta") {
		t.Errorf("mv printed %q", r.stdout)
	}
}

// TestClosedStdout starts fakecli with fd 1 closed and a journal: the
// journal's files must not land on fd 1 (the handle fakecli prints would go
// into them).
func TestClosedStdout(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	data := records(2, 100, 4)
	r := w.start([]string{"bash", "-c", "exec 1>&-; exec fakecli create_for_write"}, []string{"BACKUP_HANDLE=b1.1a2b", "FILE_NAME=0-.chunk"}, data).finish(t)
	checkCode(t, "create_for_write with fd 1 closed", r, 0)
	if !bytes.Equal(w.get("b1.1a2b/0-.chunk"), data) {
		t.Error("object differs from the upload")
	}
	seq, err := os.ReadFile(w.journal + ".seq")
	if err != nil || string(seq) != "1\n" {
		t.Errorf("call counter = %q, %v; want \"1\\n\"", seq, err)
	}
	if inv := w.last(); !inv.Ended || inv.Exit != 0 || inv.Bytes != int64(len(data)) {
		t.Errorf("journal: %v", inv)
	}
}
