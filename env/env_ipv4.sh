#!/usr/bin/env bash
# The seed's IPv4 topology: agent1 (10.1.1.5) on ovs1, agent2 (10.1.1.6) on
# ovs2, routes included. --link patch (default) or --link vxlan.
exec "$(dirname "${BASH_SOURCE[0]}")/topo.sh" up --ip 4 "$@"
