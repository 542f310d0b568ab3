package shellquote

import (
	"strings"
	"testing"
)

func TestJoin(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"sleep", "300"}, "sleep 300"},
		{[]string{"aws", "s3", "cp", "s3://b/k-1_2.chunk", "-"}, "aws s3 cp s3://b/k-1_2.chunk -"},
		{[]string{"bash", "-c", "a | b"}, "bash -c 'a | b'"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"x", "", "it's"}, `x '' 'it'\''s'`},
		{[]string{"cp", "s3://b/k=1,2", "/tmp/a-b_c.d"}, "cp s3://b/k=1,2 /tmp/a-b_c.d"},
		{[]string{"é"}, "'é'"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Join(tt.in); got != tt.want {
			t.Errorf("Join(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJoinMax(t *testing.T) {
	tests := []struct {
		in   []string
		max  int
		want string
	}{
		{[]string{"sleep", "300"}, 9, "sleep 300"},
		{[]string{"sleep", "300"}, 8, "sleep 30…"},
		// "é" is two bytes: the cut never splits one.
		{[]string{strings.Repeat("é", 300)}, 400, "'" + strings.Repeat("é", 199) + "…"},
	}
	for _, tt := range tests {
		if got := JoinMax(tt.in, tt.max); got != tt.want {
			t.Errorf("JoinMax(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
