#!/usr/bin/env bash
# topo.sh: the agents' topologies, one parameterised script behind the seed's
# env_ipv4.sh, env_ipv6.sh, test_env.sh and clean.sh.
#
#   topo.sh up [--ip 4|6|46] [--link patch|vxlan] [--agents N] [--ovs auto|system|private]
#              [--delay A,B] [--loss PCT] [--jitter J] [--emu auto|netem|linkemu]
#              [--hosts H] [--impair hvA-hvB:FIGURES]... [--run-agents ARGS]
#              [--metrics-port N] [--prometheus] [--scrape-interval DUR]
#   topo.sh impair hvA-hvB:FIGURES|none ...   change a fleet's pair at run time
#   topo.sh down          remove everything `up` made (and only that); repeatable
#   topo.sh status        what exists now
#
# Agents: namespace agentI on internal port portI of ovs1 (I odd) or ovs2
# (I even); addresses 10.1.1.(4+I)/24 and fd01:2345:6789:abc1::(4+I)/64 and
# the multicast routes 224.0.0.0/4 and ff0e::/16. No default route: the
# seed's README adds it by hand (`ip netns exec agent1 route add default dev
# port1`), which then succeeds and changes nothing the agents use.
# --link patch: ovs1 and ovs2 joined by the patch ports patch1 (ovs1) and
#   patch2 (ovs2), as the seed, in the system Open vSwitch, the one plain
#   `ovs-vsctl show` talks to (--ovs auto, the default, and --ovs system): the
#   running one if its database socket ($OVS_RUNDIR, default
#   /var/run/openvswitch, db.sock) answers, refused if it already has an ovs1
#   or ovs2; else topo.sh starts ovsdb-server and ovs-vswitchd with the
#   default database, socket and pid files in the root namespace and `down`
#   stops them again. `down` deletes the bridges it added to a system instance
#   it did not start and leaves that instance running. Where the system
#   instance cannot work (--ovs auto) or with --ovs private: a private
#   instance in namespace pk-hv0, shown by
#   `ovs-vsctl --db=unix:$PK_ENV_STATE/ovs-pk-hv0/db.sock show`.
# --link vxlan: each bridge in its own "hypervisor" namespace (pk-hv1, pk-hv2)
#   with its own private Open vSwitch instance (own ovsdb-server,
#   ovs-vswitchd, run directory, database and sockets), joined by a VXLAN
#   tunnel (VNI 100, UDP 4789) over an underlay veth 192.168.254.1 <-> .2;
#   overlay MTU 1450.
# --delay A,B (two agents only): the seed's delay test. Namespace agent3
#   bridges port12 and port22; A delays the frames agent3 sends out port12
#   (toward ovs1, agent1: agent2->agent1), B those out port22 (toward agent2:
#   agent1->agent2), as the seed's `tc qdisc add dev port12 root netem delay
#   20ms` and `... port22 ... 30ms`. patch: port12/port22 are internal ports
#   of ovs1/ovs2 with the seed's addresses 10.1.1.10/24 and 10.1.1.20/24
#   (fd01:2345:6789:abc1::a and ::14 with IPv6), agent3 forwards no IP and
#   answers no ARP for another port, and the patch ports are not made;
#   vxlan: port12/port22 are the two halves of the underlay (port12 on
#   pk-hv1's side), so the tunnel itself is delayed. --loss PCT: a probe
#   round trip is lost with probability PCT% (each direction drops
#   1 - sqrt(1 - PCT/100)). tc netem where the kernel has it, else
#   env/linkemu (found as $LINKEMU, in $PK_BUILD_DIR/env, ./build/env or PATH;
#   PK_LINKEMU_TRACE=FILE passes it --trace FILE, a line per frame).
# --hosts H (2..64; means --link vxlan; topo_fleet.sh): the fleet. H
#   hypervisor namespaces pk-hv1..pk-hvH, each with its own Open vSwitch
#   instance and bridge ovsN, in a full mesh of VXLAN tunnels (one kernel
#   vxlan100 per hypervisor, an all-zeros FDB entry per remote VTEP: head-end
#   replication of broadcast and multicast) over an underlay bridge (namespace
#   pk-ul; hvN at 192.0.2.N/24, VTEP 198.51.100.N/32). --agents A counts per
#   hypervisor: H x A agents, agent I on hv((I-1) % H + 1), so --hosts 2 places
#   them as --link vxlan does. $PK_ENV_STATE/agents lists "agentI hvN ADDR".
#   The kernel's neighbour tables (one for all namespaces) are enlarged for
#   the fleet's life when it needs more than their limits.
# --impair hvA-hvB:delay=DUR,jitter=DUR,loss=PCT,rate=BPS (repeatable; `none`
#   clears): that pair's tunnel traffic takes its own path through a linkemu
#   in namespace pk-emu, every other pair the bridge. delay and jitter apply
#   to each direction (the RTT grows by twice the delay); loss is per round
#   trip as --loss (each direction drops 1 - sqrt(1 - PCT/100)); rate is
#   each direction's. `topo.sh impair SPEC...` changes pairs while the fleet
#   runs (the tunnels are untouched: only that pair's routes and emulator).
# --run-agents ARGS: vxlan-agent --metrics-port N (--metrics-port, 9910) ARGS
#   ADDR in every agent namespace (vxlan links); logs and pids under
#   $PK_ENV_STATE/agents.d. --prometheus: Prometheus in namespace pk-prom on
#   hv1's bridge, http://10.1.1.250:9090 (in $PK_ENV_STATE/prometheus.url),
#   scraping every agent's port every --scrape-interval (5s), loading
#   env/prometheus/*.rules.yml (topo_prom.sh).
# Open vSwitch: the kernel datapath where the openvswitch module exists, else
#   the userspace one (datapath_type=netdev). Exit status 3: Open vSwitch
#   cannot start.
# Every object is recorded in $PK_ENV_STATE (default /run/probekit-env)
# before it is made, so `down` removes exactly those, even after a failed up.
set -euo pipefail

# Descriptors the caller left open (flock(1)'s lock, say) are not passed on:
# the daemons started here (emulators, agents, Prometheus) would hold them
# for their whole life. fd 255 is bash's own, on this script.
for fd in "/proc/$$/fd"/*; do
	fd=${fd##*/}
	case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${PK_ENV_STATE:-/run/probekit-env}
OBJ=$STATE/objects

die() { echo "topo.sh: $*" >&2; exit "${EXIT:-2}"; }
note() { [ -n "${QUIET:-}" ] || echo "topo.sh: $*"; }
record() { mkdir -p "$STATE"; echo "$*" >>"$OBJ"; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# The Open vSwitch instances, bridges and ports.
# shellcheck source-path=SCRIPTDIR source=topo_ovs.sh
. "$here/topo_ovs.sh"
# shellcheck source-path=SCRIPTDIR source=linkemu_path.sh
. "$here/linkemu_path.sh"
# The fleet (--hosts) and its impairments; the agents and Prometheus it starts.
# shellcheck source-path=SCRIPTDIR source=topo_fleet.sh
. "$here/topo_fleet.sh"
# shellcheck source-path=SCRIPTDIR source=topo_prom.sh
. "$here/topo_prom.sh"

# ---- namespaces and agents --------------------------------------------------

netns() {
	record "netns $1"
	ip netns add "$1" 2>/dev/null || true
	nsx "$1" ip link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		2>/dev/null || true
}

agent_addr() { # agent_addr I FAMILY
	if [ "$2" = 4 ]; then echo "10.1.1.$((4 + $1))"; else printf 'fd01:2345:6789:abc1::%x\n' $((4 + $1)); fi
}

agent_ns() { # agent_ns I INSTANCE BRIDGE MTU
	local i=$1 ns="agent$1" port="port$1"
	netns "$ns"
	internal_port "$2" "$3" "$port" "$ns" "$4"
	if [[ $IPF == *4* ]]; then
		nsx "$ns" ip addr add "$(agent_addr "$i" 4)/24" dev "$port"
		nsx "$ns" ip route add 224.0.0.0/4 dev "$port" 2>/dev/null || true
	fi
	if [[ $IPF == *6* ]]; then
		nsx "$ns" sysctl -qw "net.ipv6.conf.$port.accept_dad=0" 2>/dev/null || true
		nsx "$ns" ip -6 addr add "$(agent_addr "$i" 6)/64" dev "$port" nodad
		nsx "$ns" ip -6 route add ff0e::/16 dev "$port" table main 2>/dev/null || true
	fi
}

# ---- delay and loss ----------------------------------------------------------

have_netem() { # tries netem on a scratch dummy in agent3
	nsx agent3 ip link add pk-probe type dummy 2>/dev/null || return 1
	if nsx agent3 tc qdisc add dev pk-probe root netem delay 1ms 2>/dev/null; then
		nsx agent3 ip link del pk-probe; return 0
	fi
	nsx agent3 ip link del pk-probe; return 1
}

# the per-direction loss (percent) that makes a round trip lose $1 percent
dir_loss() { awk -v p="$1" 'BEGIN { printf "%.6f", 100 * (1 - sqrt(1 - p / 100)) }'; }

# agent3_addrs: the seed's addresses of port12 and port22 (patch link: both
# on the agents' segment). agent3 stays silent: it forwards no IP and answers
# ARP only for the address of the port asked on.
agent3_addrs() {
	nsx agent3 sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 net.ipv6.conf.all.forwarding=0
	if [[ $IPF == *4* ]]; then
		nsx agent3 ip addr add 10.1.1.10/24 dev port12
		nsx agent3 ip addr add 10.1.1.20/24 dev port22
	fi
	if [[ $IPF == *6* ]]; then
		nsx agent3 ip -6 addr add fd01:2345:6789:abc1::a/64 dev port12 nodad
		nsx agent3 ip -6 addr add fd01:2345:6789:abc1::14/64 dev port22 nodad
	fi
}

# delay_bridge A B: agent3 forwards port12 <-> port22; the frames it sends
# out port12 (toward agent1) wait A, those out port22 (toward agent2) B.
delay_bridge() {
	local a=$1 b=$2 l emu=$EMU
	l=$(dir_loss "$LOSS")
	[ "$emu" = auto ] && { if have_netem; then emu=netem; else emu=linkemu; fi; }
	if [ "$emu" = netem ]; then
		nsx agent3 ip link add br0 type bridge
		nsx agent3 ip link set port12 master br0
		nsx agent3 ip link set port22 master br0
		nsx agent3 ip link set br0 up
		nsx agent3 tc qdisc add dev port12 root netem delay "$a" ${JITTER:+"$JITTER"} loss "$l%"
		nsx agent3 tc qdisc add dev port22 root netem delay "$b" ${JITTER:+"$JITTER"} loss "$l%"
	else
		local bin log="$STATE/linkemu.log"
		bin=$(linkemu_path) || die "no netem in this kernel and no linkemu binary (build it, or set LINKEMU)"
		: >"$log"
		record "pid $STATE/linkemu.pid"
		# a = port12, b = port22: a->b is sent out port22, toward agent2
		nsx agent3 setsid -w "$bin" --delay-ab "$b" --delay-ba "$a" --loss "$l%" \
			${JITTER:+--jitter "$JITTER"} ${PK_LINKEMU_TRACE:+--trace "$PK_LINKEMU_TRACE"} \
			--realtime --pidfile "$STATE/linkemu.pid" port12 port22 \
			>"$log" 2>&1 </dev/null &
		local bg=$!
		for _ in $(seq 100); do
			grep -q forwarding "$log" && [ -s "$STATE/linkemu.pid" ] && break
			kill -0 "$bg" 2>/dev/null || break
			sleep 0.05
		done
		grep -q forwarding "$log" || die "linkemu did not start: $(cat "$log")"
	fi
	note "agent3: $emu, toward agent1 (out port12) $a, toward agent2 (out port22) $b," \
		"round-trip loss $LOSS%"
}

# ---- the two links -------------------------------------------------------------

up_patch() {
	local i inst=system
	if [ "$OVS" = private ]; then
		inst=pk-hv0
	elif ! sys_up; then
		[ "$OVS" = auto ] || EXIT=3 die "$SYS_WHY"
		inst=pk-hv0
		note "$SYS_WHY; using a private instance instead"
	fi
	if [ "$inst" = pk-hv0 ]; then netns pk-hv0; ovs_up pk-hv0; fi
	INSTANCES=$inst
	bridge "$inst" ovs1; bridge "$inst" ovs2
	for i in $(seq "$AGENTS"); do
		agent_ns "$i" "$inst" "ovs$((2 - i % 2))" 1500
	done
	if [ -n "$DELAY" ]; then
		netns agent3
		internal_port "$inst" ovs1 port12 agent3 1500
		internal_port "$inst" ovs2 port22 agent3 1500
		agent3_addrs
		delay_bridge "${DELAY%,*}" "${DELAY#*,}"
	else
		vsctl "$inst" --may-exist add-port ovs1 patch1 -- set interface patch1 type=patch \
			options:peer=patch2 -- --may-exist add-port ovs2 patch2 -- \
			set interface patch2 type=patch options:peer=patch1
	fi
}

# underlay HV IFNAME ADDR: the hypervisor's end of the underlay.
underlay_addr() {
	nsx "$1" ip addr add "$3/24" dev "$2"
	nsx "$1" ip link set "$2" mtu 1500 up
}

# vxlan_port HV BRIDGE LOCAL REMOTE UNDERLAY_IF: a kernel VXLAN device on the
# underlay, attached to the bridge (works with either datapath).
vxlan_port() {
	nsx "$1" ip link add vxlan100 type vxlan id 100 local "$3" remote "$4" dstport 4789 dev "$5"
	nsx "$1" ip link set vxlan100 mtu 1450 up
	vsctl "$1" --may-exist add-port "$2" vxlan100
}

up_vxlan() {
	local i
	netns pk-hv1; netns pk-hv2
	if [ -n "$DELAY" ]; then
		netns agent3
		nsx agent3 ip link add port12 type veth peer name underlay1 netns pk-hv1
		nsx agent3 ip link add port22 type veth peer name underlay2 netns pk-hv2
		nsx agent3 ip link set port12 up; nsx agent3 ip link set port22 up
	else
		nsx pk-hv1 ip link add underlay1 type veth peer name underlay2 netns pk-hv2
	fi
	underlay_addr pk-hv1 underlay1 192.168.254.1
	underlay_addr pk-hv2 underlay2 192.168.254.2
	ovs_up pk-hv1; ovs_up pk-hv2
	INSTANCES="pk-hv1 pk-hv2"
	bridge pk-hv1 ovs1; bridge pk-hv2 ovs2
	vxlan_port pk-hv1 ovs1 192.168.254.1 192.168.254.2 underlay1
	vxlan_port pk-hv2 ovs2 192.168.254.2 192.168.254.1 underlay2
	: >"$STATE/agents"
	for i in $(seq "$AGENTS"); do
		if [ $((i % 2)) = 1 ]; then agent_ns "$i" pk-hv1 ovs1 1450; else agent_ns "$i" pk-hv2 ovs2 1450; fi
		echo "agent$i hv$((2 - i % 2)) $(agent_addr "$i" 4)" >>"$STATE/agents"
	done
	[ -z "$DELAY" ] || delay_bridge "${DELAY%,*}" "${DELAY#*,}"
}

# ---- commands ---------------------------------------------------------------------

cmd_up() {
	IPF=46 LINK=patch AGENTS=2 DELAY='' LOSS=0 JITTER='' EMU=auto OVS=auto HOSTS='' IMPAIR=()
	RUN='' RUN_AGENTS='' METRICS_PORT=9910 PROM='' SCRAPE=5s LINK_SET=''
	local t0=$SECONDS s
	while [ $# -gt 0 ]; do
		[ $# -gt 1 ] || [[ $1 =~ ^(-q|--prometheus)$ ]] || die "$1: missing its value"
		case $1 in
		--hosts) HOSTS=$2; shift ;;
		--impair) IMPAIR+=("$2"); shift ;;
		--run-agents) RUN_AGENTS=$2; RUN=1; shift ;;
		--metrics-port) METRICS_PORT=$2; shift ;;
		--prometheus) PROM=1 ;;
		--scrape-interval) SCRAPE=$2; shift ;;
		--ip) IPF=$2; shift ;;
		--link) LINK=$2; LINK_SET=1; shift ;;
		--agents) AGENTS=$2; shift ;;
		--delay) DELAY=$2; shift ;;
		--loss) LOSS=$2; shift ;;
		--jitter) JITTER=$2; shift ;;
		--emu) EMU=$2; shift ;;
		--ovs) OVS=$2; shift ;;
		-q) QUIET=1 ;;
		*) die "unknown argument '$1'" ;;
		esac
		shift
	done
	[[ $IPF =~ ^(4|6|46|64)$ ]] || die "ip '$IPF': invalid"
	[[ $LINK =~ ^(patch|vxlan)$ ]] || die "link '$LINK': invalid"
	[[ $AGENTS =~ ^[0-9]+$ ]] || die "agents '$AGENTS': invalid"
	{ [ "$AGENTS" -ge 1 ] && [ "$AGENTS" -le 200 ]; } || die "agents '$AGENTS': invalid"
	[[ $EMU =~ ^(auto|netem|linkemu)$ ]] || die "emu '$EMU': invalid"
	[[ $OVS =~ ^(auto|system|private)$ ]] || die "ovs '$OVS': invalid"
	awk -v p="$LOSS" 'BEGIN { exit !(p ~ /^[0-9.]+$/ && p >= 0 && p < 100) }' ||
		die "loss '$LOSS': invalid"
	if [ -n "$DELAY" ]; then
		[[ $DELAY == *,* ]] || DELAY="$DELAY,$DELAY"
		[ "$AGENTS" = 2 ] || die "--delay needs the two-agent topology"
	elif [ "$LOSS" != 0 ]; then
		DELAY=0ms,0ms
		[ "$AGENTS" = 2 ] || die "--loss needs the two-agent topology"
	fi
	{ [[ $METRICS_PORT =~ ^[0-9]+$ ]] && [ "$METRICS_PORT" -ge 1 ] && [ "$METRICS_PORT" -le 65535 ]; } ||
		die "metrics-port '$METRICS_PORT': invalid"
	[[ $SCRAPE =~ ^[1-9][0-9]*(ms|s|m)$ ]] || die "scrape-interval '$SCRAPE': invalid (1s, 500ms)"
	if [ -n "$HOSTS" ]; then
		{ [[ $HOSTS =~ ^[0-9]+$ ]] && [ "$HOSTS" -ge 2 ] && [ "$HOSTS" -le 64 ]; } ||
			die "hosts '$HOSTS': invalid (2..64)"
		[ -n "$LINK_SET" ] || LINK=vxlan
		[ "$LINK" = vxlan ] || die "--hosts needs --link vxlan"
		[ -z "$DELAY" ] || die "--delay and --loss are for two agents; with --hosts use --impair"
		[ $((HOSTS * AGENTS)) -le 200 ] || die "hosts x agents: $((HOSTS * AGENTS)) agents, 200 at most"
		for s in "${IMPAIR[@]}"; do impair_parse "$s"; done
	else
		[ "${#IMPAIR[@]}" = 0 ] || die "--impair needs --hosts"
	fi
	{ [ -z "$PROM$RUN" ] || [ "$LINK" = vxlan ]; } || die "--prometheus and --run-agents need --link vxlan"
	[ "$(id -u)" = 0 ] || die "must run as root"
	[ ! -s "$OBJ" ] || die "a topology is already up (run env/clean.sh first)"
	DP=$(datapath_type)
	if [ -n "$HOSTS" ]; then up_fleet; else "up_$LINK"; fi
	[ -z "$RUN" ] || run_agents "$RUN_AGENTS"
	[ -z "$PROM" ] || prom_up
	echo "$LINK $DP ovs=${INSTANCES// /,} hosts=${HOSTS:-2} agents=$(agents_total) delay=${DELAY:-none}" \
		"loss=$LOSS ip=$IPF" >"$STATE/topology"
	note "up in $((SECONDS - t0)) s: $(cat "$STATE/topology")"
	if [ -n "$HOSTS" ]; then
		note "bridges: ovs-vsctl --db=unix:$STATE/ovs-pk-hvN/db.sock show (N = 1..$HOSTS);" \
			"agents and their hosts: $STATE/agents"
	else
		for i in $INSTANCES; do note "bridges: $(show_cmd "$i")"; done
	fi
}

agents_total() { if [ -n "$HOSTS" ]; then echo $((HOSTS * AGENTS)); else echo "$AGENTS"; fi; }

cmd_down() {
	local kind what
	[ -f "$OBJ" ] || { note "nothing to remove"; rm -rf "$STATE"; return 0; }
	tac "$OBJ" | awk '!seen[$0]++' | while read -r kind what; do
		case $kind in
		pid)
			if alive "$what"; then
				kill "$(cat "$what" 2>/dev/null)" 2>/dev/null || true
				for _ in $(seq 50); do alive "$what" || break; sleep 0.1; done
			fi ;;
		ovs) ovs_down "$what" & ;; # the instances stop in parallel
		sysbr) sys_bridge_down "$what" ;;
		sysovs) sys_stop ;;
		file) rm -f "$what" ;;
		sysctl) sysctl -qw "${what% *}=${what#* }" 2>/dev/null || true ;;
		dir) rmdir "$what" 2>/dev/null || true ;;
		netns) wait; ip netns del "$what" 2>/dev/null || true ;;
		esac
	done
	rm -rf "$STATE"
	note "down: removed everything recorded"
}

cmd_status() {
	[ -f "$STATE/topology" ] && cat "$STATE/topology" || echo "no topology"
	[ -f "$OBJ" ] && sort -u "$OBJ"
	return 0
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down ;;
status) cmd_status ;;
impair) shift; cmd_impair "$@" ;;
*) die "usage: topo.sh up [--ip 4|6|46] [--link patch|vxlan] [--agents N] [--ovs auto|system|private]" \
	"[--delay A,B] [--loss PCT] [--jitter J] [--emu auto|netem|linkemu] [--hosts H] [--impair SPEC]..." \
	"[--run-agents ARGS] [--metrics-port N] [--prometheus] [--scrape-interval DUR]" \
	"| impair hvA-hvB:FIGURES|none ... | down | status" ;;
esac
