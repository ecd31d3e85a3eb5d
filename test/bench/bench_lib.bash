# Shared by the benchmark scripts (sourced, not run: env/run.sh bench runs
# test/bench/*.sh only). Sets root, build, ccpu/scpu (PK_BENCH_CPUS="C S",
# default "0 0"), work (a temporary directory) and a trap that stops every
# server started here, by PID, and removes $work.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PK_BUILD_DIR:-$root/build}
read -r ccpu scpu <<<"${PK_BENCH_CPUS:-0 0}"
work=$(mktemp -d)
pids=()
bench_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap bench_cleanup EXIT

# bench_need PKG...: installs the anchor tools that are missing (root only).
bench_need() {
	local need=() p
	for p in "$@"; do command -v "$p" >/dev/null || need+=("$p"); done
	if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || true
	fi
}

# start_bg CPU LOGFILE CMD...: a server pinned to CPU; waits for its
# "listening on ...:PORT" (or irtt's "listener on") line, sets $port, $spid.
start_bg() {
	local cpu=$1 log=$2
	shift 2
	: >"$log"       # not the previous server's line (the redirection below runs in the child)
	taskset -c "$cpu" "$@" >"$log" 2>&1 &
	spid=$!
	pids+=("$spid")
	for _ in $(seq 250); do
		port=$(sed -n 's/.*\(listening\|listener\) on .*:\([0-9][0-9]*\).*/\2/p' "$log" | head -1)
		[ -n "$port" ] && return 0
		sleep 0.02
	done
	echo "server did not start: $*" >&2
	cat "$log" >&2
	return 1
}
# stop_bg: stops the server started last.
stop_bg() { kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2fx' % (a/b) if b else 'n/a')" "$1" "$2"; }
