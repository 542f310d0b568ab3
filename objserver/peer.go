package objserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/leakgate/leakgate/internal/procfs"
)

// Peer is the process at the other end of a loopback connection: the
// storage CLI that sent a request. objserver finds it by the client
// socket's inode (/proc/net/tcp) among the fds of every process it may
// read (/proc/<pid>/fd), so the journal can name the aws or curl process
// that made each request, with its run marker.
//
//	p, err := objserver.LookupPeer(serverAddr, clientAddr) // Peer{PID: 4244, Comm: "aws", …}
type Peer struct {
	PID  int    // process id; 0 if not found
	PPID int    // its parent
	PGID int    // its process group
	Comm string // its command name (/proc/<pid>/comm): "aws", "curl"
	Run  string // its LEAKGATE_RUN value, "" if unset or unreadable
}

// ErrNoPeer is wrapped by LookupPeer when no process holds the client's
// socket (it closed it already, or it belongs to a process this one may
// not inspect).
var ErrNoPeer = errors.New("no process holds the client socket")

// LookupPeer finds the process holding the client end of the IPv4 TCP
// connection between server (this process's address) and client (the
// remote address). It scans /proc and costs a few milliseconds; Linux only.
//
//	p, err := objserver.LookupPeer(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}, remote)
func LookupPeer(server, client *net.TCPAddr) (Peer, error) {
	inode, err := procfs.TCPSocketInode(client, server)
	if err != nil {
		return Peer{}, fmt.Errorf("client %s: %w: %w", client, ErrNoPeer, err)
	}
	if inode == 0 {
		return Peer{}, fmt.Errorf("client %s: no socket in /proc/net/tcp: %w", client, ErrNoPeer)
	}
	target := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	holders, err := procfs.Holders(target)
	if err != nil {
		return Peer{}, fmt.Errorf("client %s: socket inode %d: %w", client, inode, err)
	}
	if len(holders[target]) == 0 {
		return Peer{}, fmt.Errorf("client %s: socket inode %d: %w", client, inode, ErrNoPeer)
	}
	return describe(holders[target][0].Pid), nil
}

// describe reads what the journal wants to know about pid; fields it cannot
// read stay zero.
func describe(pid int32) Peer {
	p := Peer{PID: int(pid)}
	if st, err := procfs.ReadStat(pid); err == nil {
		p.Comm, p.PPID, p.PGID = st.Comm, int(st.PPid), int(st.Pgrp)
	}
	if v, _, err := procfs.EnvValue(pid, fakeRunEnv); err == nil {
		p.Run = v
	}
	return p
}
