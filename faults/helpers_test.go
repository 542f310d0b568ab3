package faults

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// stream frames payloads as a record stream.
func stream(payloads ...string) []byte {
	var b []byte
	for _, p := range payloads {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// prefix is a bare 4-byte length prefix.
func prefix(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// gz gzips b.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gunzip decodes b, failing the test if it is not gzip.
func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	if !isGzip(b) {
		t.Fatalf("output is not gzip: % x", b[:min(len(b), 8)])
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// records splits a well-framed record stream into payloads.
func records(b []byte) ([]string, error) {
	var recs []string
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return recs, fmt.Errorf("record %d: %d-byte length prefix", len(recs)+1, len(b)-off)
		}
		n := int(binary.BigEndian.Uint32(b[off:]))
		off += 4
		if len(b)-off < n {
			return recs, fmt.Errorf("record %d: short record (%d of %d bytes)", len(recs)+1, len(b)-off, n)
		}
		recs = append(recs, string(b[off:off+n]))
		off += n
	}
	return recs, nil
}

// written is every byte a script writes, in order.
func written(s Script) []byte {
	var b []byte
	for _, st := range s.Steps {
		b = append(b, st.Write...)
	}
	return b
}

// describe renders a script for got/want messages.
func describe(s Script) string {
	var b strings.Builder
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "[write %q rate %d stall %v] ", st.Write, st.Rate, st.Stall)
	}
	fmt.Fprintf(&b, "exit %d", s.Exit)
	return b.String()
}

// sameScript compares scripts byte for byte (nil and empty writes are equal).
func sameScript(a, b Script) bool {
	if a.Exit != b.Exit || len(a.Steps) != len(b.Steps) {
		return false
	}
	for i := range a.Steps {
		x, y := a.Steps[i], b.Steps[i]
		if !bytes.Equal(x.Write, y.Write) || x.Rate != y.Rate || x.Stall != y.Stall {
			return false
		}
	}
	return true
}

// scriptCase is one row of a kind's Script table: either a whole expected
// script, or an error whose text contains errText (and is ErrDoesNotFit if
// misfit).
type scriptCase struct {
	name    string
	fault   Fault
	data    []byte
	want    Script
	errText string
	misfit  bool
}

func runScriptCases(t *testing.T, cases []scriptCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.fault.Script(c.data)
			if c.errText != "" {
				if err == nil || !strings.Contains(err.Error(), c.errText) {
					t.Fatalf("%s.Script: err = %v, want one containing %q", c.fault, err, c.errText)
				}
				if errors.Is(err, ErrDoesNotFit) != c.misfit {
					t.Errorf("%s.Script: errors.Is(%v, ErrDoesNotFit) = %v, want %v", c.fault, err, !c.misfit, c.misfit)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s.Script: %v", c.fault, err)
			}
			if !sameScript(got, c.want) {
				t.Errorf("%s.Script:\n got %s\nwant %s", c.fault, describe(got), describe(c.want))
			}
		})
	}
}

// gzipCase is one row of a kind's gzip table: the fault applied to the gzip
// of a plain stream must write gzip whose content is want, and exit exit.
type gzipCase struct {
	fault Fault
	plain []byte
	want  []byte
	exit  int
}

func runGzipCases(t *testing.T, cases []gzipCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.fault.String(), func(t *testing.T) {
			got, err := c.fault.Script(gz(t, c.plain))
			if err != nil {
				t.Fatalf("%s.Script(gzip): %v", c.fault, err)
			}
			if plain := gunzip(t, written(got)); !bytes.Equal(plain, c.want) || got.Exit != c.exit {
				t.Errorf("%s.Script(gzip) decoded:\n got % x, exit %d\nwant % x, exit %d", c.fault, plain, got.Exit, c.want, c.exit)
			}
		})
	}
}

// stringCase checks a fault's canonical String and that Parse gives it back.
func runStringCases(t *testing.T, cases map[string]Fault) {
	t.Helper()
	for want, f := range cases {
		if got := f.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", f, got, want)
		}
		p, err := Parse("spec", want)
		if err != nil {
			t.Errorf("Parse(%q): %v", want, err)
			continue
		}
		if len(p.Rules) != 1 || p.Rules[0].Fault != f {
			t.Errorf("Parse(%q) = %v, want one rule with %#v", want, p, f)
		}
	}
}
