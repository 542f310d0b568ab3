// Package record reads and writes the record framing of backup chunk files.
//
// A chunk file is a sequence of records, each a 4-byte big-endian length N
// followed by exactly N bytes. This matches backup-cli's ReadRecordBytes
// (docs/backup-cli.md#records), row for row:
//
//	what comes at a record boundary      Next returns
//	EOF immediately                      nil, io.EOF (an empty file has no records)
//	1–3 bytes, then EOF                  ErrTruncatedLength
//	length N ≥ 1, then EOF               ErrMissingRecord
//	length N, then k < N bytes, then EOF *ShortRecordError (errors.Is ErrShortRecord)
//	length 0                             an empty, non-nil record
//	length N > the cap                   *TooLargeError (errors.Is ErrTooLarge)
//
// Every error except io.EOF names the record's 1-based index. An error from
// the underlying reader (for example the exit error a CommandAdapter reader
// returns at EOF when its child failed) is wrapped with %w, so errors.Is and
// errors.As still find it.
//
// # The length cap (a deliberate difference from backup-cli)
//
// The real reader allocates N bytes before reading the payload, so a corrupt
// length prefix can make it ask for 4 GiB. This port refuses any length above
// a cap (DefaultMaxLen, 64 MiB, unless the caller chooses another) before it
// reads or allocates anything of the payload, and below the cap it grows the
// buffer as bytes arrive, so a short stream with a large length allocates in
// proportion to the bytes actually read, not to N.
//
// Reading:
//
//	rr := record.NewReader(chunk, 0) // 0: cap at record.DefaultMaxLen
//	for {
//		rec, err := rr.Next()
//		if err == io.EOF {
//			break // clean end: rr.Count() records were read
//		}
//		if err != nil {
//			return fmt.Errorf("chunk %s: %w", handle, err) // "chunk …: record 3: short record (read 5, expected 10)"
//		}
//		use(rec)
//	}
//
// Writing:
//
//	w := record.NewWriter(f)
//	if err := w.Write(rec); err != nil { … }
//	framed := record.Append(nil, rec) // or frame into a byte slice
package record
