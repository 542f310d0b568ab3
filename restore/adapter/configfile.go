package adapter

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// MaxConfigLen bounds a CommandAdapter config file: 1 MiB, a thousand
// times the shipped ones. A larger file (or an endless one, /dev/zero) is a
// *ConfigError; the bound is fixed.
const MaxConfigLen = 1 << 20

// LoadConfigContext reads and parses the CommandAdapter config at path
// (Source is path), reading at most MaxConfigLen bytes. path may be a FIFO
// or a process substitution (`<(…)`): cancelling ctx stops a read (or an
// open) that waits for its writer, and the error then wraps ErrCancelled
// and the context's cause. Every error matches ErrConfig and names the file
// (and, for content errors, line and column).
//
//	cfg, err := adapter.LoadConfigContext(ctx, "testdata/configs/local.yaml")
func LoadConfigContext(ctx context.Context, path string) (*Config, error) {
	data, err := readConfigFile(ctx, path)
	if err != nil {
		return nil, &ConfigError{Source: path, Msg: "read config", Err: err}
	}
	if len(data) > MaxConfigLen {
		return nil, &ConfigError{Source: path, Msg: fmt.Sprintf("config is larger than %s (a fixed bound); stopped reading", FormatBytes(MaxConfigLen))}
	}
	return ParseConfig(data, path)
}

// readConfigFile reads up to MaxConfigLen+1 bytes of path in a goroutine,
// so that ctx can stop an open or a read blocked on a FIFO; it returns only
// once that goroutine has ended.
func readConfigFile(ctx context.Context, path string) ([]byte, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrCancelled, context.Cause(ctx))
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	var mu sync.Mutex
	var open *os.File
	cancelled := false
	go func() {
		f, err := os.Open(path) // a FIFO without a writer blocks here
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer f.Close()
		mu.Lock()
		open = f
		if cancelled {
			_ = f.SetReadDeadline(time.Now())
		}
		mu.Unlock()
		data, err := io.ReadAll(io.LimitReader(f, MaxConfigLen+1))
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
	}
	mu.Lock()
	cancelled = true
	if open != nil {
		_ = open.SetReadDeadline(time.Now())
	}
	mu.Unlock()
	// The goroutine may not have reached its open yet: wake it until it
	// ends, for a second at most. Past that (not a FIFO: a hung file
	// system) leave it; the caller is stopping anyway.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(time.Second)
	for woken := false; !woken; {
		unblockFIFOOpen(path)
		select {
		case <-done:
			woken = true
		case <-tick.C:
		case <-giveUp:
			woken = true
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrCancelled, context.Cause(ctx))
}

// unblockFIFOOpen wakes an open(2) of the FIFO at path that waits for a
// writer, by opening it for writing without blocking and closing it: the
// reader then sees EOF. Anything but a FIFO is left alone.
func unblockFIFOOpen(path string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		_ = w.Close()
	}
}
