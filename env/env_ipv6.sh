#!/usr/bin/env bash
# The seed's IPv6 topology: agent1 (fd01:2345:6789:abc1::5) on ovs1, agent2
# (...::6) on ovs2, routes included. --link patch (default) or --link vxlan.
exec "$(dirname "${BASH_SOURCE[0]}")/topo.sh" up --ip 6 "$@"
