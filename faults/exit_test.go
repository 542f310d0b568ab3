package faults

import (
	"testing"
)

func TestExitScript(t *testing.T) {
	data := []byte("0123456789")
	runScriptCases(t, []scriptCase{
		{name: "all", fault: Exit{Code: 1, After: AfterAll}, data: data,
			want: Script{Steps: []Step{{Write: data}}, Exit: 1}},
		{name: "all of nothing", fault: Exit{Code: 2, After: AfterAll}, data: nil,
			want: Script{Exit: 2}},
		{name: "none", fault: Exit{Code: 3, After: AfterNone}, data: data,
			want: Script{Exit: 3}},
		{name: "after 4", fault: Exit{Code: 255, After: 4}, data: data,
			want: Script{Steps: []Step{{Write: data[:4]}}, Exit: 255}},
		{name: "after everything", fault: Exit{Code: 9, After: 10}, data: data,
			want: Script{Steps: []Step{{Write: data}}, Exit: 9}},
		{name: "past the end", fault: Exit{Code: 1, After: 11}, data: data,
			errText: "exit after=11: object has 10 bytes", misfit: true},
		{name: "code 0", fault: Exit{After: AfterAll}, data: data,
			errText: "exit code=0: exit status 0 out of range 1..255"},
		{name: "code 256", fault: Exit{Code: 256, After: AfterAll}, data: data,
			errText: "exit status 256 out of range 1..255"},
		{name: "bad exit point", fault: Exit{Code: 1, After: -2}, data: data,
			errText: "invalid exit point -2"},
	})
}

func TestExitString(t *testing.T) {
	runStringCases(t, map[string]Fault{
		"exit":                     Exit{Code: 1, After: AfterAll},
		"exit code=3 after=none":   Exit{Code: 3, After: AfterNone},
		"exit after=64KiB":         Exit{Code: 1, After: 64 << 10},
		"exit code=255 after=1000": Exit{Code: 255, After: 1000},
	})
	for p, want := range map[ExitPoint]string{AfterAll: "all", AfterNone: "none", 1: "1", 2048: "2KiB"} {
		if got := p.String(); got != want {
			t.Errorf("ExitPoint(%d).String() = %q, want %q", int64(p), got, want)
		}
	}
}
