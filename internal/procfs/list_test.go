package procfs

import (
	"context"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/leakgate/leakgate/internal/poll"
)

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if !poll.Until(context.Background(), 10*time.Second, func() bool {
		st, err := ReadStat(int32(cmd.Process.Pid))
		return err == nil && st.Comm == "sleep"
	}) {
		t.Fatal("sleep never exec'd")
	}
	return cmd
}

func TestPidsAndChildren(t *testing.T) {
	cmd := startSleep(t)
	pid, self := int32(cmd.Process.Pid), int32(os.Getpid())
	pids, err := Pids()
	if err != nil || !slices.IsSorted(pids) || !slices.Contains(pids, pid) || !slices.Contains(pids, self) {
		t.Errorf("Pids() = %d pids, %v; want sorted, holding %d and %d", len(pids), err, pid, self)
	}
	kids, err := Children(self)
	if err != nil || !slices.Contains(kids, pid) {
		t.Errorf("Children(self) = %v, %v; want to hold %d", kids, err, pid)
	}
	if !ChildNamed(self, "sleep") || ChildNamed(self, "no-such-command") {
		t.Error("ChildNamed: want sleep found and no-such-command not")
	}
	if _, err := Children(1 << 30); err == nil {
		t.Error("Children of a pid that does not exist: no error")
	}
	w, err := Wchans(pid)
	if err != nil || len(w) != 1 {
		t.Errorf("Wchans(sleep) = %q, %v; want one thread's", w, err)
	}
}

func TestHoldersAndFDTarget(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	self := int32(os.Getpid())
	target, err := FDTarget(self, int(r.Fd()))
	if err != nil || len(target) < 6 || target[:6] != "pipe:[" {
		t.Fatalf("FDTarget(read end) = %q, %v; want pipe:[…]", target, err)
	}
	h, err := Holders(target, "pipe:[0]")
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for _, x := range h[target] {
		if x.Pid == self {
			got[x.FD] = true
		}
	}
	if !got[int(r.Fd())] || !got[int(w.Fd())] || len(h["pipe:[0]"]) != 0 {
		t.Errorf("Holders(%s) = %+v; want this process's fds %d and %d, none for pipe:[0]", target, h, r.Fd(), w.Fd())
	}
	if _, err := FDTarget(self, 1<<20); err == nil {
		t.Error("FDTarget of a closed fd: no error")
	}
}

func TestTCPSocketInode(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local, remote := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	inode, err := TCPSocketInode(local, remote)
	if err != nil || inode == 0 {
		t.Fatalf("TCPSocketInode = %d, %v; want the client socket's inode", inode, err)
	}
	h, err := Holders("socket:[" + strconv.FormatUint(inode, 10) + "]")
	if err != nil || len(h["socket:["+strconv.FormatUint(inode, 10)+"]"]) != 1 {
		t.Errorf("Holders(client socket) = %+v, %v; want this process alone", h, err)
	}
	if inode, err := TCPSocketInode(remote, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}); err != nil || inode != 0 {
		t.Errorf("TCPSocketInode of no connection = %d, %v; want 0, nil", inode, err)
	}
	if _, err := TCPSocketInode(&net.TCPAddr{IP: net.IPv6loopback, Port: 1}, remote); err == nil {
		t.Error("TCPSocketInode of an IPv6 address: no error")
	}
}
