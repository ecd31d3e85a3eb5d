#!/usr/bin/env python3
"""A mesh: 12 agents in namespaces on one VXLAN overlay (6 behind each
hypervisor's Open vSwitch) each find and measure the other 11."""
from nsutil import (AGENT_STARTED, agent_bin, check, finish, json_reports, nsexec, require_root, run_tests,
                    stop, topo_down, topo_up, wait_line)

N = 12


def addr(i):
    return "10.1.1.%d" % (4 + i)


def test_mesh_of_12():
    topo_up("--link", "vxlan", "--agents", str(N), "--ip", "4")
    procs = {}
    try:
        for i in range(1, N + 1):
            procs[i] = nsexec("agent%d" % i, [agent_bin(), "--json-stream", "-i", "100ms", "-r", "3s", "-c", "2",
                                              addr(i)])
        for p in procs.values():
            wait_line(p, AGENT_STARTED)
        for i, p in procs.items():
            out, _ = finish(p, 30)
            doc = json_reports(out)[-1]
            peers = sorted(x["peer"] for x in doc["peers"])
            want = sorted(addr(j) for j in range(1, N + 1) if j != i)
            check(peers == want, "agent%d: peers %s" % (i, peers))
            for x in doc["peers"]:
                check(x["answered"] >= 25, "agent%d: %s answered %d" % (i, x["peer"], x["answered"]))
                check(x["lost"] == 0, "agent%d: %s lost %d" % (i, x["peer"], x["lost"]))
            print("  agent%d: %d peers, avg %.3f ms" % (i, len(peers), doc["avg_latency_ms"]))
    finally:
        for p in procs.values():
            stop(p)
        topo_down()


def main():
    require_root()
    run_tests([test_mesh_of_12])


if __name__ == "__main__":
    main()
