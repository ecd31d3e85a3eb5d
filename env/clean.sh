#!/usr/bin/env bash
# Removes everything env_ipv4.sh, env_ipv6.sh and test_env.sh made, and only
# that (they record each object before making it): the namespaces, the
# bridges, and a system Open vSwitch only if they started it. Safe to repeat.
exec "$(dirname "${BASH_SOURCE[0]}")/topo.sh" down "$@"
