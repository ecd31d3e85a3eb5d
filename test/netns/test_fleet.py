#!/usr/bin/env python3
"""A fleet: 8 hypervisors (pk-hv1..8, each its own Open vSwitch) in a full
VXLAN mesh, 4 agents behind each, started by `topo.sh up --run-agents`, and
the Prometheus `--prometheus` starts, scraping them all.

- discovery: every agent finds the 15 others, and over a measured window
  every pair answers and none loses a probe;
- impairment: hv1-hv2 delayed 10 ms each way (linkemu): the RTT of every
  agent pair across hv1-hv2 is above every other cross-host pair's, by 20 ms
  within a bound from the same run's spread of the unimpaired pairs; no
  absolute latency bound;
- at run time, `topo.sh impair hv1-hv2:none hv3-hv4:delay=10ms,loss=30`:
  now hv3-hv4 pairs alone are slow and alone lose probes, hv1-hv2 is back
  among the others;
- Prometheus: /api/v1/targets lists one target per agent, all up, labelled
  agent and host as $PK_ENV_STATE/agents says;
- down: no namespace, process or state file of the fleet is left.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import time
import urllib.request

from nsutil import InNetns, check, env_script, require_root, run_tests, sh, skip, topo_down, topo_up

HOSTS, PER_HOST = 8, 4
N = HOSTS * PER_HOST
DELAY_MS = 10.0
INTERVAL = 0.5  # the agents' default probe interval
STATE = os.environ.get("PK_ENV_STATE", "/run/probekit-env")
# the RTT: the histogram vxlan_agent_peer_rtt_seconds, or twice the RTT/2
# summary vxlan_agent_peer_latency_seconds (an agent without the histogram)
METRIC = re.compile(r'^(vxlan_agent_peer_(?:rtt_seconds_sum|rtt_seconds_count|latency_seconds_sum|'
                    r'latency_seconds_count|answered_probes_total|lost_probes_total))\{([^}]*)\} (\S+)$')


def addr(i):
    return "10.1.1.%d" % (4 + i)


def host_of(i):
    return (i - 1) % HOSTS + 1


def agents_file():
    """$PK_ENV_STATE/agents: {address: (name, host)}."""
    out = {}
    with open(os.path.join(STATE, "agents")) as f:
        for line in f:
            name, host, a = line.split()
            out[a] = (name, host)
    return out


def scrape():
    """Every agent's peer counters, fetched from pk-prom over the overlay:
    {(agent addr, peer addr): {metric: value}}."""
    out = {}
    with InNetns("pk-prom"):
        for i in range(1, N + 1):
            body = urllib.request.urlopen("http://%s:9910/metrics" % addr(i), timeout=5).read().decode()
            for line in body.splitlines():
                m = METRIC.match(line)
                if not m:
                    continue
                peer = re.search(r'peer="([^"]+)"', m.group(2)).group(1)
                out.setdefault((addr(i), peer), {})[m.group(1)] = float(m.group(3))
    return out


def window(seconds):
    """Per ordered pair over `seconds`: (answered, lost, mean RTT ms or None)."""
    a = scrape()
    time.sleep(seconds)
    b = scrape()
    res = {}
    for k, v in b.items():
        u = a.get(k, {})
        d = {m: v.get(m, 0) - u.get(m, 0) for m in v}
        if "vxlan_agent_peer_rtt_seconds_count" in d:
            n = d["vxlan_agent_peer_rtt_seconds_count"]
            rtt = 1e3 * d["vxlan_agent_peer_rtt_seconds_sum"] / n if n else None
        else:
            n = d.get("vxlan_agent_peer_latency_seconds_count", 0)
            rtt = 2e3 * d["vxlan_agent_peer_latency_seconds_sum"] / n if n else None
        res[k] = (d.get("vxlan_agent_peer_answered_probes_total", 0), d.get("vxlan_agent_peer_lost_probes_total", 0),
                  rtt)
    return res


def hosts_of_pair(k, by_addr):
    return {int(by_addr[k[0]][1][2:]), int(by_addr[k[1]][1][2:])}


def judge_delay(res, by_addr, slow, label):
    """The pairs across hypervisors `slow` (a set of two) are above every
    other cross-host pair, and the difference of medians is 2 x DELAY_MS
    within a bound from the baseline's spread."""
    imp, base = [], []
    for k, (_, _, rtt) in res.items():
        hs = hosts_of_pair(k, by_addr)
        check(rtt is not None, "%s: %s -> %s: no RTT in the window" % (label, k[0], k[1]))
        if hs == slow:
            imp.append(rtt)
        elif len(hs) == 2:
            base.append(rtt)
    check(len(imp) == 2 * PER_HOST * PER_HOST, "%s: %d impaired pairs" % (label, len(imp)))
    base.sort()
    spread = base[int(0.9 * (len(base) - 1))] - base[int(0.1 * (len(base) - 1))]
    diff = statistics.median(imp) - statistics.median(base)
    tol = 0.5 + 4 * spread
    print("  %s: impaired pairs RTT %.3f..%.3f ms (median %.3f), the other %d cross-host pairs %.3f..%.3f ms "
          "(median %.3f, p10-p90 %.3f); difference %.3f ms, want %.1f +- %.3f"
          % (label, min(imp), max(imp), statistics.median(imp), len(base), base[0], base[-1],
             statistics.median(base), spread, diff, 2 * DELAY_MS, tol), flush=True)
    check(min(imp) > base[-1], "%s: an impaired pair (%.3f ms) is not above every other pair (max %.3f ms)"
          % (label, min(imp), base[-1]))
    check(abs(diff - 2 * DELAY_MS) <= tol, "%s: the impaired pairs are %.3f ms slower, want %.1f +- %.3f"
          % (label, diff, 2 * DELAY_MS, tol))


def wait_discovered(deadline):
    want = {(addr(i), addr(j)) for i in range(1, N + 1) for j in range(1, N + 1) if i != j}
    while True:
        got = {k for k, v in scrape().items() if v.get("vxlan_agent_peer_answered_probes_total", 0) > 0}
        if want <= got:
            return
        check(time.monotonic() < deadline, "not every agent found every other: %d of %d pairs answered, missing "
              "e.g. %s" % (len(got & want), len(want), sorted(want - got)[:3]))
        time.sleep(0.5)


def prom_targets():
    with open(os.path.join(STATE, "prometheus.url")) as f:
        url = f.read().strip()
    with InNetns("pk-prom"):
        doc = json.load(urllib.request.urlopen(url + "/api/v1/targets", timeout=5))
    return doc["data"]["activeTargets"]


def our_pids():
    pids = []
    for root, _, files in os.walk(STATE):
        for f in files:
            if f.endswith(".pid"):
                with open(os.path.join(root, f)) as fh:
                    pids.append(int(fh.read().strip()))
    return pids


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_fleet():
    t0 = time.monotonic()
    topo_up("--link", "vxlan", "--hosts", str(HOSTS), "--agents", str(PER_HOST), "--ip", "4",
            "--impair", "hv1-hv2:delay=%gms" % DELAY_MS, "--run-agents", "-r 1s -q",
            "--prometheus", "--scrape-interval", "1s")
    pids, nss = [], []
    try:
        print("  up in %.1f s" % (time.monotonic() - t0), flush=True)
        pids = our_pids()
        nss = [l.split()[1] for l in open(os.path.join(STATE, "objects")) if l.startswith("netns ")]
        by_addr = agents_file()
        check(len(by_addr) == N and all(by_addr[addr(i)] == ("agent%d" % i, "hv%d" % host_of(i))
                                        for i in range(1, N + 1)), "agents file: %s" % by_addr)
        check(len(pids) == N + 2 + 2 * HOSTS, "pid files: %d (want %d agents, linkemu, prometheus and two Open "
              "vSwitch daemons per hypervisor)" % (len(pids), N))
        check(all(running(p) for p in pids), "a recorded process is not running")

        wait_discovered(time.monotonic() + 30)
        print("  all %d agents found the other %d in %.1f s" % (N, N - 1, time.monotonic() - t0), flush=True)
        res = window(6)
        check(len(res) == N * (N - 1), "%d pairs measured, want %d" % (len(res), N * (N - 1)))
        for k, (ans, lost, _) in res.items():
            check(ans >= 0.6 * 6 / INTERVAL and lost == 0, "%s -> %s: %d answered, %d lost in 6 s"
                  % (k[0], k[1], ans, lost))
        judge_delay(res, by_addr, {1, 2}, "hv1-hv2 at %g ms" % DELAY_MS)

        sh([env_script("topo.sh"), "impair", "hv1-hv2:none", "hv3-hv4:delay=%gms,loss=30" % DELAY_MS])
        time.sleep(2.5)  # the probes in flight when the paths changed are decided (2 s timeout)
        res = window(8)
        judge_delay(res, by_addr, {3, 4}, "after the change, hv3-hv4")
        lost_imp = sum(v[1] for k, v in res.items() if hosts_of_pair(k, by_addr) == {3, 4})
        ans_imp = sum(v[0] for k, v in res.items() if hosts_of_pair(k, by_addr) == {3, 4})
        others = {k: v[1] for k, v in res.items() if hosts_of_pair(k, by_addr) != {3, 4} and v[1]}
        print("  hv3-hv4 pairs: %d answered, %d lost (30%% asked); other pairs lost %s"
              % (ans_imp, lost_imp, others or "none"), flush=True)
        check(lost_imp > 0, "hv3-hv4 at 30% loss lost nothing")
        check(not others, "pairs outside hv3-hv4 lost probes: %s" % others)

        deadline = time.monotonic() + 15
        while True:
            ts = prom_targets()
            if len(ts) == N and all(t["health"] == "up" for t in ts):
                break
            check(time.monotonic() < deadline, "prometheus targets: %s" %
                  [(t["labels"].get("agent"), t["health"], t.get("lastError")) for t in ts])
            time.sleep(0.5)
        labels = sorted((t["labels"]["instance"], t["labels"]["agent"], t["labels"]["host"], t["labels"]["job"])
                        for t in ts)
        want = sorted(("%s:9910" % a, n, h, "vxlan-agent") for a, (n, h) in by_addr.items())
        check(labels == want, "target labels %s, want %s" % (labels[:2], want[:2]))
        print("  prometheus: %d targets up" % len(ts), flush=True)
    finally:
        topo_down()
    left_ns = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()) & set(nss)
    check(not left_ns, "namespaces left after down: %s" % sorted(left_ns))
    deadline = time.monotonic() + 5
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    check(not [p for p in pids if running(p)], "processes left after down: %s" % [p for p in pids if running(p)])
    check(not os.path.exists(STATE), "%s left after down" % STATE)
    print("  down: %d namespaces and %d processes gone, %s removed" % (len(nss), len(pids), STATE), flush=True)


def main():
    require_root()
    for tool in ("prometheus", "curl"):  # topo.sh --prometheus runs one, waits for it with the other
        if not shutil.which(tool):
            skip("%s is not installed (env/packages/agent.txt)" % tool)
    run_tests([test_fleet])


if __name__ == "__main__":
    main()
