#!/usr/bin/env python3
"""The fleet under a real Prometheus with the shipped rules (root, Open vSwitch).

env/topo.sh brings up 3 hypervisors x 2 agents on a VXLAN overlay, the agents
probing every 100 ms, and Prometheus (namespace pk-prom, on hv1) scraping
them every second. The shipped rules (env/prometheus/*.rules.yml) are loaded
with their durations divided by 30 (5m -> 10s, 1m -> 2s: only the
durations; the expressions and thresholds are the shipped ones) and
Prometheus is reloaded. Then `topo.sh impair hv2-hv3:loss=20` (hv1, where
Prometheus is, keeps clean scrapes): through Prometheus' HTTP API, exactly
the 8 pairs between hv2's and hv3's agents get a loss ratio consistent with
20% and above every unimpaired pair's, VxlanAgentPeerLossHigh fires for
those 8 pairs and no alert ever fires for any other; env/mesh.py
--prometheus lists them as the 8 worst pairs. `impair hv2-hv3:none`: the
alert clears. Prints the times to fire and to clear.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from nsutil import InNetns, Fail, check, env_script, require_root, run_tests, sh, src_dir, topo_down, topo_up, wilson

HOSTS, PER_HOST = 3, 2
SHORTEN = 30                     # the rules' durations divided by this
IMPAIRED = ("hv2", "hv3")        # not hv1: Prometheus scrapes from there
LOSS = 0.20
STATE = os.environ.get("PK_ENV_STATE", "/run/probekit-env")
ALERT = "VxlanAgentPeerLossHigh"


def host_of(i):
    return "hv%d" % ((i - 1) % HOSTS + 1)     # topo.sh: round robin


def shorten(text):
    """Every duration of a rules file (range selectors, subqueries, `for:`)
    divided by SHORTEN, in seconds; nothing else changes."""
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}

    def dur(m):
        s = int(m.group(1)) * unit[m.group(2)] / SHORTEN
        return "%ds" % max(1, round(s))
    text = re.sub(r"(?<=\[)(\d+)(ms|s|m|h|d)(?=[]:])", dur, text)
    return re.sub(r"(?m)(?<=^\s{8}for: )(\d+)(ms|s|m|h|d)$", dur, text)


class Prom:
    def __init__(self, url):
        self.url = url

    def call(self, path, params=None, method="GET"):
        full = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with InNetns("pk-prom"):
            req = urllib.request.Request(full, method=method)
            with urllib.request.urlopen(req, timeout=5) as r:
                body = r.read()
        return json.loads(body) if body.startswith(b"{") else body

    def query(self, q):
        doc = self.call("/api/v1/query", {"query": q})
        check(doc.get("status") == "success", "query %s: %s" % (q, doc))
        return doc["data"]["result"]

    def pairs(self, q):
        """{(agent, peer agent): value} of a per-pair query."""
        out = {}
        for s in self.query(q):
            m = s["metric"]
            out[(m["agent"], ADDR2AGENT.get(m["peer"], m["peer"]))] = float(s["value"][1])
        return out


ADDR2AGENT = {"10.1.1.%d" % (4 + i): "agent%d" % i for i in range(1, HOSTS * PER_HOST + 1)}


def load_short_rules(prom, tmp):
    """The shipped rules with short durations, into Prometheus' config, reloaded."""
    rules_dir = os.path.join(src_dir(), "env", "prometheus")
    files = sorted(f for f in os.listdir(rules_dir) if f.endswith(".rules.yml"))
    check(files, "no rules in %s" % rules_dir)
    short = []
    for f in files:
        with open(os.path.join(rules_dir, f)) as src:
            text = src.read()
        path = os.path.join(tmp, f)
        with open(path, "w") as dst:
            dst.write(shorten(text))
        short.append(path)
    r = subprocess.run(["promtool", "check", "rules"] + short, capture_output=True, text=True)
    check(r.returncode == 0, "shortened rules: %s %s" % (r.stdout, r.stderr))
    cfg = os.path.join(STATE, "prometheus", "prometheus.yml")
    with open(cfg) as f:
        text = f.read()
    for f in files:
        check(os.path.join(rules_dir, f) in text or f in text, "%s: %s not loaded" % (cfg, f))
    text = re.sub(r"(?m)^  - .*/env/prometheus/([^/\n]+\.rules\.yml)$",
                  lambda m: "  - " + os.path.join(tmp, m.group(1)), text)
    with open(cfg, "w") as f:
        f.write(text)
    prom.call("/-/reload", method="POST")
    groups = prom.call("/api/v1/rules")["data"]["groups"]
    got = {g["file"] for g in groups}
    check(got == set(short), "rules loaded: %s, wanted %s" % (got, short))
    fors = {r["name"]: r.get("duration") for g in groups for r in g["rules"] if r["type"] == "alerting"}
    print("  rules reloaded, durations / %d: %s for %ds" % (SHORTEN, ALERT, fors[ALERT]))
    return fors[ALERT]


def wait(what, fn, timeout, step=0.5):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise Fail("%s: not within %d s" % (what, timeout))
        time.sleep(step)


def firing(prom, seen_other):
    """The (agent, peer) pairs of firing ALERT alerts; any other firing alert
    is collected in seen_other."""
    pairs = set()
    for s in prom.query('ALERTS{alertstate="firing"}'):
        m = s["metric"]
        if m.get("alertname") == ALERT:
            pairs.add((m["agent"], ADDR2AGENT.get(m["peer"], m["peer"])))
        else:
            seen_other.add("%s %s->%s" % (m.get("alertname"), m.get("agent"), m.get("peer")))
    return pairs


def impair(spec):
    sh([env_script("topo.sh"), "impair", spec])


def test_fleet_loss_alerts():
    n = HOSTS * PER_HOST
    agents = ["agent%d" % i for i in range(1, n + 1)]
    hosts = {"agent%d" % i: host_of(i) for i in range(1, n + 1)}
    want = {(a, b) for a in agents for b in agents
            if {hosts[a], hosts[b]} == set(IMPAIRED)}
    others = {(a, b) for a in agents for b in agents if a != b} - want
    t0 = time.monotonic()
    topo_up("--link", "vxlan", "--hosts", str(HOSTS), "--agents", str(PER_HOST), "--ip", "4",
            "--run-agents", "-i 100ms -W 500ms -r 5s -q", "--prometheus", "--scrape-interval", "1s")
    seen_other = set()
    try:
        print("  up: %d agents on %d hosts in %.1f s" % (n, HOSTS, time.monotonic() - t0))
        with open(os.path.join(STATE, "prometheus.url")) as f:
            prom = Prom(f.read().strip())
        with tempfile.TemporaryDirectory() as tmp:
            hold = load_short_rules(prom, tmp)
            ratio = "instance_peer:vxlan_agent_peer_lost_probes_per_expected_probes:ratio_rate5m"
            # every pair measured (a full window of it), none lossy
            wait("all %d pairs with a loss ratio" % len(want | others),
                 lambda: len(prom.pairs(ratio)) == len(want | others), 40)
            time.sleep(10)
            clean = prom.pairs(ratio)
            check(all(0 <= v < 0.05 for v in clean.values()), "loss before the impairment: %s" % clean)
            check(not firing(prom, seen_other) and not seen_other, "alerts before: %s" % seen_other)

            t_imp = time.monotonic()
            impair("%s-%s:loss=%d" % (IMPAIRED[0], IMPAIRED[1], LOSS * 100))
            t_fire = None
            got = set()
            end = t_imp + 60
            while time.monotonic() < end:
                got = firing(prom, seen_other)
                check(got <= want, "%s fired for unimpaired pairs %s" % (ALERT, got - want))
                if got == want:
                    t_fire = time.monotonic() - t_imp
                    break
                time.sleep(0.5)
            check(t_fire is not None, "%s fired for %d of %d pairs in 60 s" % (ALERT, len(got), len(want)))
            print("  %s firing for the %d impaired pairs %.1f s after the impairment (for: %ds)"
                  % (ALERT, len(want), t_fire, hold))
            check(t_fire >= hold, "fired %.1f s after, before its for (%d s)" % (t_fire, hold))
            # the recorded ratio the alert reads: over the threshold for
            # exactly the impaired pairs
            now = prom.pairs(ratio)
            over = {p for p, v in now.items() if v > 0.05}
            check(over == want, "recorded loss over 5%% for %s, impaired %s: %s" % (over, want, now))

            # the loss of each pair since the impairment, from the counters
            span = "%ds" % int(time.monotonic() - t_imp - 2)
            lost = prom.pairs("increase(vxlan_agent_peer_lost_probes_total[%s])" % span)
            exp = prom.pairs("increase(vxlan_agent_peer_expected_probes_total[%s])" % span)
            imp = {p: lost[p] / exp[p] for p in want}
            rest = {p: lost[p] / exp[p] for p in others}
            for p, r in sorted(imp.items()):
                lo, hi = wilson(round(lost[p]), round(exp[p]), 4.5)
                check(lo <= LOSS <= hi, "%s->%s: loss %.3f over %d probes, not %.2f"
                      % (p[0], p[1], r, exp[p], LOSS))
            check(min(imp.values()) > max(rest.values()) + 0.05,
                  "impaired %s vs unimpaired %s" % (imp, rest))
            print("  loss over %s: impaired pairs %.3f..%.3f, the others %.3f at most (%d probes a pair)"
                  % (span, min(imp.values()), max(imp.values()), max(rest.values()), min(exp.values())))

            r = sh(["ip", "netns", "exec", "pk-prom", sys.executable,
                    os.path.join(src_dir(), "env", "mesh.py"), "--prometheus", prom.url,
                    "--window", "10s", "--top", str(len(want))])
            rows = [l.split() for l in r.stdout.splitlines() if l.startswith("  agent")]
            worst = {(x[0], x[1]) for x in rows}
            check(worst == want, "mesh.py's worst pairs %s, impaired %s:\n%s" % (worst, want, r.stdout))
            print("  mesh.py: its %d worst pairs are the impaired ones" % len(want))

            t_clr = time.monotonic()
            impair("%s-%s:none" % IMPAIRED)
            wait("%s cleared" % ALERT, lambda: not firing(prom, seen_other), 60)
            print("  cleared %.1f s after the impairment was removed" % (time.monotonic() - t_clr))
            check(not seen_other, "other alerts fired: %s" % sorted(seen_other))
    finally:
        topo_down()
    print("  total %.1f s" % (time.monotonic() - t0))


def main():
    require_root()
    for tool in ("prometheus", "promtool"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            raise SystemExit("%s is not installed (env/packages/agent.txt)" % tool)
    run_tests([test_fleet_loss_alerts])


if __name__ == "__main__":
    main()
