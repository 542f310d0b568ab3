package harness

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/leakgate/leakgate/internal/procfs"
)

// The registry's cache of environ and cmdline is keyed by pid, start time
// and exec image: a memo for another start time (a reused pid) or another
// image (an exec) is never used; one for the same image is, so environ is
// read once per image.
func TestRegistryCacheKeys(t *testing.T) {
	cmd := exec.Command("sleep", "300")
	cmd.Env = append(os.Environ(), MarkerEnv+"=real")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := int32(cmd.Process.Pid)
	boot, err := bootTime()
	if err != nil {
		t.Fatal(err)
	}
	var st procfs.Stat
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err = procfs.ReadStat(pid)
		if err == nil && st.Comm == "sleep" && st.Image.Known() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sleep never exec'd with a known image: %+v, %v", st, err)
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
	started := startedAt(boot, st.StartTicks)
	key := procKey{pid, started.UnixNano()}
	stale := memo{image: st.Image, envRead: true, marker: "stale", markerKnown: true, live: []string{"stale"}, liveRead: true}
	otherImage := st.Image
	otherImage.EnvStart++

	tests := []struct {
		name       string
		seedKey    procKey
		seed       memo
		wantMarker string
		wantArgs   []string
	}{
		{"nothing known: read", key, memo{}, "real", []string{"sleep", "300"}},
		{"same image: cached", key, stale, "stale", []string{"stale"}},
		{"another image (exec): read", key, func() memo { m := stale; m.image = otherImage; return m }(), "real", []string{"sleep", "300"}},
		{"another start time (reused pid): read", procKey{pid, started.Add(10 * time.Millisecond).UnixNano()}, stale, "real", []string{"sleep", "300"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registry.reset()
			t.Cleanup(registry.reset)
			if tt.seed.image != (procfs.Image{}) || tt.seed.markerKnown {
				registry.put(tt.seedKey, tt.seed)
			}
			p, ok := readProc(pid, st, boot, "", true)
			if !ok || p.Marker != tt.wantMarker || len(p.Cmdline) != len(tt.wantArgs) || p.Cmdline[0] != tt.wantArgs[0] {
				t.Errorf("readProc = %+v (ok %v); want marker %q, cmdline %q", p, ok, tt.wantMarker, tt.wantArgs)
			}
		})
	}
}
