package adapter

import (
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in   string
		want Policy
	}{
		{"drop", Drop},
		{"abandon", Abandon},
		{"kill", Kill},
		{"killgroup", KillGroup},
		{" KillGroup ", KillGroup},
	}
	for _, tt := range tests {
		got, err := ParsePolicy(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "kil", "kill-group", "drop,kill"} {
		_, err := ParsePolicy(bad)
		if !errors.Is(err, ErrUnknownPolicy) {
			t.Errorf("ParsePolicy(%q) err = %v, want ErrUnknownPolicy", bad, err)
			continue
		}
		want := `unknown cleanup policy "` + bad + `" (known: drop, abandon, kill, killgroup)`
		if err.Error() != want {
			t.Errorf("ParsePolicy(%q) err = %q, want %q", bad, err, want)
		}
	}
}

func TestPolicyString(t *testing.T) {
	var got []string
	for _, p := range Policies() {
		got = append(got, p.String())
		back, err := ParsePolicy(p.String())
		if err != nil || back != p {
			t.Errorf("ParsePolicy(%v.String()) = %v, %v", p, back, err)
		}
	}
	if want := []string{"drop", "abandon", "kill", "killgroup"}; !slices.Equal(got, want) {
		t.Errorf("Policies() names = %v, want %v", got, want)
	}
	if got := Policy(7).String(); got != "Policy(7)" {
		t.Errorf("Policy(7).String() = %q", got)
	}
	if Policy(0) != Drop {
		t.Errorf("zero Policy is %v, want drop (as shipped)", Policy(0))
	}
}

func TestBuildEnv(t *testing.T) {
	tests := []struct {
		name   string
		base   []string
		layers [][]EnvVar
		want   []string
	}{
		{"empty", nil, nil, []string{}},
		{"base dedup later wins in place", []string{"A=1", "B=2", "A=3"}, nil, []string{"A=3", "B=2"}},
		{"config over base", []string{"A=base", "B=base"}, [][]EnvVar{{{"B", "cfg"}, {"C", "cfg"}}}, []string{"A=base", "B=cfg", "C=cfg"}},
		{"params over config over base",
			[]string{"A=base", "FILE_HANDLE=base"},
			[][]EnvVar{{{"FILE_HANDLE", "cfg"}, {"X", "1"}}, {{"FILE_HANDLE", "param"}}},
			[]string{"A=base", "FILE_HANDLE=param", "X=1"}},
		{"empty value and '=' in value", []string{"A=x=y"}, [][]EnvVar{{{"B", ""}}}, []string{"A=x=y", "B="}},
		{"entry without =", []string{"WEIRD"}, nil, []string{"WEIRD"}},
	}
	for _, tt := range tests {
		got := buildEnv(tt.base, tt.layers...)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: buildEnv = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCommandSummary(t *testing.T) {
	tests := []struct{ in, want string }{
		{"exit 3", "exit 3"},
		{"  cat x | gzip -cd  \n", "cat x | gzip -cd"},
		{"# route file handle content to stdout\naws s3 cp \"s3://$BUCKET/$SUB_DIR/$FILE_HANDLE\" - | gzip -cd\n",
			"aws s3 cp \"s3://$BUCKET/$SUB_DIR/$FILE_HANDLE\" - | gzip -cd"},
		{"FILE_HANDLE=x\necho \"$FILE_HANDLE\"\nexec 1>&-\n", "FILE_HANDLE=x …"},
		{"# only a comment\n", "# only a comment"},
	}
	for _, tt := range tests {
		if got := commandSummary(tt.in); got != tt.want {
			t.Errorf("commandSummary(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExitErrorMessage(t *testing.T) {
	tests := []struct {
		err  *ExitError
		want string
	}{
		{&ExitError{Op: "open_for_read", Params: []EnvVar{{"FILE_HANDLE", "b.1a2b/0-.chunk"}}, Command: "exit 3", ExitCode: 3},
			`open_for_read FILE_HANDLE="b.1a2b/0-.chunk": bash exited with status 3 (command: exit 3)`},
		{&ExitError{Op: "create_for_write", Params: []EnvVar{{"BACKUP_HANDLE", "b"}, {"FILE_NAME", "f.chunk"}}, Command: "# c\nx\ny", ExitCode: -1, Signal: syscall.SIGKILL},
			`create_for_write BACKUP_HANDLE="b" FILE_NAME="f.chunk": bash killed by signal 9 (killed) (command: x …)`},
		{&ExitError{Op: "list_metadata_files", Command: "ls", ExitCode: 2},
			`list_metadata_files: bash exited with status 2 (command: ls)`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q\nwant      %q", got, tt.want)
		}
	}
}

func TestGroupErrorMessage(t *testing.T) {
	err := error(&GroupError{Op: "open_for_read", Params: []EnvVar{{"FILE_HANDLE", "x"}}, Pgid: 1234, Reason: "bash not reaped",
		Waited: 5 * time.Second, Left: []Leftover{{1234, "D", "bash"}, {1236, "Z", "sleep"}}})
	want := `open_for_read FILE_HANDLE="x": process group 1234 not empty after 5s (bash not reaped): left 1234 (D bash), 1236 (Z sleep)`
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err, want)
	}
	if !errors.Is(err, ErrGroupNotEmpty) {
		t.Errorf("GroupError does not match ErrGroupNotEmpty")
	}
}
