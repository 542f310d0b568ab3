package scenarios_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// chromium is a headless Chromium driven through the DevTools protocol over
// --remote-debugging-pipe: Chromium reads NUL-terminated JSON commands from
// its fd 3 and writes responses and events to its fd 4. No websocket, no
// dependency: the Go standard library and the pipes.
type chromium struct {
	cmd     *exec.Cmd
	profile string   // --user-data-dir, removed by close
	send    *os.File // our end of its fd 3

	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpMessage
	events  []cdpMessage
	arrived chan struct{} // a non-blocking nudge per event
	done    chan struct{} // closed when its fd 4 reaches EOF
}

// cdpMessage is a DevTools protocol message: a response (ID set) or an event.
type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// chromiumFlags are headless Chromium's flags for a machine without a
// display, GPU or network, that must not phone home or keep state.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--disable-breakpad", "--disable-crash-reporter",
	"--hide-scrollbars", "--window-size=1400,1000",
	"--remote-debugging-pipe",
}

// startChromium starts bin in its own process group with env, a fresh
// profile under dir, HOME and the XDG folders under dir too (its crash
// handler, a daemon outside the group, writes there), and the DevTools pipe.
func startChromium(bin, dir string, env []string) (*chromium, error) {
	profile, err := os.MkdirTemp(dir, "chromium-profile-")
	if err != nil {
		return nil, err
	}
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		return nil, err
	}
	c := &chromium{profile: profile, send: cmdW, pending: map[int]chan cdpMessage{},
		arrived: make(chan struct{}, 1), done: make(chan struct{})}
	c.cmd = exec.Command(bin, append(chromiumFlags, "--user-data-dir="+profile, "about:blank")...)
	c.cmd.Env = append(env, "HOME="+profile, "XDG_CONFIG_HOME="+filepath.Join(profile, "config"), "XDG_CACHE_HOME="+filepath.Join(profile, "cache"))
	c.cmd.ExtraFiles = []*os.File{cmdR, evW} // its fd 3 and fd 4
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = c.cmd.Start()
	cmdR.Close()
	evW.Close()
	if err != nil {
		cmdW.Close()
		evR.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go c.read(evR)
	return c, nil
}

// read delivers every message from Chromium until its pipe ends.
func (c *chromium) read(r io.ReadCloser) {
	defer close(c.done)
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(line[:len(line)-1], &m) != nil {
			continue
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch, ok := c.pending[m.ID]; ok {
				ch <- m
				delete(c.pending, m.ID)
			}
		} else {
			c.events = append(c.events, m)
		}
		c.mu.Unlock()
		if m.ID == 0 {
			select {
			case c.arrived <- struct{}{}:
			default:
			}
		}
	}
}

// call sends method with params (to the page of session, if set) and
// decodes the result into out (if not nil).
func (c *chromium) call(ctx context.Context, session, method string, params, out any) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	msg, err := json.Marshal(cdpMessage{ID: id, Method: method, Params: raw, SessionID: session})
	if err != nil {
		return err
	}
	if _, err := c.send.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-c.done:
		return fmt.Errorf("%s: chromium closed its pipe", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// waitEvent waits for the first event named method after the first from
// events, and returns its index.
func (c *chromium) waitEvent(ctx context.Context, method string, from int) (int, error) {
	for {
		c.mu.Lock()
		for i := from; i < len(c.events); i++ {
			if c.events[i].Method == method {
				c.mu.Unlock()
				return i, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.arrived:
		case <-c.done:
			return 0, fmt.Errorf("waiting for %s: chromium closed its pipe", method)
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for %s: %w", method, ctx.Err())
		}
	}
}

// eventCount is how many events arrived so far.
func (c *chromium) eventCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// consoleErrors are the page's uncaught exceptions, console.error and
// console.assert calls, and error log entries (failed loads, CSP, …), as
// text.
func (c *chromium) consoleErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.events {
		var p struct {
			Type             string            `json:"type"`
			Args             []json.RawMessage `json:"args"`
			ExceptionDetails json.RawMessage   `json:"exceptionDetails"`
			Entry            struct {
				Level, Text, URL string
			} `json:"entry"`
		}
		_ = json.Unmarshal(e.Params, &p)
		switch {
		case e.Method == "Runtime.exceptionThrown":
			out = append(out, "exception: "+string(p.ExceptionDetails))
		case e.Method == "Runtime.consoleAPICalled" && (p.Type == "error" || p.Type == "assert"):
			out = append(out, fmt.Sprintf("console.%s: %s", p.Type, p.Args))
		case e.Method == "Log.entryAdded" && p.Entry.Level == "error":
			out = append(out, fmt.Sprintf("log: %s (%s)", p.Entry.Text, p.Entry.URL))
		}
	}
	return out
}

// close asks Chromium to quit, waits up to grace for it, then kills its
// whole process group; it reaps it and removes the profile.
func (c *chromium) close(grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = c.call(ctx, "", "Browser.close", struct{}{}, nil)
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	var werr error
	select {
	case werr = <-exited:
	case <-ctx.Done():
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		werr = <-exited
	}
	// Its helpers (zygote, renderers, …) share its process group.
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	c.send.Close()
	<-c.done
	return errors.Join(os.RemoveAll(c.profile), ignoreExit(werr))
}

// ignoreExit drops the exit status error of a browser that quit when told.
func ignoreExit(err error) error {
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		return nil
	}
	return err
}
