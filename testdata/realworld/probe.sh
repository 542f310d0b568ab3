#!/usr/bin/env bash
# probe.sh NAME CMD ARGS…: the truth of a realworld entry, taken without
# leakgate (see truth.md). Runs CMD under `strace -f -tt -e
# trace=process,exit_group,setsid` in the background (in the foreground,
# strace -f follows a daemon and never returns), waits for CMD's own exit,
# then lists the processes that carry PROBE=NAME in their environment: what
# CMD left, with its state, parent (1 or a subreaper: orphaned) and group.
# Then it sends SIGTERM to them (SIGKILL 0.3 s later) and lists the sockets
# they left. Everything goes under ${PROBE_DIR:-/tmp/lg-probe}: HOME,
# GNUPGHOME, TMUX_TMPDIR, SCREENDIR, XDG_RUNTIME_DIR and TMPDIR too.
# PROBE_STDIN=FILE gives CMD a stdin. Example:
#
#	testdata/realworld/probe.sh tmux tmux -L x -f /dev/null new -d
set -u
name=$1
shift
P=${PROBE_DIR:-/tmp/lg-probe}
w=$P/$name
rm -rf "$w"
mkdir -p "$w"/home "$w"/tmux "$w"/tmp
mkdir -m 700 "$w"/gnupg "$w"/screen "$w"/xdg
export HOME=$w/home GNUPGHOME=$w/gnupg TMUX_TMPDIR=$w/tmux SCREENDIR=$w/screen \
	XDG_RUNTIME_DIR=$w/xdg TMPDIR=$w/tmp SHELL=/bin/sh PROBE=$name
cd "$w"
strace -f -tt -o "$w/strace" -e trace=process,exit_group,setsid -- "$@" >"$w/output" 2>&1 <"${PROBE_STDIN:-/dev/null}" &
tracer=$!
for _ in $(seq 400); do
	first=$(head -n 1 "$w/strace" 2>/dev/null | cut -d' ' -f1)
	[ -n "$first" ] && grep -q "^$first .*+++ \(exited\|killed\)" "$w/strace" && break
	sleep 0.05
done
sleep 0.3 # what CMD left has settled (a probe, not a test)
echo "== strace"
cat "$w/strace"
echo "== output"
cat "$w/output"
echo "== left, carrying PROBE=$name"
pids=()
for d in /proc/[0-9]*; do
	pid=${d#/proc/}
	[ "$pid" = "$tracer" ] && continue
	tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -qx "PROBE=$name" || continue
	read -r stat 2>/dev/null <"$d/stat" || continue
	rest=${stat##*) }
	set -- $rest
	echo "pid $pid comm=$(cat "$d/comm") state=$1 ppid=$2 pgrp=$3 sid=$4 cmd=$(tr '\0' ' ' <"$d/cmdline")"
	pids+=("$pid")
done
kill "$tracer" 2>/dev/null
if [ ${#pids[@]} -gt 0 ]; then
	kill "${pids[@]}" 2>/dev/null
	sleep 0.3
	kill -9 "${pids[@]}" 2>/dev/null
fi
echo "== sockets left under $w"
find "$w" -type s
