#!/usr/bin/env bash
# Removes everything env_ipv4.sh, env_ipv6.sh, test_env.sh and topo.sh made,
# and only that (they record each object before making it): the namespaces,
# the bridges, a system Open vSwitch only if they started it, a fleet's
# emulators, agents and Prometheus, and the sysctls they raised. Safe to repeat.
exec "$(dirname "${BASH_SOURCE[0]}")/topo.sh" down "$@"
