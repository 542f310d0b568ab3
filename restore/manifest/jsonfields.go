package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors of JSON decoding, for errors.Is. Messages name the field
// path: `chunks[2].ledger_infos: missing field`.
var (
	// ErrMissingField means a required field is absent.
	ErrMissingField = errors.New("missing field")
	// ErrInvalidJSON means input that is not JSON, a value of the wrong
	// type (null included), a duplicate field, or data after the value.
	ErrInvalidJSON = errors.New("invalid JSON")
)

// fields is one decoded JSON object: its members, not yet decoded, and its
// path for error messages ("" at the top level).
type fields struct {
	path    string
	members map[string]json.RawMessage
}

// parseObject decodes data as exactly one JSON object, rejecting duplicate
// member names and anything after the object, as serde_json does. Unknown
// members are kept and ignored by the getters.
func parseObject(data []byte, path string) (fields, error) {
	f := fields{path: path, members: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	switch {
	case err == io.EOF:
		return f, f.errorf("", "%w: want an object, got nothing", ErrInvalidJSON)
	case err != nil:
		return f, f.errorf("", "%w: %w", ErrInvalidJSON, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return f, f.errorf("", "%w: want an object, got %s", ErrInvalidJSON, describeToken(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return f, f.errorf("", "%w: %w", ErrInvalidJSON, err)
		}
		name, _ := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return f, f.errorf(name, "%w: %w", ErrInvalidJSON, err)
		}
		if _, dup := f.members[name]; dup {
			return f, f.errorf(name, "%w: duplicate field", ErrInvalidJSON)
		}
		f.members[name] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return f, f.errorf("", "%w: %w", ErrInvalidJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return f, f.errorf("", "%w: data after the object", ErrInvalidJSON)
	}
	return f, nil
}

// errorf returns an error prefixed with the path of member name ("" for
// the object itself).
func (f fields) errorf(name, format string, args ...any) error {
	p := f.join(name)
	if p == "" {
		return fmt.Errorf(format, args...)
	}
	return fmt.Errorf("%s: %w", p, fmt.Errorf(format, args...))
}

func (f fields) join(name string) string {
	switch {
	case f.path == "":
		return name
	case name == "":
		return f.path
	default:
		return f.path + "." + name
	}
}

func (f fields) raw(name string) (json.RawMessage, error) {
	raw, ok := f.members[name]
	if !ok {
		return nil, f.errorf(name, "%w", ErrMissingField)
	}
	return raw, nil
}

// u64 decodes member name as a JSON integer in 0..math.MaxUint64 (no sign,
// fraction or exponent, as serde does for u64).
func (f fields) u64(name string) (uint64, error) {
	raw, err := f.raw(name)
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseUint(string(raw), 10, 64)
	if perr != nil {
		return 0, f.errorf(name, "%w: want an unsigned 64-bit integer, got %s", ErrInvalidJSON, describe(raw))
	}
	return v, nil
}

// str decodes member name as a JSON string.
func (f fields) str(name string) (string, error) {
	raw, err := f.raw(name)
	if err != nil {
		return "", err
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", f.errorf(name, "%w: want a string, got %s", ErrInvalidJSON, describe(raw))
	}
	return s, nil
}

// array decodes member name as a JSON array, leaving its elements raw.
func (f fields) array(name string) ([]json.RawMessage, error) {
	raw, err := f.raw(name)
	if err != nil {
		return nil, err
	}
	var elems []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, f.errorf(name, "%w: want an array, got %s", ErrInvalidJSON, describe(raw))
	}
	return elems, nil
}

// describe names a raw JSON value for an error message: its text, cut to
// 40 bytes, Go-quoted if it holds a control character or invalid UTF-8
// (outside bytes never reach a terminal raw).
func describe(raw json.RawMessage) string {
	const limit = 40
	cut := ""
	if len(raw) > limit {
		raw, cut = raw[:limit], "…"
	}
	if s := string(raw); !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s) + cut
	}
	return string(raw) + cut
}

// handle decodes member name as a file handle: a non-empty JSON string
// without control characters (a handle is printed in messages and passed
// to commands).
func (f fields) handle(name string) (string, error) {
	s, err := f.str(name)
	if err != nil {
		return "", err
	}
	if s == "" || strings.ContainsFunc(s, unicode.IsControl) {
		q := s
		if len(q) > 120 {
			q = q[:120]
		}
		return "", f.errorf(name, "%w: want a file handle, got %s (empty, or with a control character)", ErrInvalidJSON, strconv.Quote(q))
	}
	return s, nil
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return "'" + v.String() + "'"
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	default:
		return fmt.Sprint(v)
	}
}

// marshal encodes v as compact JSON followed by a newline, without
// escaping <, > and & (serde_json does not).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
