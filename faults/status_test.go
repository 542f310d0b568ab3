package faults

import (
	"strings"
	"testing"
)

func TestStatusScript(t *testing.T) {
	data := []byte("0123456789")
	runScriptCases(t, []scriptCase{
		{name: "503 writes nothing, exits 1", fault: Status{Code: 503}, data: data,
			want: Script{Exit: 1}},
		{name: "404 of an empty object", fault: Status{Code: 404}, data: nil,
			want: Script{Exit: 1}},
		{name: "599", fault: Status{Code: 599}, data: data,
			want: Script{Exit: 1}},
		{name: "zero", fault: Status{}, data: data,
			errText: "status code=0: HTTP status 0 out of range 400..599"},
		{name: "success is no fault", fault: Status{Code: 200}, data: data,
			errText: "status code=200: HTTP status 200 out of range 400..599"},
	})
}

func TestStatusString(t *testing.T) {
	runStringCases(t, map[string]Fault{
		"status":          Status{Code: 503},
		"status code=500": Status{Code: 500},
		"status code=404": Status{Code: 404},
	})
}

func TestStatusParseErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"status code=200", `spec:1:13: status: code: invalid HTTP status "200" (want an integer from 400 to 599)`},
		{"status code=5xx", `spec:1:13: status: code: invalid HTTP status "5xx" (want an integer from 400 to 599)`},
		{"status after=1", `spec:1:8: status: unknown key "after" (status takes code; every rule takes on, call, op, p, seed)`},
	} {
		_, err := Parse("spec", c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): err = %v, want %q", c.text, err, c.want)
		}
	}
}
