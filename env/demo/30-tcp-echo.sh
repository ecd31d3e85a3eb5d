#!/usr/bin/env bash
# Demo: tcp-echo client against its own server on loopback: an RTT session,
# a throughput session and a small sweep with a plot.
set -euo pipefail
bin=${PK_BUILD_DIR:?}/tcp-echo/tcp-echo
out=$(mktemp)
plot=${PK_DEMO_OUT:-$(mktemp -d)}/tcp-echo-sweep.png
trap 'rm -f "$out"' EXIT

echo "=== tcp-echo: server on loopback (port 0), RTT session of 10 x 1000-byte probes, 5 ms server delay ==="
"$bin" server -p 0 >"$out" &
srv=$!
# wait for the server's first line, which carries its port
for _ in $(seq 100); do
	grep -q 'listening on' "$out" && break
	sleep 0.05
done
port=$(sed -n 's/.*listening on .*:\([0-9]*\) .*/\1/p' "$out" | head -1)
"$bin" client -p "$port" -m rtt -s 1000 -n 10 -d 5ms 127.0.0.1 || true
echo
echo "--- throughput session over IPv6: 200 probes of 32 KiB, 16 in flight (summary only) ---"
"$bin" client -q -p "$port" -m ttput -s 32K -n 200 --window 16 ::1 || true
echo
echo "--- sweep: throughput sizes 1K..32K x server delays 0 and 2 ms, 10 probes each ---"
"$bin" client -q -p "$port" --sweep -m ttput --delays 0,2ms -n 10 --plot "$plot" 127.0.0.1 || true
echo "plot: $plot"
kill -TERM "$srv"
wait "$srv" || true
echo
echo "--- the server's log ---"
tail -n 12 "$out"
echo
