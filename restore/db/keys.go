package db

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// Key prefixes and the one fixed key of the layout (see the package doc).
const (
	PrefixLedgerInfo = "ledger_info/" // + 8-byte big-endian epoch
	PrefixManifest   = "manifest/"    // + 8-byte big-endian first epoch
	KeyLatest        = "latest"
)

// LedgerInfoKey is the key of epoch's ledger info: "ledger_info/" and the
// epoch as 8 big-endian bytes.
//
//	k := db.LedgerInfoKey(17) // db.FormatKey(k) == "ledger_info/17"
func LedgerInfoKey(epoch uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(PrefixLedgerInfo), epoch)
}

// ManifestKey is the key of the completion marker of the backup whose
// first epoch is firstEpoch: "manifest/" and the epoch as 8 big-endian bytes.
//
//	k := db.ManifestKey(8) // db.FormatKey(k) == "manifest/8"
func ManifestKey(firstEpoch uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(PrefixManifest), firstEpoch)
}

// KeyKind is what a key of the layout names, as ParseKey tells it.
//
//	if kind, _ := db.ParseKey(k); kind == db.KindLedgerInfo { … }
type KeyKind int

// The kinds of key ParseKey tells apart.
const (
	KindUnknown    KeyKind = iota // not a key of the layout
	KindLedgerInfo                // ledger_info/<epoch>
	KindManifest                  // manifest/<first epoch>
	KindLatest                    // latest
)

// ParseKey says what k is and, for a ledger info or a manifest marker, its
// epoch (the first epoch, for a marker). A key with a known prefix but not
// exactly 8 bytes after it is KindUnknown.
//
//	kind, epoch := db.ParseKey(db.LedgerInfoKey(17)) // KindLedgerInfo, 17
func ParseKey(k []byte) (KeyKind, uint64) {
	epochAfter := func(prefix string) (uint64, bool) {
		rest, ok := bytes.CutPrefix(k, []byte(prefix))
		if !ok || len(rest) != 8 {
			return 0, false
		}
		return binary.BigEndian.Uint64(rest), true
	}
	if e, ok := epochAfter(PrefixLedgerInfo); ok {
		return KindLedgerInfo, e
	}
	if e, ok := epochAfter(PrefixManifest); ok {
		return KindManifest, e
	}
	if string(k) == KeyLatest {
		return KindLatest, 0
	}
	return KindUnknown, 0
}

// FormatKey renders a key for people: "ledger_info/17", "manifest/8",
// "latest", or the quoted bytes of a key outside the layout.
//
//	fmt.Println(db.FormatKey(db.ManifestKey(8))) // manifest/8
func FormatKey(k []byte) string {
	switch kind, e := ParseKey(k); kind {
	case KindLedgerInfo:
		return PrefixLedgerInfo + strconv.FormatUint(e, 10)
	case KindManifest:
		return PrefixManifest + strconv.FormatUint(e, 10)
	case KindLatest:
		return KeyLatest
	}
	return fmt.Sprintf("%q", k)
}
