#!/usr/bin/env bash
# The seed's IPv4 topology: agent1 (10.1.1.5) on ovs1, agent2 (10.1.1.6) on
# ovs2, ovs1 and ovs2 joined by the patch ports patch1 and patch2 in the
# system Open vSwitch (plain `ovs-vsctl show` lists them), plus the multicast
# route 224.0.0.0/4. The seed's `ip netns exec agent1 route add default dev
# port1` (and agent2/port2) may follow. --link patch (default) or --link vxlan.
exec "$(dirname "${BASH_SOURCE[0]}")/topo.sh" up --ip 4 "$@"
