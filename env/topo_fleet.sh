# shellcheck shell=bash
# topo_fleet.sh: the fleet half of topo.sh, sourced by it (not run on its
# own): H hypervisor namespaces joined by a full mesh of VXLAN tunnels over
# an underlay bridge, A agents behind each, and the per-pair impairments.
# Uses topo.sh's STATE, IPF, HOSTS, AGENTS, die, note, record, nsx, netns,
# agent_ns, dir_loss and linkemu_path.
#
# Addresses: hypervisor N has the underlay address 192.0.2.N/24 on its veth
# `ul` (the other end, hvN, is a port of the Linux bridge br0 in namespace
# pk-ul) and its VTEP address 198.51.100.N/32 on lo; the VXLAN device
# vxlan100 (VNI 100, UDP 4789, local = the VTEP address) has one all-zeros
# FDB entry per remote VTEP, so broadcast and multicast are copied to every
# other hypervisor (head-end replication) and unicast follows the learnt
# entries. Each hypervisor reaches each remote VTEP by a /32 route: through
# the bridge (via 192.0.2.M dev ul), or, for an impaired pair, through the
# pair's own path: a veth from each of the two hypervisors (emuhvM) into
# namespace pk-emu, bridged there by a linkemu (hvA-B <-> hvB-A), with
# static neighbour entries. Changing an impairment only moves routes and
# restarts that pair's emulator; the tunnels and their FDB never change.

UL_NS=pk-ul EMU_NS=pk-emu

vtep() { echo "198.51.100.$1"; }

# each_host FN: FN N for every hypervisor N at once; fails (with the first
# failed call's status) when one did.
each_host() {
	local fn=$1 n p st rc=0 pids=()
	for n in $(seq "$HOSTS"); do "$fn" "$n" & pids+=("$!"); done
	for p in "${pids[@]}"; do
		st=0; wait "$p" || st=$?
		[ "$rc" != 0 ] || rc=$st
	done
	[ "$rc" = 0 ] || EXIT=$rc die "$fn failed on a hypervisor (see above)"
}

# agent_host I: the hypervisor of agent I (round robin: hv1 has 1, 1+H, ...)
agent_host() { echo $(( ($1 - 1) % HOSTS + 1 )); }

fleet_ns() { netns "pk-hv$1"; }

# fleet_underlay N: hvN's veth into the bridge, its addresses and routes.
fleet_underlay() {
	local n=$1 m ns="pk-hv$1"
	ip link add "hv$n" netns "$UL_NS" type veth peer name ul netns "$ns"
	nsx "$UL_NS" ip link set "hv$n" master br0 up
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	nsx "$ns" ip addr add "192.0.2.$n/24" dev ul
	nsx "$ns" ip link set ul mtu 1500 up
	nsx "$ns" ip addr add "$(vtep "$n")/32" dev lo
	nsx "$ns" ip link add vxlan100 type vxlan id 100 local "$(vtep "$n")" dstport 4789
	for m in $(seq "$HOSTS"); do
		[ "$m" != "$n" ] || continue
		nsx "$ns" ip route add "$(vtep "$m")/32" via "192.0.2.$m" dev ul
		nsx "$ns" bridge fdb append 00:00:00:00:00:00 dev vxlan100 dst "$(vtep "$m")"
	done
	nsx "$ns" ip link set vxlan100 mtu 1450 up
}

# fleet_switch N: hvN's Open vSwitch, its bridge ovsN with the tunnel and
# the agents of hvN.
fleet_switch() {
	local n=$1 i
	ovs_up "pk-hv$n"
	bridge "pk-hv$n" "ovs$n"
	vsctl "pk-hv$n" --may-exist add-port "ovs$n" vxlan100
	for i in $(seq "$n" "$HOSTS" "$((HOSTS * AGENTS))"); do
		agent_ns "$i" "pk-hv$n" "ovs$n" 1450
	done
}

# neigh_room: the kernel's neighbour tables (ARP, NDP) are one for all
# namespaces, 1024 entries by default (gc_thresh3), and a fleet's agents
# each hold one per peer: 32 agents need 992, more than the default leaves
# once the hypervisors' own are counted, and past it the kernel refuses new
# entries ("neighbor table overflow", the agents' sends fail with ENOBUFS).
# So the limits are raised for the fleet's life (down restores them).
neigh_room() {
	local total=$((HOSTS * AGENTS)) need fam t cur want
	need=$((total * total + HOSTS * HOSTS + 64))
	for fam in ipv4 ipv6; do
		for t in gc_thresh2:2 gc_thresh3:4; do
			cur=$(sysctl -n "net.$fam.neigh.default.${t%:*}")
			want=$((need * ${t#*:}))
			[ "$cur" -lt "$want" ] || continue
			record "sysctl net.$fam.neigh.default.${t%:*} $cur"
			sysctl -qw "net.$fam.neigh.default.${t%:*}=$want"
		done
	done
}

up_fleet() {
	local i n
	have_ovs
	neigh_room
	netns "$UL_NS"
	nsx "$UL_NS" ip link add br0 type bridge
	nsx "$UL_NS" ip link set br0 up
	for n in $(seq "$HOSTS"); do fleet_ns "$n"; done
	for i in $(seq "$((HOSTS * AGENTS))"); do netns "agent$i"; done
	each_host fleet_underlay
	each_host fleet_switch
	INSTANCES=$(for n in $(seq "$HOSTS"); do printf 'pk-hv%s ' "$n"; done)
	INSTANCES=${INSTANCES% }
	echo "$HOSTS" >"$STATE/hosts"
	: >"$STATE/agents"
	for i in $(seq "$((HOSTS * AGENTS))"); do
		echo "agent$i hv$(agent_host "$i") $(agent_addr "$i" 4)" >>"$STATE/agents"
	done
	for i in "${IMPAIR[@]}"; do impair_one "$i"; done
}

# ---- impairments ----------------------------------------------------------------

# impair_parse SPEC: sets PA PB (PA < PB) and EMU_ARGS (linkemu's
# arguments; empty for `none`), or dies.
impair_parse() {
	local spec=$1 pair figs kv k v a b l
	[[ $spec == *:* ]] || die "impair '$spec': want hvA-hvB:delay=DUR,jitter=DUR,loss=PCT,rate=BPS or hvA-hvB:none"
	pair=${spec%%:*} figs=${spec#*:}
	[[ $pair =~ ^hv([0-9]+)-hv([0-9]+)$ ]] || die "impair '$spec': the pair is hvA-hvB (e.g. hv1-hv2)"
	a=${BASH_REMATCH[1]} b=${BASH_REMATCH[2]}
	{ [ "$a" -ge 1 ] && [ "$a" -le "$HOSTS" ] && [ "$b" -ge 1 ] && [ "$b" -le "$HOSTS" ] && [ "$a" != "$b" ]; } ||
		die "impair '$spec': hosts are hv1..hv$HOSTS, two different ones"
	if [ "$a" -lt "$b" ]; then PA=$a PB=$b; else PA=$b PB=$a; fi
	EMU_ARGS=()
	[ "$figs" != none ] || return 0
	IFS=, read -r -a kv <<<"$figs"
	for k in "${kv[@]}"; do
		v=${k#*=} k=${k%%=*}
		case $k in
		delay | jitter)
			[[ $v =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || die "impair '$spec': $k '$v': want a duration (5ms)"
			EMU_ARGS+=("--$k" "$v") ;;
		loss)
			awk -v p="$v" 'BEGIN { exit !(p ~ /^[0-9.]+$/ && p >= 0 && p < 100) }' ||
				die "impair '$spec': loss '$v': want a percentage, 0 <= PCT < 100"
			l=$(dir_loss "$v")
			EMU_ARGS+=(--loss "$l%") ;;
		rate)
			[[ $v =~ ^[0-9]+(\.[0-9]+)?[kMG]?$ ]] || die "impair '$spec': rate '$v': want bits/s (20M)"
			EMU_ARGS+=(--rate "$v") ;;
		*) die "impair '$spec': '$k': want delay, jitter, loss or rate" ;;
		esac
	done
	[ "${#EMU_ARGS[@]}" -gt 0 ] || die "impair '$spec': nothing to set (or 'none')"
}

# route_pair A B VIA: A's and B's routes to each other's VTEP, through the
# bridge (VIA=ul) or the pair's emulated path (VIA=emu).
route_pair() {
	local a=$1 b=$2
	if [ "$3" = ul ]; then
		nsx "pk-hv$a" ip route replace "$(vtep "$b")/32" via "192.0.2.$b" dev ul
		nsx "pk-hv$b" ip route replace "$(vtep "$a")/32" via "192.0.2.$a" dev ul
	else
		nsx "pk-hv$a" ip route replace "$(vtep "$b")/32" dev "emuhv$b"
		nsx "pk-hv$b" ip route replace "$(vtep "$a")/32" dev "emuhv$a"
	fi
}

# emu_path A B: the pair's veths into pk-emu (made once, kept until down).
emu_path() {
	local a=$1 b=$2 ma mb
	[ -e "/run/netns/$EMU_NS" ] || netns "$EMU_NS"
	nsx "$EMU_NS" ip link show "hv$a-$b" >/dev/null 2>&1 && return 0
	ip link add "hv$a-$b" netns "$EMU_NS" type veth peer name "emuhv$b" netns "pk-hv$a"
	ip link add "hv$b-$a" netns "$EMU_NS" type veth peer name "emuhv$a" netns "pk-hv$b"
	nsx "$EMU_NS" ip link set "hv$a-$b" up
	nsx "$EMU_NS" ip link set "hv$b-$a" up
	nsx "pk-hv$a" ip link set "emuhv$b" mtu 1500 up
	nsx "pk-hv$b" ip link set "emuhv$a" mtu 1500 up
	ma=$(nsx "pk-hv$a" cat "/sys/class/net/emuhv$b/address")
	mb=$(nsx "pk-hv$b" cat "/sys/class/net/emuhv$a/address")
	nsx "pk-hv$a" ip neigh replace "$(vtep "$b")" lladdr "$mb" dev "emuhv$b" nud permanent
	nsx "pk-hv$b" ip neigh replace "$(vtep "$a")" lladdr "$ma" dev "emuhv$a" nud permanent
}

# emu_stop A B: the pair's emulator, if it runs.
emu_stop() {
	local pf="$STATE/linkemu-$1-$2.pid"
	ours "$pf" linkemu || return 0
	kill "$(cat "$pf")" 2>/dev/null || true
	for _ in $(seq 50); do ours "$pf" linkemu || break; sleep 0.1; done
}

# emu_start A B ARGS...: linkemu between the pair's veths.
emu_start() {
	local a=$1 b=$2 bin pf log bg
	shift 2
	pf="$STATE/linkemu-$a-$b.pid" log="$STATE/linkemu-$a-$b.log"
	bin=$(linkemu_path) || die "no linkemu binary (build it, or set LINKEMU)"
	record "file $log"
	record "pid $pf"
	: >"$log"
	rm -f "$pf"
	ip netns exec "$EMU_NS" setsid "$bin" "$@" --realtime --pidfile "$pf" "hv$a-$b" "hv$b-$a" \
		>"$log" 2>&1 </dev/null &
	bg=$!
	for _ in $(seq 100); do
		grep -q forwarding "$log" && [ -s "$pf" ] && break
		kill -0 "$bg" 2>/dev/null || break
		sleep 0.05
	done
	grep -q forwarding "$log" || die "linkemu (hv$a-hv$b) did not start: $(cat "$log")"
}

# impair_one SPEC: sets (or, with `none`, clears) one pair's impairment.
impair_one() {
	impair_parse "$1"
	local a=$PA b=$PB
	route_pair "$a" "$b" ul
	emu_stop "$a" "$b"
	if [ "${#EMU_ARGS[@]}" = 0 ]; then
		sed -i "/^hv$a-hv$b /d" "$STATE/impair" 2>/dev/null || true
		note "hv$a-hv$b: no impairment"
		return 0
	fi
	emu_path "$a" "$b"
	emu_start "$a" "$b" "${EMU_ARGS[@]}"
	route_pair "$a" "$b" emu
	record "file $STATE/impair"
	sed -i "/^hv$a-hv$b /d" "$STATE/impair" 2>/dev/null || true
	echo "hv$a-hv$b ${1#*:}" >>"$STATE/impair"
	note "hv$a-hv$b: ${1#*:} (linkemu ${EMU_ARGS[*]})"
}

cmd_impair() {
	[ "$(id -u)" = 0 ] || die "must run as root"
	[ $# -gt 0 ] || die "usage: topo.sh impair hvA-hvB:delay=DUR,jitter=DUR,loss=PCT,rate=BPS|none ..."
	[ -s "$STATE/hosts" ] || die "no fleet is up (topo.sh up --hosts H ...)"
	HOSTS=$(cat "$STATE/hosts")
	local s
	for s in "$@"; do impair_parse "$s"; done # all valid before any is applied
	for s in "$@"; do impair_one "$s"; done
}
