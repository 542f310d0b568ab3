package ledger

import (
	"crypto/sha3"
	"encoding/binary"

	"github.com/leakgate/leakgate/restore/ledger/internal/bcs"
)

// Sizes of the synthetic ledger infos' parts, in bytes.
const (
	syntheticKeyLen = 48 // a BLS12-381 public key
	syntheticSigLen = 96 // a BLS12-381 signature; Synthetic pads beyond it
	// validatorSize is one synthetic validator's encoding: address, key
	// length byte, key, voting power.
	validatorSize = 32 + 1 + syntheticKeyLen + 8
)

// SyntheticBaseTimestamp is the TimestampUsecs of Synthetic's epoch 0, in
// microseconds since the Unix epoch (2023-11-14T22:13:20Z); each epoch adds
// one hour.
const SyntheticBaseTimestamp = 1_700_000_000_000_000

// SyntheticMinSize is the smallest encoding Synthetic makes, in bytes: one
// validator and a 96-byte signature.
const SyntheticMinSize = 328

// Synthetic returns a deterministic ledger info for epoch whose encoding is
// at least size bytes: exactly SyntheticMinSize bytes for any size up to
// that (size ≤ 0 included), and size or size+1 bytes above it (a ULEB128
// length prefix can make one size unreachable). Building it takes time and
// memory in proportion to size, so keep size to a few MiB. Equal arguments
// give equal encodings; different epochs give different waypoints.
//
// Fields: Epoch = epoch; Round = epoch; Version = epoch*1000 + 999 (epoch e
// ends at the last of versions e*1000 … e*1000+999; wraps modulo 2^64 past
// epoch 18446744073709550); TimestampUsecs = SyntheticBaseTimestamp +
// epoch hours; hashes derived from the epoch with sha3; NextEpochState =
// epoch+1 with n ≥ 1 validators (48-byte keys, voting power 100..); a
// bitmask with n bits set; the signature (96 bytes or more) pads the
// encoding to size.
//
//	rec := ledger.Synthetic(7, 16<<10).Encode() // a 16 KiB (or 16 KiB + 1) record for epoch 7
//	wp := ledger.WaypointOf(7*1000+999, rec)
func Synthetic(epoch uint64, size int) *LedgerInfoWithSignatures {
	// The encoding with n validators and a sigLen-byte signature is fixed +
	// these variable parts.
	bitmaskLen := func(n int) int { return (n + 7) / 8 }
	variable := func(n, sigLen int) int {
		return uleb(n) + n*validatorSize + uleb(bitmaskLen(n)) + bitmaskLen(n) + uleb(sigLen) + sigLen
	}
	empty := syntheticWith(epoch, 0, 0)
	fixed := len(empty.Encode()) - variable(0, 0)

	n := 1
	for fixed+variable(n+1, syntheticSigLen) <= size {
		n++
	}
	sigLen := syntheticSigLen
	for fixed+variable(n, sigLen) < size {
		sigLen++
	}
	return syntheticWith(epoch, n, sigLen)
}

func syntheticWith(epoch uint64, validators, sigLen int) *LedgerInfoWithSignatures {
	es := &EpochState{Epoch: epoch + 1, Validators: make([]Validator, validators)}
	for i := range es.Validators {
		es.Validators[i] = Validator{
			Address:     derive32("validator address", epoch, i),
			PublicKey:   deriveN("validator key", epoch, i, syntheticKeyLen),
			VotingPower: 100 + uint64(i),
		}
	}
	bitmask := make([]byte, (validators+7)/8)
	for i := range validators {
		bitmask[i/8] |= 0x80 >> (i % 8)
	}
	return &LedgerInfoWithSignatures{
		Info: LedgerInfo{
			Epoch:             epoch,
			Round:             epoch,
			ID:                derive32("block id", epoch, 0),
			ExecutedStateID:   derive32("executed state id", epoch, 0),
			Version:           epoch*1000 + 999,
			TimestampUsecs:    SyntheticBaseTimestamp + epoch*3_600_000_000,
			NextEpochState:    es,
			ConsensusDataHash: derive32("consensus data hash", epoch, 0),
		},
		Signatures: AggregateSignature{Bitmask: bitmask, Sig: deriveN("signature", epoch, 0, sigLen)},
	}
}

// seed is the input the derive functions hash: label, epoch, index.
func seed(label string, epoch uint64, i int) []byte {
	b := append([]byte("leakgate synthetic "), label...)
	b = binary.BigEndian.AppendUint64(b, epoch)
	return binary.BigEndian.AppendUint64(b, uint64(i))
}

func derive32(label string, epoch uint64, i int) [32]byte {
	return sha3.Sum256(seed(label, epoch, i))
}

func deriveN(label string, epoch uint64, i, n int) []byte {
	return sha3.SumSHAKE256(seed(label, epoch, i), n)
}

func uleb(n int) int { return bcs.ULEB128Size(uint32(n)) }
