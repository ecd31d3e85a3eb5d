#!/usr/bin/env bash
# Demo: udp-ping client against its own server on loopback (30% loss).
set -euo pipefail
bin=${PK_BUILD_DIR:?}/udp-ping/udp-ping
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "=== udp-ping: server with the pinger assignment's 30% simulated loss, client sends 10 pings ==="
"$bin" server -p 0 -q --seed 2024 >"$out" &
srv=$!
# wait for the server's first line, which carries its port
for _ in $(seq 100); do
	grep -q 'listening on' "$out" && break
	sleep 0.05
done
port=$(sed -n 's/.*listening on .*:\([0-9]*\),.*/\1/p' "$out")
"$bin" client -c 10 -i 200ms -W 200ms -p "$port" 127.0.0.1 || true
echo
echo "--- the same over IPv6, 200 pings at 5 ms, as JSON (summary only) ---"
"$bin" client -J -c 200 -i 5ms -W 500ms -p "$port" ::1 |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["summary"], indent=1))' || true
echo
echo "--- 6 pings as JSON Lines, each record as it happens (--json-stream; lines cut at 150) ---"
"$bin" client --json-stream -c 6 -i 100ms -W 200ms -p "$port" 127.0.0.1 2>/dev/null | cut -c1-150 || true
kill -TERM "$srv"
wait "$srv" || true
tail -n 2 "$out"
echo
