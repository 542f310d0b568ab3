package ledger

import (
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Waypoint names a ledger info: its version and the sha3-256 of its record.
//
//	wp := ledger.WaypointOf(li.Info.Version, rec)
//	fmt.Println(wp) // 3999:5c1b…(64 hex digits)
type Waypoint struct {
	Version uint64
	Hash    [32]byte
}

// WaypointOf returns the waypoint of a record: version and the sha3-256 of
// the record's bytes as stored (not re-encoded).
//
//	wp := ledger.WaypointOf(999, rec)
func WaypointOf(version uint64, rec []byte) Waypoint {
	return Waypoint{Version: version, Hash: sha3.Sum256(rec)}
}

// String returns "<version>:<64 lowercase hex digits>", the form manifests
// store and ParseWaypoint reads.
//
//	s := wp.String() // "999:0f3a…"
func (w Waypoint) String() string {
	return strconv.FormatUint(w.Version, 10) + ":" + hex.EncodeToString(w.Hash[:])
}

// ErrBadWaypoint is the errors.Is sentinel of every ParseWaypoint error.
var ErrBadWaypoint = errors.New("invalid waypoint")

// ParseWaypoint parses the String form strictly: a decimal version with no
// sign and no leading zeros (up to math.MaxUint64), one ':', then exactly 64
// lowercase hex digits.
//
//	wp, err := ledger.ParseWaypoint("999:" + strings.Repeat("ab", 32))
//	// bad input: `invalid waypoint "999:AB…": hash: want 64 lowercase hex digits, got "AB…"`
func ParseWaypoint(s string) (Waypoint, error) {
	bad := func(format string, args ...any) (Waypoint, error) {
		return Waypoint{}, fmt.Errorf("%w %q: "+format, append([]any{ErrBadWaypoint, s}, args...)...)
	}
	ver, hash, ok := strings.Cut(s, ":")
	if !ok {
		return bad("no ':' between version and hash")
	}
	if ver == "" || (len(ver) > 1 && ver[0] == '0') || strings.Trim(ver, "0123456789") != "" {
		return bad("version: want a decimal number without sign or leading zeros, got %q", ver)
	}
	v, err := strconv.ParseUint(ver, 10, 64)
	if err != nil {
		return bad("version: %w", err)
	}
	if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return bad("hash: want 64 lowercase hex digits, got %q", hash)
	}
	w := Waypoint{Version: v}
	if _, err := hex.Decode(w.Hash[:], []byte(hash)); err != nil {
		return bad("hash: %w", err) // unreachable after the check above
	}
	return w, nil
}
