#!/usr/bin/env python3
"""vxlan-agent on the seed's topologies (env/topo.sh, Open vSwitch):

- the delay test (20 ms toward agent1, 30 ms toward agent2) over the patch
  link and over the VXLAN link, IPv4 and IPv6 at once, against the same path
  at 0 ms measured in the same test: RTT/2 adds 25 ms and each direction's
  one-way delay adds 20 / 30 ms, within 0.2 ms widened by the measured
  spread; no loss, every time from the kernel;
- against the seed's agent (test/peers/agent_seed.py): each measures the other;
- --loss 10: the measured loss is consistent with 10% (99.9% Wilson interval);
- the metrics: --prom-file passes `promtool check metrics`, and a real
  Prometheus server scrapes --metrics-port and holds the peer's 25 ms.
"""
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

from nsutil import (AGENT_STARTED, Fail, check, agent_bin, finish, json_reports, nsexec, require_root,
                    run_tests, src_dir, stop, topo_down, topo_up, wait_line, wilson)

OWN4 = {"agent1": "10.1.1.5", "agent2": "10.1.1.6"}
OWN6 = {"agent1": "fd01:2345:6789:abc1::5", "agent2": "fd01:2345:6789:abc1::6"}
FAST = ["--json-stream", "-i", "100ms", "-r", "3s"]


def agent(ns, *args):
    p = nsexec(ns, [agent_bin()] + list(args))
    wait_line(p, AGENT_STARTED if "--json-stream" in args else "listening on")
    return p


TOWARD = {"agent1": 20.0, "agent2": 30.0}     # the seed's netem: 20 ms toward agent1, 30 toward agent2


def measure(link, delay, ours=True, seed_ns=None):
    """Brings up the delay topology (agent3 between the bridges, delay "A,B"
    toward agent1 and agent2) and runs our agents (IPv4 and IPv6) in agent1
    and agent2 -- or, with seed_ns, the seed's agent in that namespace and
    ours (IPv4) in the other -- for two 3 s reports at 100 ms probes. Returns
    {(ns, family): (second report's peer entry, report)} for our agents and
    {"seed": [Average latency values]} for the seed's."""
    topo_up("--link", link, "--delay", delay, "--ip", "4" if seed_ns else "46")
    procs, res = {}, {}
    seed = None
    try:
        if seed_ns:
            seed = nsexec(seed_ns, ["python3", os.path.join(src_dir(), "test", "peers", "agent_seed.py"),
                                    "--interval", "0.1", "--report", "3", OWN4[seed_ns]])
            wait_line(seed, "listening on")
        for ns in ("agent1", "agent2"):
            if ns == seed_ns:
                continue
            procs[ns, "4"] = agent(ns, *FAST, "-c", "2", OWN4[ns])
            if not seed_ns:
                procs[ns, "6"] = agent(ns, *FAST, "-c", "2", "-6", OWN6[ns])
        for (ns, fam), p in procs.items():
            out, _ = finish(p, 30)
            docs = json_reports(out)
            check(len(docs) == 2, "%s IPv%s: %d reports" % (ns, fam, len(docs)))
            other = "agent2" if ns == "agent1" else "agent1"
            peer = (OWN4 if fam == "4" else OWN6)[other]
            doc = docs[-1]
            peers = {e["peer"]: e for e in doc["peers"]}
            check(list(peers) == [peer], "%s IPv%s: peers %s, want [%s]" % (ns, fam, list(peers), peer))
            res[ns, fam] = (peers[peer], doc)
        if seed is not None:
            _, sout, _ = stop(seed)
            res["seed"] = [float(l.split()[2]) for l in sout.splitlines()
                           if l.startswith("Average latency:")]
    finally:
        for p in list(procs.values()) + ([seed] if seed else []):
            stop(p)
        topo_down()
    return res


def se(stats, n):
    """Standard error of a mean from the report's mdev and sample count."""
    return stats["mdev"] / math.sqrt(max(n - 1, 1))


def check_functional(name, e, doc):
    """No loss either way, every time from the kernel, nothing implausible."""
    t = doc["totals"]
    check(e["answered"] >= 25 and e["lost"] == 0 and doc["lost"] == 0,
          "%s: answered %d lost %d" % (name, e["answered"], e["lost"]))
    check(e["from_peer"]["samples"] >= 25 and e["from_peer"]["lost"] == 0,
          "%s: one-way from the peer: %s" % (name, e["from_peer"]))
    check(t["oneway_implausible"] == 0, "%s: %d implausible one-way delays" % (name, t["oneway_implausible"]))
    check(t["tx_clock_fallbacks"] == 0 and t["rx_clock_fallbacks"] == 0,
          "%s: send/receive times not from the kernel: %s" % (name, t))


def check_added(name, what, got, bases, n_got, want, lo=0.3, hi=0.2):
    """got - base (means, ms) is the injected `want` within [-lo, +hi] ms,
    where base is the mean of the 0 ms path measured twice, in two
    topologies of its own (before and after the delayed one), widened by
    four standard errors of the difference (a stall of the machine that
    moves a mean also widens its spread) and by three times the difference
    of the two 0 ms figures: the same path differs by 0.1 to 0.25 ms from
    one topology to the next (where the switch and the emulator processes
    land, which crossings find the switch awake), far more than the standard
    errors within one. The 0 ms path also holds the emulator's read of each
    frame, which a delayed frame does not wait for: hence 0.3 below."""
    base = sum(b["avg"] for b, _ in bases) / len(bases)
    spread = max(b["avg"] for b, _ in bases) - min(b["avg"] for b, _ in bases)
    err = got["avg"] - base - want
    k = 4 * math.hypot(se(got, n_got), max(se(b, n) for b, n in bases)) + 3 * spread
    print("  %s %s: %.3f ms (0 ms path %s), added %.3f, want %.0f: error %+.3f ms, bounds -%.3f..+%.3f"
          % (name, what, got["avg"], "/".join("%.3f" % b["avg"] for b, _ in bases), got["avg"] - base,
             want, err, lo + k, hi + k))
    check(-(lo + k) <= err <= hi + k,
          "%s %s: %.3f ms above the 0 ms path, want %.0f (-%.3f..+%.3f)"
          % (name, what, got["avg"] - base, want, lo + k, hi + k))


def delay_test(link):
    """The seed's delay test, IPv4 and IPv6, against the same path at 0 ms
    measured in this test (before and after): RTT/2 adds 25 ms, and each
    agent's one-way delay from its peer adds what that direction is delayed
    (20 ms toward agent1, 30 ms toward agent2)."""
    base1 = measure(link, "0ms,0ms")
    got = measure(link, "20ms,30ms")
    base2 = measure(link, "0ms,0ms")
    for key in sorted(got):
        ns, fam = key
        name = "%s %s IPv%s" % (link, ns, fam)
        e, doc = got[key]
        check_functional(name, e, doc)
        for b, bdoc in (base1[key], base2[key]):
            check_functional(name + " at 0 ms", b, bdoc)
        check_added(name, "RTT/2", e["latency_ms"],
                    [(b["latency_ms"], b["answered"]) for b, _ in (base1[key], base2[key])],
                    e["answered"], 25.0)
        check_added(name, "one-way from the peer", e["from_peer"]["oneway_ms"],
                    [(b["from_peer"]["oneway_ms"], b["from_peer"]["samples"])
                     for b, _ in (base1[key], base2[key])],
                    e["from_peer"]["samples"], TOWARD[ns])


def test_delay_patch():
    delay_test("patch")


def test_delay_vxlan():
    delay_test("vxlan")


def test_against_seed_agent():
    """Ours in agent1, the seed's asyncio agent in agent2: each measures the
    other (our stamped probes are plain probe numbers to it), against the
    same pair over the 0 ms path. The seed's echo runs in Python's asyncio
    loop, whose turnaround is in every RTT we measure of it, in both runs."""
    base1 = measure("vxlan", "0ms,0ms", seed_ns="agent2")
    got = measure("vxlan", "20ms,30ms", seed_ns="agent2")
    base2 = measure("vxlan", "0ms,0ms", seed_ns="agent2")
    e, doc = got["agent1", "4"]
    check(e["answered"] >= 25 and e["lost"] == 0, "ours vs seed: answered %d lost %d" % (e["answered"], e["lost"]))
    check(e["probes_heard"] >= 25, "the seed's probes were not heard")
    check(e["from_peer"]["samples"] == 0, "one-way figures from the seed's unstamped probes")
    check_added("ours vs seed", "RTT/2", e["latency_ms"],
                [(b["agent1", "4"][0]["latency_ms"], b["agent1", "4"][0]["answered"]) for b in (base1, base2)],
                e["answered"], 25.0, lo=0.5, hi=0.5)
    check(got["seed"] and base1["seed"] and base2["seed"],
          "the seed agent measured nothing: %s %s %s" % (got["seed"], base1["seed"], base2["seed"]))
    base_ms = (base1["seed"][-1] + base2["seed"][-1]) / 2
    added = got["seed"][-1] - base_ms
    print("  seed agent: %.3f ms (0 ms path %.3f): added %.3f" % (got["seed"][-1], base_ms, added))
    # the seed prints only its mean; its asyncio timers add up to ~1 ms of spread
    check(abs(added - 25.0) < 1.5, "seed agent: %.3f ms above the 0 ms path, want 25" % added)


def test_vxlan_mtu():
    """The overlay's MTU (1450) fits in the underlay's (1500) after the 50
    bytes of VXLAN: the largest datagram that fits with DF set crosses the
    tunnel whole, IPv4 and IPv6, and one byte more is refused at the sender."""
    import socket
    from nsutil import InNetns
    topo_up("--link", "vxlan")
    try:
        for fam, own, hdr in ((socket.AF_INET, OWN4, 28), (socket.AF_INET6, OWN6, 48)):
            with InNetns("agent2"):
                rx = socket.socket(fam, socket.SOCK_DGRAM)
                rx.bind((own["agent2"], 0))
                rx.settimeout(3)
            with InNetns("agent1"):
                tx = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET:
                tx.setsockopt(socket.IPPROTO_IP, 10, 2)      # IP_MTU_DISCOVER = IP_PMTUDISC_DO
            else:
                tx.setsockopt(socket.IPPROTO_IPV6, 23, 2)    # IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DO
                tx.setsockopt(socket.IPPROTO_IPV6, 62, 1)    # IPV6_DONTFRAG
            size = 1450 - hdr
            dst = (own["agent2"], rx.getsockname()[1])
            got = None
            for _ in range(10):                  # the first may wait for ARP / ND
                tx.sendto(b"m" * size, dst)
                try:
                    got, _ = rx.recvfrom(4096)
                    break
                except socket.timeout:
                    pass
            check(got is not None and len(got) == size, "a %d-byte datagram did not cross" % size)
            try:
                tx.sendto(b"m" * (size + 1), dst)
                raise Fail("%d bytes with DF were sent on a 1450-byte link" % (size + 1))
            except OSError:
                pass
            print("  family %d: %d-byte datagrams cross the tunnel" % (fam, size))
            tx.close()
            rx.close()
    finally:
        topo_down()


def test_loss_10():
    topo_up("--link", "patch", "--loss", "10", "--ip", "4")
    procs = {}
    try:
        # 10 ms probes for 2 x 6 s: the second report counts ~600 probes each
        for ns in ("agent1", "agent2"):
            procs[ns] = agent(ns, "--json-stream", "-i", "10ms", "-W", "500ms", "-r", "6s", "-c", "2", OWN4[ns])
        for ns, p in procs.items():
            out, _ = finish(p, 40)
            doc = json_reports(out)[-1]
            check(len(doc["peers"]) == 1, "%s: peers %s" % (ns, doc["peers"]))
            pr = doc["peers"][0]
            n = pr["answered"] + pr["lost"]
            lo, hi = wilson(pr["lost"], n, 3.29)
            print("  %s: %d of %d lost (%.2f%%), 99.9%% interval %.2f%%..%.2f%%"
                  % (ns, pr["lost"], n, 100.0 * pr["lost"] / n, 100 * lo, 100 * hi))
            check(n >= 500, "%s: only %d probes decided" % (ns, n))
            check(lo <= 0.10 <= hi, "%s: %d of %d lost is not 10%%" % (ns, pr["lost"], n))
    finally:
        for p in procs.values():
            stop(p)
        topo_down()


def prometheus_scrape(port, tmp):
    """A real Prometheus in agent1 (its own namespace) scrapes the agent."""
    if shutil.which("prometheus") is None:
        print("  prometheus not installed: promtool only")
        return None
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                "  - job_name: agent\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % port)
    prom = nsexec("agent1", ["prometheus", "--config.file=" + cfg,
                             "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                             "--web.listen-address=127.0.0.1:9090"])
    try:
        q = ("http://127.0.0.1:9090/api/v1/query?query="
             "vxlan_agent_peer_latency_avg_seconds%7Bpeer%3D%2210.1.1.6%22%7D")
        end = time.monotonic() + 25
        value = None
        while time.monotonic() < end and value is None:
            r = subprocess.run(["ip", "netns", "exec", "agent1", "python3", "-c",
                                "import urllib.request,sys;"
                                "sys.stdout.write(urllib.request.urlopen(sys.argv[1],timeout=2).read().decode())",
                                q], capture_output=True, text=True)
            if r.returncode == 0:
                res = json.loads(r.stdout)["data"]["result"]
                if res:
                    value = float(res[0]["value"][1])
            if value is None:
                time.sleep(0.5)
        check(value is not None, "Prometheus never scraped the peer latency")
        print("  prometheus: vxlan_agent_peer_latency_avg_seconds{peer=\"10.1.1.6\"} = %.6f" % value)
        return value
    finally:
        stop(prom)


def test_metrics():
    topo_up("--link", "patch", "--delay", "20ms,30ms", "--ip", "4")
    tmp = tempfile.mkdtemp(prefix="pk-agent-prom-")
    procs = []
    try:
        prom_file = os.path.join(tmp, "agent.prom")
        procs.append(agent("agent2", "-q", "-i", "100ms", "-r", "2s", OWN4["agent2"]))
        a1 = nsexec("agent1", [agent_bin(), "-q", "-i", "100ms", "-r", "2s", "--prom-file", prom_file,
                               "--metrics-port", "0", "--metrics-addr", "127.0.0.1", OWN4["agent1"]])
        procs.append(a1)
        wait_line(a1, "listening on")
        port = int(wait_line(a1, "metrics listening on").strip().rsplit(":", 1)[1])
        reported = []                                   # its reports' average latencies

        def next_report():
            line = wait_line(a1, "Average latency:")
            reported.append(float(line.split()[2]))
            wait_line(a1, "Number of lost probes")
        next_report()                                   # first report written
        next_report()                                   # second: ARP out of the way
        text = open(prom_file).read()
        check('vxlan_agent_peer_answered_probes_total{peer="10.1.1.6"}' in text, text[:2000])
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            check(r.returncode == 0, "promtool: %s %s" % (r.stdout, r.stderr))
            print("  promtool check metrics: ok")
        body = subprocess.run(["ip", "netns", "exec", "agent1", "python3", "-c",
                               "import urllib.request,sys;"
                               "sys.stdout.write(urllib.request.urlopen(sys.argv[1],timeout=2).read().decode())",
                               "http://127.0.0.1:%d/metrics" % port], capture_output=True, text=True).stdout
        check("# TYPE vxlan_agent_peer_rtt_seconds histogram" in body, body[:500])
        value = prometheus_scrape(port, tmp)
        _, out, _ = stop(a1)                  # its final report writes the file once more
        reported += [float(l.split()[2]) for l in out.splitlines() if l.startswith("Average latency:")]
        if value is not None:
            # Prometheus holds a gauge the agent reported (one peer: its
            # average is the report's), to the 3 decimals printed
            check(any(abs(value * 1000 - r) <= 0.0006 for r in reported[1:]),
                  "scraped %.6f s, the agent reported %s ms" % (value, reported))
        check(os.path.exists(prom_file), "no metrics file after the final report")
        check(not any(n.endswith(".tmp") for n in os.listdir(tmp)),
              "temporary file left: %s" % os.listdir(tmp))
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
        topo_down()


def main():
    require_root()
    import sys
    only = sys.argv[3:]
    tests = [test_delay_patch, test_delay_vxlan, test_against_seed_agent, test_vxlan_mtu, test_loss_10,
             test_metrics]
    run_tests([t for t in tests if not only or t.__name__ in only])


if __name__ == "__main__":
    main()
