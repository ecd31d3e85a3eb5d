#!/usr/bin/env bash
# The seed's delay test: agent3 bridges port12 (ovs1, 10.1.1.10/24) and
# port22 (ovs2, 10.1.1.20/24); --delay A,B (default 20ms,30ms) delays the
# frames out port12, toward agent1, by A and those out port22, toward agent2,
# by B, as the seed's netem lines. test_env.sh [--delay A,B] [--loss PCT]
# [--link patch|vxlan] [--ip 4|6|46]: IPv4 and IPv6 addresses by default.
here=$(dirname "${BASH_SOURCE[0]}")
case " $* " in *" --delay "*) exec "$here/topo.sh" up "$@" ;; esac
exec "$here/topo.sh" up --delay 20ms,30ms "$@"
