#!/usr/bin/env bash
# Demo: heartbeat client against its own server on loopback, a few seconds
# at a short interval, with the seeds' 30% simulated loss; then the server
# is stopped under a --keep-going client and started again on the same port.
set -euo pipefail
bin=${PK_BUILD_DIR:?}/heartbeat/heartbeat
out=$(mktemp)
out2=$(mktemp)
srv=
cleanup() {
	if [ -n "$srv" ]; then kill -TERM "$srv" 2>/dev/null || true; fi
	rm -f "$out" "$out2"
}
trap cleanup EXIT

wait_port() {	# file -> port from the server's first line
	for _ in $(seq 100); do
		grep -q 'listening on' "$1" && break
		sleep 0.05
	done
	sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$1" | head -n 1
}

echo "=== heartbeat: server with 30% simulated loss; client sends 40 heartbeats every 50 ms ==="
"$bin" server -p 0 -b 127.0.0.1 --seed 2024 --dead-after 500ms >"$out" &
srv=$!
port=$(wait_port "$out")
# --misses 6: at 30% loss K=3 trips by chance (the summary says how often)
"$bin" client -c 40 -i 50ms -W 50ms --misses 6 -p "$port" 127.0.0.1 || true
sleep 0.6   # past --dead-after: the server reports the client stopped
kill -TERM "$srv"
wait "$srv" || true
srv=
echo
echo "--- the server's view ---"
cat "$out"
echo

echo "=== server killed and restarted under a --keep-going client (20 ms interval) ==="
"$bin" server -p 0 -b 127.0.0.1 --loss 0 -q >"$out" &
srv=$!
port=$(wait_port "$out")
"$bin" client -q --keep-going -c 100 -i 20ms -W 20ms -p "$port" 127.0.0.1 &
cli=$!
sleep 0.5
kill -KILL "$srv"
wait "$srv" 2>/dev/null || true
sleep 0.3
"$bin" server -p "$port" -b 127.0.0.1 --loss 0 -q >"$out2" &
srv=$!
wait "$cli" || true
kill -TERM "$srv"
wait "$srv" || true
srv=
echo
