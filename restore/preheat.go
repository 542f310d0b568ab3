package restore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/leakgate/leakgate/restore/ledger"
	"github.com/leakgate/leakgate/restore/manifest"
	"github.com/leakgate/leakgate/restore/record"
	"github.com/leakgate/leakgate/restore/stream"
)

// preheated is a preheat's stored outcome: the real preheat never fails by
// itself, the consumer surfaces its error in order.
type preheated struct {
	meta     manifest.EpochEndingBackupMeta
	manifest *manifest.EpochEndingManifest
	// recs are the verified ledger info records, in epoch order, byte for
	// byte as read: what the consumer writes to the target DB.
	recs      [][]byte
	firstInfo *ledger.LedgerInfoWithSignatures // decoded recs[0]
	lastInfo  *ledger.LedgerInfoWithSignatures // decoded recs[len(recs)-1]
	waypoints int
	last      ledger.Waypoint
	err       error
}

// preheat reads a manifest, verifies it, then reads its chunks one after
// another, decoding every record and checking it against the waypoints.
func (r *run) preheat(ctx context.Context, g *stream.Gate, meta manifest.EpochEndingBackupMeta) (p preheated) {
	p.meta = meta
	data, err := r.readAll(ctx, g, meta.Manifest, r.maxManifest)
	if err != nil {
		p.err = fmt.Errorf("manifest %s: read manifest: %w", meta.Manifest, err)
		return p
	}
	m, err := manifest.ParseEpochEnding(data, meta.Manifest)
	if err != nil {
		p.err = fmt.Errorf("manifest %s: %w", meta.Manifest, err)
		return p
	}
	if m.FirstEpoch != meta.FirstEpoch || m.LastEpoch != meta.LastEpoch {
		p.err = fmt.Errorf("manifest %s: covers epochs %d..%d, metadata says %d..%d",
			meta.Manifest, m.FirstEpoch, m.LastEpoch, meta.FirstEpoch, meta.LastEpoch)
		return p
	}
	p.manifest = m
	next := m.FirstEpoch
	for _, ch := range m.Chunks {
		recs, err := r.readChunk(ctx, g, m, ch, &next, &p)
		if err != nil {
			p.err = fmt.Errorf("manifest %s: chunk %s: %w", meta.Manifest, ch.LedgerInfos, err)
			return p
		}
		p.recs = append(p.recs, recs...)
	}
	p.err = checkVersions(&p)
	return p
}

// checkVersions checks the versions the metadata line claims against the
// verified ledger infos: the first's and the last's version, so that no
// number the metadata claims is stored unchecked.
func checkVersions(p *preheated) error {
	if p.firstInfo == nil || p.lastInfo == nil {
		return fmt.Errorf("manifest %s: no ledger info verified", p.meta.Manifest)
	}
	if first, last := p.firstInfo.Info.Version, p.lastInfo.Info.Version; first != p.meta.FirstVersion || last != p.meta.LastVersion {
		return fmt.Errorf("manifest %s: metadata says versions %d..%d, its ledger infos are at versions %d..%d",
			p.meta.Manifest, p.meta.FirstVersion, p.meta.LastVersion, first, last)
	}
	return nil
}

// decoded is one record of a chunk: its bytes, the ledger info and the
// waypoint of its bytes.
type decoded struct {
	rec  []byte
	info *ledger.LedgerInfoWithSignatures
	wp   ledger.Waypoint
}

// readChunk reads one chunk file to EOF, decoding each record as it comes
// (a record that fails to decode is an error before EOF, as in the real
// read_chunk), then checks the count against the chunk's range and each
// ledger info against the manifest, in the real code's order. It returns
// the verified records.
func (r *run) readChunk(ctx context.Context, g *stream.Gate, m *manifest.EpochEndingManifest,
	ch manifest.EpochEndingChunk, next *uint64, p *preheated) ([][]byte, error) {
	var recs []decoded
	want := ch.LastEpoch - ch.FirstEpoch + 1
	err := r.withReader(ctx, g, ch.LedgerInfos, func(rd io.Reader) error {
		rr := record.NewReader(rd, r.maxRecord)
		for {
			if uint64(len(recs)) > want {
				// Stop reading: memory stays bounded by the chunk's range.
				return fmt.Errorf("number of items in chunk doesn't match that in manifest: first_epoch %d, last_epoch %d, "+
					"items in chunk more than %d", ch.FirstEpoch, ch.LastEpoch, want)
			}
			rec, err := rr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			info, err := ledger.Decode(rec)
			if err != nil {
				return fmt.Errorf("record %d: %w", rr.Count(), err)
			}
			recs = append(recs, decoded{rec: rec, info: info, wp: ledger.WaypointOf(info.Info.Version, rec)})
		}
	})
	if err != nil {
		return nil, err
	}
	if got := uint64(len(recs)); got != want {
		return nil, fmt.Errorf("number of items in chunk doesn't match that in manifest: first_epoch %d, last_epoch %d, items in chunk %d",
			ch.FirstEpoch, ch.LastEpoch, got)
	}
	verified := make([][]byte, 0, len(recs))
	for i, d := range recs {
		if d.info.Info.Epoch != *next {
			return nil, fmt.Errorf("record %d: ledger info epoch not expected: expected %d, actual %d", i+1, *next, d.info.Info.Epoch)
		}
		idx := *next - m.FirstEpoch
		if idx >= uint64(len(m.Waypoints)) {
			return nil, fmt.Errorf("record %d: more ledger infos than waypoints", i+1)
		}
		if want := m.Waypoints[idx]; want != d.wp.String() {
			return nil, fmt.Errorf("record %d: waypoints don't match. In manifest: %s, In chunk: %s", i+1, want, d.wp)
		}
		*next++
		p.waypoints++
		p.last = d.wp
		if p.firstInfo == nil {
			p.firstInfo = d.info
		}
		p.lastInfo = d.info
		verified = append(verified, d.rec)
	}
	return verified, nil
}

// DefaultMaxManifestLen bounds one manifest when Options.MaxManifestLen is
// 0: 16 MiB, some 200,000 epochs' waypoints.
const DefaultMaxManifestLen = 16 << 20

// readAll reads a whole manifest through open_for_read, at most limit
// bytes: a longer one is an error wrapping ErrTooLarge.
func (r *run) readAll(ctx context.Context, g *stream.Gate, handle string, limit int64) ([]byte, error) {
	var data []byte
	err := r.withReader(ctx, g, handle, func(rd io.Reader) error {
		var err error
		data, err = io.ReadAll(io.LimitReader(rd, limit+1))
		if err == nil && int64(len(data)) > limit {
			err = tooLarge("manifest", handle, limit, "--max-manifest-bytes")
		}
		return err
	})
	return data, err
}

// withReader opens handle, registers the reader as in flight, hands use a
// reader that only makes progress while the consumer waits (the gate), and
// closes it afterwards: a no-op after EOF, the adapter's policy before.
func (r *run) withReader(ctx context.Context, g *stream.Gate, handle string, use func(io.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rd, err := r.a.OpenForRead(ctx, handle)
	if err != nil {
		return err
	}
	if err := r.inflight.add(rd); err != nil {
		return err
	}
	defer r.inflight.done(rd)
	return use(gated{ctx: ctx, g: g, r: rd})
}

// gated passes each Read through the stream's gate first.
type gated struct {
	ctx context.Context
	g   *stream.Gate
	r   io.Reader
}

func (gr gated) Read(b []byte) (int, error) {
	if err := gr.g.Pass(gr.ctx); err != nil {
		return 0, err
	}
	return gr.r.Read(b)
}
