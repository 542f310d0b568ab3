package gate

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFDVerdict(t *testing.T) {
	const quiet = 500 * time.Millisecond
	std := map[int]string{0: "/dev/null", 1: "pipe:[1]", 2: "pipe:[2]"}
	with := func(extra map[int]string) map[int]string {
		m := map[int]string{}
		for k, v := range std {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	leak := map[int]string{5: "pipe:[77]"}
	// steady is a run that opens fds at 100ms and holds them to 1000ms.
	steady := func(extra map[int]string, live int) []fdObs {
		obs := []fdObs{{at: 0, fds: std}}
		for at := 100; at <= 1000; at += 100 {
			obs = append(obs, fdObs{at: ms(at), fds: with(extra), live: live})
		}
		return obs
	}
	for _, tc := range []struct {
		name       string
		obs        []fdObs
		ignore     []*regexp.Regexp
		judged     bool
		newFDs     []int
		leaked     []int
		why        string
		heldFirst  int64
		lastSample int64
	}{
		{name: "no sample", judged: false, why: "no sample", lastSample: -1},
		{name: "only the first sample", obs: []fdObs{{at: 0, fds: std}}, judged: true, why: "no fd opened"},
		{name: "held at rest", obs: steady(leak, 0), judged: true, newFDs: []int{5}, leaked: []int{5}, why: "at rest for 900ms", heldFirst: 900, lastSample: 1000},
		{name: "busy at the last sample", obs: steady(leak, 2), judged: false, newFDs: []int{5}, why: "2 live children"},
		{name: "opened then closed", obs: append(steady(leak, 0), fdObs{at: ms(1100), fds: std}), judged: true, why: "no fd opened"},
		{name: "runtime fds", obs: steady(map[int]string{4: "anon_inode:[eventpoll]", 5: "anon_inode:[eventfd]", 6: "/sys/fs/cgroup/cpu.max", 7: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"}, 0), judged: true, why: "no fd opened"},
		{name: "ignored by the caller", obs: steady(map[int]string{5: "/var/log/app.log"}, 0), ignore: []*regexp.Regexp{regexp.MustCompile(`\.log$`)}, judged: true, why: "no fd opened"},
		{name: "number reused for another target", obs: []fdObs{{at: 0, fds: with(map[int]string{5: "/a"})}, {at: ms(600), fds: with(map[int]string{5: "/b"})}, {at: ms(1200), fds: with(map[int]string{5: "/b"})}}, judged: true, newFDs: []int{5}, leaked: []int{5}, heldFirst: 600},
		{
			name: "changed too recently",
			obs: append(steady(leak, 0),
				fdObs{at: ms(1100), fds: with(map[int]string{5: "pipe:[77]", 6: "pipe:[78]"})},
				fdObs{at: ms(1300), fds: with(map[int]string{5: "pipe:[77]", 6: "pipe:[78]"})}),
			judged: false, newFDs: []int{5, 6}, why: "at rest for 200ms, less than",
		},
		{
			name: "busy, then at rest long enough",
			obs: []fdObs{
				{at: 0, fds: std}, {at: ms(100), fds: with(leak), live: 1}, {at: ms(400), fds: with(leak), live: 1},
				{at: ms(500), fds: with(leak)}, {at: ms(800), fds: with(leak)}, {at: ms(1100), fds: with(leak)},
			},
			judged: true, newFDs: []int{5}, leaked: []int{5}, why: "at rest for 600ms", heldFirst: 1000,
		},
		{
			name: "rest broken by a child",
			obs: []fdObs{
				{at: 0, fds: std}, {at: ms(100), fds: with(leak)}, {at: ms(500), fds: with(leak), live: 1},
				{at: ms(700), fds: with(leak)}, {at: ms(900), fds: with(leak)},
			},
			judged: false, newFDs: []int{5}, why: "at rest for 200ms",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newFDTracker(tc.ignore)
			for _, o := range tc.obs {
				tr.observe(o)
			}
			v := tr.verdict(quiet)
			nums := func(fds []FD) []int {
				var out []int
				for _, fd := range fds {
					out = append(out, fd.Num)
				}
				return out
			}
			if v.Judged != tc.judged || !slices.Equal(nums(v.New), tc.newFDs) || !slices.Equal(nums(v.Leaked), tc.leaked) {
				t.Errorf("judged %v, new %v, leaked %v; want %v, %v, %v (%s)", v.Judged, nums(v.New), nums(v.Leaked), tc.judged, tc.newFDs, tc.leaked, v.Why)
			}
			if !strings.Contains(v.Why, tc.why) {
				t.Errorf("why = %q, want it to contain %q", v.Why, tc.why)
			}
			if tc.heldFirst != 0 && v.New[0].HeldMS != tc.heldFirst {
				t.Errorf("held %dms, want %dms", v.New[0].HeldMS, tc.heldFirst)
			}
			if tc.lastSample != 0 && v.LastSampleMS != tc.lastSample {
				t.Errorf("last sample at %dms, want %dms", v.LastSampleMS, tc.lastSample)
			}
			if v.Samples != len(tc.obs) {
				t.Errorf("samples %d, want %d", v.Samples, len(tc.obs))
			}
		})
	}
}

func TestClassifyFD(t *testing.T) {
	for target, want := range map[string]string{
		"pipe:[1]": "pipe", "socket:[2]": "socket", "anon_inode:[pidfd]": "pidfd",
		"/tmp/x (deleted)": "file", "anon_inode:[eventfd]": "other",
	} {
		if got := string(classifyFD(target)); got != want {
			t.Errorf("classifyFD(%q) = %s, want %s", target, got, want)
		}
	}
}

func TestFDString(t *testing.T) {
	got := FD{Num: 7, Kind: "pipe", Target: "pipe:[88123]", HeldMS: 1200}.String()
	if want := "fd 7 -> pipe:[88123], open 1.2s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
