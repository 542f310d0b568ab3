package db_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/restore/db"
	"github.com/leakgate/leakgate/restore/ledger"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashWriterEnv) != "" {
		os.Exit(crashWriter(os.Getenv(crashWriterEnv)))
	}
	os.Exit(harness.RunReaped(m.Run))
}

// backup makes the records and the marker of a backup of epochs
// first..last, with records of size bytes.
func backup(first, last uint64, size int) (db.Manifest, [][]byte) {
	var recs [][]byte
	var wp ledger.Waypoint
	for e := first; e <= last; e++ {
		li := ledger.Synthetic(e, size)
		rec := li.Encode()
		recs = append(recs, rec)
		wp = ledger.WaypointOf(li.Info.Version, rec)
	}
	return db.Manifest{
		Handle:       fmt.Sprintf("epoch_ending_%d-.abcd/epoch_ending.manifest", first),
		FirstEpoch:   first,
		LastEpoch:    last,
		FirstVersion: ledger.Synthetic(first, 1).Info.Version,
		LastVersion:  ledger.Synthetic(last, 1).Info.Version,
		LastWaypoint: wp,
	}, recs
}

func open(t *testing.T, dir string, opts ...db.Option) *db.DB {
	t.Helper()
	d, err := db.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func put(t *testing.T, d *db.DB, first, last uint64) db.Manifest {
	t.Helper()
	m, recs := backup(first, last, 512)
	if err := d.PutManifest(m, recs); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		key   []byte
		kind  db.KeyKind
		epoch uint64
		text  string
	}{
		{db.LedgerInfoKey(0), db.KindLedgerInfo, 0, "ledger_info/0"},
		{db.LedgerInfoKey(1 << 40), db.KindLedgerInfo, 1 << 40, "ledger_info/1099511627776"},
		{db.ManifestKey(24), db.KindManifest, 24, "manifest/24"},
		{[]byte("latest"), db.KindLatest, 0, "latest"},
		{[]byte("ledger_info/\x00\x01"), db.KindUnknown, 0, `"ledger_info/\x00\x01"`},
		{[]byte("manifest/"), db.KindUnknown, 0, `"manifest/"`},
		{[]byte("latest2"), db.KindUnknown, 0, `"latest2"`},
	} {
		kind, epoch := db.ParseKey(tc.key)
		if kind != tc.kind || epoch != tc.epoch {
			t.Errorf("ParseKey(%q) = %d, %d; want %d, %d", tc.key, kind, epoch, tc.kind, tc.epoch)
		}
		if got := db.FormatKey(tc.key); got != tc.text {
			t.Errorf("FormatKey(%q) = %q, want %q", tc.key, got, tc.text)
		}
	}
	// Big-endian epochs sort numerically: a scan is in epoch order.
	for _, pair := range [][2]uint64{{0, 1}, {255, 256}, {65535, 65536}, {1<<32 - 1, 1 << 32}} {
		if bytes.Compare(db.LedgerInfoKey(pair[0]), db.LedgerInfoKey(pair[1])) >= 0 {
			t.Errorf("ledger_info/%d does not sort before ledger_info/%d", pair[0], pair[1])
		}
		if bytes.Compare(db.ManifestKey(pair[0]), db.ManifestKey(pair[1])) >= 0 {
			t.Errorf("manifest/%d does not sort before manifest/%d", pair[0], pair[1])
		}
	}
}

func TestPutManifestThenReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	d, err := db.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Latest(); ok {
		t.Error("a new DB has a latest epoch")
	}
	m0 := put(t, d, 0, 2)
	m1 := put(t, d, 3, 3)
	m2 := put(t, d, 4, 7)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = open(t, dir)
	l, ok := d.Latest()
	if want := (db.Latest{Epoch: 7, Waypoint: m2.LastWaypoint, Manifest: m2.Handle}); !ok || l != want {
		t.Errorf("Latest() = %+v, %v; want %+v, true", l, ok, want)
	}
	ms, err := d.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	if want := []db.Manifest{m0, m1, m2}; !slices.Equal(ms, want) {
		t.Errorf("Manifests() = %+v\nwant %+v", ms, want)
	}
	rec, err := d.LedgerInfo(5)
	if err != nil {
		t.Fatal(err)
	}
	if want := ledger.Synthetic(5, 512).Encode(); !bytes.Equal(rec, want) {
		t.Errorf("LedgerInfo(5) is not the record written")
	}
	if _, err := d.LedgerInfo(8); !errors.Is(err, db.ErrNotFound) || !strings.Contains(err.Error(), dir) {
		t.Errorf("LedgerInfo(8) = %v, want ErrNotFound naming %s", err, dir)
	}
	if err := d.Check(); err != nil {
		t.Error(err)
	}
	kvs, err := d.Dump()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"latest"}
	for e := range 8 {
		want = append(want, fmt.Sprintf("ledger_info/%d", e))
	}
	want = append(want, "manifest/0", "manifest/3", "manifest/4")
	if got := db.Keys(kvs); !slices.Equal(got, want) {
		t.Errorf("keys:\n got %q\nwant %q", got, want)
	}
}

func TestPutManifestRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *db.Manifest, recs [][]byte) [][]byte
		want error
		text string
	}{
		{"gap", func(m *db.Manifest, recs [][]byte) [][]byte {
			m2, recs2 := backup(4, 5, 512)
			*m = m2
			return recs2
		}, db.ErrNotContiguous, "the DB ends at epoch 2 (manifest epoch_ending_0-.abcd/epoch_ending.manifest), first epoch 4 is not 3"},
		{"overlap", func(m *db.Manifest, recs [][]byte) [][]byte {
			m2, recs2 := backup(2, 5, 512)
			*m = m2
			return recs2
		}, db.ErrNotContiguous, "first epoch 2 is not 3"},
		{"one record short", func(m *db.Manifest, recs [][]byte) [][]byte { return recs[:2] }, db.ErrInvalid, "2 ledger infos for 3 epochs"},
		{"no records", func(m *db.Manifest, recs [][]byte) [][]byte { return nil }, db.ErrInvalid, "0 ledger infos for 3 epochs"},
		{"last record changed", func(m *db.Manifest, recs [][]byte) [][]byte {
			recs[2] = append(slices.Clip(recs[2]), 0)
			return recs
		}, db.ErrInvalid, "does not hash to the last waypoint"},
		{"no handle", func(m *db.Manifest, recs [][]byte) [][]byte { m.Handle = ""; return recs }, db.ErrInvalid, "no manifest handle"},
		{"reversed epochs", func(m *db.Manifest, recs [][]byte) [][]byte { m.LastEpoch = 2; return recs }, db.ErrInvalid, "last epoch before first"},
		{"reversed versions", func(m *db.Manifest, recs [][]byte) [][]byte { m.FirstVersion = m.LastVersion + 1; return recs }, db.ErrInvalid, "last version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := open(t, dir)
			put(t, d, 0, 2)
			before, err := d.Dump()
			if err != nil {
				t.Fatal(err)
			}
			m, recs := backup(3, 5, 512)
			recs = tc.edit(&m, recs)
			err = d.PutManifest(m, recs)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("got %v\nwant %v containing %q and the dir", err, tc.want, tc.text)
			}
			after, err := d.Dump()
			if err != nil {
				t.Fatal(err)
			}
			if diff := db.Diff(before, after); diff != nil {
				t.Errorf("a rejected manifest changed the DB:\n%s", strings.Join(diff, "\n"))
			}
			if l, _ := d.Latest(); l.Epoch != 2 {
				t.Errorf("latest epoch %d after a rejected write, want 2", l.Epoch)
			}
		})
	}
	t.Run("empty DB, first epoch not 0", func(t *testing.T) {
		d := open(t, t.TempDir())
		m, recs := backup(1, 2, 512)
		if err := d.PutManifest(m, recs); !errors.Is(err, db.ErrNotContiguous) || !strings.Contains(err.Error(), "the DB is empty") {
			t.Errorf("got %v, want ErrNotContiguous on an empty DB", err)
		}
	})
}

func TestOpenErrorsNameTheDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	held := t.TempDir()
	open(t, held)
	corrupt := t.TempDir()
	p, err := pebble.Open(corrupt, &pebble.Options{Logger: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Set([]byte(db.KeyLatest), []byte("{not json"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  string
		opts []db.Option
		want error
	}{
		{"under a file", filepath.Join(file, "db"), nil, nil},
		{"held open", held, nil, nil},
		{"read-only, missing", filepath.Join(t.TempDir(), "nothing"), []db.Option{db.ReadOnly()}, nil},
		{"latest not JSON", corrupt, nil, db.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := harness.Take()
			if err != nil {
				t.Fatal(err)
			}
			d, err := db.Open(tc.dir, tc.opts...)
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.dir) {
				t.Errorf("error %q does not name %s", err, tc.dir)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			now, err := harness.Take()
			if err != nil {
				t.Fatal(err)
			}
			if l := harness.Diff(before, now); len(l.FDs) > 0 {
				t.Errorf("a failed Open left fds open:\n%s", l)
			}
		})
	}
}

type discard struct{}

func (discard) Infof(string, ...any)  {}
func (discard) Errorf(string, ...any) {}
func (discard) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// TestCloseReleasesEverything: after Close, no fd and no goroutine of the
// DB is left, a second Close is a no-op, and use after Close is ErrClosed.
func TestCloseReleasesEverything(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	goroutines := gleak.Goroutines()
	before, err := harness.Take()
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, d, 0, 9)
	open, err := harness.Take()
	if err != nil {
		t.Fatal(err)
	}
	if l := harness.Diff(before, open); len(l.FDs) == 0 {
		t.Errorf("an open DB holds no fd: the test measures nothing")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	now, err := harness.Take()
	if err != nil {
		t.Fatal(err)
	}
	if l := harness.Diff(before, now); !l.Empty() {
		t.Errorf("Close left something behind:\n%s", l)
	}
	g.Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(goroutines))

	m, recs := backup(10, 11, 64)
	for name, err := range map[string]error{
		"PutManifest": d.PutManifest(m, recs),
		"Manifests":   second(d.Manifests()),
		"LedgerInfo":  second(d.LedgerInfo(0)),
		"Dump":        second(d.Dump()),
		"Check":       d.Check(),
	} {
		if !errors.Is(err, db.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
	// The lock is released: the dir opens again.
	open2 := func() error {
		d, err := db.Open(dir)
		if err != nil {
			return err
		}
		return d.Close()
	}
	if err := open2(); err != nil {
		t.Errorf("reopen after Close: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestReadOnlyRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	d, err := db.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, d, 0, 1)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ro := open(t, dir, db.ReadOnly())
	m, recs := backup(2, 3, 64)
	if err := ro.PutManifest(m, recs); err == nil {
		t.Error("PutManifest succeeded on a read-only DB")
	}
	if l, ok := ro.Latest(); !ok || l.Epoch != 1 {
		t.Errorf("Latest() = %+v, %v; want epoch 1", l, ok)
	}
}

// TestCheckFindsBrokenLayouts writes broken layouts with pebble directly.
func TestCheckFindsBrokenLayouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(p *pebble.DB) error
		want string
	}{
		{"intact", func(p *pebble.DB) error { return nil }, ""},
		{"ledger info missing", func(p *pebble.DB) error { return p.Delete(db.LedgerInfoKey(4), pebble.Sync) }, "ledger_info/5: ledger info 4 is missing before it"},
		{"last ledger info missing", func(p *pebble.DB) error { return p.Delete(db.LedgerInfoKey(7), pebble.Sync) }, "ledger_info/7: ledger info 7 is missing (the marker covers epochs 4..7)"},
		{"stray ledger info", func(p *pebble.DB) error { return p.Set(db.LedgerInfoKey(8), []byte("x"), pebble.Sync) }, "ledger_info/8: no marker covers it"},
		{"marker missing", func(p *pebble.DB) error { return p.Delete(db.ManifestKey(3), pebble.Sync) }, "manifest/4: covers epochs 4..7, want it to start at 3"},
		{"latest missing", func(p *pebble.DB) error { return p.Delete([]byte(db.KeyLatest), pebble.Sync) }, "latest is missing"},
		{"last ledger info changed", func(p *pebble.DB) error { return p.Set(db.LedgerInfoKey(7), []byte("x"), pebble.Sync) }, "ledger_info/7 does not hash to the latest waypoint"},
		{"unknown key", func(p *pebble.DB) error { return p.Set([]byte("zzz"), nil, pebble.Sync) }, `unknown key "zzz"`},
		{"marker not JSON", func(p *pebble.DB) error { return p.Set(db.ManifestKey(3), []byte("{"), pebble.Sync) }, "manifest/3: unexpected end of JSON input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, err := db.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			put(t, d, 0, 2)
			put(t, d, 3, 3)
			put(t, d, 4, 7)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			p, err := pebble.Open(dir, &pebble.Options{Logger: discard{}})
			if err != nil {
				t.Fatal(err)
			}
			err = tc.edit(p)
			if cerr := p.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			err = open(t, dir).Check()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, db.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check: got %v, want ErrCorrupt containing %q", err, tc.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	kv := func(k []byte, v string) db.KV { return db.KV{Key: k, Value: []byte(v)} }
	a := []db.KV{kv([]byte("latest"), "x"), kv(db.LedgerInfoKey(0), "a"), kv(db.LedgerInfoKey(1), "b"), kv(db.ManifestKey(0), "m")}
	for _, tc := range []struct {
		name      string
		want, got []db.KV
		diff      []string
	}{
		{"equal", a, slices.Clone(a), nil},
		{"both empty", nil, nil, nil},
		{"one missing", a, slices.Delete(slices.Clone(a), 2, 3), []string{"only in want: ledger_info/1"}},
		{"one extra", a, append(slices.Clone(a), kv(db.ManifestKey(2), "n")), []string{"only in got: manifest/2"}},
		{"all extra", nil, a[:2], []string{"only in got: latest", "only in got: ledger_info/0"}},
		{"value", a, append([]db.KV{kv([]byte("latest"), "y")}, a[1:]...), []string{
			"value differs: latest (want 1 bytes sha3 741efa31…, got 1 bytes sha3 9d0f3db6…)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := db.Diff(tc.want, tc.got); !slices.Equal(got, tc.diff) {
				t.Errorf("Diff:\n got %q\nwant %q", got, tc.diff)
			}
		})
	}
}

// crashWriterEnv makes the test binary a writer that commits manifests of
// 64 records × 4 KiB until it is killed, printing each committed first
// epoch on stdout.
const crashWriterEnv = "LEAKGATE_DB_CRASH_WRITER"

func crashWriter(dir string) int {
	d, err := db.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	const per = 64
	for first := uint64(0); ; first += per {
		m, recs := backup(first, first+per-1, 4<<10)
		if err := d.PutManifest(m, recs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(first + per - 1)
	}
}

// TestSIGKILLLeavesWholeManifests kills a writer in the middle of its
// stream of batches: the DB it leaves holds whole manifests only, at least
// every one it reported committed, and opens for the next writer.
func TestSIGKILLLeavesWholeManifests(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashWriterEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// Let it commit a few manifests, then kill it wherever it is.
	sc := bufio.NewScanner(out)
	var committed uint64
	for n := 0; n < 5 && sc.Scan(); n++ {
		if committed, err = strconv.ParseUint(sc.Text(), 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waited = true
	if committed == 0 {
		t.Fatal("the writer reported no commit")
	}

	d := open(t, dir)
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	l, ok := d.Latest()
	if !ok || l.Epoch < committed || (l.Epoch+1)%64 != 0 {
		t.Errorf("latest %+v, %v: want a manifest boundary at or after the reported epoch %d", l, ok, committed)
	}
	m, recs := backup(l.Epoch+1, l.Epoch+64, 64)
	if err := d.PutManifest(m, recs); err != nil {
		t.Errorf("the next manifest does not continue the DB: %v", err)
	}
}
