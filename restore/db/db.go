package db

import (
	"crypto/sha3"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/leakgate/leakgate/restore/ledger"
)

// Errors, for errors.Is. Each is wrapped with the DB's dir and the step.
var (
	// ErrNotFound: the DB holds no such key.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the DB was used after Close.
	ErrClosed = errors.New("target DB is closed")
	// ErrNotContiguous: PutManifest was given a backup that does not start
	// right after the DB's latest epoch (or at 0 on an empty DB).
	ErrNotContiguous = errors.New("manifest does not continue the target DB")
	// ErrInvalid: PutManifest's arguments contradict each other (record
	// count, last waypoint).
	ErrInvalid = errors.New("invalid manifest")
	// ErrCorrupt: a stored value does not decode, or the layout's invariants
	// (see the package doc) do not hold.
	ErrCorrupt = errors.New("target DB is corrupt")
)

// Manifest is the completion marker of one restored epoch-ending backup:
// its manifest's file handle, the epochs and versions its metadata line
// gives, and the waypoint of its last ledger info.
//
//	m := db.Manifest{Handle: "epoch_ending_0-.1a2b/epoch_ending.manifest", FirstEpoch: 0, LastEpoch: 9,
//		FirstVersion: 0, LastVersion: 9999, LastWaypoint: wp}
type Manifest struct {
	Handle                    string
	FirstEpoch, LastEpoch     uint64 // inclusive
	FirstVersion, LastVersion uint64 // inclusive, from the metadata line
	LastWaypoint              ledger.Waypoint
}

// Latest is the DB's last restored epoch: its number, its waypoint and the
// manifest it came from.
//
//	l, ok := d.Latest() // l.Epoch == 29, l.Manifest == "epoch_ending_20-.1a2b/epoch_ending.manifest"
type Latest struct {
	Epoch    uint64
	Waypoint ledger.Waypoint
	Manifest string
}

// KV is one stored key and its value, as Dump returns them (copies).
//
//	kvs, err := db.Dump(dir)
//	fmt.Println(db.FormatKey(kvs[0].Key), len(kvs[0].Value)) // latest 123
type KV struct {
	Key, Value []byte
}

// DB is an open target DB. Its methods are safe for concurrent use; Close
// it on every path (see the package doc).
//
//	d, err := db.Open(dir)
//	if err != nil { return err }
//	defer d.Close()
type DB struct {
	dir string

	mu     sync.Mutex
	p      *pebble.DB // nil once closed
	latest *Latest    // cached; nil on an empty DB
	health *health
	broken bool // a commit failed fatally: pebble's commit pipeline is unusable
}

// Option configures Open: ReadOnly, ErrorLog.
//
//	d, err := db.Open(dir, db.ReadOnly(), db.ErrorLog(io.Discard))
type Option interface{ apply(*config) }

type config struct {
	readOnly bool
	errorLog io.Writer
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// ReadOnly opens an existing DB without writing to it (Open fails if dir
// holds no DB); PutManifest then fails.
//
//	d, err := db.Open(dir, db.ReadOnly())
func ReadOnly() Option { return optionFunc(func(c *config) { c.readOnly = true }) }

// ErrorLog sends pebble's error messages to w (default os.Stderr); its
// informational messages are always discarded.
//
//	d, err := db.Open(dir, db.ErrorLog(io.Discard))
func ErrorLog(w io.Writer) Option { return optionFunc(func(c *config) { c.errorLog = w }) }

// Open opens the DB in dir, creating dir and an empty DB if missing
// (unless ReadOnly). It fails if another DB value, in this process or
// another, has dir open. Every error names dir.
//
//	d, err := db.Open(dir)
//	// err: "open target DB /data/db: lock held by current process"
func Open(dir string, opts ...Option) (*DB, error) {
	c := config{errorLog: os.Stderr}
	for _, o := range opts {
		o.apply(&c)
	}
	if !c.readOnly {
		if err := probe(dir); err != nil {
			return nil, fmt.Errorf("open target DB %s: %w: %w", dir, ErrNotWritable, err)
		}
	}
	h := &health{w: c.errorLog}
	p, err := openPebble(dir, &pebble.Options{
		ReadOnly:         c.readOnly,
		ErrorIfNotExists: c.readOnly,
		Logger:           quietLogger{h},
		EventListener:    h.listener(),
	}, h)
	if err != nil {
		return nil, fmt.Errorf("open target DB %s: %w", dir, err)
	}
	d := &DB{dir: dir, p: p, health: h}
	latest, err := d.readLatest()
	if err != nil {
		return nil, errors.Join(err, d.Close())
	}
	d.latest = latest
	return d, nil
}

// Dir is the directory Open was given, as given.
//
//	fmt.Println(d.Dir()) // /data/db
func (d *DB) Dir() string { return d.dir }

// Close closes the DB, releasing its fds, its lock and its goroutines.
// A second Close does nothing and returns nil.
//
//	defer d.Close()
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil
	}
	if d.broken {
		// Pebble's commit pipeline is wedged after a fatal commit error
		// and its Close may not return: leave it (its fds and goroutines
		// go with the process) and report why.
		d.p = nil
		return fmt.Errorf("close target DB %s: not closed after a failed write: %w", d.dir, d.health.failed())
	}
	err := d.p.Close()
	d.p = nil
	if err != nil {
		return fmt.Errorf("close target DB %s: %w", d.dir, err)
	}
	return nil
}

// Latest returns the last restored epoch, and false on an empty DB.
//
//	l, ok := d.Latest() // l.Epoch == 29, l.Waypoint.String() == "29999:…"
func (d *DB) Latest() (Latest, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.latest == nil {
		return Latest{}, false
	}
	return *d.latest, true
}

// LedgerInfo returns the record stored for epoch (a copy), or an error
// wrapping ErrNotFound.
//
//	rec, err := d.LedgerInfo(29)
func (d *DB) LedgerInfo(epoch uint64) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil, fmt.Errorf("target DB %s: read ledger info %d: %w", d.dir, epoch, ErrClosed)
	}
	v, err := d.get(LedgerInfoKey(epoch))
	if err != nil {
		return nil, fmt.Errorf("target DB %s: read ledger info %d: %w", d.dir, epoch, err)
	}
	return v, nil
}

// Manifests returns the completion markers, in epoch order.
//
//	ms, err := d.Manifests() // ms[0].FirstEpoch == 0, ms[i+1].FirstEpoch == ms[i].LastEpoch+1
func (d *DB) Manifests() ([]Manifest, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil, fmt.Errorf("target DB %s: list manifests: %w", d.dir, ErrClosed)
	}
	var ms []Manifest
	err := d.scan([]byte(PrefixManifest), func(k, v []byte) error {
		m, err := decodeManifest(k, v)
		if err != nil {
			return err
		}
		ms = append(ms, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("target DB %s: list manifests: %w", d.dir, err)
	}
	return ms, nil
}

// PutManifest writes one restored backup in a single batch committed with
// Sync: recs, the ledger infos of epochs m.FirstEpoch..m.LastEpoch in order
// (stored as given, not copied beyond the batch), then m's completion
// marker, then the new latest. m must continue the DB (ErrNotContiguous),
// len(recs) must match its epoch range and the last record must hash to
// m.LastWaypoint (ErrInvalid). On error nothing of m is written.
//
//	err := d.PutManifest(m, recs)
func (d *DB) PutManifest(m Manifest, recs [][]byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.putManifest(m, recs); err != nil {
		return fmt.Errorf("target DB %s: write manifest %s (epochs %d..%d): %w", d.dir, m.Handle, m.FirstEpoch, m.LastEpoch, err)
	}
	return nil
}

// putManifest is PutManifest under mu: the checks (checkPut), then one
// batch of recs, the marker and the new latest.
func (d *DB) putManifest(m Manifest, recs [][]byte) error {
	if d.p == nil {
		return ErrClosed
	}
	if err := d.checkPut(m, recs); err != nil {
		return err
	}
	latest := Latest{Epoch: m.LastEpoch, Waypoint: m.LastWaypoint, Manifest: m.Handle}
	marker, err := encodeManifest(m)
	if err != nil {
		return err
	}
	lv, err := encodeLatest(latest)
	if err != nil {
		return err
	}
	size := len(marker) + len(lv)
	for _, rec := range recs {
		size += len(rec) + 16
	}
	if err := d.writable(size); err != nil {
		return err
	}
	b := d.p.NewBatch()
	defer b.Close()
	for i, rec := range recs {
		if err := b.Set(LedgerInfoKey(m.FirstEpoch+uint64(i)), rec, nil); err != nil {
			return err
		}
	}
	if err := b.Set(ManifestKey(m.FirstEpoch), marker, nil); err != nil {
		return err
	}
	if err := b.Set([]byte(KeyLatest), lv, nil); err != nil {
		return err
	}
	if err := d.commit(b); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	d.latest = &latest
	return nil
}

// checkPut checks PutManifest's arguments: m continues the DB
// (ErrNotContiguous) and agrees with itself and recs (ErrInvalid).
//
//	if err := d.checkPut(m, recs); err != nil { return err }
func (d *DB) checkPut(m Manifest, recs [][]byte) error {
	var next uint64
	if d.latest != nil {
		next = d.latest.Epoch + 1
	}
	switch {
	case m.FirstEpoch != next:
		if d.latest == nil {
			return fmt.Errorf("%w: the DB is empty, first epoch %d is not 0", ErrNotContiguous, m.FirstEpoch)
		}
		return fmt.Errorf("%w: the DB ends at epoch %d (manifest %s), first epoch %d is not %d",
			ErrNotContiguous, d.latest.Epoch, d.latest.Manifest, m.FirstEpoch, next)
	case m.Handle == "":
		return fmt.Errorf("%w: no manifest handle", ErrInvalid)
	case m.LastEpoch < m.FirstEpoch:
		return fmt.Errorf("%w: last epoch before first", ErrInvalid)
	case len(recs) == 0 || uint64(len(recs))-1 != m.LastEpoch-m.FirstEpoch:
		return fmt.Errorf("%w: %d ledger infos for %d epochs", ErrInvalid, len(recs), m.LastEpoch-m.FirstEpoch+1)
	case sha3.Sum256(recs[len(recs)-1]) != m.LastWaypoint.Hash:
		return fmt.Errorf("%w: the last ledger info does not hash to the last waypoint %s", ErrInvalid, m.LastWaypoint)
	}
	if m.LastVersion < m.FirstVersion {
		return fmt.Errorf("%w: last version %d before first version %d", ErrInvalid, m.LastVersion, m.FirstVersion)
	}
	return nil
}

// Check scans the whole DB and verifies the layout's invariants: only
// known keys; ledger infos for exactly epochs 0..latest; markers that chain
// from epoch 0 and cover them exactly; latest naming the last marker's
// manifest, epoch and waypoint; the last ledger info hashing to it. An empty
// DB passes. Errors wrap ErrCorrupt and name the key.
//
//	if err := d.Check(); err != nil { … } // "target DB /d: check: target DB is corrupt: ledger_info/5: missing (manifest/0 covers epochs 0..9)"
func (d *DB) Check() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return fmt.Errorf("target DB %s: check: %w", d.dir, ErrClosed)
	}
	if err := d.check(); err != nil {
		return fmt.Errorf("target DB %s: check: %w", d.dir, err)
	}
	return nil
}

// check is Check under mu: it reads the layout (scanLayout), then checks
// the markers against the ledger infos (checkMarkers) and latest against
// the last marker and ledger info (checkLatest).
func (d *DB) check() error {
	l, err := d.scanLayout()
	if err != nil {
		return err
	}
	if err := l.checkMarkers(); err != nil {
		return err
	}
	return l.checkLatest()
}

// layout is what scanLayout found in the DB.
type layout struct {
	infos   uint64 // ledger infos seen, all in sequence from epoch 0
	lastRec []byte // the last of them
	markers []Manifest
	latest  *Latest // nil if unset
}

// scanLayout reads every key: the ledger infos, which must run from
// epoch 0 without a hole, the markers and latest, which must decode. Any
// other key is ErrCorrupt.
//
//	l, err := d.scanLayout()
func (d *DB) scanLayout() (*layout, error) {
	l := &layout{}
	err := d.scan(nil, func(k, v []byte) error {
		kind, epoch := ParseKey(k)
		switch kind {
		case KindLedgerInfo:
			if epoch != l.infos {
				return fmt.Errorf("%w: %s: ledger info %d is missing before it", ErrCorrupt, FormatKey(k), l.infos)
			}
			l.infos++
			l.lastRec = append(l.lastRec[:0], v...)
		case KindManifest:
			m, err := decodeManifest(k, v)
			if err != nil {
				return err
			}
			l.markers = append(l.markers, m)
		case KindLatest:
			lt, err := decodeLatest(v)
			if err != nil {
				return err
			}
			l.latest = &lt
		default:
			return fmt.Errorf("%w: unknown key %s", ErrCorrupt, FormatKey(k))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// checkMarkers checks that the markers chain from epoch 0 and cover the
// ledger infos exactly.
func (l *layout) checkMarkers() error {
	var covered uint64
	for _, m := range l.markers {
		if m.FirstEpoch != covered {
			return fmt.Errorf("%w: %s: covers epochs %d..%d, want it to start at %d",
				ErrCorrupt, FormatKey(ManifestKey(m.FirstEpoch)), m.FirstEpoch, m.LastEpoch, covered)
		}
		if m.LastEpoch >= l.infos {
			return fmt.Errorf("%w: %s: ledger info %d is missing (the marker covers epochs %d..%d)",
				ErrCorrupt, FormatKey(LedgerInfoKey(l.infos)), l.infos, m.FirstEpoch, m.LastEpoch)
		}
		covered = m.LastEpoch + 1
	}
	if covered != l.infos {
		return fmt.Errorf("%w: %s: no marker covers it", ErrCorrupt, FormatKey(LedgerInfoKey(covered)))
	}
	return nil
}

// checkLatest checks that latest is set exactly when a marker is, names
// the last marker's manifest, epoch and waypoint, and that the last ledger
// info hashes to it.
func (l *layout) checkLatest() error {
	latest := l.latest
	switch {
	case latest == nil && len(l.markers) == 0:
		return nil
	case latest == nil:
		return fmt.Errorf("%w: %s is missing", ErrCorrupt, KeyLatest)
	case len(l.markers) == 0:
		return fmt.Errorf("%w: %s is set but no manifest is", ErrCorrupt, KeyLatest)
	}
	last := l.markers[len(l.markers)-1]
	if latest.Epoch != last.LastEpoch || latest.Manifest != last.Handle || latest.Waypoint != last.LastWaypoint {
		return fmt.Errorf("%w: %s (epoch %d, %s, manifest %s) disagrees with %s (epoch %d, %s, manifest %s)",
			ErrCorrupt, KeyLatest, latest.Epoch, latest.Waypoint, latest.Manifest,
			FormatKey(ManifestKey(last.FirstEpoch)), last.LastEpoch, last.LastWaypoint, last.Handle)
	}
	if sha3.Sum256(l.lastRec) != latest.Waypoint.Hash {
		return fmt.Errorf("%w: %s does not hash to the latest waypoint %s", ErrCorrupt, FormatKey(LedgerInfoKey(latest.Epoch)), latest.Waypoint)
	}
	return nil
}

// Dump returns every key and value, in key order (copies).
//
//	kvs, err := d.Dump()
func (d *DB) Dump() ([]KV, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil, fmt.Errorf("target DB %s: dump: %w", d.dir, ErrClosed)
	}
	var kvs []KV
	err := d.scan(nil, func(k, v []byte) error {
		kvs = append(kvs, KV{Key: clone(k), Value: clone(v)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("target DB %s: dump: %w", d.dir, err)
	}
	return kvs, nil
}

// readLatest decodes the latest key, nil if absent.
func (d *DB) readLatest() (*Latest, error) {
	v, err := d.get([]byte(KeyLatest))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("target DB %s: read %s: %w", d.dir, KeyLatest, err)
	}
	l, err := decodeLatest(v)
	if err != nil {
		return nil, fmt.Errorf("target DB %s: %w", d.dir, err)
	}
	return &l, nil
}

// get returns a copy of k's value. The caller holds mu and checked p.
func (d *DB) get(k []byte) ([]byte, error) {
	v, closer, err := d.p.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", FormatKey(k), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FormatKey(k), err)
	}
	v = clone(v)
	return v, closer.Close()
}

// scan calls fn for every key with prefix (all keys if prefix is nil), in
// order; k and v are valid only during the call. The caller holds mu.
func (d *DB) scan(prefix []byte, fn func(k, v []byte) error) (err error) {
	o := &pebble.IterOptions{}
	if prefix != nil {
		o.LowerBound, o.UpperBound = prefix, prefixEnd(prefix)
	}
	it, err := d.p.NewIter(o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("%s: %w", FormatKey(it.Key()), err)
		}
		if err := fn(it.Key(), v); err != nil {
			return err
		}
	}
	return it.Error()
}

// prefixEnd is the smallest key greater than every key with prefix
// (prefix is never all 0xff here).
func prefixEnd(prefix []byte) []byte {
	end := clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// The stored JSON forms. Field order is fixed, so equal values encode to
// equal bytes and two DBs restored from the same backup compare equal.
type manifestJSON struct {
	Manifest     string `json:"manifest"`
	FirstEpoch   uint64 `json:"first_epoch"`
	LastEpoch    uint64 `json:"last_epoch"`
	FirstVersion uint64 `json:"first_version"`
	LastVersion  uint64 `json:"last_version"`
	LastWaypoint string `json:"last_waypoint"`
}

type latestJSON struct {
	Epoch    uint64 `json:"epoch"`
	Waypoint string `json:"waypoint"`
	Manifest string `json:"manifest"`
}

func encodeManifest(m Manifest) ([]byte, error) {
	return json.Marshal(manifestJSON{
		Manifest: m.Handle, FirstEpoch: m.FirstEpoch, LastEpoch: m.LastEpoch,
		FirstVersion: m.FirstVersion, LastVersion: m.LastVersion, LastWaypoint: m.LastWaypoint.String(),
	})
}

func decodeManifest(k, v []byte) (Manifest, error) {
	bad := func(format string, args ...any) (Manifest, error) {
		return Manifest{}, fmt.Errorf("%w: %s: "+format, append([]any{ErrCorrupt, FormatKey(k)}, args...)...)
	}
	kind, first := ParseKey(k)
	if kind != KindManifest {
		return bad("not a manifest key")
	}
	var j manifestJSON
	if err := json.Unmarshal(v, &j); err != nil {
		return bad("%w", err)
	}
	wp, err := ledger.ParseWaypoint(j.LastWaypoint)
	if err != nil {
		return bad("last_waypoint: %w", err)
	}
	switch {
	case j.Manifest == "":
		return bad("no manifest handle")
	case j.FirstEpoch != first:
		return bad("first_epoch %d under the key of epoch %d", j.FirstEpoch, first)
	case j.LastEpoch < j.FirstEpoch:
		return bad("last_epoch %d before first_epoch %d", j.LastEpoch, j.FirstEpoch)
	}
	return Manifest{Handle: j.Manifest, FirstEpoch: j.FirstEpoch, LastEpoch: j.LastEpoch,
		FirstVersion: j.FirstVersion, LastVersion: j.LastVersion, LastWaypoint: wp}, nil
}

func encodeLatest(l Latest) ([]byte, error) {
	return json.Marshal(latestJSON{Epoch: l.Epoch, Waypoint: l.Waypoint.String(), Manifest: l.Manifest})
}

func decodeLatest(v []byte) (Latest, error) {
	var j latestJSON
	if err := json.Unmarshal(v, &j); err != nil {
		return Latest{}, fmt.Errorf("%w: %s: %w", ErrCorrupt, KeyLatest, err)
	}
	wp, err := ledger.ParseWaypoint(j.Waypoint)
	if err != nil {
		return Latest{}, fmt.Errorf("%w: %s: waypoint: %w", ErrCorrupt, KeyLatest, err)
	}
	if j.Manifest == "" {
		return Latest{}, fmt.Errorf("%w: %s: no manifest handle", ErrCorrupt, KeyLatest)
	}
	return Latest{Epoch: j.Epoch, Waypoint: wp, Manifest: j.Manifest}, nil
}
