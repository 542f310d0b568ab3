package backup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/internal/procfs"
	"github.com/leakgate/leakgate/restore"
	"github.com/leakgate/leakgate/restore/adapter"
	"github.com/leakgate/leakgate/restore/backup"
	"github.com/leakgate/leakgate/restore/fixture"
	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/manifest"
	"github.com/leakgate/leakgate/restore/record"
)

// These tests measure the whole process (children, fds), so none runs in
// parallel (see package harness).

// storage is a CommandAdapter over the folder $DIR, with faults: the file
// named $FAIL_FILE fails as $FAIL_MODE says (exit-early: exit 3 without
// reading stdin; exit-after: store everything, then exit 3; stall: never
// read stdin). A normal upload stores to a temporary name and renames it
// when its stdin ends, as a storage CLI completes an upload.
var storage = adapter.Commands{
	CreateBackup: "[ -z \"${FAIL_CREATE:-}\" ] || exit 4\nmkdir \"$DIR/$BACKUP_NAME\"\necho \"$BACKUP_NAME\"",
	CreateForWrite: `FH="$BACKUP_HANDLE/$FILE_NAME"
echo "$FH"
exec 1>&-
if [ "$FILE_NAME" = "${FAIL_FILE:-}" ]; then
  case "$FAIL_MODE" in
  exit-early) exit 3 ;;
  exit-after) cat > "$DIR/$FH"; exit 3 ;;
  stall) sleep 300 ;;
  esac
fi
cat > "$DIR/$FH.part"
mv "$DIR/$FH.part" "$DIR/$FH"`,
	OpenForRead: `cat "$DIR/$FILE_HANDLE"`,
	SaveMetadataLine: `FH="metadata/$FILE_NAME"
echo "$FH"
exec 1>&-
if [ "$FILE_NAME" = "${FAIL_FILE:-}" ]; then cat > /dev/null; exit 5; fi
mkdir -p "$DIR/metadata"
cat > "$DIR/$FH"`,
	ListMetadataFiles:  `if [ -d "$DIR/metadata" ]; then ls "$DIR/metadata" | sed 's#^#metadata/#'; fi`,
	BackupMetadataFile: `mkdir -p "$DIR/metadata_backup"; mv "$DIR/metadata/$FILE_NAME" "$DIR/metadata_backup/$FILE_NAME"`,
}

// recordSize is the size of every test record: ledger.Synthetic makes
// exactly this many bytes for each epoch.
const recordSize = 1000

// lab is one test's storage folder and measured run.
type lab struct {
	t      *testing.T
	dir    string
	run    harness.Marker
	before harness.Snapshot
}

// newLab makes the folder and the run, and a cleanup that kills and reaps
// whatever the run left, even when the test failed.
func newLab(t *testing.T) *lab {
	l := &lab{t: t, dir: t.TempDir(), run: harness.NewMarker(t.Name())}
	var err error
	if l.before, err = harness.Take(harness.WithMarker(l.run.ID)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := harness.Sweep(ctx, l.run, l.before); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return l
}

// adapter runs storage over l.dir under p, its children tagged with the run.
func (l *lab) adapter(p adapter.Policy, vars ...adapter.EnvVar) *adapter.Adapter {
	return &adapter.Adapter{
		Config:    &adapter.Config{EnvVars: append([]adapter.EnvVar{{Key: "DIR", Value: l.dir}}, vars...), Commands: storage, Source: "test storage"},
		Policy:    p,
		Env:       append(os.Environ(), l.run.Env()),
		WaitDelay: 10 * time.Second,
		OnSpawn:   func(s adapter.Spawn) { harness.Remember(s.Pid, s.Args, "spawn") },
	}
}

// fault is the config env_vars that make file fail in mode.
func fault(file, mode string) []adapter.EnvVar {
	return []adapter.EnvVar{{Key: "FAIL_FILE", Value: file}, {Key: "FAIL_MODE", Value: mode}}
}

// opts backs up epochs [start, end) in chunks of perChunk records.
func opts(a *adapter.Adapter, start, end uint64, perChunk int) backup.Options {
	return backup.Options{
		Adapter:      a,
		StartEpoch:   start,
		EndEpoch:     end,
		LedgerInfos:  fixture.LedgerInfos(start, end, recordSize),
		ChunkRecords: perChunk,
		Suffix:       func() uint16 { return 0x1a2b },
	}
}

// leftNow fails the test if a process or a pipe or pidfd fd of the run is
// left right now.
func (l *lab) leftNow() {
	l.t.Helper()
	now, err := harness.Take(harness.WithMarker(l.run.ID))
	if err != nil {
		l.t.Fatal(err)
	}
	leaks := harness.Diff(l.before, now, harness.IgnoringFDs(gomega.HaveField("Kind", harness.FDFile)), harness.IgnoringFDs(gomega.HaveField("Kind", harness.FDOther)))
	if !leaks.Empty() {
		l.t.Errorf("left behind when Run returned:\n%s", leaks)
	}
}

// files lists every file under l.dir, relative, sorted.
func (l *lab) files() []string {
	l.t.Helper()
	var out []string
	err := filepath.WalkDir(l.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(l.dir, p)
		out = append(out, rel)
		return err
	})
	if err != nil {
		l.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func (l *lab) read(rel string) []byte {
	l.t.Helper()
	data, err := os.ReadFile(filepath.Join(l.dir, rel))
	if err != nil {
		l.t.Fatal(err)
	}
	return data
}

func TestRunWritesBackup(t *testing.T) {
	l := newLab(t)
	a := l.adapter(adapter.KillGroup)
	ctx := context.Background()
	res, err := backup.Run(ctx, opts(a, 0, 10, 4))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	l.leftNow()
	const bh = "epoch_ending_0-.1a2b"
	wantChunks := []manifest.EpochEndingChunk{
		{FirstEpoch: 0, LastEpoch: 3, LedgerInfos: bh + "/0-.chunk"},
		{FirstEpoch: 4, LastEpoch: 7, LedgerInfos: bh + "/4-.chunk"},
		{FirstEpoch: 8, LastEpoch: 9, LedgerInfos: bh + "/8-.chunk"},
	}
	if res.Name != bh || res.BackupHandle != bh || !slices.Equal(res.Chunks, wantChunks) ||
		res.Manifest != bh+"/epoch_ending.manifest" || res.Metadata != "metadata/epoch_ending_0-9.meta" || len(res.Waypoints) != 10 {
		t.Errorf("Result = %+v", res)
	}
	wantMeta := manifest.EpochEndingBackupMeta{FirstEpoch: 0, LastEpoch: 9, FirstVersion: 999, LastVersion: 9999, Manifest: res.Manifest}
	if res.Meta != wantMeta {
		t.Errorf("Meta = %+v, want %+v", res.Meta, wantMeta)
	}
	want := []string{bh + "/0-.chunk", bh + "/4-.chunk", bh + "/8-.chunk", bh + "/epoch_ending.manifest", "metadata/epoch_ending_0-9.meta"}
	if got := l.files(); !slices.Equal(got, want) {
		t.Errorf("stored files %q, want %q", got, want)
	}
	for _, c := range wantChunks {
		if got := l.read(c.LedgerInfos); !bytes.Equal(got, fixture.ChunkData(c.FirstEpoch, c.LastEpoch+1, recordSize)) {
			t.Errorf("%s: %d bytes, not the records of epochs %d..%d", c.LedgerInfos, len(got), c.FirstEpoch, c.LastEpoch)
		}
	}
	m, err := manifest.ParseEpochEnding(l.read(res.Manifest), res.Manifest)
	if err != nil {
		t.Fatalf("the manifest written does not verify: %v", err)
	}
	if !slices.Equal(m.Chunks, wantChunks) || !slices.Equal(m.Waypoints, res.Waypoints) {
		t.Errorf("manifest %+v", m)
	}
	for i, wp := range m.Waypoints {
		e := uint64(i)
		li := ledger.Synthetic(e, recordSize)
		if want := ledger.WaypointOf(li.Info.Version, li.Encode()).String(); wp != want {
			t.Errorf("waypoint %d = %s, want %s", i, wp, want)
		}
	}
	line, _ := manifest.MetadataLine(wantMeta)
	if got := l.read(res.Metadata); !bytes.Equal(got, line) {
		t.Errorf("metadata file %q, want %q", got, line)
	}

	// The real restore's port reads it back and verifies every waypoint.
	rres, err := restore.Run(ctx, restore.Options{Adapter: a, Concurrency: 2, MetadataCacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("restore of the backup: %v", err)
	}
	if rres.LedgerInfos != 10 || rres.Waypoints != 10 || rres.Chunks != 3 {
		t.Errorf("restore verified %+v, want 10 ledger infos in 3 chunks", rres)
	}
}

// TestRunChunkCutting: chunks are cut by backup-cli's should_cut_chunk
// (size) or by ChunkRecords. Each record is 1004 bytes framed.
func TestRunChunkCutting(t *testing.T) {
	const framed = recordSize + 4
	for _, tc := range []struct {
		name         string
		maxChunkSize int
		chunkRecords int
		want         []uint64 // first epoch of each chunk
	}{
		{"three fit exactly", 3 * framed, 0, []uint64{0, 3, 6, 9}},
		{"one byte short of three", 3*framed - 1, 0, []uint64{0, 2, 4, 6, 8}},
		{"a record larger than the limit gets a chunk of its own", 10, 0, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"default limit: one chunk", 0, 0, []uint64{0}},
		{"record count cuts first", 3 * framed, 2, []uint64{0, 2, 4, 6, 8}},
		{"size cuts first", 2 * framed, 3, []uint64{0, 2, 4, 6, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			o := opts(l.adapter(adapter.KillGroup), 0, 10, tc.chunkRecords)
			o.MaxChunkSize = tc.maxChunkSize
			res, err := backup.Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for i, c := range res.Chunks {
				got = append(got, c.FirstEpoch)
				last := uint64(9)
				if i+1 < len(res.Chunks) {
					last = res.Chunks[i+1].FirstEpoch - 1
				}
				if c.LastEpoch != last {
					t.Errorf("chunk %d ends at %d, want %d", i, c.LastEpoch, last)
				}
				if size := len(l.read(c.LedgerInfos)); tc.maxChunkSize > framed && size > tc.maxChunkSize {
					t.Errorf("chunk %s has %d bytes, more than %d", c.LedgerInfos, size, tc.maxChunkSize)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("chunks start at %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunOptionErrors(t *testing.T) {
	a := &adapter.Adapter{Config: &adapter.Config{Commands: storage}}
	src := fixture.LedgerInfos(0, 1, recordSize)
	for _, tc := range []struct {
		name string
		o    backup.Options
		want string
	}{
		{"no adapter", backup.Options{LedgerInfos: src, EndEpoch: 1}, "Adapter is nil"},
		{"no ledger infos", backup.Options{Adapter: a, EndEpoch: 1}, "LedgerInfos is nil"},
		{"empty range", backup.Options{Adapter: a, LedgerInfos: src, StartEpoch: 5, EndEpoch: 5}, "epochs 5..5 (end excluded) are empty"},
		{"negative size", backup.Options{Adapter: a, LedgerInfos: src, EndEpoch: 1, MaxChunkSize: -1}, "MaxChunkSize -1 is negative"},
		{"negative count", backup.Options{Adapter: a, LedgerInfos: src, EndEpoch: 1, ChunkRecords: -2}, "ChunkRecords -2 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := backup.Run(context.Background(), tc.o)
			if !errors.Is(err, backup.ErrOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want ErrOptions saying %q", err, tc.want)
			}
		})
	}
}

// TestRunLedgerInfoErrors feeds bad ledger info streams: the backup fails
// before its manifest, and no metadata line is written.
func TestRunLedgerInfoErrors(t *testing.T) {
	framed := func(epochs ...uint64) io.Reader {
		var data []byte
		for _, e := range epochs {
			data = record.Append(data, ledger.Synthetic(e, recordSize).Encode())
		}
		return bytes.NewReader(data)
	}
	garbage := record.Append(nil, []byte("not a ledger info"))
	whole := fixture.ChunkData(0, 3, recordSize)
	for _, tc := range []struct {
		name   string
		src    io.Reader
		is     error
		text   string
		stored []string // chunk files written before the failure
	}{
		{"empty", framed(), backup.ErrEpochRange, "no ledger info for epochs 0..3", nil},
		{"short", framed(0, 1, 2), backup.ErrEpochRange, "ended after epoch 2, want epochs 0..3", []string{"0-.chunk"}},
		{"long", framed(0, 1, 2, 3, 4), backup.ErrEpochRange, "record 5 is past end epoch 4", []string{"0-.chunk"}},
		{"wrong epoch", framed(0, 2), backup.ErrUnexpectedEpoch, "record 2: expected epoch 1, got 2", nil},
		{"garbage", io.MultiReader(framed(0), bytes.NewReader(garbage)), nil, "epoch 1: record 2: decode ledger info", nil},
		{"cut inside a record", bytes.NewReader(whole[:len(whole)-10]), record.ErrShortRecord, "epoch 2: record 3: short record", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			o := opts(l.adapter(adapter.KillGroup), 0, 4, 2)
			o.LedgerInfos = tc.src
			res, err := backup.Run(context.Background(), o)
			var be *backup.Error
			if !errors.As(err, &be) || be.Step != backup.StepLedgerInfos || be.Backup != "epoch_ending_0-.1a2b" || be.Dropped {
				t.Fatalf("Run = %#v, want a *backup.Error at step %q", err, backup.StepLedgerInfos)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Run = %v, want errors.Is %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Run = %v, want it to say %q", err, tc.text)
			}
			var stored []string
			for _, c := range res.Chunks {
				stored = append(stored, strings.TrimPrefix(c.LedgerInfos, "epoch_ending_0-.1a2b/"))
			}
			if !slices.Equal(stored, tc.stored) {
				t.Errorf("chunks stored %q, want %q", stored, tc.stored)
			}
			if res.Manifest != "" || res.Metadata != "" {
				t.Errorf("a failed backup wrote a manifest or metadata: %+v", res)
			}
			if _, err := os.Stat(filepath.Join(l.dir, "metadata")); err == nil {
				t.Errorf("a failed backup wrote a metadata line")
			}
			l.leftNow()
		})
	}
}

// TestRunStepFailures fails each step of the protocol under KillGroup: the
// error names backup, file, handle and step; a writer that failed before
// its shutdown is dropped and leaves nothing; the metadata line is never
// written for a failed backup.
func TestRunStepFailures(t *testing.T) {
	const bh = "epoch_ending_0-.1a2b"
	for _, tc := range []struct {
		name    string
		vars    []adapter.EnvVar
		step    backup.Step
		file    string
		handle  string
		dropped bool
		timeout time.Duration // Adapter.WriteTimeout
		cause   func(error) bool
		files   []string // what the store holds afterwards
	}{
		{
			name: "create_backup fails", vars: []adapter.EnvVar{{Key: "FAIL_CREATE", Value: "1"}},
			step: backup.StepCreateBackup, cause: exitStatus(4),
		},
		{
			name: "upload exits without reading", vars: fault("2-.chunk", "exit-early"),
			step: backup.StepWrite, file: "2-.chunk", handle: bh + "/2-.chunk", dropped: true,
			cause: func(err error) bool { return errors.Is(err, syscall.EPIPE) },
			files: []string{bh + "/0-.chunk"},
		},
		{
			name: "upload stores everything, then fails", vars: fault("2-.chunk", "exit-after"),
			step: backup.StepShutdown, file: "2-.chunk", handle: bh + "/2-.chunk", cause: exitStatus(3),
			files: []string{bh + "/0-.chunk", bh + "/2-.chunk"},
		},
		{
			name: "upload stalls", vars: fault("2-.chunk", "stall"), timeout: 200 * time.Millisecond,
			step: backup.StepWrite, file: "2-.chunk", handle: bh + "/2-.chunk", dropped: true,
			cause: func(err error) bool { return errors.Is(err, adapter.ErrWriteTimeout) },
			files: []string{bh + "/0-.chunk"},
		},
		{
			name: "manifest upload fails", vars: fault("epoch_ending.manifest", "exit-after"),
			step: backup.StepShutdown, file: "epoch_ending.manifest", handle: bh + "/epoch_ending.manifest", cause: exitStatus(3),
			files: []string{bh + "/0-.chunk", bh + "/2-.chunk", bh + "/epoch_ending.manifest"},
		},
		{
			name: "save_metadata_line fails", vars: fault("epoch_ending_0-3.meta", ""),
			step: backup.StepSaveMetadata, file: "epoch_ending_0-3.meta", cause: exitStatus(5),
			files: []string{bh + "/0-.chunk", bh + "/2-.chunk", bh + "/epoch_ending.manifest"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			a := l.adapter(adapter.KillGroup, tc.vars...)
			a.Stderr = devNull(t)
			a.WriteTimeout = tc.timeout
			o := opts(a, 0, 4, 2)
			o.LedgerInfos = fixture.LedgerInfos(0, 4, 100<<10) // 200 KiB chunks: more than a pipe holds
			_, err := backup.Run(context.Background(), o)
			l.leftNow()
			var be *backup.Error
			if !errors.As(err, &be) {
				t.Fatalf("Run = %v, want a *backup.Error", err)
			}
			name := bh
			if tc.step == backup.StepCreateBackup {
				name = "epoch_ending_0-.1a2b" // the name, before any handle
			}
			if be.Backup != name || be.File != tc.file || be.Handle != tc.handle || be.Step != tc.step || be.Dropped != tc.dropped {
				t.Errorf("Error = {Backup %q File %q Handle %q Step %q Dropped %v}, want {%q %q %q %q %v}",
					be.Backup, be.File, be.Handle, be.Step, be.Dropped, name, tc.file, tc.handle, tc.step, tc.dropped)
			}
			if !tc.cause(err) {
				t.Errorf("cause of %v is not the one expected", err)
			}
			if got := l.files(); !slices.Equal(got, tc.files) {
				t.Errorf("store holds %q, want %q", got, tc.files)
			}
		})
	}
}

func exitStatus(code int) func(error) bool {
	return func(err error) bool {
		var xe *adapter.ExitError
		return errors.As(err, &xe) && xe.ExitCode == code
	}
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestErrorText(t *testing.T) {
	l := newLab(t)
	a := l.adapter(adapter.KillGroup, fault("0-.chunk", "stall")...)
	a.WriteTimeout = 100 * time.Millisecond
	o := opts(a, 0, 4, 0)
	o.LedgerInfos = fixture.LedgerInfos(0, 4, 100<<10)
	_, err := backup.Run(context.Background(), o)
	want := regexp.MustCompile(`^epoch-ending backup epoch_ending_0-\.1a2b: file 0-\.chunk \(handle epoch_ending_0-\.1a2b/0-\.chunk\): write \(writer dropped\): ` +
		`create_for_write BACKUP_HANDLE="epoch_ending_0-\.1a2b" FILE_NAME="0-\.chunk": stdin of bash \(pid \d+\) took no data within 100ms \(\d+ bytes written\): write timeout$`)
	if err == nil || !want.MatchString(err.Error()) {
		t.Errorf("error %v\nwant match for %s", err, want)
	}
}

// TestRunCancelDropsWriter cancels the backup while a chunk's upload is
// stalled (no write timeout): the writer is dropped at once, and under
// KillGroup nothing is left.
func TestRunCancelDropsWriter(t *testing.T) {
	l := newLab(t)
	a := l.adapter(adapter.KillGroup, fault("2-.chunk", "stall")...)
	var watchers sync.WaitGroup
	defer watchers.Wait() // after cancel: the run's end stops them
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spawned := a.OnSpawn
	a.OnSpawn = func(s adapter.Spawn) {
		spawned(s)
		if s.Op == adapter.OpCreateForWrite && slices.Contains(s.Params, adapter.EnvVar{Key: adapter.ParamFileName, Value: "2-.chunk"}) {
			// Cancel once the stalled upload runs: its Write blocks on the
			// full pipe, or finds the writer already dropped. The watcher
			// ends with the run (ctx) or at the deadline, and the test
			// waits for it.
			watchers.Go(func() {
				if !poll.Until(ctx, 20*time.Second, func() bool { return procfs.ChildNamed(int32(s.Pid), "sleep") }) && ctx.Err() == nil {
					t.Errorf("the stalled upload of 2-.chunk (bash pid %d) never started its sleep", s.Pid)
				}
				cancel()
			})
		}
	}
	o := opts(a, 0, 4, 2)
	o.LedgerInfos = fixture.LedgerInfos(0, 4, 100<<10)
	done := make(chan error, 1)
	go func() { _, err := backup.Run(ctx, o); done <- err }()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the cancel")
	}
	l.leftNow()
	var be *backup.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &be) || !be.Dropped || be.File != "2-.chunk" || !errors.Is(err, adapter.ErrClosed) {
		t.Errorf("Run = %v, want a dropped writer of 2-.chunk, context.Canceled and ErrClosed", err)
	}
}

// TestRunMoveAside moves older metadata files aside after the new line is
// saved; a failed move is reported, not fatal, as in backup-cli's
// compaction.
func TestRunMoveAside(t *testing.T) {
	l := newLab(t)
	a := l.adapter(adapter.KillGroup)
	a.Stderr = devNull(t)
	if err := os.MkdirAll(filepath.Join(l.dir, "metadata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.dir, "metadata", "old.meta"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := opts(a, 0, 2, 0)
	o.MoveAside = []string{"metadata/old.meta", "metadata/missing.meta"}
	res, err := backup.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !slices.Equal(res.MovedAside, []string{"metadata/old.meta"}) || len(res.MoveAsideErrors) != 1 {
		t.Fatalf("MovedAside %q, MoveAsideErrors %v", res.MovedAside, res.MoveAsideErrors)
	}
	var be *backup.Error
	if err := res.MoveAsideErrors[0]; !errors.As(err, &be) || be.Step != backup.StepMoveAside || be.File != "metadata/missing.meta" || !exitStatus(1)(err) {
		t.Errorf("MoveAsideErrors[0] = %v", err)
	}
	want := []string{"epoch_ending_0-.1a2b/0-.chunk", "epoch_ending_0-.1a2b/epoch_ending.manifest", "metadata/epoch_ending_0-1.meta", "metadata_backup/old.meta"}
	if got := l.files(); !slices.Equal(got, want) {
		t.Errorf("store holds %q, want %q", got, want)
	}

	// Without a backup_metadata_file command, each move fails with ErrNoCommand.
	l2 := newLab(t)
	a2 := l2.adapter(adapter.KillGroup)
	a2.Config.Commands.BackupMetadataFile = ""
	o2 := opts(a2, 0, 2, 0)
	o2.MoveAside = []string{"metadata/old.meta"}
	res2, err := backup.Run(context.Background(), o2)
	if err != nil || len(res2.MoveAsideErrors) != 1 || !errors.Is(res2.MoveAsideErrors[0], adapter.ErrNoCommand) {
		t.Errorf("Run without backup_metadata_file = %v, %+v; want one ErrNoCommand", err, res2)
	}
}
