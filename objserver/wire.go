package objserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/journal"
)

// ErrNotNetwork is wrapped by New's error for a plan rule whose fault has no
// meaning on the wire: exit (a process status), truncate with exit=.
var ErrNotNetwork = errors.New("not a network fault")

// checkPlan refuses rules objserver cannot act out.
func checkPlan(p *faults.Plan) error {
	if p == nil {
		return nil
	}
	for _, r := range p.Rules {
		switch f := r.Fault.(type) {
		case faults.Corrupt, faults.Reset, faults.Slow, faults.Stall, faults.Status:
		case faults.Truncate:
			if f.Exit != 0 {
				return fmt.Errorf("%s: %s: exit=%d has no meaning on the network (the connection just closes early): %w", r.Pos, r, f.Exit, ErrNotNetwork)
			}
		case faults.Exit:
			return fmt.Errorf("%s: %s: a process exit status has no meaning on the network (use status, reset or truncate): %w", r.Pos, r, ErrNotNetwork)
		default:
			return fmt.Errorf("%s: %s: objserver does not know fault kind %q: %w", r.Pos, r, r.Fault.Kind(), ErrNotNetwork)
		}
	}
	return nil
}

// needsBody reports whether f acts on response body bytes, so that it
// applies only to responses that carry the object (GET, listings) and not
// to HEAD, PUT, copy or delete. Status, and reset and stall at after=0,
// act before the status line and apply to every request.
func needsBody(f faults.Fault) bool {
	switch f := f.(type) {
	case faults.Status:
		return false
	case faults.Reset:
		return f.After > 0
	case faults.Stall:
		return f.After > 0
	}
	return true
}

// reply sends body with status and hdr (Content-Length is set here), acted
// out as x's fault says, if it applies. errBody renders an error response
// for a status fault.
func (s *Server) reply(x *exchange, status int, hdr http.Header, body []byte, errBody func(code int) (string, []byte)) {
	s.replyContent(x, status, hdr, bytesContent(body), errBody)
}

// replyContent is reply for a body that may be a file (an object): it is
// streamed, unless a fault that rewrites body bytes applies, which loads
// it (at most MaxFaultBody bytes).
func (s *Server) replyContent(x *exchange, status int, hdr http.Header, c content, errBody func(code int) (string, []byte)) {
	f := x.fault()
	if f == nil {
		s.send(x, status, hdr, c)
		return
	}
	switch f := f.(type) {
	case faults.Status:
		ct, b := errBody(f.Code)
		h := http.Header{"Content-Type": {ct}}
		x.note("fault: status %d", f.Code)
		s.plain(x, f.Code, h, b)
		return
	case faults.Reset:
		if f.After == 0 {
			x.note("fault: reset before the status line")
			s.hijackAndCut(x, nil, nil, true)
			return
		}
	case faults.Stall:
		if f.After == 0 {
			x.note("fault: stall before the status line")
			if !s.pause(x, f.For) {
				// Returning would send an empty 200: drop the connection.
				panic(http.ErrAbortHandler)
			}
			s.send(x, status, hdr, c)
			return
		}
	}
	body, err := c.load()
	var script faults.Script
	if err == nil {
		script, err = f.Script(body)
	}
	if err != nil {
		x.notApplied("%v", err)
		s.fail(x, http.StatusInternalServerError, fmt.Errorf("fault %s does not fit the response: %w", f, err), errBody)
		return
	}
	switch f := f.(type) {
	case faults.Reset:
		x.note("fault: reset after %d of %d bytes", f.After, len(body))
		s.hijackAndCut(x, withLength(hdr, status, len(body)), written(script), true)
	case faults.Truncate:
		out := written(script)
		declared := max(len(body), len(out)+1)
		x.note("fault: connection closed after %d of %d declared bytes", len(out), declared)
		s.hijackAndCut(x, withLength(hdr, status, declared), out, false)
	case faults.Corrupt:
		// The damaged object is the whole response (its length may change).
		s.steps(x, status, hdr, script, len(written(script)))
	default: // slow, stall after > 0: the object, paced or paused
		s.steps(x, status, hdr, script, len(body))
	}
}

// written is every byte a script writes, in order.
func written(sc faults.Script) []byte {
	var b []byte
	for _, st := range sc.Steps {
		b = append(b, st.Write...)
	}
	return b
}

// head is a status line and headers to write on a hijacked connection.
type head struct {
	status int
	hdr    http.Header
}

func withLength(hdr http.Header, status, n int) *head {
	h := hdr.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Length", strconv.Itoa(n))
	return &head{status: status, hdr: h}
}

// plain sends a whole response the ordinary way.
func (s *Server) plain(x *exchange, status int, hdr http.Header, body []byte) {
	s.send(x, status, hdr, bytesContent(body))
}

// send sends c whole, the ordinary way (a file streamed). If reading the
// file fails midway the connection is dropped, so the client sees a body
// short of its Content-Length rather than a complete-looking one.
func (s *Server) send(x *exchange, status int, hdr http.Header, c content) {
	h := x.w.Header()
	for k, v := range hdr {
		h[k] = v
	}
	h.Set("Content-Length", strconv.FormatInt(c.n, 10))
	x.w.WriteHeader(status)
	x.status = status
	if x.r.Method == http.MethodHead {
		return
	}
	n, err := c.copyTo(x.w)
	x.bytes += n
	switch {
	case errors.Is(err, errSource):
		x.note("after %d of %d bytes: %v", n, c.n, err)
		panic(http.ErrAbortHandler)
	case err != nil:
		x.note("client went away after %d of %d bytes: %v", n, c.n, err)
	}
}

// steps sends a response of Content-Length total whose body is script's
// steps: each step's bytes (at its rate), then its pause. A pause that
// does not end (a "forever" stall, the client gone) leaves the response
// short of total.
func (s *Server) steps(x *exchange, status int, hdr http.Header, script faults.Script, total int) {
	h := x.w.Header()
	for k, v := range hdr {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(total))
	x.w.WriteHeader(status)
	x.status = status
	rc := http.NewResponseController(x.w)
	if err := rc.Flush(); err != nil {
		x.note("flush headers: %v", err)
		return
	}
	for _, st := range script.Steps {
		if !s.write(x, rc, st.Write, st.Rate, total) {
			return
		}
		if st.Stall != 0 && !s.pause(x, st.Stall) {
			// The response cannot be finished: drop the connection, so the
			// client sees it end short rather than wait for it.
			panic(http.ErrAbortHandler)
		}
	}
}

// pace is how often a paced write sends a piece: about 50 pieces a second.
const pace = 20 * time.Millisecond

// write sends b, at rate bytes per second if rate > 0 and until Hurry,
// flushing each piece. It reports false if the client went away or the
// server is closing.
func (s *Server) write(x *exchange, rc *http.ResponseController, b []byte, rate int64, total int) bool {
	ctx := x.r.Context()
	if rate > 0 && s.isHurried() {
		x.note("not paced (%d B/s): hurried before it began", rate)
		rate = 0
	}
	piece := len(b)
	if rate > 0 {
		piece = int(max(1, rate*int64(pace)/int64(time.Second)))
	}
	start := time.Now()
	sent := 0
	for sent < len(b) {
		n := min(piece, len(b)-sent)
		m, err := x.w.Write(b[sent : sent+n])
		x.bytes += int64(m)
		sent += m
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			x.note("client went away after %d of %d bytes: %v", x.bytes, total, err)
			return false
		}
		if rate > 0 && sent < len(b) {
			due := start.Add(time.Duration(int64(sent) * int64(time.Second) / rate))
			capped := due.After(x.capAt)
			if capped {
				due = x.capAt
			}
			switch s.sleepUntil(ctx, due) {
			case slept:
				if capped {
					x.note("stall cap %v reached: paced at %d B/s, %d of %d bytes sent", s.stallCap, rate, x.bytes, total)
					return false
				}
			case hurried:
				x.note("paced at %d B/s for %d of %d bytes, then hurried (the rest at once)", rate, x.bytes, total)
				rate, piece = 0, len(b)-sent
			default:
				x.note("%s after %d of %d bytes (paced at %d B/s)", s.why(ctx), x.bytes, total, rate)
				return false
			}
		}
	}
	return true
}

// pause waits d (faults.Forever: until the stall cap, which bounds the
// whole request's pauses and pacing), or until the client goes away or the
// server closes. It reports whether the pause ran its
// course and the response may go on.
func (s *Server) pause(x *exchange, d time.Duration) bool {
	left := time.Until(x.capAt)
	capped := d == faults.Forever || d > left
	if capped {
		d = max(left, 0)
	}
	s.markStall(x, d)
	t := time.NewTimer(d)
	defer t.Stop()
	ctx := x.r.Context()
	select {
	case <-t.C:
		if capped {
			x.note("stall cap %v reached", s.stallCap)
			return false
		}
		return true
	case <-ctx.Done():
		x.note("%s during a stall after %d bytes", s.why(ctx), x.bytes)
		return false
	}
}

// markStall writes the journal's stall entry for a pause of d starting
// now: the request's client (the entry's pid) gets nothing more until
// then, unless it gives up first.
func (s *Server) markStall(x *exchange, d time.Duration) {
	e := x.entry
	e.Event = journal.EventStall
	e.At = time.Now()
	e.Until = e.At.Add(d)
	s.append(e)
}

// why says why a request's context ended: the server closed, or the client
// went away.
func (s *Server) why(ctx context.Context) string {
	if s.base.Err() != nil {
		return "server closed"
	}
	return fmt.Sprintf("client went away (%v)", context.Cause(ctx))
}

// sleepUntil waits until t, until Hurry, or until ctx ends, and says
// which came first.
func (s *Server) sleepUntil(ctx context.Context, t time.Time) wake {
	if s.isHurried() {
		return hurried
	}
	d := time.Until(t)
	if d <= 0 {
		if ctx.Err() != nil {
			return cancelled
		}
		return slept
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return slept
	case <-s.hurried:
		return hurried
	case <-ctx.Done():
		return cancelled
	}
}

// isHurried reports whether Hurry was called.
func (s *Server) isHurried() bool {
	select {
	case <-s.hurried:
		return true
	default:
		return false
	}
}

// wake is why sleepUntil returned.
type wake int

const (
	slept     wake = iota // the time came
	hurried               // Hurry ended the pacing first
	cancelled             // the request's context ended first
)

// hijackAndCut takes the connection over and writes h (if not nil) and
// body, then ends it: with a TCP reset (SO_LINGER 0) if reset, else with a
// FIN (shutdown of the write side), before the declared length was sent.
func (s *Server) hijackAndCut(x *exchange, h *head, body []byte, reset bool) {
	conn, bufrw, err := http.NewResponseController(x.w).Hijack()
	if err != nil {
		x.note("hijack: %v", err)
		panic(http.ErrAbortHandler)
	}
	s.track(conn, true)
	defer s.track(conn, false)
	defer conn.Close()
	if h != nil {
		x.status = h.status
		if err := writeHead(bufrw.Writer, h); err == nil {
			err = bufrw.Flush()
		}
		if err != nil {
			x.note("client went away before the body: %v", err)
			return
		}
		n, err := conn.Write(body)
		x.bytes += int64(n)
		if err != nil {
			x.note("client went away after %d bytes: %v", n, err)
			return
		}
	}
	tc, ok := conn.(*net.TCPConn)
	switch {
	case !ok:
		x.note("not a TCP connection: closed instead")
	case reset:
		if err := tc.SetLinger(0); err != nil {
			x.note("set SO_LINGER 0: %v", err)
		}
	default:
		if err := tc.CloseWrite(); err != nil {
			x.note("shutdown write side: %v", err)
		}
		// Let the client read what was sent and see the FIN before the
		// close: a close with unread request bytes queued would send a
		// reset instead. Drain until the client closes, or briefly.
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = bufrw.Reader.WriteTo(discard{})
	}
}

// discard is io.Discard as an io.Writer that bufio.Reader.WriteTo accepts.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// writeHead writes an HTTP/1.1 status line and headers, with
// "Connection: close", to w.
func writeHead(w *bufio.Writer, h *head) error {
	if _, err := fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", h.status, http.StatusText(h.status)); err != nil {
		return err
	}
	hdr := h.hdr.Clone()
	hdr.Set("Connection", "close")
	if hdr.Get("Date") == "" {
		hdr.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if err := hdr.Write(w); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}
