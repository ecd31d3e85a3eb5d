#!/usr/bin/env python3
"""The fleet benchmark (fleet_bench.sh runs it, as root): an 8 x 4 fleet
(env/topo.sh up --hosts 8 --agents 4 --run-agents --prometheus) per probe
interval; prints the set-up time, the time until every agent has heard every
other, CPU (% of one core) and RSS per agent over a measured window, the
Open vSwitch daemons' CPU, and Prometheus' scrape duration and samples per
target. argv: build dir, source dir, probe intervals (default 500ms 10ms)."""
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "netns"))
from nsutil import InNetns  # noqa: E402

HOSTS, PER_HOST = 8, 4
N = HOSTS * PER_HOST
STATE = os.environ.get("PK_ENV_STATE", "/run/probekit-env")
WINDOW = 10.0
TICK = os.sysconf("SC_CLK_TCK")
GOALS = "goals: < 1% of one core per agent at 0.5 s, < 2 MiB RSS per agent, scrape < 10 ms per target"


def topo(*args, timeout=180):
    env = dict(os.environ, PK_BUILD_DIR=sys.argv[1])
    return subprocess.run([os.path.join(sys.argv[2], "env", "topo.sh")] + list(args), capture_output=True,
                          text=True, timeout=timeout, env=env)


def cpu_ticks(pid):
    """utime + stime, or None once the process is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[11]) + int(fields[12])


def status_kib(pid, key):
    """A /proc/PID/status figure in KiB: VmRSS (all resident pages, the
    shared libraries' too), RssAnon (the agent's own heap and stacks)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pids(pattern):
    out = []
    for root, _, files in os.walk(STATE):
        for f in files:
            if f.endswith(".pid") and pattern in os.path.join(root, f):
                with open(os.path.join(root, f)) as fh:
                    out.append(int(fh.read().strip()))
    return out


def last_words(pid):
    """The last lines of the log of the agent whose pid file holds pid."""
    d = os.path.join(STATE, "agents.d")
    for f in os.listdir(d):
        if f.endswith(".pid") and open(os.path.join(d, f)).read().strip() == str(pid):
            with open(os.path.join(d, f[:-4] + ".log")) as fh:
                lines = fh.read().splitlines()
            bad = [x for x in lines if "ERROR" in x or "Sanitizer" in x or "runtime error" in x
                   or x.startswith("vxlan-agent:")]
            return "%s: %s" % (f[:-4], " | ".join((bad or lines)[-3:]))
    return "pid %d" % pid


def get(url, timeout=5):
    with InNetns("pk-prom"):
        return urllib.request.urlopen(url, timeout=timeout).read().decode()


def peers_heard(addr):
    """Peers that answered, or -1 when the endpoint did not answer in time."""
    try:
        body = get("http://%s:9910/metrics" % addr)
    except (OSError, http.client.HTTPException):
        return -1
    return sum(1 for line in body.splitlines()
               if line.startswith("vxlan_agent_peer_answered_probes_total{") and float(line.split()[-1]) > 0)


def prom_query(url, q):
    try:
        doc = json.loads(get(url + "/api/v1/query?" + urllib.parse.urlencode({"query": q}), timeout=15))
    except (OSError, http.client.HTTPException) as e:
        print("  (query %s: %s)" % (q, e))
        return []
    return [float(r["value"][1]) for r in doc["data"]["result"]]


def stats(xs, fmt):
    if not xs:
        return "none"
    return ("median " + fmt + ", max " + fmt + " (%d)") % (statistics.median(xs), max(xs), len(xs))


def run(interval):
    print("== %d agents (%d hypervisors x %d), probes every %s" % (N, HOSTS, PER_HOST, interval), flush=True)
    topo("down")
    t0 = time.monotonic()
    r = topo("up", "-q", "--link", "vxlan", "--hosts", str(HOSTS), "--agents", str(PER_HOST), "--ip", "4",
             "--run-agents", "-i %s -q" % interval, "--prometheus", "--scrape-interval", "1s")
    if r.returncode == 3:
        print("fleet_bench: skipped: Open vSwitch cannot start: " + r.stderr.strip()[-200:])
        return False
    if r.returncode != 0:
        raise SystemExit("fleet_bench: topo.sh up: " + r.stderr.strip()[-500:])
    try:
        up = time.monotonic() - t0
        addrs = ["10.1.1.%d" % (4 + i) for i in range(1, N + 1)]
        deadline = time.monotonic() + 60
        heard = []
        while time.monotonic() < deadline:
            heard = [peers_heard(a) for a in addrs]
            if all(h == N - 1 for h in heard):
                break
            time.sleep(0.5)
        found = time.monotonic() - t0
        print("set-up: %.1f s (topo.sh up: namespaces, %d Open vSwitch instances, tunnels, agents, Prometheus "
              "ready); every agent heard all %d others %.1f s after the start%s"
              % (up, HOSTS, N - 1, found, "" if all(h == N - 1 for h in heard) else
                 " -- NOT within 60 s: peers heard %s (-1: its metrics did not answer in 5 s)"
                 % stats(heard, "%d")), flush=True)
        time.sleep(3)
        agents, ovs = pids("agents.d/"), pids("ovs-vswitchd.pid")
        a0, o0, w0 = [cpu_ticks(p) for p in agents], [cpu_ticks(p) for p in ovs], time.monotonic()
        time.sleep(WINDOW)
        a1, o1, w1 = [cpu_ticks(p) for p in agents], [cpu_ticks(p) for p in ovs], time.monotonic()
        span = (w1 - w0) * TICK
        cpu = [100.0 * (b - a) / span for a, b in zip(a0, a1) if a is not None and b is not None]
        ocpu = [100.0 * (b - a) / span for a, b in zip(o0, o1) if a is not None and b is not None]
        gone = [p for p, b in zip(agents, a1) if b is None]
        if gone:
            print("AGENTS EXITED: %d of %d, e.g. %s" % (len(gone), N, last_words(gone[0])))
        live = [p for p, b in zip(agents, a1) if b is not None]
        rss = [status_kib(p, "VmRSS") / 1024.0 for p in live]
        anon = [status_kib(p, "RssAnon") / 1024.0 for p in live]
        print("CPU per agent over %.0f s: %s%% of one core; all %d agents %.1f%%" %
              (w1 - w0, stats(cpu, "%.2f"), N, sum(cpu)), flush=True)
        print("RSS per agent: VmRSS %s MiB, of which its own (RssAnon) %s MiB"
              % (stats(rss, "%.2f"), stats(anon, "%.2f")))
        print("ovs-vswitchd per hypervisor (userspace datapath: it forwards every frame): %s%% of one core"
              % stats(ocpu, "%.1f"))
        with open(os.path.join(STATE, "prometheus.url")) as f:
            url = f.read().strip()
        dur = prom_query(url, 'avg_over_time(scrape_duration_seconds{job="vxlan-agent"}[10s])')
        mx = prom_query(url, 'max_over_time(scrape_duration_seconds{job="vxlan-agent"}[10s])')
        smp = prom_query(url, 'scrape_samples_scraped{job="vxlan-agent"}')
        up_t = prom_query(url, 'up{job="vxlan-agent"}')
        print("scrape duration per target (mean over 10 s): %s ms; worst single scrape %s ms"
              % (stats([1e3 * d for d in dur], "%.2f"), "%.2f" % (1e3 * max(mx)) if mx else "-"))
        print("series per agent (scrape_samples_scraped): %s; targets up %d of %d"
              % (stats(smp, "%d"), sum(1 for u in up_t if u == 1), N), flush=True)
        local = []
        for i, a in enumerate(addrs, 1):
            r = subprocess.run(["ip", "netns", "exec", "agent%d" % i, "curl", "-s", "-o", "/dev/null", "-m", "5",
                                "-w", "%{time_total} %{size_download}", "http://127.0.0.1:9910/metrics"],
                               capture_output=True, text=True, timeout=10)
            if r.returncode == 0:
                local.append([float(x) for x in r.stdout.split()])
        print("the same /metrics fetched in the agent's own namespace (no overlay): %s ms, %s KiB"
              % (stats([1e3 * t for t, _ in local], "%.2f"), stats([b / 1024 for _, b in local], "%.0f")),
              flush=True)
    finally:
        t1 = time.monotonic()
        r = topo("down")
        print("down: %.1f s%s" % (time.monotonic() - t1, "" if r.returncode == 0 else " FAILED: " + r.stderr[-300:]))
    return True


def main():
    intervals = sys.argv[3:] or ["500ms", "10ms"]
    print(GOALS)
    for iv in intervals:
        if not run(iv):
            return 0
    print(GOALS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
