package db

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
)

// Dump opens the DB in dir read-only, returns every key and value in key
// order, and closes it. It fails if dir holds no DB or another DB value has
// it open.
//
//	want, err := db.Dump(cleanDir)
//	got, err := db.Dump(resumedDir)
//	if d := db.Diff(want, got); len(d) > 0 { t.Errorf("DBs differ:\n%s", strings.Join(d, "\n")) }
func Dump(dir string) (kvs []KV, err error) {
	d, err := Open(dir, ReadOnly())
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	return d.Dump()
}

// Keys renders the keys of kvs with FormatKey, in order.
//
//	keys := db.Keys(kvs) // ["latest", "ledger_info/0", …, "manifest/0", …]
func Keys(kvs []KV) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = FormatKey(kv.Key)
	}
	return out
}

// Diff compares two dumps (each in key order, as Dump returns them) and
// returns one line per difference, nil when they are equal key for key and
// value for value:
//
//	only in want: ledger_info/17
//	only in got: manifest/24
//	value differs: latest (want 93 bytes sha3 1f2e…, got 93 bytes sha3 77ab…)
func Diff(want, got []KV) []string {
	var out []string
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		var c int
		switch {
		case i == len(want):
			c = 1
		case j == len(got):
			c = -1
		default:
			c = bytes.Compare(want[i].Key, got[j].Key)
		}
		switch {
		case c < 0:
			out = append(out, "only in want: "+FormatKey(want[i].Key))
			i++
		case c > 0:
			out = append(out, "only in got: "+FormatKey(got[j].Key))
			j++
		default:
			if !bytes.Equal(want[i].Value, got[j].Value) {
				out = append(out, fmt.Sprintf("value differs: %s (want %s, got %s)",
					FormatKey(want[i].Key), describe(want[i].Value), describe(got[j].Value)))
			}
			i++
			j++
		}
	}
	return out
}

// describe summarises a value: its length and a short hash.
func describe(v []byte) string {
	h := sha3.Sum256(v)
	return fmt.Sprintf("%d bytes sha3 %s…", len(v), hex.EncodeToString(h[:4]))
}
