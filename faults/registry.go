package faults

import (
	"sort"
)

// kind is a fault kind's entry in the registry: the keys it accepts (besides
// the envelope keys) and its decoder, which gets only those keys.
type kind struct {
	keys   []string
	decode func(*args) (Fault, error)
}

// registry maps each fault kind's name to its entry. It is the only list of
// kinds: add a kind here and nowhere else.
var registry = map[string]kind{
	"corrupt":  {keys: []string{"record", "mode"}, decode: decodeCorrupt},
	"exit":     {keys: []string{"code", "after"}, decode: decodeExit},
	"reset":    {keys: []string{"after"}, decode: decodeReset},
	"slow":     {keys: []string{"rate"}, decode: decodeSlow},
	"stall":    {keys: []string{"after", "for"}, decode: decodeStall},
	"status":   {keys: []string{"code"}, decode: decodeStatus},
	"truncate": {keys: []string{"after", "record", "exit"}, decode: decodeTruncate},
}

// envelopeKeys are the keys every rule accepts, in canonical order.
var envelopeKeys = []string{"on", "call", "op", "p", "seed"}

// Kinds returns the names of the fault kinds the spec language knows,
// sorted.
//
//	faults.Kinds() // [corrupt exit reset slow stall status truncate]
func Kinds() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
