package faults

import (
	"strings"
	"testing"
)

func TestResetScript(t *testing.T) {
	data := []byte("0123456789")
	runScriptCases(t, []scriptCase{
		{name: "before anything", fault: Reset{}, data: data,
			want: Script{Exit: 1}},
		{name: "before anything, empty object", fault: Reset{}, data: nil,
			want: Script{Exit: 1}},
		{name: "after 4", fault: Reset{After: 4}, data: data,
			want: Script{Steps: []Step{{Write: data[:4]}}, Exit: 1}},
		{name: "after all but one", fault: Reset{After: 9}, data: data,
			want: Script{Steps: []Step{{Write: data[:9]}}, Exit: 1}},
		{name: "after counts gzip bytes", fault: Reset{After: 2}, data: gz(t, data),
			want: Script{Steps: []Step{{Write: []byte{0x1f, 0x8b}}}, Exit: 1}},
		{name: "after everything", fault: Reset{After: 10}, data: data,
			errText: "reset after=10: object has 10 bytes, nothing left to cut", misfit: true},
		{name: "negative", fault: Reset{After: -1}, data: data,
			errText: "negative After"},
	})
}

func TestResetString(t *testing.T) {
	runStringCases(t, map[string]Fault{
		"reset":            Reset{},
		"reset after=8KiB": Reset{After: 8 << 10},
		"reset after=100":  Reset{After: 100},
	})
}

func TestResetParseErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"reset after=1x", `spec:1:13: reset: after: invalid size "1x"`},
		{"reset for=1s", `spec:1:7: reset: unknown key "for" (reset takes after; every rule takes on, call, op, p, seed)`},
	} {
		_, err := Parse("spec", c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): err = %v, want %q", c.text, err, c.want)
		}
	}
}
