package faults

import (
	"encoding/binary"
	"hash/fnv"
)

// chance is the deterministic "random" number in [0, 1) behind a rule's p=:
// a function of the rule's seed, its index in the plan and the handle only.
// It is FNV-1a (64 bit) over seed and index (8 bytes each, big-endian) and
// the handle, finished with the SplitMix64 mixer, so it is the same on every
// platform, in every process and for every call order.
func chance(seed int64, index int, handle string) float64 {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(seed))
	binary.BigEndian.PutUint64(b[8:], uint64(index))
	h := fnv.New64a()
	h.Write(b[:])
	h.Write([]byte(handle))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
