package record_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/leakgate/leakgate/restore/record"
)

// exitError stands in for the error a CommandAdapter reader returns at EOF
// when its child exited non-zero.
type exitError struct{ status int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.status) }

// be is a 4-byte big-endian length prefix.
func be(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// errAfter serves data, then fails every later Read with err instead of
// io.EOF (like an adapter reader whose child exited non-zero).
type errAfter struct {
	data []byte
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestNext(t *testing.T) {
	exit := &exitError{status: 3}
	tests := []struct {
		name    string
		in      io.Reader
		max     uint32
		want    [][]byte // records before the final result
		wantErr error    // nil: clean io.EOF
		wantMsg string   // exact error text, "" to skip
	}{
		{name: "empty stream", in: bytes.NewReader(nil)},
		{name: "one record", in: bytes.NewReader(cat(be(3), []byte("abc"))), want: [][]byte{[]byte("abc")}},
		{name: "empty record", in: bytes.NewReader(be(0)), want: [][]byte{{}}},
		{name: "empty records around one", in: bytes.NewReader(cat(be(0), be(1), []byte("x"), be(0))), want: [][]byte{{}, []byte("x"), {}}},
		{name: "1 byte of prefix", in: bytes.NewReader([]byte{0}), wantErr: record.ErrTruncatedLength,
			wantMsg: "record 1: EOF inside the length prefix (got 1 of 4 bytes)"},
		{name: "2 bytes of prefix", in: bytes.NewReader([]byte{0, 0}), wantErr: record.ErrTruncatedLength},
		{name: "3 bytes of prefix after a record", in: bytes.NewReader(cat(be(1), []byte("a"), []byte{0, 0, 0})),
			want: [][]byte{[]byte("a")}, wantErr: record.ErrTruncatedLength,
			wantMsg: "record 2: EOF inside the length prefix (got 3 of 4 bytes)"},
		{name: "length then EOF", in: bytes.NewReader(be(5)), wantErr: record.ErrMissingRecord,
			wantMsg: "record 1: EOF where a record was expected (length 5)"},
		{name: "length 1 then EOF", in: bytes.NewReader(be(1)), wantErr: record.ErrMissingRecord},
		{name: "short record", in: bytes.NewReader(cat(be(10), []byte("abc"))), wantErr: record.ErrShortRecord,
			wantMsg: "record 1: short record (read 3, expected 10)"},
		{name: "short by one", in: bytes.NewReader(cat(be(2), []byte("ab"), be(4), []byte("abc"))),
			want: [][]byte{[]byte("ab")}, wantErr: record.ErrShortRecord,
			wantMsg: "record 2: short record (read 3, expected 4)"},
		{name: "over the cap", in: bytes.NewReader(cat(be(11), make([]byte, 11))), max: 10, wantErr: record.ErrTooLarge,
			wantMsg: "record 1: record too large (length 11 exceeds the cap of 10 bytes)"},
		{name: "at the cap", in: bytes.NewReader(cat(be(10), []byte("0123456789"))), max: 10, want: [][]byte{[]byte("0123456789")}},
		{name: "4 GiB length under the default cap", in: bytes.NewReader(cat(be(math.MaxUint32), []byte("x"))), wantErr: record.ErrTooLarge,
			wantMsg: "record 1: record too large (length 4294967295 exceeds the cap of 67108864 bytes)"},
		{name: "one byte at a time", in: iotest.OneByteReader(bytes.NewReader(cat(be(3), []byte("abc"), be(2), []byte("de")))),
			want: [][]byte{[]byte("abc"), []byte("de")}},
		{name: "data and EOF together", in: iotest.DataErrReader(bytes.NewReader(cat(be(3), []byte("abc")))),
			want: [][]byte{[]byte("abc")}},
		{name: "exit error at a boundary", in: &errAfter{data: cat(be(1), []byte("a")), err: exit},
			want: [][]byte{[]byte("a")}, wantErr: exit,
			wantMsg: "record 2: reading length prefix (got 0 of 4 bytes): exit status 3"},
		{name: "exit error inside a prefix", in: &errAfter{data: []byte{0, 0}, err: exit}, wantErr: exit,
			wantMsg: "record 1: reading length prefix (got 2 of 4 bytes): exit status 3"},
		{name: "exit error inside a record", in: &errAfter{data: cat(be(4), []byte("ab")), err: exit}, wantErr: exit,
			wantMsg: "record 1: reading payload (read 2, expected 4): exit status 3"},
		{name: "timeout error", in: iotest.TimeoutReader(bytes.NewReader(cat(be(1), []byte("a"), be(1), []byte("b")))),
			want: [][]byte{[]byte("a"), []byte("b")}, wantErr: iotest.ErrTimeout,
			wantMsg: "record 3: reading length prefix (got 0 of 4 bytes): timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := record.NewReader(tt.in, tt.max)
			for i, want := range tt.want {
				got, err := rr.Next()
				if err != nil {
					t.Fatalf("record %d: unexpected error %v", i+1, err)
				}
				if got == nil || !bytes.Equal(got, want) {
					t.Fatalf("record %d = %q (nil: %t), want %q", i+1, got, got == nil, want)
				}
			}
			if got := rr.Count(); got != len(tt.want) {
				t.Errorf("Count() = %d, want %d", got, len(tt.want))
			}
			rec, err := rr.Next()
			if rec != nil {
				t.Errorf("final Next returned record %q", rec)
			}
			if tt.wantErr == nil {
				if err != io.EOF {
					t.Fatalf("final Next error = %v, want io.EOF", err)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("final Next error = %v, want errors.Is %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("error text = %q, want %q", err, tt.wantMsg)
			}
			if _, again := rr.Next(); again != err {
				t.Errorf("Next after the end = %v, want the same %v", again, err)
			}
			if got := rr.Count(); got != len(tt.want) {
				t.Errorf("Count() after the end = %d, want %d", got, len(tt.want))
			}
		})
	}
}

// drain reads records until an error and returns them with that error.
func drain(rr *record.Reader) ([][]byte, error) {
	var recs [][]byte
	for {
		rec, err := rr.Next()
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}

func TestNextTypedErrors(t *testing.T) {
	_, err := drain(record.NewReader(bytes.NewReader(cat(be(1), []byte("a"), be(9), []byte("1234"))), 0))
	var short *record.ShortRecordError
	if !errors.As(err, &short) {
		t.Fatalf("error %v is not a *ShortRecordError", err)
	}
	if want := (record.ShortRecordError{Index: 2, Read: 4, Expected: 9}); *short != want {
		t.Errorf("ShortRecordError = %+v, want %+v", *short, want)
	}

	_, err = drain(record.NewReader(bytes.NewReader(cat(be(1), []byte("a"), be(1), []byte("b"), be(100))), 50))
	var big *record.TooLargeError
	if !errors.As(err, &big) {
		t.Fatalf("error %v is not a *TooLargeError", err)
	}
	if want := (record.TooLargeError{Index: 3, Len: 100, Max: 50}); *big != want {
		t.Errorf("TooLargeError = %+v, want %+v", *big, want)
	}

	exit := &exitError{status: 1}
	_, err = drain(record.NewReader(&errAfter{data: cat(be(2), []byte("ab")), err: exit}, 0))
	var gotExit *exitError
	if !errors.As(err, &gotExit) || gotExit != exit {
		t.Fatalf("error %v does not wrap the reader's *exitError", err)
	}
	if !strings.HasPrefix(err.Error(), "record 2: ") {
		t.Errorf("error %q does not name record 2", err)
	}
}

// scripted serves its first slice, then records any further Read.
type scripted struct {
	first []byte
	extra int // Reads after the first
}

func (s *scripted) Read(p []byte) (int, error) {
	if s.first != nil {
		n := copy(p, s.first)
		s.first = nil
		return n, nil
	}
	s.extra++
	return 0, errors.New("payload read")
}

func TestTooLargeReadsNoPayload(t *testing.T) {
	src := &scripted{first: be(1 << 30)}
	_, err := record.NewReader(src, 1<<20).Next()
	if !errors.Is(err, record.ErrTooLarge) {
		t.Fatalf("Next error = %v, want ErrTooLarge", err)
	}
	if src.extra != 0 {
		t.Errorf("reader read %d more times after the length prefix; want 0", src.extra)
	}
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeLengthAllocatesForWhatArrives(t *testing.T) {
	in := cat(be(math.MaxUint32), bytes.Repeat([]byte{7}, 1000))
	var err error
	got := allocated(func() {
		_, err = record.NewReader(bytes.NewReader(in), math.MaxUint32).Next()
	})
	var short *record.ShortRecordError
	if !errors.As(err, &short) || short.Read != 1000 || short.Expected != math.MaxUint32 {
		t.Fatalf("Next error = %v, want short record (read 1000, expected 4294967295)", err)
	}
	if limit := uint64(1 << 20); got > limit {
		t.Errorf("reading a 4 GiB length with 1000 bytes behind it allocated %d bytes, want at most %d", got, limit)
	}
}

func TestLargeRecordsRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := record.NewWriter(&buf)
	var want [][]byte
	for i, size := range []int{0, 1, 1000, 64 << 10, 64<<10 + 1, 300 << 10} {
		rec := bytes.Repeat([]byte{byte(i + 1)}, size)
		want = append(want, rec)
		if err := w.Write(rec); err != nil {
			t.Fatalf("Write(%d bytes): %v", size, err)
		}
	}
	got, err := drain(record.NewReader(iotest.HalfReader(&buf), 0))
	if err != io.EOF {
		t.Fatalf("drain error = %v, want io.EOF", err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("record %d: got %d bytes, want %d", i+1, len(got[i]), len(want[i]))
		}
	}
}

func TestAppend(t *testing.T) {
	tests := []struct {
		dst, rec []byte
		want     []byte
	}{
		{nil, nil, []byte{0, 0, 0, 0}},
		{nil, []byte("abc"), []byte{0, 0, 0, 3, 'a', 'b', 'c'}},
		{[]byte("x"), []byte{1}, []byte{'x', 0, 0, 0, 1, 1}},
		{nil, make([]byte, 0x0102), cat([]byte{0, 0, 1, 2}, make([]byte, 0x0102))},
	}
	for _, tt := range tests {
		if got := record.Append(tt.dst, tt.rec); !bytes.Equal(got, tt.want) {
			t.Errorf("Append(%q, %d bytes) = %x, want %x", tt.dst, len(tt.rec), got, tt.want)
		}
	}
}

// failWriter accepts ok Writes, then fails.
type failWriter struct {
	ok  int
	buf bytes.Buffer
}

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.ok == 0 {
		return 0, errDiskFull
	}
	f.ok--
	return f.buf.Write(p)
}

func TestWriterErrors(t *testing.T) {
	fw := &failWriter{ok: 2}
	w := record.NewWriter(fw)
	for i := range 2 {
		if err := w.Write([]byte{byte(i)}); err != nil {
			t.Fatalf("Write %d: %v", i+1, err)
		}
	}
	err := w.Write([]byte("c"))
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("third Write error = %v, want errDiskFull", err)
	}
	if want := "record 3: disk full"; err.Error() != want {
		t.Errorf("error text = %q, want %q", err, want)
	}
	fw.ok = 10
	if again := w.Write([]byte("d")); again != err {
		t.Errorf("Write after a failure = %v, want the same %v", again, err)
	}
	if want := cat(be(1), []byte{0}, be(1), []byte{1}); !bytes.Equal(fw.buf.Bytes(), want) {
		t.Errorf("written = %x, want %x", fw.buf.Bytes(), want)
	}

	// A large record's two Writes: the second fails.
	fw = &failWriter{ok: 1}
	err = record.NewWriter(fw).Write(make([]byte, 100<<10))
	if !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "record 1: ") {
		t.Errorf("large Write error = %v, want record 1: disk full", err)
	}
}
