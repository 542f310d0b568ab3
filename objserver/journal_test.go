package objserver

import (
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/internal/procfs"
)

func TestJournalRecordsEveryRequest(t *testing.T) {
	ts := serve(t, "")
	ts.mustDo(t, "PUT", "/b/e1/k", strings.NewReader("12345"))
	ts.mustDo(t, "HEAD", "/b/e1/k", nil)
	ts.mustDo(t, "GET", "/b/e1/k", nil)
	ts.mustDo(t, "GET", "/b/e1/missing", nil)
	ts.mustDo(t, "GET", "/b?list-type=2&prefix=e1/", nil)
	ts.mustDo(t, "DELETE", "/b/e1/k", nil)
	invs := ts.requests(t, 6)
	self, err := procfs.ReadStat(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Method, Op, Handle string
		Exit               int
		Bytes              int64
	}
	var got []row
	starts := map[int64]bool{}
	for i, inv := range invs {
		got = append(got, row{inv.Argv[0], inv.Op, inv.Handle, inv.Exit, inv.Bytes})
		if inv.Call != i+1 {
			t.Errorf("request %d has call number %d", i+1, inv.Call)
		}
		// The client is this very process, found by its socket.
		if inv.PID != os.Getpid() || inv.PPID != os.Getppid() || inv.Persona != self.Comm {
			t.Errorf("request %d: pid %d ppid %d persona %q; want this process %d, %d, %q", i+1, inv.PID, inv.PPID, inv.Persona, os.Getpid(), os.Getppid(), self.Comm)
		}
		if starts[inv.Start.UnixNano()] {
			t.Errorf("request %d shares its start time with another (the journal merges by pid and start)", i+1)
		}
		starts[inv.Start.UnixNano()] = true
	}
	want := []row{
		{"PUT", "write", "b/e1/k", 200, 5},
		{"HEAD", "read", "b/e1/k", 200, 0},
		{"GET", "read", "b/e1/k", 200, 5},
		{"GET", "read", "b/e1/missing", 404, invs[3].Bytes}, // an error document, checked below
		{"GET", "list", "", 200, invs[4].Bytes},             // a listing, checked below
		{"DELETE", "move", "b/e1/k", 204, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("journal:\n got %+v\nwant %+v", got, want)
	}
	if invs[3].Bytes == 0 || !strings.Contains(invs[3].Error, "404 NoSuchKey") {
		t.Errorf("the 404 carries an error document and says so: %s", invs[3])
	}
	if invs[4].Bytes == 0 {
		t.Errorf("the listing sent nothing: %s", invs[4])
	}
}

func TestLookupPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := LookupPeer(s.LocalAddr().(*net.TCPAddr), s.RemoteAddr().(*net.TCPAddr))
	if err != nil || p.PID != os.Getpid() || p.PGID == 0 {
		t.Errorf("LookupPeer = %+v, %v; want this process (%d)", p, err, os.Getpid())
	}
	c.Close()
	// Once the client closed its end, no process holds it.
	if p, err := LookupPeer(s.LocalAddr().(*net.TCPAddr), s.RemoteAddr().(*net.TCPAddr)); !errors.Is(err, ErrNoPeer) {
		t.Errorf("after the client closed: %+v, %v; want ErrNoPeer", p, err)
	}
	if _, err := LookupPeer(&net.TCPAddr{IP: net.IPv6loopback, Port: 1}, &net.TCPAddr{IP: net.IPv6loopback, Port: 2}); !errors.Is(err, ErrNoPeer) {
		t.Errorf("IPv6: %v, want ErrNoPeer", err)
	}
}
