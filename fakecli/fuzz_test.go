package fakecli_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
)

// FuzzPersonaParse gives every persona's argument parser arbitrary argv
// (NUL-separated words) and environment ("NAME=value" lines): it never
// panics, every refusal is a *UsageError whose message names the persona's
// problem in bounded, escaped text, and every accepted command has a known
// operation.
//
// Seeds: testdata/fuzz/FuzzPersonaParse (run by plain go test).
func FuzzPersonaParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, persona, argv, env string) {
		p := fakecli.Lookup(persona)
		if p == nil {
			names := fakecli.Personas()
			p = fakecli.Lookup(names[len(persona)%len(names)])
		}
		vars := map[string]string{}
		for _, line := range strings.Split(env, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				vars[k] = v
			}
		}
		var args []string
		if argv != "" {
			args = strings.Split(argv, "\x00")
		}
		cmd, err := p.Parse(args, func(k string) string { return vars[k] })
		if err != nil {
			var ue *fakecli.UsageError
			if !errors.As(err, &ue) || ue.Msg == "" {
				t.Fatalf("%s %q: error %T %v, want a *UsageError with a message", p.Name, args, err, err)
			}
			if len(ue.Msg) > 4<<10 {
				t.Fatalf("%s %q: message of %d bytes: %.200q", p.Name, args, len(ue.Msg), ue.Msg)
			}
			return
		}
		switch cmd.Op {
		case faults.OpRead, faults.OpWrite, faults.OpList, faults.OpMove, faults.OpOther:
		default:
			t.Fatalf("%s %q: accepted with operation %q", p.Name, args, cmd.Op)
		}
	})
}
