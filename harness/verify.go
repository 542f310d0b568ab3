package harness

import (
	"context"
	"errors"
)

// TB is the part of testing.TB that VerifyNone uses.
type TB interface {
	Helper()
	Error(args ...any)
}

// VerifyNone fails t if leaks since baseline do not settle to nothing
// within 5s (Within), goleak style, for plain go test:
//
//	before, err := harness.Take()
//	…
//	harness.VerifyNone(t, before)
//
// It calls Settle with opts and reports the leak report with t.Error. A
// stable leak is reported as soon as it has been stable for the quiet
// window (Quiet).
func VerifyNone(t TB, baseline Snapshot, opts ...Option) {
	t.Helper()
	o := newOptions(opts)
	ctx, cancel := context.WithTimeout(context.Background(), o.within)
	defer cancel()
	_, leaks, err := Settle(ctx, baseline, opts...)
	switch {
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		t.Error(err)
	case !leaks.Empty():
		t.Error(leaks.String())
	}
}
