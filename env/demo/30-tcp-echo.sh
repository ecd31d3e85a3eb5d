#!/usr/bin/env bash
# Demo: tcp-echo client against its own server on loopback: an RTT session,
# a throughput session, then seed 002's experiment in one command (its own
# server, a small grid), into a directory that is kept: report.md, the CSVs,
# the JSON and the figures.
set -euo pipefail
bin=${PK_BUILD_DIR:?}/tcp-echo/tcp-echo
out=$(mktemp)
expdir=${PK_DEMO_OUT:-$PK_BUILD_DIR}/probekit-experiment
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
"$bin" client -p "$port" -m rtt -s 1000 -c 10 -d 5ms 127.0.0.1 || true
echo
echo "--- throughput session over IPv6: 200 probes of 32 KiB, 16 in flight (summary only) ---"
"$bin" client -q -p "$port" -m ttput -s 32K -n 200 --window 16 ::1 || true
echo
kill -TERM "$srv"
wait "$srv" || true
echo
echo "--- the server's log ---"
tail -n 12 "$out"
echo
echo "--- the experiment: rtt 1..1000 B and ttput 1K..32K x server delays 0, 20, 50 ms, 10 probes each (about 9 s) ---"
# --force: a second demo run replaces the first one's files
"$bin" experiment -q --force --delays 0,20ms,50ms -n 10 -o "$expdir" || true
echo
sed -n '/^## Effect of the server delay/,/^## RTT mode/p' "$expdir/report.md" | sed '$d'
echo "results kept in $expdir/ (open report.md; figures rtt.png, ttput.png)"
