# shellcheck shell=bash
# topo_ovs.sh: the Open vSwitch half of topo.sh, sourced by it (not run on
# its own): the instances (private ones in a namespace; the system one,
# used, or started and stopped again), and the bridges and ports on them.
# Uses topo.sh's STATE, DP (the datapath type), die, note, record, nsx and
# cmd_down; sets SYS_WHY for topo.sh's up_patch.

# ---- Open vSwitch instances -------------------------------------------------
# An instance is "system" (the one plain ovs-vsctl uses, in the root
# namespace) or a private one named after the namespace it runs in.

SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
SYS_RUN=${OVS_RUNDIR:-/var/run/openvswitch}
SYS_DB=${OVS_DBDIR:-/etc/openvswitch}/conf.db
MARK_KEY=external_ids:probekit MARK=external_ids:probekit=topo.sh # on the bridges we make

ovs_dir() { echo "$STATE/ovs-$1"; }
vsctl() {
	local d
	if [ "$1" = system ]; then shift; ovs-vsctl --timeout=10 --db="unix:$SYS_RUN/db.sock" "$@"; return; fi
	d=$(ovs_dir "$1"); shift; ovs-vsctl --timeout=10 --db="unix:$d/db.sock" "$@"
}
inx() { local i=$1; shift; if [ "$i" = system ]; then "$@"; else nsx "$i" "$@"; fi; } # where INSTANCE runs
# a pid file can vanish between a test and a read (ovs-vswitchd removes its
# own); a zombie is not alive (a daemon whose parent, topo.sh up, is gone
# waits for a reaper that may be slow)
running() { local st; st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
alive() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && running "$p"; }
# ours PIDFILE NAME: the process recorded in PIDFILE is still that program
ours() {
	local p
	p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && running "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]
}
show_cmd() { # the command that lists INSTANCE's bridges
	if [ "$1" = system ]; then echo "ovs-vsctl show"; else echo "ovs-vsctl --db=unix:$(ovs_dir "$1")/db.sock show"; fi
}

datapath_type() {
	if [ -d /sys/module/openvswitch ] || modprobe openvswitch 2>/dev/null; then
		echo system
	else
		echo netdev
	fi
}

have_ovs() {
	if ! command -v ovsdb-server >/dev/null || ! command -v ovs-vswitchd >/dev/null; then
		EXIT=3 die "Open vSwitch is not installed (Debian: openvswitch-switch)"
	fi
}

# ovs_up NAME: a private Open vSwitch instance running in namespace NAME,
# started when not running, with its files under $STATE/ovs-NAME.
ovs_up() {
	local name=$1 d
	d=$(ovs_dir "$name")
	have_ovs
	record "ovs $name"
	mkdir -p "$d"
	if ! alive "$d/ovsdb-server.pid"; then
		[ -f "$d/conf.db" ] || ovsdb-tool create "$d/conf.db" "$SCHEMA" 2>>"$d/start.err" ||
			EXIT=3 die "cannot create the Open vSwitch database (schema $SCHEMA)"
		OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d nsx "$name" ovsdb-server "$d/conf.db" \
			--remote="punix:$d/db.sock" --pidfile="$d/ovsdb-server.pid" \
			--unixctl="$d/ovsdb-server.ctl" --log-file="$d/ovsdb-server.log" --detach \
			-vconsole:off 2>>"$d/start.err" ||
			EXIT=3 die "ovsdb-server did not start (see $d/ovsdb-server.log)"
		vsctl "$name" --no-wait init
	fi
	if ! alive "$d/ovs-vswitchd.pid"; then
		OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d nsx "$name" ovs-vswitchd "unix:$d/db.sock" \
			--pidfile="$d/ovs-vswitchd.pid" --unixctl="$d/ovs-vswitchd.ctl" \
			--log-file="$d/ovs-vswitchd.log" --detach -vconsole:off 2>>"$d/start.err" ||
			EXIT=3 die "ovs-vswitchd did not start (see $d/ovs-vswitchd.log)"
	fi
}

ovs_down() {
	local d p br
	d=$(ovs_dir "$1")
	if alive "$d/ovsdb-server.pid" && alive "$d/ovs-vswitchd.pid"; then
		for br in $(vsctl "$1" list-br 2>/dev/null); do vsctl "$1" --if-exists del-br "$br" || true; done
		ovs-appctl -t "$d/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1 || true
	fi
	for p in ovs-vswitchd ovsdb-server; do
		if alive "$d/$p.pid"; then
			kill "$(cat "$d/$p.pid" 2>/dev/null)" 2>/dev/null || true
			for _ in $(seq 50); do alive "$d/$p.pid" || break; sleep 0.1; done
		fi
	done
	rm -rf "$d"
}

# -- the system instance

sys_live() { # its database answers
	[ -S "$SYS_RUN/db.sock" ] &&
		ovs-vsctl --timeout=3 --db="unix:$SYS_RUN/db.sock" get Open_vSwitch . _uuid >/dev/null 2>&1
}

# sys_usable: status 0 when the running system instance can hold our
# bridges (its ovs-vswitchd runs in this namespace and has our datapath
# type), else status 1 and the reason on stdout.
sys_usable() {
	local p types
	if ! p=$(cat "$SYS_RUN/ovs-vswitchd.pid" 2>/dev/null) || [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then
		echo "its ovs-vswitchd is not running"; return 1
	fi
	[ "$(readlink "/proc/$p/ns/net")" = "$(readlink /proc/self/ns/net)" ] ||
		{ echo "its ovs-vswitchd runs in another network namespace"; return 1; }
	types=$(vsctl system get Open_vSwitch . datapath_types 2>/dev/null || true)
	[ -z "$types" ] || [ "$types" = "[]" ] || [[ $types == *"$DP"* ]] ||
		{ echo "its ovs-vswitchd has no $DP datapath (it has $types)"; return 1; }
}

# sys_start: ovsdb-server and ovs-vswitchd with the default database, socket
# and pid files, in the root namespace. Each directory and file it makes is
# recorded, then "sysovs" (so `down` stops the daemons before removing them).
# Status 1 when a daemon does not start (the caller undoes the records).
sys_start() {
	local d db lock dir
	d=$(ovs_dir system)
	mkdir -p "$d"
	for dir in "$SYS_RUN" "$(dirname "$SYS_DB")"; do
		[ -d "$dir" ] || { record "dir $dir"; mkdir -p "$dir"; }
	done
	db=$(readlink -f "$SYS_DB") || db=$SYS_DB # Debian: a link into /var/lib/openvswitch
	dir=$(dirname "$db")
	[ -d "$dir" ] || { record "dir $dir"; mkdir -p "$dir"; }
	lock="$dir/.$(basename "$db").~lock~"
	[ -e "$lock" ] || record "file $lock"
	if [ ! -e "$db" ]; then
		record "file $db"
		ovsdb-tool create "$SYS_DB" "$SCHEMA" 2>>"$d/start.err" || return 1
	fi
	record "sysovs"
	ovsdb-server "$SYS_DB" --remote="punix:$SYS_RUN/db.sock" --pidfile="$SYS_RUN/ovsdb-server.pid" \
		--log-file="$d/ovsdb-server.log" --detach -vconsole:off 2>>"$d/start.err" || return 1
	cp "$SYS_RUN/ovsdb-server.pid" "$d/ovsdb-server.pid"
	vsctl system --no-wait init 2>>"$d/start.err" || return 1
	ovs-vswitchd "unix:$SYS_RUN/db.sock" --pidfile="$SYS_RUN/ovs-vswitchd.pid" \
		--log-file="$d/ovs-vswitchd.log" --detach -vconsole:off 2>>"$d/start.err" || return 1
	cp "$SYS_RUN/ovs-vswitchd.pid" "$d/ovs-vswitchd.pid"
}

# sys_stop: stops the daemons sys_start started, by their recorded pids.
sys_stop() {
	local d p br
	d=$(ovs_dir system)
	if ours "$d/ovs-vswitchd.pid" ovs-vswitchd; then
		for br in $(vsctl system list-br 2>/dev/null); do sys_bridge_down "$br"; done
		ovs-appctl --timeout=10 -t "$SYS_RUN/ovs-vswitchd.$(cat "$d/ovs-vswitchd.pid").ctl" \
			exit --cleanup >/dev/null 2>&1 || true
	fi
	for p in ovs-vswitchd ovsdb-server; do
		if ours "$d/$p.pid" "$p"; then
			kill "$(cat "$d/$p.pid")" 2>/dev/null || true
			for _ in $(seq 50); do ours "$d/$p.pid" "$p" || break; sleep 0.1; done
		fi
	done
	rm -rf "$d"
}

# sys_bridge_down NAME: deletes our bridge NAME from the system instance.
sys_bridge_down() {
	sys_live || return 0
	[ -n "$(vsctl system --if-exists get bridge "$1" "$MARK_KEY" 2>/dev/null)" ] || return 0
	vsctl system --if-exists del-br "$1" || true
}

# sys_bridges_free: ovs1 and ovs2 are not in the system instance (else exit 2).
sys_bridges_free() {
	local br
	for br in ovs1 ovs2; do
		vsctl system br-exists "$br" 2>/dev/null || continue
		[ -z "$(vsctl system --if-exists get bridge "$br" "$MARK_KEY" 2>/dev/null)" ] ||
			die "the system Open vSwitch has a bridge $br left from an earlier topo.sh whose state" \
				"is gone: remove it (ovs-vsctl del-br $br), or use --ovs private"
		die "the system Open vSwitch already has a bridge $br that topo.sh did not make" \
			"(see 'ovs-vsctl show'): remove it, or use --ovs private"
	done
}

# sys_up: status 0 with the system instance ready for our bridges, or status
# 1 and the reason in SYS_WHY when it cannot be used (nothing left behind).
# shellcheck disable=SC2034 # SYS_WHY is read by topo.sh (up_patch)
sys_up() {
	local why
	have_ovs
	if sys_live; then
		why=$(sys_usable) || { SYS_WHY="the running system Open vSwitch cannot be used: $why"; return 1; }
		sys_bridges_free
		return 0
	fi
	sys_start && return 0
	why=$(tail -n 3 "$(ovs_dir system)/start.err" 2>/dev/null | tr '\n' ' ')
	SYS_WHY="the system Open vSwitch did not start${why:+: $why}"
	QUIET=1 cmd_down >/dev/null
	return 1
}

# ---- bridges and ports ----------------------------------------------------------

# bridge INSTANCE NAME
bridge() {
	[ "$1" != system ] || record "sysbr $2"
	vsctl "$1" --may-exist add-br "$2" -- set bridge "$2" datapath_type="$DP" "$MARK"
	inx "$1" ip link set "$2" up 2>/dev/null || true
}

# internal_port INSTANCE BRIDGE PORT TARGET_NS MTU: an internal port moved
# into TARGET_NS.
internal_port() {
	local inst=$1 br=$2 port=$3 ns=$4 mtu=$5
	if [ "$inst" = system ] && ip link show "$port" >/dev/null 2>&1; then
		die "the root namespace already has an interface $port (not ours)"
	fi
	vsctl "$inst" --may-exist add-port "$br" "$port" -- set interface "$port" type=internal \
		mtu_request="$mtu"
	for _ in $(seq 50); do inx "$inst" ip link show "$port" >/dev/null 2>&1 && break; sleep 0.1; done
	inx "$inst" ip link set "$port" netns "$ns"
	nsx "$ns" ip link set "$port" mtu "$mtu" up
}
