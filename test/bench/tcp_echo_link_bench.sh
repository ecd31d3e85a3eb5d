#!/usr/bin/env bash
# tcp-echo's sweep over an emulated link: what the fit recovers against what
# linkemu injects. As root:
#   bash test/bench/tcp_echo_link_bench.sh            (or: env/run.sh bench)
# env/link.sh makes pk-link-a (client) - linkemu - pk-link-b (server); each
# run sweeps -m rtt (-n 30) and -m ttput (-n 10) at server delays 0 and 50 ms,
# first with linkemu at 0 ms and no rate (the baseline), then at
# PK_BENCH_RATE (default 20M) and PK_BENCH_DELAY (default 5ms) each way.
# Expected figures: the baseline's fit plus the link's as the tool measures it
# (test/netns/nsutil.py echo_link_model: two crossings, 66 header bytes per
# TCP segment of at most 1448 payload bytes). Environment: PK_BUILD_DIR,
# PK_BENCH_RUNS (default 3), PK_BENCH_RT (1, default: client and server
# under chrt -f 20; 0: as plain processes). Traffic stays in the namespaces;
# link.sh down removes them at exit.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=bench_lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.bash"
runs=${PK_BENCH_RUNS:-3}
rate=${PK_BENCH_RATE:-20M}
delay=${PK_BENCH_DELAY:-5ms}
bin=$build/tcp-echo/tcp-echo
link=$root/env/link.sh
export LINKEMU=$build/env/linkemu
if [ "$(id -u)" -ne 0 ]; then echo "tcp_echo_link_bench: needs root (namespaces); skipped"; exit 0; fi
if [ ! -x "$bin" ] || [ ! -x "$LINKEMU" ]; then echo "build first: $bin, $LINKEMU" >&2; exit 2; fi
rt=()
[ "${PK_BENCH_RT:-1}" = 0 ] || ! chrt -f 20 true 2>/dev/null || rt=(chrt -f 20)
link_down() { "$link" down >/dev/null 2>&1 || true; }
trap 'bench_cleanup; link_down' EXIT

link_down
"$link" up -q --initcwnd 32
ip netns exec pk-link-b "${rt[@]}" "$bin" server -p 0 -q >"$work/srv.log" 2>&1 &
pids+=($!)
for _ in $(seq 250); do
	port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p' "$work/srv.log" | head -1)
	[ -n "$port" ] && break
	sleep 0.02
done
[ -n "$port" ] || { cat "$work/srv.log" >&2; exit 2; }

sweep() { # sweep MODE N OUT
	ip netns exec pk-link-a "${rt[@]}" "$bin" client --sweep -m "$1" -n "$2" --delays 0,50ms \
		-p "$port" -J 10.201.0.2 >"$3"
}

echo "tcp-echo sweep over linkemu: $rate and $delay each way, against a 0 ms / no-rate baseline"
echo "on $(nproc) vCPUs, $(uname -r); endpoints ${rt[*]:-without chrt}; $runs runs"
for r in $(seq "$runs"); do
	"$link" up -q --initcwnd 32
	sweep rtt 30 "$work/base-rtt-$r.json"; sweep ttput 10 "$work/base-ttput-$r.json"
	"$link" up -q --initcwnd 32 --rate "$rate" --delay "$delay"
	sweep rtt 30 "$work/link-rtt-$r.json"; sweep ttput 10 "$work/link-ttput-$r.json"
done

python3 - "$work" "$runs" "$rate" "$delay" "$root/test/netns" <<'EOF'
import json, sys
work, runs, rate_s, delay_s, nsdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sys.path.insert(0, nsdir)
from nsutil import echo_link_model, line_fit

def num(s, units):
    for u, m in units:
        if s.endswith(u):
            return float(s[:-len(u)]) * m
    return float(s)

rate = num(rate_s, (("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9)))
delay = num(delay_s, (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1)))

def fits(path):
    doc = json.load(open(path))
    out = {}
    for f in doc["summary"]["fit"]:
        d = f["server_delay_s"]
        ss = [s for s in doc["samples"] if s["server_delay_s"] == d]
        a, b, _, _ = line_fit([s["size_bytes"] for s in ss], [s["rtt_ms"] for s in ss])
        pts = [q for q in doc["summary"]["points"] if q["server_delay_s"] == d]
        _, b50, _, _ = line_fit([q["size_bytes"] for q in pts], [q["rtt_ms"]["p50"] for q in pts])
        out[d] = (f, a, b, sorted({s["size_bytes"] for s in ss}), b50)
    return out

print("\ninjected: %g Mbit/s each way (payload figure of a one-segment echo: rate/2 = %g),"
      " round trip %g ms" % (rate / 1e6, rate / 2e6, 2e3 * delay))
print("%-5s %5s %3s  %9s %9s %7s %7s %7s  %9s %9s %9s %7s" % (
    "mode", "delay", "run", "bw Mbit/s", "want", "ratio", "of r/2", "p50fit", "a ms", "baseline",
    "want", "error"))
summary = {}
for mode, n in (("rtt", 30), ("ttput", 10)):
    for r in range(1, runs + 1):
        base, link = fits("%s/base-%s-%d.json" % (work, mode, r)), fits("%s/link-%s-%d.json" % (work, mode, r))
        for d in sorted(link):
            f, _, _, sizes, b50 = link[d]
            _, a0, b0, _, b50_0 = base[d]
            ma, mb = echo_link_model(sizes, n, rate, delay)
            want_bw, want_a = 8e-3 / (b0 + mb), a0 + ma
            bw, a = f["bandwidth_mbps"] or float("nan"), f["base_latency_ms"]
            # p50fit: the same least squares over each point's median RTT
            # instead of every sample (not the tool's figure), over expected
            r50 = (8e-3 / b50) / (8e-3 / (b50_0 + mb))
            print("%-5s %3.0fms %3d  %9.3f %9.3f %7.4f %7.4f %7.4f  %9.3f %9.3f %9.3f %+7.3f" % (
                mode, d * 1e3, r, bw, want_bw, bw / want_bw, bw / (rate / 2e6), r50, a, a0, want_a,
                a - want_a))
            summary.setdefault((mode, d), []).append((bw / want_bw, a - want_a, r50))
print("\nover %d runs: bandwidth / expected (goal within 5%%), base latency - expected (goal within 0.2 ms)" % runs)
for (mode, d), v in sorted(summary.items()):
    rs, es, ps = [x[0] for x in v], [x[1] for x in v], [x[2] for x in v]
    print("  -m %-5s delay %2.0f ms: ratio mean %.4f (%.4f..%.4f), error mean %+.3f ms (%+.3f..%+.3f);"
          " p50fit ratio %.4f..%.4f" % (mode, d * 1e3, sum(rs) / len(rs), min(rs), max(rs),
                                        sum(es) / len(es), min(es), max(es), min(ps), max(ps)))
EOF
