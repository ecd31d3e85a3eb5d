#!/usr/bin/env bash
# udp-ping benchmark: side by side in one run on loopback, ratios printed.
#   bash test/bench/udp_ping_bench.sh            (or: env/run.sh bench)
# Environment: PK_BUILD_DIR (build dir), PK_BENCH_CPUS="C S" (client and
# server CPUs, default "0 0": sharing a vCPU; "0 1" shows the cost of waking
# a halted vCPU), PK_BENCH_SECS (schedule test length, default 10),
# PK_BENCH_SEGS (segments of the paced test, default 6), PK_BENCH_ROUNDS
# (hyperfine rounds of the start-up test, default 15, of 20 runs each).
# Every load is bounded in count and time and sent to 127.0.0.1 only.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.bash"
secs=${PK_BENCH_SECS:-10}
bin=$build/udp-ping/udp-ping
# irtt is used when present, never installed here: its package brings a
# systemd unit (irtt.service) whose warning fails package_deb's
# systemd-analyze verify on the same machine
bench_need fping hyperfine
for c in udp_floor_client udp_min_server udp_loadgen; do
	gcc -O2 -D_GNU_SOURCE -o "$work/$c" "$root/test/bench/$c.c"
done
# the start-up floor: static, numeric address, no stdio
gcc -O2 -static -D_GNU_SOURCE -o "$work/udp_oneshot_min" "$root/test/bench/udp_oneshot_min.c"
# an empty main, static and dynamic with udp-ping's shared libraries: the
# dynamic loader's share of a start
echo 'int main(void) { return 0; }' >"$work/empty.c"
gcc -O2 -static -o "$work/empty_static" "$work/empty.c"
# shellcheck disable=SC2046
gcc -O2 -o "$work/empty_dynamic" "$work/empty.c" -Wl,--no-as-needed \
	$(ldd "$bin" | awk '/=>/ && $1 !~ /^(libc|ld-linux)/ { sub(/\.so.*/, "", $1); sub(/^lib/, "-l", $1); print $1 }')

jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "udp-ping benchmark on $(nproc) vCPUs, $(uname -r); client on CPU $ccpu, server on CPU $scpu"
echo

# 1. Paced accuracy at 1 ms: udp-ping and the floor against the same server,
# in alternating segments (ours first, then the floor first, ...) so that a
# noisy neighbour on a shared VM falls on both; the first 2 pings of each
# segment (a cold start) are left out of both.
start_bg "$scpu" "$work/srv.log" "$bin" server -p 0 -q --loss 0 --rate-limit 0
n=3000
segs=${PK_BENCH_SEGS:-6}
per=$((n / segs))
for s in $(seq "$segs"); do
	order="ours floor"
	[ $((s % 2)) -eq 0 ] && order="floor ours"
	for who in $order; do
		if [ "$who" = ours ]; then
			taskset -c "$ccpu" "$bin" client -J -c "$per" -i 1ms -p "$port" 127.0.0.1 \
				>"$work/ours.$s.json" 2>>"$work/ours.err"
		else
			taskset -c "$ccpu" "$work/udp_floor_client" 127.0.0.1 "$port" "$per" 1000 \
				"$work/floor.$s.txt" >/dev/null
		fi
	done
done
stop_bg
echo "1. paced RTT, $n pings at 1 ms on 127.0.0.1 ($segs alternating segments)"
read -r floor_p50 ours_p50 < <(python3 - "$work" "$segs" <<'PY'
import json, sys
work, segs = sys.argv[1], int(sys.argv[2])
ours, floor = [], []
for s in range(1, segs + 1):
    d = json.load(open("%s/ours.%d.json" % (work, s)))
    ours += [x["rtt_ms"] * 1e3 for x in d["samples"] if x["status"] == "ok" and x["seq"] > 2]
    floor += [int(l) / 1e3 for l in open("%s/floor.%d.txt" % (work, s)).read().split()[2:]]
def dist(v):
    v = sorted(v)
    n = len(v)
    return [v[n // 2], v[int(n * .9)], v[int(n * .99)], v[int(n * .999)], v[-1]]
f, o = dist(floor), dist(ours)
fmt = "   %-27s %5d  p50 %7.1f  p90 %7.1f  p99 %7.1f  p99.9 %7.1f  max %8.1f us"
sys.stderr.write(fmt % (("floor (C, clock_nanosleep)", len(floor)) + tuple(f)) + "\n")
sys.stderr.write(fmt % (("udp-ping client", len(ours)) + tuple(o)) + "\n")
sys.stderr.write("   udp-ping / floor: p50 %.2fx, p99 %.2fx\n" % (o[0] / f[0], o[2] / f[2]))
print(f[0], o[0])
PY
)
if command -v irtt >/dev/null; then
	# irtt's server refuses intervals under 10 ms unless told (-i 0)
	start_bg "$scpu" "$work/irtt-srv.log" irtt server -b 127.0.0.1:0 -i 0
	taskset -c "$ccpu" irtt client -Q -i 1ms -d 3s -o "$work/irtt.json" "127.0.0.1:$port" || true
	stop_bg
	irtt_p50=$(jget "$work/irtt.json" 'd["stats"]["rtt"]["median"]/1000')
	printf '   %-34s median %8.1f us                   median %s of floor\n' "irtt client -i 1ms" \
		"$irtt_p50" "$(ratio "$irtt_p50" "$floor_p50")"
fi
echo

# 2. Send schedule at 100 us
start_bg "$scpu" "$work/srv.log" "$bin" server -p 0 -q --loss 0 --rate-limit 0
asked=$((secs * 10000))
taskset -c "$ccpu" "$bin" client -J -q -c $asked -i 100us -W 100ms -p "$port" 127.0.0.1 >"$work/sched.json"
stop_bg
made=$(jget "$work/sched.json" 'd["summary"]["transmitted"]')
el=$(jget "$work/sched.json" 'd["summary"]["elapsed_ms"]')
echo "2. send schedule: -i 100us for ${secs} s"
python3 - "$made" "$asked" "$el" <<'PY'
import sys
made, asked, el = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
mean_us = el * 1000 / (made - 1)
print("   udp-ping client: %d sends of %d asked (%.4f), mean interval %.3f us (error %+.4f%%)"
      % (made, asked, made / asked, mean_us, 100 * (mean_us - 100) / 100))
PY
if command -v irtt >/dev/null; then
	start_bg "$scpu" "$work/irtt-srv.log" irtt server -b 127.0.0.1:0 -i 0
	taskset -c "$ccpu" irtt client -Q -i 100us -d "${secs}s" -o "$work/irtt2.json" "127.0.0.1:$port" || true
	stop_bg
	python3 - "$work/irtt2.json" "$asked" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["stats"]
made, asked = d["packets_sent"], int(sys.argv[2])
print("   irtt client -i 100us:  %d sends of %d asked (%.4f)" % (made, asked, made / asked))
PY
fi
echo

# 3. Server capacity
echo "3. server capacity: closed loop, 256 in flight, 5 s each"
start_bg "$scpu" "$work/srv.log" "$bin" server -p 0 -q --loss 0 --rate-limit 0
ours=$(taskset -c "$ccpu" "$work/udp_loadgen" 127.0.0.1 "$port" 256 5 | awk '{print $1}')
stop_bg
start_bg "$scpu" "$work/min.log" "$work/udp_min_server" 0
mini=$(taskset -c "$ccpu" "$work/udp_loadgen" 127.0.0.1 "$port" 256 5 | awk '{print $1}')
stop_bg
printf '   %-34s %10s echoes/s\n' "minimal recvmmsg/sendmmsg server" "$mini"
printf '   %-34s %10s echoes/s   %s of minimal\n' "udp-ping server -q" "$ours" "$(ratio "$ours" "$mini")"
echo

# 4. Start, one ping, exit: udp-ping against the least program that does it
# (static, numeric address), hyperfine pinned as a whole (its children
# inherit the CPU: no taskset in the measured command), in short rounds
# that alternate the order (this VM has slow and fast periods of a second or
# so); the median of the rounds' medians. The split: the
# dynamic loader (an empty main linked with udp-ping's shared libraries
# against a static one) and the resolver (localhost against 127.0.0.1).
rounds=${PK_BENCH_ROUNDS:-15}
echo "4. start, one ping, exit (hyperfine, $rounds rounds of 20 runs each, median)"
start_bg "$scpu" "$work/srv.log" "$bin" server -p 0 -q --loss 0 --rate-limit 0
if command -v hyperfine >/dev/null; then
	cmds=("$work/udp_oneshot_min 127.0.0.1 $port" "$bin client -q -c 1 -p $port 127.0.0.1"
	      "$bin client -q -c 1 -p $port localhost" "$work/empty_static" "$work/empty_dynamic")
	command -v fping >/dev/null && cmds+=("$(command -v fping) -q -c 1 127.0.0.1")
	for r in $(seq "$rounds"); do
		if [ $((r % 2)) -eq 0 ]; then
			ordered=(); for ((k = ${#cmds[@]} - 1; k >= 0; k--)); do ordered+=("${cmds[k]}"); done
		else
			ordered=("${cmds[@]}")
		fi
		taskset -c "$ccpu" hyperfine -N --warmup 3 -r 20 --export-json "$work/hf.$r.json" \
			"${ordered[@]}" >/dev/null 2>&1
	done
	python3 - "$work" "$rounds" "${cmds[@]}" <<'PY'
import json, statistics, sys
work, rounds, cmds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
meds = {c: [] for c in cmds}
for r in range(1, rounds + 1):
    for x in json.load(open("%s/hf.%d.json" % (work, r)))["results"]:
        meds[x["command"]].append(x["median"] * 1e3)
m = [statistics.median(meds[c]) for c in cmds]
names = ["floor: static one-shot client", "udp-ping client -c 1 127.0.0.1",
         "udp-ping client -c 1 localhost", "empty main, static", "empty main, udp-ping's libs",
         "fping -c 1 (reference)"]
for name, v, c in zip(names, m, cmds):
    print("   %-34s %.3f ms (rounds %.3f..%.3f)" % (name, v, min(meds[c]), max(meds[c])))
# the VM has fast and slow periods: ratios and differences within a round,
# then their median over the rounds
def per_round(f):
    return statistics.median(f(*[meds[c][r] for c in cmds[:5]]) for r in range(rounds))
print("   per round, median: udp-ping %.2fx of the floor; dynamic loader %.3f ms, resolver"
      " (localhost) %.3f ms," % (per_round(lambda fl, o, ol, st, dy: o / fl),
                                 per_round(lambda fl, o, ol, st, dy: dy - st),
                                 per_round(lambda fl, o, ol, st, dy: ol - o)))
print("   the rest (set-up, first send, reply, exit) %.3f ms against the floor's %.3f ms"
      % (per_round(lambda fl, o, ol, st, dy: o - dy), per_round(lambda fl, o, ol, st, dy: fl - st)))
PY
else
	echo "   (hyperfine missing: skipped)"
fi
stop_bg
