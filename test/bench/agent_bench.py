#!/usr/bin/env python3
"""vxlan-agent benchmarks (root; namespaces and Open vSwitch of env/topo.sh).

accuracy: injected one-way delay (the same both ways, through the link
  emulator or netem on agent3) against the latency two agents measure, at
  0 (the path itself), 1, 5, 20 and 100 ms: over a bare veth path (agent -
  linkemu - agent, no switch: the agent and the emulator alone), over the
  patch link and over the VXLAN link. Goal: error under 0.2 ms at every point.
cpu: CPU time per agent in a 12-agent mesh (VXLAN) at the default rate
  (0.5 s) and at a 10 ms interval, from /proc/PID/stat over a fixed window.

usage: agent_bench.py BUILD_DIR SRC_DIR [accuracy|cpu]...
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "netns"))
from nsutil import (agent_bin, finish, json_reports, nsexec, prog, require_root, stop,  # noqa: E402
                    topo_down, topo_up, wait_line)
import test_linkemu as le  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def pair(interval, report, count, extra=(), agents=(("agent1", "10.1.1.5"), ("agent2", "10.1.1.6"))):
    procs = {ns: nsexec(ns, [agent_bin(), "-J", "-i", interval, "-r", report, "-c", str(count)]
                        + list(extra) + [own])
             for ns, own in agents}
    docs = {}
    for ns, p in procs.items():
        out, _ = finish(p, 120)
        docs[ns] = json_reports(out)
    return docs


def accuracy():
    print("accuracy: injected one-way delay vs measured latency (RTT/2); 100 ms probes, 2 x 5 s,"
          " second report; both agents averaged")
    print("%-6s %8s %12s %10s %14s" % ("link", "delay", "measured", "error", "error-base"))
    for link in ("veth", "patch", "vxlan"):
        base = None
        for d in (0, 1, 5, 20, 100):
            if link == "veth":
                docs = bare_pair(d)
            else:
                topo_up("--link", link, "--delay", "%dms,%dms" % (d, d), "--ip", "4")
                try:
                    docs = pair("100ms", "5s", 2)
                finally:
                    topo_down()
            vals = [docs[ns][-1]["avg_latency_ms"] for ns in docs]
            m = sum(vals) / len(vals)
            if d == 0:
                base = m
            print("%-6s %6d ms %9.3f ms %+7.3f ms %+11.3f ms" % (link, d, m, m - d, m - d - base),
                  flush=True)


def bare_pair(d):
    """Agents in pk-le-a and pk-le-b, linkemu between them (no switch)."""
    le.setup()
    emu = None
    try:
        for ns in ("pk-le-a", "pk-le-b"):
            subprocess.run(["ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0"], check=True)
        emu = nsexec("pk-le-m", [prog("env", "linkemu"), "--realtime", "--delay", "%dms" % d, "ea", "eb"])
        wait_line(emu, "forwarding")
        return pair("100ms", "5s", 2, agents=(("pk-le-a", le.ADDR["pk-le-a"]),
                                              ("pk-le-b", le.ADDR["pk-le-b"])))
    finally:
        if emu is not None:
            stop(emu)
        le.teardown()


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])      # utime + stime


def cpu():
    n = 12
    print("cpu: %d agents in one VXLAN overlay, each with %d peers" % (n, n - 1))
    topo_up("--link", "vxlan", "--agents", str(n), "--ip", "4")
    try:
        for interval, window in (("500ms", 30.0), ("10ms", 15.0)):
            procs = [nsexec("agent%d" % i, [agent_bin(), "-q", "-i", interval, "-r", "5s",
                                             "10.1.1.%d" % (4 + i)]) for i in range(1, n + 1)]
            for p in procs:
                wait_line(p, "listening on")
            time.sleep(3.0)                      # every agent has found every other
            t0 = time.monotonic()
            c0 = [cpu_ticks(p.pid) for p in procs]
            time.sleep(window)
            c1 = [cpu_ticks(p.pid) for p in procs]
            el = time.monotonic() - t0
            for p in procs:
                stop(p)
            per = [(b - a) / HZ / el * 100 for a, b in zip(c0, c1)]
            rate = n * (1.0 / float(interval[:-2]) * 1000)
            print("interval %-6s: CPU per agent mean %.2f%% max %.2f%% of one core over %.0f s "
                  "(each agent sends %.0f probes/s, echoes %.0f/s, receives %.0f replies/s)"
                  % (interval, sum(per) / n, max(per), el, rate / n, rate / n * (n - 1),
                     rate / n * (n - 1)), flush=True)
    finally:
        topo_down()


def main():
    require_root()
    what = sys.argv[3:] or ["accuracy", "cpu"]
    print("CPUs: %d, kernel %s" % (os.cpu_count(), os.uname().release))
    for w in what:
        {"accuracy": accuracy, "cpu": cpu}[w]()


if __name__ == "__main__":
    main()
