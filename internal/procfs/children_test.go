package procfs

import (
	"os"
	"slices"
	"testing"
)

func TestStatFlagsAndExiting(t *testing.T) {
	tail := " 4100 4242 4242 0 -1 4194564 1 0 0 0 0 0 0 0 20 0 1 0 98765 1000"
	st, err := ParseStat("/proc/4242/stat", []byte("4242 (a b) (c)) S"+tail))
	if err != nil || st.Flags != 4194564 || st.Comm != "a b) (c)" {
		t.Fatalf("ParseStat = %+v, %v; want flags 4194564, comm %q", st, err, "a b) (c)")
	}
	if !st.Exiting() {
		t.Errorf("flags %#x has PF_EXITING: Exiting() = false", st.Flags)
	}
	st.Flags = 0x400000
	if st.Exiting() {
		t.Errorf("flags %#x, state S: Exiting() = true", st.Flags)
	}
	st.State = 'Z'
	if !st.Exiting() {
		t.Errorf("a zombie: Exiting() = false")
	}
}

func TestChildrenCommAndKillPending(t *testing.T) {
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", "30"}, &os.ProcAttr{})
	if err != nil {
		t.Skipf("no /bin/sleep: %v", err)
	}
	defer p.Wait()
	defer p.Kill()
	kids, err := Children(int32(os.Getpid()))
	if err != nil || !slices.Contains(kids, int32(p.Pid)) {
		t.Errorf("Children(self) = %v, %v; want it to hold %d", kids, err, p.Pid)
	}
	if c := Comm(int32(p.Pid)); c != "sleep" {
		t.Errorf("Comm = %q, want sleep", c)
	}
	if KillPending(int32(p.Pid)) {
		t.Errorf("KillPending of a sleeping process = true")
	}
	if _, err := Children(1 << 30); err == nil {
		t.Errorf("Children of a missing pid: no error")
	}
}
