package faults

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts
// round-trips through String, and that matching and scripting the rules
// it accepts do not panic either.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"truncate on=*/epoch_ending_0-*/0-.chunk record=2; slow rate=256KiB",
		"stall after=32KiB for=forever on=*1-.chunk",
		"exit code=3 after=none op=list",
		"corrupt record=3 mode=trailing call=5-9 p=0.5 seed=42",
		"# plan\n\tstall for=250ms # x\r\n\nexit after=4KiB call=3,7,9-11 op=other,read;corrupt",
		`truncate after=0 exit=2 op=any seed=-7 on="metadata/a b;#c\"d\\e\x"`,
		`stall on="a b[z-a]"`, `stall on=[!a-z]?\*`, "stal", "stall fro=1 for=10x",
		"truncate after=1 record=2", `stall on="ab`, "slow rate=10KB p=1e-3",
	} {
		f.Add(s)
	}
	plain := stream("alpha", "bravo!", "c", "")
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain)
	zw.Close()
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse("spec", text)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse(%q): error %T, want *SyntaxError", text, err)
			}
			return
		}
		checkRoundTrip(t, p)
		for _, h := range []string{"", "b.1a2b/epoch_ending_0-/0-.chunk", "metadata/é[x]"} {
			p.Match(Call{N: 3, Op: OpRead, Handle: h})
		}
		for _, r := range p.Rules {
			r.Fault.Script(plain)
			r.Fault.Script(zipped.Bytes())
		}
	})
}
