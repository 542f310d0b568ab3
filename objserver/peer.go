package objserver

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
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
	inode, err := socketInode(client, server)
	if err != nil {
		return Peer{}, err
	}
	pid, err := socketOwner(inode)
	if err != nil {
		return Peer{}, fmt.Errorf("client %s: socket inode %d: %w", client, inode, err)
	}
	return describe(pid), nil
}

// socketInode returns the inode of the socket whose local address is local
// and remote address remote, from /proc/net/tcp.
func socketInode(local, remote *net.TCPAddr) (uint64, error) {
	l, r := procAddr(local), procAddr(remote)
	if l == "" || r == "" {
		return 0, fmt.Errorf("client %s: not an IPv4 address: %w", local, ErrNoPeer)
	}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[1] != l || fields[2] != r {
			continue
		}
		inode, err := strconv.ParseUint(fields[9], 10, 64)
		if err != nil || inode == 0 {
			continue // a socket in TIME_WAIT has inode 0
		}
		return inode, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("/proc/net/tcp: %w", err)
	}
	return 0, fmt.Errorf("client %s: no socket in /proc/net/tcp: %w", local, ErrNoPeer)
}

// procAddr formats an IPv4 address as /proc/net/tcp does: the address as a
// host-order (little-endian) 32-bit hex number, a colon, the port in hex.
func procAddr(a *net.TCPAddr) string {
	ip4 := a.IP.To4()
	if ip4 == nil {
		return ""
	}
	return fmt.Sprintf("%08X:%04X", binary.LittleEndian.Uint32(ip4), a.Port)
}

// socketOwner returns a process with an fd on socket inode.
func socketOwner(inode uint64) (int, error) {
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + d.Name() + "/fd/"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // gone, or not ours to read
		}
		for _, fd := range fds {
			if target, err := os.Readlink(dir + fd.Name()); err == nil && target == want {
				return pid, nil
			}
		}
	}
	return 0, ErrNoPeer
}

// describe reads what the journal wants to know about pid; fields it cannot
// read stay zero.
func describe(pid int) Peer {
	p := Peer{PID: pid}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil {
		p.Comm = strings.TrimSpace(string(comm))
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// pid (comm) state ppid pgrp …; comm may hold spaces and parens.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
			f := strings.Fields(string(stat[i+1:]))
			if len(f) >= 3 {
				p.PPID, _ = strconv.Atoi(f[1])
				p.PGID, _ = strconv.Atoi(f[2])
			}
		}
	}
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil {
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte(fakeRunEnv+"=")); ok {
				p.Run = string(v)
			}
		}
	}
	return p
}
