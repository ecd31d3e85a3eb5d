#!/usr/bin/env bash
# The fleet benchmark: 8 hypervisors x 4 agents (env/topo.sh up --hosts 8
# --agents 4 --run-agents --prometheus) with 0.5 s and 10 ms probes: set-up
# time, CPU and RSS per agent, Prometheus' scrape duration and series per
# target, against the goals it prints. Needs root (namespaces, Open
# vSwitch); takes the netns lock (/tmp/pk-netns.lock) for the whole run.
#   test/bench/fleet_bench.sh [INTERVAL]...      (default: 500ms 10ms)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PK_BUILD_DIR:-$root/build}
if [ "$(id -u)" -ne 0 ]; then
	echo "fleet_bench: skipped: needs root (network namespaces, Open vSwitch)"
	exit 0
fi
for a in "$@"; do
	[[ $a =~ ^[0-9]+(ms|s)$ ]] || { echo "fleet_bench: interval '$a': want e.g. 500ms" >&2; exit 2; }
done
[ -x "$build/agent/vxlan-agent" ] || { echo "fleet_bench: $build/agent/vxlan-agent not built" >&2; exit 2; }
exec flock /tmp/pk-netns.lock python3 "$root/test/bench/fleet_bench.py" "$build" "$root" "$@"
