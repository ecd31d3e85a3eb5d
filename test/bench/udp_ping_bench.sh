#!/usr/bin/env bash
# udp-ping benchmark: side by side in one run on loopback, ratios printed.
#   bash test/bench/udp_ping_bench.sh            (or: env/run.sh bench)
# Environment: PK_BUILD_DIR (build dir), PK_BENCH_CPUS="C S" (client and
# server CPUs, default "0 0": sharing a vCPU; "0 1" shows the cost of waking
# a halted vCPU), PK_BENCH_SECS (schedule test length, default 10).
# Every load is bounded in count and time and sent to 127.0.0.1 only.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.bash"
secs=${PK_BENCH_SECS:-10}
bin=$build/udp-ping/udp-ping
bench_need irtt fping hyperfine
for c in udp_floor_client udp_min_server udp_loadgen; do
	gcc -O2 -D_GNU_SOURCE -o "$work/$c" "$root/test/bench/$c.c"
done

jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "udp-ping benchmark on $(nproc) vCPUs, $(uname -r); client on CPU $ccpu, server on CPU $scpu"
echo

# 1. Paced accuracy at 1 ms
start_bg "$scpu" "$work/srv.log" "$bin" server -p 0 -q --loss 0 --rate-limit 0
n=3000
taskset -c "$ccpu" "$bin" client -J -c $n -i 1ms -p "$port" 127.0.0.1 >"$work/ours.json"
ours_p50=$(jget "$work/ours.json" 'd["summary"]["rtt_ms"]["p50"]*1000')
ours_p99=$(jget "$work/ours.json" 'd["summary"]["rtt_ms"]["p99"]*1000')
floor=$(taskset -c "$ccpu" "$work/udp_floor_client" 127.0.0.1 "$port" $n 1000)
floor_p50=$(sed -n 's/.*median \([0-9.]*\) us.*/\1/p' <<<"$floor")
floor_p99=$(sed -n 's/.*p99 \([0-9.]*\) us.*/\1/p' <<<"$floor")
stop_bg
echo "1. paced RTT, $n pings at 1 ms on 127.0.0.1"
printf '   %-34s median %8.1f us   p99 %8.1f us\n' "floor (C, clock_nanosleep)" "$floor_p50" "$floor_p99"
printf '   %-34s median %8.1f us   p99 %8.1f us   median %s of floor\n' "udp-ping client" \
	"$ours_p50" "$ours_p99" "$(ratio "$ours_p50" "$floor_p50")"
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

# 4. Start, one ping, exit
echo "4. start, one ping, exit (hyperfine, 500 runs each, mean)"
start_bg "$scpu" "$work/srv.log" "$bin" server -p 0 -q --loss 0 --rate-limit 0
if command -v hyperfine >/dev/null && command -v fping >/dev/null; then
	hyperfine -N --warmup 50 -r 500 --export-json "$work/hf.json" \
		"taskset -c $ccpu $bin client -q -c 1 -p $port 127.0.0.1" \
		"taskset -c $ccpu fping -q -c 1 127.0.0.1" >/dev/null 2>&1
	python3 - "$work/hf.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ours, fp = r[0]["mean"] * 1e3, r[1]["mean"] * 1e3
print("   %-34s mean %.3f ms (sd %.3f)" % ("udp-ping client -c 1", ours, r[0]["stddev"] * 1e3))
print("   %-34s mean %.3f ms (sd %.3f)   udp-ping %.2fx of fping" % ("fping -c 1", fp, r[1]["stddev"] * 1e3, ours / fp))
PY
else
	echo "   (hyperfine or fping missing: skipped)"
fi
stop_bg
