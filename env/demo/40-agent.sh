#!/usr/bin/env bash
# Demo of vxlan-agent: the seed's delay test. Brings up env/test_env.sh
# (agent1 on ovs1, agent2 on ovs2, agent3 delaying frames toward agent1 by
# 20 ms and toward agent2 by 30 ms), runs an agent in each namespace until
# two reports are out (RTT/2 about 25 ms; agent1 sees 20 ms from agent2,
# agent2 30 ms from agent1), then removes the topology.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PK_BUILD_DIR:-$root/build}
agent=$build/agent/vxlan-agent

echo "== vxlan-agent: two agents across Open vSwitch with 20 ms + 30 ms of delay"
if [ "$(id -u)" -ne 0 ]; then
	echo "vxlan-agent demo: skipped: needs root (network namespaces, Open vSwitch)"
	exit 0
fi
[ -x "$agent" ] || { echo "vxlan-agent demo: $agent is not built" >&2; exit 2; }
export PK_BUILD_DIR=$build
"$root/env/clean.sh" >/dev/null
trap '"$root/env/clean.sh" >/dev/null' EXIT
set +e
"$root/env/test_env.sh" --ip 4
rc=$?
set -e
if [ $rc -eq 3 ]; then
	echo "vxlan-agent demo: skipped: Open vSwitch cannot start"
	exit 0
fi
[ $rc -eq 0 ] || exit $rc
out=$(mktemp)
ip netns exec agent2 "$agent" -i 100ms -r 3s -c 2 10.1.1.6 >"$out" 2>&1 &
peer=$!
echo "\$ ip netns exec agent1 vxlan-agent -i 100ms -r 3s -c 2 10.1.1.5"
ip netns exec agent1 "$agent" -i 100ms -r 3s -c 2 10.1.1.5
wait $peer || true
echo "--- agent2 (10.1.1.6):"
cat "$out"
rm -f "$out"
