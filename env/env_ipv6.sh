#!/usr/bin/env bash
# The seed's IPv6 topology: agent1 (fd01:2345:6789:abc1::5) on ovs1, agent2
# (...::6) on ovs2, joined by patch1/patch2 in the system Open vSwitch, plus
# the multicast route ff0e::/16. The seed's `ip -6 netns exec agent1 route add
# default dev port1` may follow. --link patch (default) or --link vxlan.
exec "$(dirname "${BASH_SOURCE[0]}")/topo.sh" up --ip 6 "$@"
