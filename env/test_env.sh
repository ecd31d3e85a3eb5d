#!/usr/bin/env bash
# The seed's delay test: agent3 bridges port12 (ovs1) and port22 (ovs2) and
# delays each direction. test_env.sh [--delay 20ms,30ms] [--loss PCT]
# [--link patch|vxlan] [--ip 4|6|46]: IPv4 and IPv6 addresses by default.
here=$(dirname "${BASH_SOURCE[0]}")
case " $* " in *" --delay "*) exec "$here/topo.sh" up "$@" ;; esac
exec "$here/topo.sh" up --delay 20ms,30ms "$@"
