package objserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/faults"
	"github.com/leakgate/leakgate/journal"
)

// fakeRunEnv is the run marker variable (defined by package harness, copied
// by fakecli): objserver reads it from the client process's environment.
const fakeRunEnv = fakecli.EnvRun

// Persona is the journal's persona of a request whose client process was
// not found (see Peer); otherwise the persona is the client's command name.
const Persona = "objserver"

// Config configures a Server.
//
//	plan, err := faults.Parse("LEAKGATE_FAULTS", "status code=503 on=*/1-.chunk")
//	srv, err := objserver.New(objserver.Config{Root: "/tmp/bucket", Plan: plan, Journal: "/tmp/run/journal.jsonl"})
type Config struct {
	// Root is the bucket folder (as fakecli's LEAKGATE_BUCKET): S3 bucket
	// B is the folder Root/B. Required.
	Root string
	// Plan is the fault plan; nil means no faults. Every rule must be a
	// network fault (see New).
	Plan *faults.Plan
	// Journal is the journal file every request is recorded in; "" means
	// none (and call numbers come from a counter of this server).
	Journal string
	// StallCap bounds "forever" stalls and any longer pause; 0 means
	// fakecli.DefaultStallCap (10 minutes).
	StallCap time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's line and headers; 0 means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// BodyTimeout bounds the pause between two pieces of a request body
	// (not the whole upload: a large one may take as long as it keeps
	// sending); a body that stalls longer is answered 400 RequestTimeout.
	// 0 means DefaultBodyTimeout.
	BodyTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection may wait for its
	// next request; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxBody bounds a request body (an object, a part, a completion
	// list), in bytes; a longer one is answered 400 EntityTooLarge and
	// nothing is stored. 0 means DefaultMaxBody.
	MaxBody int64
	// Log receives the server's own errors (a journal it cannot write, a
	// bad request); nil means os.Stderr.
	Log io.Writer
}

// Defaults of Config's timeouts. No timeout bounds writing a response: a
// stall fault holds one back on purpose (for at most StallCap).
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	// DefaultMaxBody is S3's own bound on one PUT: 5 GiB.
	DefaultMaxBody = 5 << 30
)

// ErrConfig is wrapped by New's error for a Config field out of range (a
// negative timeout).
var ErrConfig = errors.New("bad objserver configuration")

// Server is the fault-injecting object server: an http.Handler for the S3
// subset the aws CLI uses and for OCI-style pre-authenticated object URLs
// (see the package doc), over one bucket folder.
//
//	srv, err := objserver.New(objserver.Config{Root: root})
//	ln, err := net.Listen("tcp", "127.0.0.1:0")
//	go srv.Serve(ln)
//	defer srv.Close()
type Server struct {
	store    store
	plan     *faults.Plan
	journal  string
	stallCap time.Duration
	timeouts [3]time.Duration // read header, body, idle
	maxBody  int64
	log      *log.Logger
	uploads  *uploads

	base   context.Context // every request's context derives from it
	cancel context.CancelFunc

	hurryOnce sync.Once
	hurried   chan struct{} // closed by Hurry: pacing is over

	calls    atomic.Int64
	inflight sync.WaitGroup

	mu        sync.Mutex
	lastStart time.Time             // start times are unique: the journal merges by (pid, start)
	hijacked  map[net.Conn]struct{} // connections taken over by a fault, closed by Close
	http      *http.Server
	closed    bool
}

// New checks cfg and returns a server for it. It fails if the root is not
// a folder (wrapping fakecli.ErrNoBucket) or if a plan rule is not a
// network fault (wrapping ErrNotNetwork, naming the rule's position):
// exit, and truncate with exit=, have no meaning on the wire.
//
//	srv, err := objserver.New(objserver.Config{Root: "/tmp/bucket"})
func New(cfg Config) (*Server, error) {
	b, err := fakecli.OpenBucket(cfg.Root)
	if err != nil {
		return nil, err
	}
	if err := checkPlan(cfg.Plan); err != nil {
		return nil, err
	}
	stallCap := cfg.StallCap
	if stallCap <= 0 {
		stallCap = fakecli.DefaultStallCap
	}
	timeouts, err := timeoutsOf(cfg)
	if err != nil {
		return nil, err
	}
	maxBody := cfg.MaxBody
	switch {
	case maxBody < 0:
		return nil, fmt.Errorf("%w: max body %d is negative", ErrConfig, maxBody)
	case maxBody == 0:
		maxBody = DefaultMaxBody
	}
	w := cfg.Log
	if w == nil {
		w = os.Stderr
	}
	if cfg.Journal != "" {
		if err := journal.Check(cfg.Journal); err != nil {
			return nil, fmt.Errorf("%s: %w", fakecli.EnvJournal, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		store:    store{bucket: b},
		plan:     cfg.Plan,
		journal:  cfg.Journal,
		stallCap: stallCap,
		timeouts: timeouts,
		maxBody:  maxBody,
		log:      log.New(w, "objserver: ", 0),
		uploads:  &uploads{},
		base:     ctx,
		cancel:   cancel,
		hijacked: map[net.Conn]struct{}{},
		hurried:  make(chan struct{}),
	}, nil
}

// Hurry ends every pacing for good: a paced body in flight ("slow rate=")
// sends its rest at once, and later ones are not paced. Pauses ("stall")
// are unchanged. A spec whose slow downloads only serve to keep the
// restore's later reads in flight when the fault surfaces hurries them
// once the restore has returned, so the dropped readers reach their end
// (a broken pipe, an exit) without waiting out a pace that no longer
// matters; each hurried request's journal entry says how much of it was
// paced. Main calls it on SIGUSR1. Calling it again does nothing.
//
//	srv.Hurry()
func (s *Server) Hurry() {
	s.hurryOnce.Do(func() {
		close(s.hurried)
		s.log.Printf("pacing ended: paced bodies send the rest at once")
	})
}

// timeoutsOf is cfg's read-header, body and idle timeouts, defaults
// filled in.
func timeoutsOf(cfg Config) ([3]time.Duration, error) {
	t := [3]time.Duration{cfg.ReadHeaderTimeout, cfg.BodyTimeout, cfg.IdleTimeout}
	for i, def := range [3]time.Duration{DefaultReadHeaderTimeout, DefaultBodyTimeout, DefaultIdleTimeout} {
		switch {
		case t[i] < 0:
			return t, fmt.Errorf("%w: %s %v is negative", ErrConfig, [3]string{"read header timeout", "body timeout", "idle timeout"}[i], t[i])
		case t[i] == 0:
			t[i] = def
		}
	}
	return t, nil
}

// maxHeaderBytes bounds a request's line and headers: 64 KiB, far more
// than the aws CLI or curl send (net/http's default is 1 MiB).
const maxHeaderBytes = 64 << 10

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("objserver: server closed")

// Serve accepts HTTP/1.1 connections on ln until Close; it returns
// ErrClosed then, or the listener's error. The client process of each
// connection is looked up once (see Peer).
//
//	go func() { errc <- srv.Serve(ln) }()
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.timeouts[0],
		IdleTimeout:       s.timeouts[2],
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, peerKey{}, &peerOnce{})
		},
		ErrorLog: s.log,
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	s.http = hs
	s.mu.Unlock()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return ErrClosed
	}
	return err
}

// Close stops the server: it closes the listener and every connection
// (those a fault took over too), ends every stall, and waits up to 5s for
// the requests in flight to write their journal end entries. It is safe to
// call more than once.
//
//	defer srv.Close()
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	hs := s.http
	for c := range s.hijacked {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	var err error
	if hs != nil {
		err = hs.Close()
	}
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		err = errors.Join(err, errors.New("objserver: requests still running 5s after close"))
	}
	s.uploads.close()
	return err
}

// track adds (or removes) a hijacked connection to the set Close closes.
func (s *Server) track(c net.Conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.hijacked, c)
		return
	}
	if s.closed {
		c.Close()
		return
	}
	s.hijacked[c] = struct{}{}
}

// ServeHTTP answers one request: routes it, matches the plan, journals it
// and serves it as its fault (if any) says. A Server is an http.Handler, so
// it can also run under another server (without Serve, the client process
// is looked up for every request rather than once per connection):
//
//	ts := httptest.NewServer(srv)
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Done()
	defer timedBody(w, r, s.timeouts[1], s.maxBody)()
	rt := s.route(r)
	x := s.begin(w, r, rt)
	defer s.finish(x)
	rt.serve(x)
}

// route is what a request is, for the plan and the journal, and how to
// serve it.
type route struct {
	op     faults.Op
	handle string // bucket-relative key; "" for listings and the service
	body   bool   // the response carries the object or listing (body faults may apply)
	serve  func(*exchange)
}

// exchange is one request being answered, and what its journal end entry
// will say.
type exchange struct {
	w     http.ResponseWriter
	r     *http.Request
	rule  *faults.Rule // the matched rule whose fault applies; nil if none
	entry journal.Entry

	capAt  time.Time // the start + the stall cap: no pause or pacing runs past it
	status int       // HTTP status sent; 0 if none
	bytes  int64     // body bytes sent (or received, for uploads)
	notes  []string  // what happened, for the end entry's error field
}

// fault is the fault that applies to this request, nil if none.
func (x *exchange) fault() faults.Fault {
	if x.rule == nil {
		return nil
	}
	return x.rule.Fault
}

// note adds a line to the end entry's error field.
func (x *exchange) note(format string, v ...any) {
	x.notes = append(x.notes, fmt.Sprintf(format, v...))
}

// notApplied records that the matched fault did not act after all.
func (x *exchange) notApplied(format string, v ...any) {
	x.note("fault %s not applied: %s", x.rule.Fault, fmt.Sprintf(format, v...))
	x.rule = nil
}

// begin matches the plan, looks up the client and writes the start entry.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, rt route) *exchange {
	x := &exchange{w: w, r: r, capAt: time.Now().Add(s.stallCap)}
	n := s.nextCall()
	if s.plan != nil {
		if rule, ok := s.plan.Match(faults.Call{N: n, Op: rt.op, Handle: rt.handle}); ok && (rt.body || !needsBody(rule.Fault)) {
			x.rule = &rule
		}
	}
	peer := s.peer(r)
	persona := peer.Comm
	if persona == "" {
		persona = Persona
	}
	x.entry = journal.Entry{
		Event:   journal.EventStart,
		Run:     peer.Run,
		Call:    n,
		PID:     peer.PID,
		PPID:    peer.PPID,
		PGID:    peer.PGID,
		Persona: persona,
		Argv:    []string{r.Method, r.RequestURI},
		Op:      string(rt.op),
		Handle:  rt.handle,
		Start:   s.startTime(),
	}
	if x.rule != nil {
		x.entry.Fault = x.rule.String()
	}
	w.Header().Set("x-amz-request-id", fmt.Sprintf("LG%08X", n))
	s.append(x.entry)
	return x
}

// finish writes the end entry: status sent, bytes, what happened.
func (s *Server) finish(x *exchange) {
	e := x.entry
	e.Event = journal.EventEnd
	e.Exit = x.status
	e.Bytes = x.bytes
	e.End = time.Now()
	e.Error = strings.Join(x.notes, "; ")
	s.append(e)
}

func (s *Server) append(e journal.Entry) {
	if s.journal == "" {
		return
	}
	if err := journal.Append(s.journal, e); err != nil {
		s.log.Printf("journal: %v", err)
	}
}

// nextCall numbers requests: across the run's journal if there is one (so
// fakecli invocations and requests share one sequence), else per server.
func (s *Server) nextCall() int {
	if s.journal != "" {
		n, err := journal.NextCall(s.journal)
		if err == nil {
			return n
		}
		s.log.Printf("journal call counter: %v", err)
	}
	return int(s.calls.Add(1))
}

// startTime is now, made later than every start handed out before: the
// journal merges a start entry with its end entry by (pid, start), and
// requests of one client can arrive within one clock tick.
func (s *Server) startTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := time.Now()
	if !t.After(s.lastStart) {
		t = s.lastStart.Add(time.Nanosecond)
	}
	s.lastStart = t
	return t
}

type peerKey struct{}

// peerOnce caches a connection's client process (see Serve).
type peerOnce struct {
	once sync.Once
	peer Peer
}

// peer is the client process of r's connection; zero if unknown.
func (s *Server) peer(r *http.Request) Peer {
	lookup := func() Peer {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		la, ok1 := local.(*net.TCPAddr)
		ra, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
		if !ok1 || err != nil {
			return Peer{}
		}
		p, _ := LookupPeer(la, ra)
		return p
	}
	if po, ok := r.Context().Value(peerKey{}).(*peerOnce); ok {
		po.once.Do(func() { po.peer = lookup() })
		return po.peer
	}
	return lookup()
}

// route picks the API: plain-API paths (see AccessURI), else path-style S3.
func (s *Server) route(r *http.Request) route {
	if bucket, name, ok := plainPath(r.URL.Path); ok {
		return s.plainRoute(r, bucket, name)
	}
	return s.s3Route(r)
}
