package faults

import (
	"testing"
)

func TestSlowScript(t *testing.T) {
	data := []byte("0123456789")
	runScriptCases(t, []scriptCase{
		{name: "rate", fault: Slow{Rate: 256 << 10}, data: data,
			want: Script{Steps: []Step{{Write: data, Rate: 256 << 10}}}},
		{name: "one byte a second", fault: Slow{Rate: 1}, data: data,
			want: Script{Steps: []Step{{Write: data, Rate: 1}}}},
		{name: "nothing to write", fault: Slow{Rate: 1}, data: nil,
			want: Script{}},
		{name: "zero rate", fault: Slow{}, data: data,
			errText: "slow rate=0: rate must be > 0 bytes per second"},
	})
}

func TestSlowString(t *testing.T) {
	runStringCases(t, map[string]Fault{
		"slow rate=256KiB": Slow{Rate: 256 << 10},
		"slow rate=10000":  Slow{Rate: 10000},
		"slow rate=1GiB":   Slow{Rate: 1 << 30},
	})
}
