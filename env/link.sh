#!/usr/bin/env bash
# link.sh: two hosts joined by an emulated link, for the tools that measure
# a path end to end (tcp-echo's sweep, udp-ping).
#
#   link.sh up [--rate BPS] [--delay DUR] [--cc ALGO] [-q]
#   link.sh down          remove what `up` made (and only that); repeatable
#   link.sh status        what exists now, and the emulator's figures
#
# Namespaces pk-link-a (10.201.0.1/24 on eth0) and pk-link-b (10.201.0.2/24
# on eth0), each joined by a veth pair to pk-link-m, where env/linkemu
# bridges the two peers (ea <-> eb) with --rate BPS (bits/s, k/M/G; the
# Ethernet frame is what is paced, see docs/env.md) and --delay DUR each way
# (0 and unlimited by default), --realtime. MTU 1500, static neighbours (no
# ARP through the emulator while measuring), TCP congestion control ALGO in
# both hosts (default cubic: the host default may pace, as bbr does).
# `up` while up keeps the namespaces and restarts only the emulator with the
# new figures, so a 0 ms baseline and a delayed run share one path.
# linkemu is found as $LINKEMU, in $PK_BUILD_DIR/env, ./build/env or PATH;
# PK_LINKEMU_TRACE=FILE passes it --trace FILE (a line per frame).
# State (the emulator's pid, log and figures) in $PK_LINK_STATE (default
# /run/probekit-link). The emulator is stopped by its recorded pid only.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${PK_LINK_STATE:-/run/probekit-link}
NS_A=pk-link-a NS_M=pk-link-m NS_B=pk-link-b
ADDR_A=10.201.0.1 ADDR_B=10.201.0.2

die() { echo "link.sh: $*" >&2; exit 2; }
note() { [ -n "${QUIET:-}" ] || echo "link.sh: $*"; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
has_ns() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
# shellcheck source-path=SCRIPTDIR source=linkemu_path.sh
. "$here/linkemu_path.sh"

# emu_pid: the recorded emulator's pid if that process is still a linkemu
emu_pid() {
	local p
	p=$(cat "$STATE/linkemu.pid" 2>/dev/null) || return 1
	[[ $p =~ ^[0-9]+$ ]] || return 1
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = linkemu ] || return 1
	echo "$p"
}

emu_stop() {
	local p
	p=$(emu_pid) || { rm -f "$STATE/linkemu.pid"; return 0; }
	kill "$p" 2>/dev/null || true
	for _ in $(seq 50); do [ -d "/proc/$p" ] || break; sleep 0.1; done
	[ ! -d "/proc/$p" ] || { kill -KILL "$p" 2>/dev/null || true; sleep 0.1; }
	rm -f "$STATE/linkemu.pid"
}

# set_cc: the hosts' route to each other names the congestion control (a
# namespace may only pick the host's allowed ones by sysctl; a route any)
set_cc() {
	local w=()
	[ -z "$INITCWND" ] || w=(initcwnd "$INITCWND" initrwnd "$INITCWND")
	ip -n $NS_A route replace 10.201.0.0/24 dev eth0 src $ADDR_A congctl "$CC" "${w[@]}"
	ip -n $NS_B route replace 10.201.0.0/24 dev eth0 src $ADDR_B congctl "$CC" "${w[@]}"
}

mac() { nsx "$1" cat /sys/class/net/eth0/address; }

make_hosts() {
	local ns
	for ns in $NS_A $NS_M $NS_B; do
		ip netns add "$ns"
		nsx "$ns" ip link set lo up
	done
	ip -n $NS_A link add eth0 mtu 1500 type veth peer name ea mtu 1500 netns $NS_M
	ip -n $NS_B link add eth0 mtu 1500 type veth peer name eb mtu 1500 netns $NS_M
	ip -n $NS_A addr add $ADDR_A/24 dev eth0
	ip -n $NS_B addr add $ADDR_B/24 dev eth0
	for ns in $NS_A $NS_B; do
		nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip -n "$ns" link set eth0 up
	done
	set_cc
	nsx $NS_M sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n $NS_M link set ea up
	ip -n $NS_M link set eb up
	ip -n $NS_A neigh replace $ADDR_B lladdr "$(mac $NS_B)" dev eth0 nud permanent
	ip -n $NS_B neigh replace $ADDR_A lladdr "$(mac $NS_A)" dev eth0 nud permanent
}

emu_start() {
	local bin log=$STATE/linkemu.log args=()
	bin=$(linkemu_path) || die "no linkemu binary (build it, or set LINKEMU)"
	[ "$RATE" = 0 ] || args+=(--rate "$RATE")
	[ -z "${PK_LINKEMU_TRACE:-}" ] || args+=(--trace "$PK_LINKEMU_TRACE")
	: >"$log"
	nsx $NS_M setsid "$bin" --delay "$DELAY" "${args[@]}" --realtime \
		--pidfile "$STATE/linkemu.pid" ea eb >"$log" 2>&1 </dev/null &
	local bg=$!
	for _ in $(seq 100); do
		grep -q forwarding "$log" && [ -s "$STATE/linkemu.pid" ] && break
		kill -0 "$bg" 2>/dev/null || break
		sleep 0.05
	done
	grep -q forwarding "$log" || die "linkemu did not start: $(cat "$log")"
	echo "rate=$RATE delay=$DELAY cc=$CC initcwnd=${INITCWND:-default}" >"$STATE/link"
}

cmd_up() {
	RATE=0 DELAY=0ms CC=cubic INITCWND=
	while [ $# -gt 0 ]; do
		case $1 in
		--rate) RATE=${2:?}; shift ;;
		--delay) DELAY=${2:?}; shift ;;
		--cc) CC=${2:?}; shift ;;
		--initcwnd) INITCWND=${2:?}; shift ;;
		-q) QUIET=1 ;;
		*) die "unknown argument '$1'" ;;
		esac
		shift
	done
	[[ $RATE =~ ^[0-9]+(\.[0-9]+)?[kKMG]?$ ]] || die "rate '$RATE': invalid"
	[[ $DELAY =~ ^[0-9]+(\.[0-9]+)?(ns|us|ms|s)?$ ]] || die "delay '$DELAY': invalid"
	[[ $CC =~ ^[a-z0-9_]+$ ]] || die "cc '$CC': invalid"
	[[ $INITCWND =~ ^([1-9][0-9]{0,3})?$ ]] || die "initcwnd '$INITCWND': invalid"
	[ "$(id -u)" = 0 ] || die "must run as root"
	mkdir -p "$STATE"
	if has_ns $NS_A && has_ns $NS_M && has_ns $NS_B; then
		emu_stop
		set_cc
	else
		cmd_down >/dev/null
		mkdir -p "$STATE"
		make_hosts || { cmd_down >/dev/null; die "could not make the namespaces"; }
	fi
	emu_start || { cmd_down >/dev/null; exit 2; }
	note "up: $NS_A $ADDR_A <-> linkemu in $NS_M ($(cat "$STATE/link")) <-> $NS_B $ADDR_B"
}

cmd_down() {
	local ns
	emu_stop
	for ns in $NS_A $NS_M $NS_B; do
		if has_ns "$ns"; then
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
	rm -rf "$STATE"
	note "down"
}

cmd_status() {
	local ns p
	for ns in $NS_A $NS_M $NS_B; do
		if has_ns "$ns"; then echo "netns $ns"; fi
	done
	if p=$(emu_pid); then
		echo "linkemu $p $(cat "$STATE/link" 2>/dev/null)"
	elif has_ns $NS_M; then
		echo "linkemu not running"
	else
		echo "no link"
	fi
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
down) cmd_down ;;
status) cmd_status ;;
*) die "usage: link.sh up [--rate BPS] [--delay DUR] [--cc ALGO] [-q] | down | status" ;;
esac
