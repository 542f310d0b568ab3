package harness_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
)

// TestOptionsRefused: every call refuses an option that does not apply to
// it and a bad value, with an error naming the option (Diff panics with
// it), and does nothing else.
func TestOptionsRefused(t *testing.T) {
	before := take(t)
	ctx := ctxFor(t, 10*time.Second)
	calls := map[string]func(...harness.Option) error{
		"Take":   func(o ...harness.Option) error { _, err := harness.Take(o...); return err },
		"Settle": func(o ...harness.Option) error { _, err := harness.Settle(ctx, before, o...); return err },
		"Sample": func(o ...harness.Option) error {
			s, err := harness.Sample(ctx, before, o...)
			if s != nil {
				s.Stop()
			}
			return err
		},
		"Sweep": func(o ...harness.Option) error {
			_, err := harness.Sweep(ctx, harness.NewMarker(t.Name()), before, o...)
			return err
		},
		"HaveLeaked": func(o ...harness.Option) error { _, err := harness.HaveLeaked(before, o...).Match(before); return err },
		"Diff": func(o ...harness.Option) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err, _ = r.(error)
				}
			}()
			harness.Diff(before, before, o...)
			return nil
		},
	}
	tests := []struct {
		call, want string
		opt        harness.Option
	}{
		{"Take", "Quiet does not apply to Take", harness.Quiet(time.Second)},
		{"Take", "IgnoringFDs does not apply to Take", harness.IgnoringFDs(gomega.BeNil())},
		{"Diff", "WithMarker does not apply to Diff", harness.WithMarker("x")},
		{"Diff", "IgnoringProcs(nil): want a Gomega matcher", harness.IgnoringProcs(nil)},
		{"Settle", "Within does not apply to Settle", harness.Within(time.Second)},
		{"Settle", "Quiet(0s): want a duration > 0", harness.Quiet(0)},
		{"Sample", "Quiet does not apply to Sample", harness.Quiet(time.Second)},
		{"Take", "OnEvidence does not apply to Take", harness.OnEvidence()},
		{"HaveLeaked", "OnEvidence does not apply to HaveLeaked", harness.OnEvidence()},
		{"Sample", "PollEvery(-1ms): want a duration > 0", harness.PollEvery(-time.Millisecond)},
		{"Sweep", "IgnoringProcs does not apply to Sweep", harness.IgnoringProcs(gomega.BeNil())},
		{"Sweep", "Of does not apply to Sweep", harness.Of(1)},
		{"HaveLeaked", "PollEvery does not apply to HaveLeaked", harness.PollEvery(time.Second)},
		{"HaveLeaked", "WithFacts(nil): want a func", harness.WithFacts(nil)},
		{"Take", "IgnoringGoroutines: filter of type int", harness.IgnoringGoroutines(42)},
		{"Take", "a zero Option", harness.Option{}},
	}
	for _, tt := range tests {
		err := calls[tt.call](tt.opt)
		if !errors.Is(err, harness.ErrOption) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s with %s: error %v; want ErrOption saying %q", tt.call, tt.want, err, tt.want)
		}
	}
	var rec recorder
	harness.VerifyNone(&rec, before, harness.WithGoroutines())
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "WithGoroutines does not apply to VerifyNone") {
		t.Errorf("VerifyNone with WithGoroutines: %q; want one error refusing it", rec.errors)
	}
}

// TestHaveLeakedAcceptsLeaks: HaveLeaked judges a Leaks as it is, and its
// failure message is the Leaks' report.
func TestHaveLeakedAcceptsLeaks(t *testing.T) {
	before := harness.Snapshot{}
	now := harness.Snapshot{Descendants: []harness.Proc{{Pid: 42, PPid: 1, State: "Z", Name: "true"}}}
	leaks := harness.Diff(before, now)
	m := harness.HaveLeaked(before)
	if ok, err := m.Match(leaks); !ok || err != nil {
		t.Fatalf("HaveLeaked.Match(leaks) = %v, %v; want true", ok, err)
	}
	if msg := m.NegatedFailureMessage(leaks); !strings.Contains(msg, "pid 42 [Z zombie]") {
		t.Errorf("NegatedFailureMessage = %q, want the leak report naming pid 42", msg)
	}
	if ok, err := m.Match(harness.Leaks{}); ok || err != nil {
		t.Errorf("HaveLeaked.Match(Leaks{}) = %v, %v; want false", ok, err)
	}
}
