package restore

import (
	"errors"
	"sync"

	"github.com/leakgate/leakgate/restore/adapter"
)

// errAborted is what a task gets when it opens a reader after the restore
// was aborted: the real stream would have dropped that task before it ran.
var errAborted = errors.New("restore aborted")

// inflight tracks the readers that preheat tasks hold open, so that an
// abort can drop them all at once, as dropping the real stream drops every
// in-flight future and its reader.
type inflight struct {
	mu      sync.Mutex
	readers map[*adapter.Reader]struct{}
	aborted bool
}

func newInflight() *inflight {
	return &inflight{readers: map[*adapter.Reader]struct{}{}}
}

// add registers rd; after an abort it closes rd instead and says so.
func (f *inflight) add(rd *adapter.Reader) error {
	f.mu.Lock()
	aborted := f.aborted
	if !aborted {
		f.readers[rd] = struct{}{}
	}
	f.mu.Unlock()
	if aborted {
		rd.Close()
		return errAborted
	}
	return nil
}

// done closes rd (a no-op after EOF; the policy before it) and forgets it.
func (f *inflight) done(rd *adapter.Reader) {
	rd.Close()
	f.mu.Lock()
	delete(f.readers, rd)
	f.mu.Unlock()
}

// closeAll marks the restore aborted and closes every registered reader
// concurrently, returning when all Close calls have returned (under
// KillGroup: when every child and its group are gone) with their errors.
func (f *inflight) closeAll() error {
	f.mu.Lock()
	f.aborted = true
	readers := make([]*adapter.Reader, 0, len(f.readers))
	for rd := range f.readers {
		readers = append(readers, rd)
	}
	f.mu.Unlock()
	errs := make([]error, len(readers))
	var wg sync.WaitGroup
	for i, rd := range readers {
		wg.Go(func() { errs[i] = rd.Close() })
	}
	wg.Wait()
	return errors.Join(errs...)
}
