package poll

import (
	"context"
	"testing"
	"time"
)

func TestUntilTrueAtOnce(t *testing.T) {
	n := 0
	if !Until(context.Background(), time.Hour, func() bool { n++; return true }) || n != 1 {
		t.Errorf("Until with a true condition: checked %d times, want 1 and true", n)
	}
}

func TestUntilTrueLater(t *testing.T) {
	n := 0
	if !Until(context.Background(), time.Hour, func() bool { n++; return n == 5 }) {
		t.Error("Until = false, want true on the fifth check")
	}
}

func TestUntilGivesUpAtTheLimit(t *testing.T) {
	n := 0
	if Until(context.Background(), 20*time.Millisecond, func() bool { n++; return false }) {
		t.Error("Until = true for a condition that never holds")
	}
	if n < 2 {
		t.Errorf("checked %d times, want at least once at the start and once at the end", n)
	}
}

func TestUntilStopsWhenCtxEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Until(ctx, time.Hour, func() bool { return false }) {
		t.Error("Until = true after ctx ended, for a condition that never holds")
	}
}
