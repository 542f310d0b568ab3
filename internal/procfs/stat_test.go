package procfs

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tail := " 0 0 0 0 0 20 0 1 0 98765 1000 100"
	tests := []struct {
		name string
		in   string
		want Stat
	}{
		{
			name: "plain",
			in:   "4242 (sleep) S 4100 4242 4100 0 -1 4194560 0 0 0" + tail,
			want: Stat{Pid: 4242, Comm: "sleep", State: 'S', PPid: 4100, Pgrp: 4242, Flags: 4194560, StartTicks: 98765},
		},
		{
			name: "zombie",
			in:   "7 (true) Z 1 1 1 0 -1 4194560 0 0 0" + tail,
			want: Stat{Pid: 7, Comm: "true", State: 'Z', PPid: 1, Pgrp: 1, Flags: 4194560, StartTicks: 98765},
		},
		{
			name: "comm with spaces and parentheses",
			in:   "9 (a) b (c)) t 3 9 3 0 -1 4194560 0 0 0" + tail,
			want: Stat{Pid: 9, Comm: "a) b (c)", State: 't', PPid: 3, Pgrp: 9, Flags: 4194560, StartTicks: 98765},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat("/proc/x/stat", []byte(tt.in))
			if err != nil {
				t.Fatalf("ParseStat(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseStat(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseStatErrors(t *testing.T) {
	// A real line's shape: state, ppid, pgrp, …, starttime (field 22), vsize.
	const valid = "42 (sleep) S 1 1 1 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 101786 3133440"
	if _, err := ParseStat("/proc/42/stat", []byte(valid)); err != nil {
		t.Fatalf("ParseStat(valid) error: %v", err)
	}
	tests := []struct {
		name, in, field string
	}{
		{"no parentheses", strings.Replace(valid, "(sleep)", "sleep", 1), "comm"},
		{"bad pid", strings.Replace(valid, "42", "x", 1), "pid"},
		{"short", "42 (sleep) S 1 1 1", "starttime"},
		{"long state", strings.Replace(valid, ") S ", ") SS ", 1), "state"},
		{"bad ppid", strings.Replace(valid, ") S 1 ", ") S p ", 1), "ppid"},
		{"bad pgrp", strings.Replace(valid, ") S 1 1 ", ") S 1 q ", 1), "pgrp"},
		{"bad starttime", strings.Replace(valid, " 101786 ", " -5 ", 1), "starttime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStat("/proc/42/stat", []byte(tt.in))
			var se *StatError
			if !errors.As(err, &se) {
				t.Fatalf("ParseStat(%q) error = %v, want a *StatError", tt.in, err)
			}
			if se.Field != tt.field || se.Path != "/proc/42/stat" {
				t.Errorf("ParseStat(%q) error field %q path %q, want field %q path /proc/42/stat", tt.in, se.Field, se.Path, tt.field)
			}
		})
	}
}

func TestReadStatSelfAndGone(t *testing.T) {
	st, err := ReadStat(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Pid != int32(os.Getpid()) || st.PPid != int32(os.Getppid()) || st.State == 'Z' {
		t.Errorf("ReadStat(self) = %+v, want pid %d ppid %d, not a zombie", st, os.Getpid(), os.Getppid())
	}
	// pid_max is at most 2^22, so this pid never exists.
	if _, err := ReadStat(1 << 30); !errors.Is(err, ErrGone) {
		t.Errorf("ReadStat(1<<30) error = %v, want ErrGone", err)
	}
}

func TestParseUptime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"12345.67 2345.67\n", 12345*time.Second + 670*time.Millisecond, false},
		{"0.01 0.00\n", 10 * time.Millisecond, false},
		{"", 0, true},
		{"x 1\n", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseUptime([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseUptime(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		// float parsing: allow a microsecond
		if d := got - tt.want; d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("ParseUptime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseFDInfoAccessMode(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"pos:\t0\nflags:\t02000001\nmnt_id:\t16\n", 1, false},
		{"pos:\t0\nflags:\t02000000\n", 0, false},
		{"pos:\t0\nflags:\t0100002\n", 2, false},
		{"pos:\t0\n", 0, true},
		{"flags:\tzz\n", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseFDInfoAccessMode([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFDInfoAccessMode(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSelfFDsSeesPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fds, err := SelfFDs()
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for _, fd := range fds {
		got[fd.Num] = fd.Target
	}
	rt, wt := got[int(r.Fd())], got[int(w.Fd())]
	if rt == "" || rt != wt || rt[:6] != "pipe:[" {
		t.Errorf("SelfFDs: read end %q, write end %q; want the same pipe:[…] target", rt, wt)
	}
	if m, err := AccessMode(int32(os.Getpid()), int(w.Fd())); err != nil || m != 1 {
		t.Errorf("AccessMode(write end) = %d, %v; want 1", m, err)
	}
}

func TestParseStatImage(t *testing.T) {
	// A live process's line (Linux 6.x): 52 fields.
	const line = "4242 (sleep) S 4100 4242 4100 0 -1 4194560 98 0 0 0 0 0 0 0 20 0 1 0 98765 8192000 200 18446744073709551615 " +
		"94000000000000 94000000100000 140730000000000 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94000000200000 94000000300000 94000001000000 " +
		"140730000001000 140730000001100 140730000001100 140730000002000 0\n"
	got, err := ParseStat("/proc/4242/stat", []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := Image{StartCode: 94000000000000, EndCode: 94000000100000, ArgStart: 140730000001000, ArgEnd: 140730000001100, EnvStart: 140730000001100, EnvEnd: 140730000002000}
	if got.Image != want || !got.Image.Known() || got.StartTicks != 98765 || got.State != 'S' {
		t.Errorf("ParseStat image\n got %+v\nwant %+v (known), starttime 98765, state S", got, want)
	}
	// A zombie's: the address fields are zero.
	zombie := "7 (true) Z 1 1 1 0 -1 4227084 49 0 1 0 0 0 0 0 20 0 1 0 255629 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 1 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	if z, err := ParseStat("/proc/7/stat", []byte(zombie)); err != nil || z.Image.Known() {
		t.Errorf("ParseStat(zombie) = %+v, %v; want an unknown image", z, err)
	}
}

func TestImageChangesOnExec(t *testing.T) {
	self, err := ReadStat(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if !self.Image.Known() {
		t.Skip("the kernel hides address fields from this reader")
	}
	if again, _ := ReadStat(int32(os.Getpid())); again.Image != self.Image {
		t.Errorf("the image of a running process changed: %+v then %+v", self.Image, again.Image)
	}
}

func TestSplitNulAndEnvValue(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\x00", []string{"a"}},
		{"a\x00b c\x00", []string{"a", "b c"}},
		{"a\x00\x00b", []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		if got := SplitNul([]byte(tt.in)); !slicesEqual(got, tt.want) {
			t.Errorf("SplitNul(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	v, n, err := EnvValue(int32(os.Getpid()), "PATH")
	if err != nil || n == 0 || v != os.Getenv("PATH") && os.Getenv("PATH") != "" {
		t.Errorf("EnvValue(self, PATH) = %q, %d entries, %v; want %q", v, n, err, os.Getenv("PATH"))
	}
	if args, err := Cmdline(int32(os.Getpid())); err != nil || !slicesEqual(args, os.Args) {
		t.Errorf("Cmdline(self) = %q, %v; want %q", args, err, os.Args)
	}
	if _, err := Cmdline(1 << 30); !errors.Is(err, ErrGone) {
		t.Errorf("Cmdline(no such pid) error = %v, want ErrGone", err)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStateName(t *testing.T) {
	for letter, want := range map[string]string{"R": "running", "S": "sleeping", "D": "disk sleep", "Z": "zombie", "T": "stopped", "t": "tracing stop", "I": "idle", "X": "dead", "?": "unknown", "": "unknown"} {
		if got := StateName(letter); got != want {
			t.Errorf("StateName(%q) = %q, want %q", letter, got, want)
		}
	}
}
