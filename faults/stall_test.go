package faults

import (
	"testing"
	"time"
)

func TestStallScript(t *testing.T) {
	data := []byte("0123456789")
	runScriptCases(t, []scriptCase{
		{name: "before the first byte, forever", fault: Stall{For: Forever}, data: data,
			want: Script{Steps: []Step{{Stall: Forever}}}},
		{name: "after 4, forever", fault: Stall{After: 4, For: Forever}, data: data,
			want: Script{Steps: []Step{{Write: data[:4], Stall: Forever}}}},
		{name: "after 4, 2s, then the rest", fault: Stall{After: 4, For: 2 * time.Second}, data: data,
			want: Script{Steps: []Step{{Write: data[:4], Stall: 2 * time.Second}, {Write: data[4:]}}}},
		{name: "after everything, before exit", fault: Stall{After: 10, For: time.Millisecond}, data: data,
			want: Script{Steps: []Step{{Write: data, Stall: time.Millisecond}}}},
		{name: "after counts gzip bytes", fault: Stall{After: 2, For: Forever}, data: gz(t, data),
			want: Script{Steps: []Step{{Write: []byte{0x1f, 0x8b}, Stall: Forever}}}},
		{name: "past the end", fault: Stall{After: 11, For: Forever}, data: data,
			errText: "stall after=11: object has 10 bytes", misfit: true},
		{name: "zero pause", fault: Stall{After: 1}, data: data,
			errText: "stall after=1 for=0s: pause 0s: want > 0 or Forever"},
		{name: "negative pause", fault: Stall{For: -2}, data: data,
			errText: "pause -2ns: want > 0 or Forever"},
	})
}

func TestStallString(t *testing.T) {
	runStringCases(t, map[string]Fault{
		"stall":                       Stall{For: Forever},
		"stall after=32KiB":           Stall{After: 32 << 10, For: Forever},
		"stall for=250ms":             Stall{For: 250 * time.Millisecond},
		"stall after=1 for=1m30s":     Stall{After: 1, For: 90 * time.Second},
		"stall after=3MiB for=1h0m0s": Stall{After: 3 << 20, For: time.Hour},
	})
}
