#!/usr/bin/env bash
# vxlan-agent benchmarks: accuracy of the measured latency against injected
# delay, and CPU per agent in a 12-agent mesh. Needs root (namespaces, OVS).
#   test/bench/agent_bench.sh [accuracy|hops|cpu]...
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PK_BUILD_DIR:-$root/build}
if [ "$(id -u)" -ne 0 ]; then
	echo "agent_bench: skipped: needs root (network namespaces, Open vSwitch)"
	exit 0
fi
args=()
for a in "$@"; do case $a in accuracy|hops|cpu) args+=("$a") ;; esac; done
python3 "$root/test/bench/agent_bench.py" "$build" "$root" "${args[@]}" || {
	rc=$?; [ $rc -eq 77 ] && exit 0; exit $rc; }
