#!/usr/bin/env python3
"""vxlan-agent on the seed's topologies (env/topo.sh, Open vSwitch):

- the delay test (20 ms one way, 30 ms the other) over the patch link and over
  the VXLAN link, IPv4 and IPv6 at once: the average latency and each peer's
  latency are 25 ms within 0.5 ms, for both agents;
- against the seed's agent (test/peers/agent_seed.py): each measures the other;
- --loss 10: the measured loss is consistent with 10% (99.9% Wilson interval);
- the metrics: --prom-file passes `promtool check metrics`, and a real
  Prometheus server scrapes --metrics-port and holds the peer's 25 ms.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

from nsutil import (Fail, check, agent_bin, finish, json_reports, nsexec, require_root,
                    run_tests, src_dir, stop, topo_down, topo_up, wait_line, wilson)

OWN4 = {"agent1": "10.1.1.5", "agent2": "10.1.1.6"}
OWN6 = {"agent1": "fd01:2345:6789:abc1::5", "agent2": "fd01:2345:6789:abc1::6"}
FAST = ["-J", "-i", "100ms", "-r", "3s"]


def agent(ns, *args):
    p = nsexec(ns, [agent_bin()] + list(args))
    wait_line(p, "listening on")
    return p


def check_25(name, doc, peer, tol=0.5):
    """The report's headline and per-peer latency are 25 ms within tol ms."""
    avg = doc["avg_latency_ms"]
    check(avg is not None, "%s: no replies: %s" % (name, doc))
    peers = {p["peer"]: p for p in doc["peers"]}
    check(list(peers) == [peer], "%s: peers %s, want [%s]" % (name, list(peers), peer))
    p = peers[peer]
    lat = p["latency_ms"]
    print("  %s: avg %.3f ms, peer %s avg %.3f min %.3f max %.3f p99 %.3f, %d answered, %d lost"
          % (name, avg, peer, lat["avg"], lat["min"], lat["max"], lat["p99"], p["answered"], p["lost"]))
    check(abs(avg - 25.0) < tol, "%s: average latency %.3f ms, want 25 +- %g" % (name, avg, tol))
    check(abs(lat["avg"] - 25.0) < tol, "%s: peer latency %.3f ms, want 25 +- %g" % (name, lat["avg"], tol))
    check(p["answered"] >= 25 and p["lost"] == 0 and doc["lost"] == 0,
          "%s: answered %d lost %d" % (name, p["answered"], p["lost"]))


class Timing(Fail):
    """A latency off by more than the tolerance (as opposed to a functional failure)."""


def delay_run(link):
    procs = {}
    try:
        for ns in ("agent1", "agent2"):
            procs[ns + "/4"] = agent(ns, *FAST, "-c", "2", OWN4[ns])
            procs[ns + "/6"] = agent(ns, *FAST, "-c", "2", "-6", OWN6[ns])
        results = []
        for key, p in procs.items():
            out, _ = finish(p, 30)
            docs = json_reports(out)
            check(len(docs) == 2, "%s: %d reports" % (key, len(docs)))
            ns, fam = key.split("/")
            other = "agent2" if ns == "agent1" else "agent1"
            results.append(("%s %s IPv%s" % (link, ns, fam), docs[-1],
                            (OWN4 if fam == "4" else OWN6)[other]))
    finally:
        for p in procs.values():
            stop(p)
    timing = None
    for name, doc, peer in results:
        try:
            check_25(name, doc, peer)
        except Fail as e:
            if "latency" not in str(e):
                raise
            timing = e
    if timing is not None:
        raise Timing(str(timing))


def delay_test(link):
    """Four agents (two per family) for 2 x 3 s; the second report counts.
    A run whose average misses 25 +- 0.5 ms is repeated once: on a shared
    2-vCPU machine one process held off the CPU for tens of ms (seen: a single
    57 ms sample among 30) moves a 30-sample mean by 1 ms. A functional
    failure (no peer, losses) is never retried."""
    topo_up("--link", link, "--delay", "20ms,30ms")
    try:
        try:
            delay_run(link)
        except Timing as e:
            print("  timing miss, once more: %s" % e)
            delay_run(link)
    finally:
        topo_down()


def test_delay_patch():
    delay_test("patch")


def test_delay_vxlan():
    delay_test("vxlan")


def test_against_seed_agent():
    """Ours in agent1, the seed's asyncio agent in agent2: each measures the other."""
    topo_up("--link", "vxlan", "--delay", "20ms,30ms", "--ip", "4")
    seed = ours = None
    try:
        seed = nsexec("agent2", ["python3", os.path.join(src_dir(), "test", "peers", "agent_seed.py"),
                                 "--interval", "0.1", "--report", "3", OWN4["agent2"]])
        wait_line(seed, "listening on")
        ours = agent("agent1", *FAST, "-c", "2", OWN4["agent1"])
        out, _ = finish(ours, 30)
        docs = json_reports(out)
        check(len(docs) == 2, "%d reports" % len(docs))
        # the seed's echo runs in Python's asyncio loop: its wake-up and
        # processing time is in every RTT we measure of it, hence 2 ms here
        check_25("ours vs seed", docs[-1], OWN4["agent2"], tol=2.0)
        check(docs[-1]["peers"][0]["probes_heard"] >= 25, "the seed's probes were not heard")
        _, sout, _ = stop(seed)
        lines = [l for l in sout.splitlines() if l.startswith("Average latency:")]
        check(lines, "the seed agent measured nothing: %r" % sout)
        seed_ms = float(lines[-1].split()[2])
        print("  seed agent: %s" % lines[-1])
        check(abs(seed_ms - 25.0) < 2.0, "seed agent measured %.3f ms" % seed_ms)
    finally:
        for p in (seed, ours):
            if p is not None:
                stop(p)
        topo_down()


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
            procs[ns] = agent(ns, "-J", "-i", "10ms", "-W", "500ms", "-r", "6s", "-c", "2", OWN4[ns])
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
        return
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
        # one 2 s interval's gauge (20 samples): 25 ms within 1 ms
        check(abs(value - 0.025) < 0.001, "scraped %.6f s" % value)
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
        wait_line(a1, "Number of lost probes")          # first report written
        wait_line(a1, "Number of lost probes")          # second: ARP out of the way
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
        check("# TYPE vxlan_agent_peer_latency_seconds summary" in body, body[:500])
        prometheus_scrape(port, tmp)
        stop(a1)                              # its final report writes the file once more
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
