#!/usr/bin/env bash
# tcp-echo benchmark: side by side in one run on loopback, ratios printed.
#   bash test/bench/tcp_echo_bench.sh            (or: env/run.sh bench)
# Environment: PK_BUILD_DIR (build dir), PK_BENCH_CPUS="C S" (client and
# server CPUs, default "0 0": sharing a vCPU, as a ping-pong floor is usually
# measured; "0 1" adds the ~45 us wake-up of a halted vCPU), PK_BENCH_RUNS
# (repeats of our and the minimal programs' runs, median shown, default 3),
# PK_BENCH_ROUNDS (sections 1 and 2: rounds of the minimal program and ours,
# each against a fresh server, the order alternating, default 7; the ratio
# shown is the median of the rounds' ratios, so a neighbour's burst falls on
# both), PK_BENCH_SESSIONS (server scale, default 10000), PK_BENCH_SECS (default 10),
# PK_BENCH_SECTIONS (which of 1,2,3 to run, default all), and for section 3:
# PK_BENCH_SCALE_RUNS (runs of each server, alternating, median shown;
# default PK_BENCH_RUNS), PK_BENCH_PAIRED_RUNS (runs of both servers side by
# side, default the same), PK_BENCH_RT (the SCHED_FIFO priority of the server
# and the generator when root, default 20; 0: ordinary scheduling),
# PK_BENCH_TRACE_DIR (keep each run's per-probe trace, tcp_echo_load's
# PK_LOAD_TRACE, there), PK_BENCH_CANARY=1 (count the machine's stalls in
# each run: tcp_echo_load's PK_LOAD_CANARY).
# Every load is bounded in count and time and sent to 127.0.0.1 only.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.bash"
runs=${PK_BENCH_RUNS:-3}
sessions=${PK_BENCH_SESSIONS:-10000}
secs=${PK_BENCH_SECS:-10}
bin=$build/tcp-echo/tcp-echo
bench_need sockperf qperf iperf3
rounds_n=${PK_BENCH_ROUNDS:-7}
want() { case ",${PK_BENCH_SECTIONS:-1,2,3}," in *",$1,"*) return 0 ;; esac; return 1; }
for c in tcp_echo_min tcp_echo_load tcp_echo_epoll_min; do
	gcc -O2 -D_GNU_SOURCE -o "$work/$c" "$root/test/bench/$c.c"
done
ulimit -n $((2 * sessions + 256)) 2>/dev/null || true

# start_fixed CPU PORT CMD...: a third-party server on a port we chose.
start_fixed() {
	local cpu=$1
	port=$2
	shift 2
	taskset -c "$cpu" "$@" >"$work/fixed.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	for _ in $(seq 250); do
		ss -ltn "sport = :$port" | grep -q LISTEN && return 0
		sleep 0.02
	done
	return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# our client's figures from its text summary
ours_rtt_us() { python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["rtt_ms"]["avg"]*1000)'; }
ours_goodput() { sed -n 's/.*goodput \([0-9.]*\) Mbit.*/\1/p'; }
# "latency = 7.69 us" (qperf), any unit, to us
to_us() { awk '{v=$1; u=$2; if (u=="ns") v/=1000; else if (u=="ms") v*=1000; else if (u=="sec"||u=="s") v*=1e6; print v}'; }

echo "tcp-echo benchmark on $(nproc) vCPUs, $(uname -r); client on CPU $ccpu, server on CPU $scpu;"
echo "sections 1-2: $rounds_n rounds of the minimal C program and tcp-echo (order alternating),"
echo "medians and the median of the rounds' ratios; one run for the others"
echo

# Sections 1 and 2 compare like with like: the minimal server's socket is
# IPv4 on 127.0.0.1, so tcp-echo's server is bound there too (-b 127.0.0.1;
# its default [::] socket serves IPv4 as v4-mapped, within the noise here).
# run_min MODE SIZE N [WIN] / run_ours MODE SIZE N [WIN]: one run against a
# fresh server of its own; prints the figure (mean RTT in us, or goodput
# in Mbit/s).
run_min() {
	start_bg "$scpu" "$work/min.log" "$work/tcp_echo_min" server
	case $1 in
	rtt) taskset -c "$ccpu" "$work/tcp_echo_min" pingpong 127.0.0.1 "$port" "$2" "$3" | awk '{print $1}' ;;
	ttput) taskset -c "$ccpu" "$work/tcp_echo_min" pingpong 127.0.0.1 "$port" "$2" "$3" | awk '{print $4}' ;;
	pipe) taskset -c "$ccpu" "$work/tcp_echo_min" pipe 127.0.0.1 "$port" "$2" "$3" "$4" ;;
	esac
	stop_bg
}
run_ours() {
	start_bg "$scpu" "$work/srv.log" "$bin" server -p 0 -b 127.0.0.1 -q
	case $1 in
	rtt) taskset -c "$ccpu" "$bin" client -J -n "$3" -s "$2" -p "$port" 127.0.0.1 | ours_rtt_us ;;
	ttput) taskset -c "$ccpu" "$bin" client -q -m ttput -s "$2" -n "$3" -p "$port" 127.0.0.1 | ours_goodput ;;
	pipe) taskset -c "$ccpu" "$bin" client -q -m ttput -s "$2" -n "$3" --window "$4" -p "$port" 127.0.0.1 | ours_goodput ;;
	esac
	stop_bg
}
# rounds ARGS...: $rounds_n rounds of run_min ARGS and run_ours ARGS, the
# order alternating; prints "minimal_median ours_median median_of_ratios"
rounds() {
	local r a b
	for r in $(seq "$rounds_n"); do
		if [ $((r % 2)) -eq 1 ]; then
			a=$(run_min "$@"); b=$(run_ours "$@")
		else
			b=$(run_ours "$@"); a=$(run_min "$@")
		fi
		echo "$a $b"
	done | python3 -c 'import sys, statistics as st
r = [list(map(float, l.split())) for l in sys.stdin if len(l.split()) == 2]
print("%.3f %.3f %.3f" % (st.median(x[0] for x in r), st.median(x[1] for x in r),
                          st.median(x[1] / x[0] for x in r)))'
}

# 1. RTT of stop-and-wait probes ------------------------------------------
if want 1; then
n=50000
echo "1. RTT, $n stop-and-wait probes (mean, us; sockperf/qperf print one-way latency: x2)"
for size in 1 1000; do
	read -r m o rr < <(rounds rtt "$size" $n)
	printf '   %5s B  %-36s %8.2f us\n' "$size" "minimal C ping-pong" "$m"
	printf '   %5s B  %-36s %8.2f us   %.2fx of minimal (rounds)\n' "$size" "tcp-echo client/server" "$o" "$rr"
	if command -v sockperf >/dev/null; then
		p=$(free_port)
		start_fixed "$scpu" "$p" sockperf sr --tcp -i 127.0.0.1 -p "$p"
		# sockperf's smallest message is 14 bytes (its header)
		s=$(taskset -c "$ccpu" sockperf pp --tcp -i 127.0.0.1 -p "$p" -m $((size < 14 ? 14 : size)) -t 3 2>&1 |
			sed -n 's/.*avg-latency=\([0-9.]*\).*/\1/p' | head -1 | awk '{print $1*2}')
		stop_bg
		[ -n "$s" ] && printf '   %5s B  %-36s %8.2f us   %s of minimal\n' "$size" \
			"sockperf ping-pong --tcp$([ "$size" -lt 14 ] && echo ' (14 B)')" "$s" "$(ratio "$s" "$m")"
	fi
	if command -v qperf >/dev/null; then
		p=$(free_port)
		start_fixed "$scpu" "$p" qperf -lp "$p"
		q=$(taskset -c "$ccpu" qperf 127.0.0.1 -lp "$p" -ip "$(free_port)" -m "$size" -t 3 tcp_lat 2>&1 |
			sed -n 's/.*latency *= *\([0-9.]*\) *\([a-z]*\).*/\1 \2/p' | to_us | awk '{print $1*2}')
		stop_bg
		[ -n "$q" ] && printf '   %5s B  %-36s %8.2f us   %s of minimal\n' "$size" "qperf tcp_lat" "$q" "$(ratio "$q" "$m")"
	fi
done
echo

fi

# 2. Throughput of 32 KiB probes ------------------------------------------
if want 2; then
echo "2. throughput of 32 KiB probes (goodput: echoed payload bits / time, Mbit/s)"
n=20000
read -r m o rr < <(rounds ttput 32768 $n)
read -r mp op rp < <(rounds pipe 32768 $((10 * n)) 16)
printf '   %-44s %10.0f Mbit/s\n' "minimal C stop-and-wait echo" "$m"
printf '   %-44s %10.0f Mbit/s   %.2fx of minimal (rounds)\n' "tcp-echo stop-and-wait (--window 1)" "$o" "$rr"
printf '   %-44s %10.0f Mbit/s\n' "minimal C pipelined echo, 16 in flight" "$mp"
printf '   %-44s %10.0f Mbit/s   %.2fx of minimal (rounds)\n' "tcp-echo --window 16" "$op" "$rp"
if command -v iperf3 >/dev/null; then
	p=$(free_port)
	start_fixed "$scpu" "$p" iperf3 -s -p "$p" -1
	i=$(taskset -c "$ccpu" iperf3 -c 127.0.0.1 -p "$p" -l 32K -N -t 3 -J 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6)' || echo "")
	stop_bg
	[ -n "$i" ] && printf '   %-44s %10.0f Mbit/s   (one way, no echo)\n' "iperf3 -l 32K -N" "$i"
fi
echo
fi

# 3. Server scale -----------------------------------------------------------
# The same generator and pinning against tcp-echo and a floor: a minimal
# epoll echo server (tcp_echo_epoll_min.c) that answers the generator's
# setup and termination as tcp-echo does and echoes the rest; what the
# floor shows is the generator's, the kernel's and the machine's share.
if want 3; then
# the load generator gets its own vCPU when there is one
lcpu=$ccpu
[ "$lcpu" = "$scpu" ] && [ "$(nproc)" -ge 2 ] && lcpu=$(( (scpu + 1) % $(nproc) ))
scale_runs=${PK_BENCH_SCALE_RUNS:-$runs}
# SCHED_FIFO for the server and the generator (as root): on a VM shared with
# other work, a CFS server or generator waits behind other processes for
# 1-2 ms at a time, a measurement of them rather than of the servers (in one
# CFS run, 122 of 242 stalls came with neither steal nor a late wake-up of a
# SCHED_FIFO canary on either vCPU); PK_BENCH_RT=0 for the ordinary
# scheduler. What FIFO cannot remove is the vCPU itself stalling (steal,
# others' kernel work on a PREEMPT_NONE kernel): see RESULTS.md.
rtprio=${PK_BENCH_RT-20}
if [ "$(id -u)" -ne 0 ] || ! command -v chrt >/dev/null; then rtprio=0; fi
rt=()
sched="ordinary scheduling"
if [ "${rtprio:-0}" != 0 ]; then
	rt=(chrt -f "$rtprio")
	sched="both SCHED_FIFO $rtprio"
fi
echo "3. server scale: $sessions sessions, each one 1-byte probe a second for $secs s"
echo "   (server on CPU $scpu, load generator on CPU $lcpu, $sched;"
echo "   $scale_runs runs of each server, alternating (the floor first in odd runs), median of each figure)"
# every session comes from loopback: lift the per-source cap (issue 10) where there is one
persrc=
if "$bin" server -h | grep -q -- --max-per-source; then persrc="--max-per-source 0"; fi
# PK_BENCH_CANARY=1: the generator's canaries (a SCHED_FIFO thread on each
# vCPU, tcp_echo_load's PK_LOAD_CANARY) count the stalls of the machine in
# each run
export PK_LOAD_CANARY=${PK_BENCH_CANARY:-0}
# scale_one NAME RUN CMD...: one run of the generator against CMD's server
scale_one() {
	local name=$1 r=$2 line trace=()
	shift 2
	[ -n "${PK_BENCH_TRACE_DIR:-}" ] && trace=(env "PK_LOAD_TRACE=$PK_BENCH_TRACE_DIR/scale-$name-$r.txt")
	# a log of its own: start_bg may read the log before the new server's
	# shell has truncated it, and take the last server's port from it
	start_bg "$scpu" "$work/scale-$name-$r.log" "${rt[@]}" "$@"
	line=$(taskset -c "$lcpu" "${trace[@]}" "${rt[@]}" "$work/tcp_echo_load" "$port" "$sessions" "$secs" "$spid" || true)
	stop_bg
	echo "name=$name run=$r $line" >>"$work/scale.txt"
}
# scale_pair RUN: both servers at once on the server's CPU, the generator's
# sessions shared between them (tcp_echo_load's paired mode): the stalls of
# a shared VM hit both alike
scale_pair() {
	local r=$1 p1 s1 line trace=()
	[ -n "${PK_BENCH_TRACE_DIR:-}" ] && trace=(env "PK_LOAD_TRACE=$PK_BENCH_TRACE_DIR/scale-pair-$r.txt")
	start_bg "$scpu" "$work/pair-floor-$r.log" "${rt[@]}" "$work/tcp_echo_epoll_min"
	p1=$port s1=$spid
	# shellcheck disable=SC2086
	start_bg "$scpu" "$work/pair-ours-$r.log" "${rt[@]}" "$bin" server -p 0 -q --max-conns $((sessions + 16)) $persrc
	line=$(taskset -c "$lcpu" "${trace[@]}" "${rt[@]}" "$work/tcp_echo_load" "$p1,$port" "$sessions" "$secs" "$s1,$spid" || true)
	stop_bg
	stop_bg
	printf '%s\n' "$line" | sed "s/^server=1 /name=pfloor run=$r /; s/^server=2 /name=pours run=$r /" >>"$work/scale.txt"
}
: >"$work/scale.txt"
# alternating, the floor first in odd runs and tcp-echo first in even ones
scale_ours() {
	# shellcheck disable=SC2086
	scale_one ours "$1" "$bin" server -p 0 -q --max-conns $((sessions + 16)) $persrc
}
for r in $(seq "$scale_runs"); do
	if [ $((r % 2)) -eq 0 ]; then scale_ours "$r"; fi
	scale_one floor "$r" "$work/tcp_echo_epoll_min"
	if [ $((r % 2)) -eq 1 ]; then scale_ours "$r"; fi
done
for r in $(seq "${PK_BENCH_PAIRED_RUNS:-$scale_runs}"); do
	scale_pair "$r"
done
python3 - "$work/scale.txt" <<'PY'
import statistics, sys
runs = {"floor": [], "ours": [], "pfloor": [], "pours": []}
for line in open(sys.argv[1]):
    kv = dict(x.split("=", 1) for x in line.split())
    if "p50_us" in kv:
        runs[kv["name"]].append(kv)
    else:
        print("   %s run %s: load generator failed" % (kv["name"], kv["run"]))
keys = ["p50_us", "p99_us", "p999_us", "max_us", "late_1ms", "late_10ms", "late_100ms",
        "other_cpu_ms"]
def med(name, k):
    v = [float(kv[k]) for kv in runs[name]]
    return statistics.median(v) if v else float("nan")
print("   %-22s %8s %8s %9s %9s %7s %7s %7s %9s" % ("server (median)", "p50 us", "p99 us",
      "p99.9 us", "max us", ">1ms", ">10ms", ">100ms", "other ms"))
label = {"floor": "minimal epoll (floor)", "ours": "tcp-echo server",
         "pfloor": "  floor, paired", "pours": "  tcp-echo, paired"}
for name in ("floor", "ours", "pfloor", "pours"):
    if name == "pfloor" and runs[name]:
        print("   side by side: both servers at once, %s sessions each, the same stalls:"
              % runs[name][0]["sessions"])
    if runs[name]:
        print("   %-22s %8.1f %8.1f %9.1f %9.1f %7.0f %7.0f %7.0f %9.0f" % (
            (label[name],) + tuple(med(name, k) for k in keys)))
for f, o, how in (("floor", "ours", "one at a time"), ("pfloor", "pours", "side by side")):
    if runs[f] and runs[o]:
        print("   tcp-echo p99 / floor p99, %s: %.2fx (goal: 1.5x at most, no probe after 10 ms)"
              % (how, med(o, "p99_us") / med(f, "p99_us")))
print("   each run: p50/p99/p99.9/max us; late >1/>10/>100 ms; answered/probes; generator's sends")
print("   >1 ms behind; CPU ms during the probes: server/generator/other processes/steal")
for name in ("floor", "ours", "pfloor", "pours"):
    for kv in runs[name]:
        print("     %-6s %s/%s/%s/%s; %s/%s/%s; %s/%s; %s; %s/%s/%s/%s" % (name, kv["p50_us"],
              kv["p99_us"], kv["p999_us"], kv["max_us"], kv["late_1ms"], kv["late_10ms"],
              kv["late_100ms"], kv["answered"], kv["probes"], kv["send_late_1ms"],
              kv["server_cpu_ms"], kv["gen_cpu_ms"], kv["other_cpu_ms"], kv["steal_ms"]))
        if "canary_late_1ms" in kv:
            print("            canary: stalls over 1 ms %s, over 10 ms %s, worst %.1f ms" % (
                  kv["canary_late_1ms"], kv["canary_late_10ms"], float(kv["canary_max_us"]) / 1000))
for kv in runs["ours"][-1:]:
    print("   tcp-echo: sessions set up in %s s; server RSS %s KiB before, %s KiB with all idle"
          % (kv["open_s"], kv["rss_before_kb"], kv["rss_idle_kb"]))
    print("   memory per idle session: %s bytes in the server (user space), kernel TCP buffers %s bytes"
          % (kv["user_bytes_per_session"], kv["kernel_bytes_per_session"]))
PY
fi
