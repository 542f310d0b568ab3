package ledger

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/leakgate/leakgate/restore/ledger/internal/bcs"
)

// LedgerInfoWithSignatures is one record of an epoch-ending chunk. Its BCS
// encoding is the enum variant tag 0 (V0), then Info, then Signatures.
//
//	li, err := ledger.Decode(rec)
//	rec2 := li.Encode() // equal to rec: the encoding is canonical
type LedgerInfoWithSignatures struct {
	Info       LedgerInfo
	Signatures AggregateSignature
}

// LedgerInfo is the ledger state at the end of an epoch. Fields are encoded
// in declaration order: u64s little endian, hashes as 32 raw bytes,
// NextEpochState as an option.
type LedgerInfo struct {
	Epoch           uint64
	Round           uint64
	ID              [32]byte // block id
	ExecutedStateID [32]byte // state root after the block
	Version         uint64   // the ledger version the info commits
	TimestampUsecs  uint64   // microseconds since the Unix epoch
	// NextEpochState is the validator set of the next epoch; nil encodes
	// as None. Epoch-ending ledger infos always have one.
	NextEpochState    *EpochState
	ConsensusDataHash [32]byte
}

// EpochState is an epoch number and its validator set, encoded as the u64
// then a sequence of validators.
type EpochState struct {
	Epoch      uint64
	Validators []Validator
}

// Validator is one validator: address (32 raw bytes), public key
// (Vec<u8>), voting power (u64).
type Validator struct {
	Address     [32]byte
	PublicKey   []byte
	VotingPower uint64
}

// AggregateSignature is the validators' signature over the ledger info:
// a bitmask of signers (Vec<u8>) and the aggregate signature as an
// Option<Vec<u8>>: nil encodes as None, an empty non-nil slice as Some(empty).
type AggregateSignature struct {
	Bitmask []byte
	Sig     []byte
}

// validatorMinSize is the smallest encoding of a Validator in bytes
// (address, an empty public key's length byte, voting power).
const validatorMinSize = 32 + 1 + 8

// DecodeError is a decoding failure: the field (a dotted path such as
// "info.next_epoch_state.validators[2].public_key"), the byte offset where
// it starts, and a cause that errors.Is matches against ErrTruncated,
// ErrTrailingBytes, ErrOverflow, ErrNonCanonical, ErrInvalidOption,
// ErrUnknownVariant or ErrTooLong.
//
//	var de *ledger.DecodeError
//	if errors.As(err, &de) { log.Printf("%s at byte %d", de.Field, de.Offset) }
type DecodeError = bcs.Error

// Causes of a DecodeError, for errors.Is.
var (
	ErrTruncated      = bcs.ErrTruncated      // the record ends inside a field
	ErrTrailingBytes  = bcs.ErrTrailing       // bytes are left after the ledger info
	ErrOverflow       = bcs.ErrOverflow       // a ULEB128 length or tag exceeds a u32
	ErrNonCanonical   = bcs.ErrNonCanonical   // a ULEB128 value has redundant zero groups
	ErrInvalidOption  = bcs.ErrInvalidOption  // an option tag other than 0 or 1
	ErrUnknownVariant = bcs.ErrUnknownVariant // an enum tag other than 0 (V0)
	ErrTooLong        = bcs.ErrTooLong        // a length exceeds the bytes left
)

// Decode parses one record strictly: the whole of rec must be exactly one
// canonical encoding. The result does not alias rec. Errors wrap a
// *DecodeError naming the field and byte offset.
//
//	li, err := ledger.Decode(rec)
//	if err != nil { return fmt.Errorf("chunk %s: record %d: %w", handle, n, err) }
func Decode(rec []byte) (*LedgerInfoWithSignatures, error) {
	d := bcs.NewDecoder(rec)
	d.Variant("variant", 1)
	var l LedgerInfoWithSignatures
	li := &l.Info
	li.Epoch = d.U64("info.epoch")
	li.Round = d.U64("info.round")
	li.ID = d.Fixed32("info.id")
	li.ExecutedStateID = d.Fixed32("info.executed_state_id")
	li.Version = d.U64("info.version")
	li.TimestampUsecs = d.U64("info.timestamp_usecs")
	if d.Option("info.next_epoch_state") {
		es := &EpochState{Epoch: d.U64("info.next_epoch_state.epoch")}
		n := d.Len("info.next_epoch_state.validators", validatorMinSize)
		es.Validators = make([]Validator, 0, n)
		// Field names carry the validator's index only on failure: building
		// them for every validator was a third of a restore's CPU.
		for i := 0; i < n && d.Err() == nil; i++ {
			es.Validators = append(es.Validators, Validator{
				Address:     d.Fixed32("info.next_epoch_state.validators[].address"),
				PublicKey:   d.Bytes("info.next_epoch_state.validators[].public_key"),
				VotingPower: d.U64("info.next_epoch_state.validators[].voting_power"),
			})
			if e, ok := d.Err().(*DecodeError); ok {
				e.Field = strings.Replace(e.Field, "[]", "["+strconv.Itoa(i)+"]", 1)
			}
		}
		li.NextEpochState = es
	}
	li.ConsensusDataHash = d.Fixed32("info.consensus_data_hash")
	l.Signatures.Bitmask = d.Bytes("signatures.bitmask")
	if d.Option("signatures.sig") {
		l.Signatures.Sig = d.Bytes("signatures.sig")
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode ledger info: %w", err)
	}
	return &l, nil
}

// Encode returns the canonical encoding of l. A byte slice or validator
// list longer than math.MaxUint32 cannot be encoded and makes Encode panic.
//
//	rec := li.Encode()
func (l *LedgerInfoWithSignatures) Encode() []byte {
	var e bcs.Encoder
	e.Variant(0)
	li := &l.Info
	e.U64(li.Epoch)
	e.U64(li.Round)
	e.Fixed32(li.ID)
	e.Fixed32(li.ExecutedStateID)
	e.U64(li.Version)
	e.U64(li.TimestampUsecs)
	e.Option(li.NextEpochState != nil)
	if es := li.NextEpochState; es != nil {
		e.U64(es.Epoch)
		e.Len(len(es.Validators))
		for _, v := range es.Validators {
			e.Fixed32(v.Address)
			e.Vec(v.PublicKey)
			e.U64(v.VotingPower)
		}
	}
	e.Fixed32(li.ConsensusDataHash)
	e.Vec(l.Signatures.Bitmask)
	e.Option(l.Signatures.Sig != nil)
	if l.Signatures.Sig != nil {
		e.Vec(l.Signatures.Sig)
	}
	return e.Bytes()
}

// Waypoint returns the waypoint of l's encoding at l.Info.Version; for a
// record r that decodes to l it equals WaypointOf(l.Info.Version, r).
//
//	wp := ledger.Synthetic(3, 0).Waypoint()
func (l *LedgerInfoWithSignatures) Waypoint() Waypoint {
	return WaypointOf(l.Info.Version, l.Encode())
}
