package harness

import (
	"context"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/leakgate/leakgate/internal/poll"
	"github.com/leakgate/leakgate/internal/procfs"
)

// The registry's cache of environ and cmdline is keyed by pid, start time
// and exec image: a memo for another start time (a reused pid) or another
// image (an exec) is never used; one for the same image is, so environ is
// read once per image.
func TestRegistryCacheKeys(t *testing.T) {
	pid, st, boot := markedSleep(t, "real")
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

// TestReadProcCacheFlags pins what readProc reads and what it leaves in the
// registry for each combination of its inputs: the image known or not, a
// zombie, a descendant or an escaped candidate with or without the marker,
// and comm cut at 15 bytes. (The stat line is passed in, so a zombie or an
// unknown image is simulated on a live sleep.)
func TestReadProcCacheFlags(t *testing.T) {
	pid, st, boot := markedSleep(t, "real/1")
	key := procKey{pid, startedAt(boot, st.StartTicks).UnixNano()}
	sleepArgs := []string{"sleep", "300"}
	unknown := st
	unknown.Image = procfs.Image{}
	zombie := st
	zombie.State = 'Z'
	zombie.Image = procfs.Image{}
	longComm := zombie
	longComm.Comm = "abcdefghijklmno"
	stale := memo{envRead: true, marker: "stale", markerKnown: true, live: []string{"stale"}, liveRead: true}

	tests := []struct {
		name     string
		st       procfs.Stat
		seed     *memo
		marker   string
		isDesc   bool
		wantOK   bool
		wantProc Proc // Marker, Cmdline, CmdlineFrom, Name
		wantMemo memo // without seen
	}{
		{"known image, nothing cached: reads both, caches both", st, nil, "", true, true,
			Proc{Marker: "real/1", Cmdline: sleepArgs, CmdlineFrom: "proc", Name: "sleep"},
			memo{image: st.Image, envRead: true, marker: "real/1", markerKnown: true, live: sleepArgs, liveRead: true, lastLive: sleepArgs}},
		{"unknown image: reads both, caches neither, remembers both", unknown, &stale, "", true, true,
			Proc{Marker: "real/1", Cmdline: sleepArgs, CmdlineFrom: "proc", Name: "sleep"},
			memo{envRead: false, marker: "real/1", markerKnown: true, live: []string{"stale"}, liveRead: true, lastLive: sleepArgs}},
		{"escaped candidate with the marker: described", st, nil, "real/", false, true,
			Proc{Marker: "real/1", Cmdline: sleepArgs, CmdlineFrom: "proc", Name: "sleep"},
			memo{image: st.Image, envRead: true, marker: "real/1", markerKnown: true, live: sleepArgs, liveRead: true, lastLive: sleepArgs}},
		{"escaped candidate without the marker: skipped, environ cached, cmdline not read", st, nil, "other/", false, false,
			Proc{},
			memo{image: st.Image, envRead: true, marker: "real/1", markerKnown: true}},
		{"zombie, nothing known: no reads", zombie, nil, "", true, true,
			Proc{Name: "sleep"},
			memo{}},
		{"zombie: marker and command line from the registry", zombie, &memo{marker: "real/1", markerKnown: true, lastLive: sleepArgs}, "", true, true,
			Proc{Marker: "real/1", Cmdline: sleepArgs, CmdlineFrom: fromSnapshot, Name: "sleep"},
			memo{marker: "real/1", markerKnown: true, lastLive: sleepArgs}},
		{"zombie with comm cut at 15 bytes: name from argv[0]", longComm, &memo{given: []string{"/bin/abcdefghijklmnopq", "x"}, givenFrom: "spawn"}, "", true, true,
			Proc{Cmdline: []string{"/bin/abcdefghijklmnopq", "x"}, CmdlineFrom: "spawn", Name: "abcdefghijklmnopq"},
			memo{given: []string{"/bin/abcdefghijklmnopq", "x"}, givenFrom: "spawn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registry.reset()
			t.Cleanup(registry.reset)
			if tt.seed != nil {
				registry.put(key, *tt.seed)
			}
			p, ok := readProc(pid, tt.st, boot, tt.marker, tt.isDesc)
			got := Proc{Marker: p.Marker, Cmdline: p.Cmdline, CmdlineFrom: p.CmdlineFrom, Name: p.Name}
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.wantProc) {
				t.Errorf("readProc = %+v (ok %v); want %+v (ok %v)", got, ok, tt.wantProc, tt.wantOK)
			}
			m := registry.get(key)
			m.seen = time.Time{}
			if !reflect.DeepEqual(m, tt.wantMemo) {
				t.Errorf("registry after readProc:\n got %+v\nwant %+v", m, tt.wantMemo)
			}
		})
	}
}

// markedSleep starts `sleep 300` carrying marker, waits until it has exec'd
// with a known image, and returns its pid, stat line and the boot time.
func markedSleep(t *testing.T, marker string) (int32, procfs.Stat, time.Time) {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.Env = append(os.Environ(), MarkerEnv+"="+marker)
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
	if !poll.Until(context.Background(), 10*time.Second, func() bool {
		st, err = procfs.ReadStat(pid)
		return err == nil && st.Comm == "sleep" && st.Image.Known()
	}) {
		t.Fatalf("sleep never exec'd with a known image: %+v, %v", st, err)
	}
	return pid, st, boot
}
