#!/usr/bin/env python3
"""vxlan-agent as a fleet member (issue 13), on the loopback interface: its
Prometheus metrics against its own -J reports of the same run, and static
peers (--peer) where no multicast joins two agents. Helpers from
test_agent.py."""
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
from pkutil import Fail, check  # noqa: E402
from test_agent import GROUP, agent, finish, free_port, read_err_line, reports  # noqa: E402


def parse_metrics(text):
    """{(name, frozenset of (label, value)): value} of an exposition; every
    family has HELP and TYPE; {name: type}."""
    series, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            types[name] = typ
            continue
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r'([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        check(m is not None, "bad exposition line %r" % line)
        labels = frozenset(re.findall(r'([a-z_]+)="([^"]*)"', m.group(2) or ""))
        series[(m.group(1), labels)] = float(m.group(3))
    return series, types


def histogram(series, name, **labels):
    """[(le, cumulative count)] in le order, the sum, the count of one
    histogram series; the buckets must be cumulative and end at +Inf = count."""
    want = set(labels.items())
    buckets = sorted((float(dict(k)["le"]), v) for (n, k), v in series.items()
                     if n == name + "_bucket" and want <= set(k))
    rest = frozenset(want)
    total, count = series[(name + "_sum", rest)], series[(name + "_count", rest)]
    check(len(buckets) == 14 and buckets[-1][0] == float("inf"), "%s: buckets %s" % (name, buckets))
    check([b[0] for b in buckets[:-1]] == [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025, 0.05, 0.1, 0.25, 0.5, 1],
          "%s: bounds %s" % (name, buckets))
    check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
          "%s: buckets not cumulative %s" % (name, buckets))
    check(buckets[-1][1] == count, "%s: +Inf %s != count %s" % (name, buckets[-1][1], count))
    return buckets, total, count


def check_in_range(name, buckets, count, lo_s, hi_s):
    """Every sample of the histogram lies in [lo_s, hi_s] (1 us of rounding
    either way): buckets below lo are empty, buckets from hi on hold all."""
    for le, cum in buckets:
        if le < lo_s - 1e-6:
            check(cum == 0, "%s: %d samples at or under %g s, the least is %g s: %s"
                  % (name, cum, le, lo_s, buckets))
        if le >= hi_s + 1e-6:
            check(cum == count, "%s: %d of %d samples at or under %g s, the largest is %g s: %s"
                  % (name, cum, count, le, hi_s, buckets))


def test_metrics_http_and_file():
    """The endpoint (while it runs) and the --prom-file (its last report's
    state) against the -J document of the same run: promtool-clean; the
    RTT histogram's count is the replies the reports counted, its sum twice
    their RTT/2 total, and its buckets agree with their least and largest
    RTT; the one-way one likewise with the from_peer figures."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="pk-agent-integ-")
    try:
        path = os.path.join(tmp, "agent.prom")
        b, _ = agent(port, "127.0.0.3", "-q", "-i", "50ms", "-r", "1h")
        a, _ = agent(port, "127.0.0.2", "-J", "-i", "50ms", "-r", "500ms", "-c", "3",
                     "--prom-file", path, "--metrics-port", "0", "--metrics-addr", "127.0.0.1")
        line = read_err_line(a, 5)
        check(line and line.startswith("metrics listening on 127.0.0.1:"), line)
        mport = int(line.strip().rsplit(":", 1)[1])
        end = time.monotonic() + 10       # the first report makes the peer known
        while True:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
                body = r.read().decode()
                ctype = r.headers["Content-Type"]
            if 'vxlan_agent_peer_up{peer="127.0.0.3"}' in body or time.monotonic() > end:
                break
            time.sleep(0.05)
        check(ctype == "text/plain; version=0.0.4; charset=utf-8", ctype)
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/other" % mport, timeout=5)
            raise Fail("/other answered")
        except urllib.error.HTTPError as e:
            check(e.code == 404, "status %d" % e.code)
        rc, out, err = finish(a)
        pkutil.stop(b)
        check(rc == 0, "exit %d %s" % (rc, err))
        check(not [n for n in os.listdir(tmp) if n.endswith(".tmp")], os.listdir(tmp))
        text = open(path).read()
        for what, t in (("HTTP", body), ("file", text)):
            r = subprocess.run(["promtool", "check", "metrics"], input=t, capture_output=True, text=True)
            check(r.returncode == 0 and r.stdout == "" and r.stderr == "",
                  "promtool on the %s: %s %s" % (what, r.stdout, r.stderr))
        live, types = parse_metrics(body)
        peer = {("peer", "127.0.0.3")}
        check(live[("vxlan_agent_peer_up", frozenset(peer))] == 1, body[:3000])
        check(types["vxlan_agent_peer_rtt_seconds"] == "histogram" and
              types["vxlan_agent_peer_oneway_latency_seconds"] == "histogram", types)
        check(all(t == "counter" for n, t in types.items() if n.endswith("_total")) and
              all(n.endswith("_total") for n, t in types.items() if t == "counter"), types)
        # the last report's state, in the file, against the reports
        series, types = parse_metrics(text)
        doc = json.loads(out)
        samples = [p for s in doc["samples"] for p in s["peers"] if p["peer"] == "127.0.0.3"]
        check(len(samples) == 3, doc["samples"])
        answered = sum(p["answered"] for p in samples)
        lat = [p["latency_ms"] for p in samples if p["answered"] > 0]
        buckets, total, count = histogram(series, "vxlan_agent_peer_rtt_seconds", peer="127.0.0.3")
        check(count == answered > 0 and
              series[("vxlan_agent_peer_answered_probes_total", frozenset(peer))] == answered,
              "rtt count %s, the reports answered %d" % (count, answered))
        rtt_sum = 2 * sum(p["latency_ms"]["avg"] * p["answered"] for p in samples if p["answered"]) / 1e3
        check(abs(total - rtt_sum) <= 1e-6 * count, "rtt sum %s, the reports' %s" % (total, rtt_sum))
        check_in_range("rtt", buckets, count, 2 * min(x["min"] for x in lat) / 1e3,
                       2 * max(x["max"] for x in lat) / 1e3)
        ow = [p["from_peer"] for p in samples if p["from_peer"]["samples"] > 0]
        buckets, total, count = histogram(series, "vxlan_agent_peer_oneway_latency_seconds",
                                          peer="127.0.0.3", direction="from_peer")
        check(count == sum(f["samples"] for f in ow) > 0, "one-way count %s: %s" % (count, ow))
        check_in_range("one-way", buckets, count, min(f["oneway_ms"]["min"] for f in ow) / 1e3,
                       max(f["oneway_ms"]["max"] for f in ow) / 1e3)
        check(series[("vxlan_agent_peers", frozenset())] == 1 and
              series[("vxlan_agent_peer_up", frozenset(peer))] == 1, text[:2000])
        info = [(dict(k), v) for (n, k), v in series.items() if n == "vxlan_agent_build_info"]
        check(len(info) == 1 and info[0][0]["version"] == doc["version"] and info[0][1] == 1, info)
        start = datetime.datetime.strptime(doc["start"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        check(abs(series[("process_start_time_seconds", frozenset())] - start) < 0.002,
              (series[("process_start_time_seconds", frozenset())], doc["start"]))
        check(0 < series[("process_resident_memory_bytes", frozenset())] < 64 << 20, text[-3000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_static_peers():
    """--peer: two agents on different group ports (their group probes can
    never meet) find each other only through their lists, both ways, with
    0 loss and one-way figures; their own address in a list is skipped;
    the group is not joined (a group probe is not echoed) while a unicast
    probe on the group port is."""
    pa, pb = free_port(), free_port()
    check(pa != pb, "one port twice")
    common = ["--json-stream", "-i", "50ms", "-r", "500ms", "-c", "4"]
    a, _ = agent(pa, "127.0.0.2", "--peer", "127.0.0.3:%d" % pb, "--peer", "127.0.0.2", *common)
    b, _ = agent(pb, "127.0.0.3", "--peer", "127.0.0.2:%d" % pa, *common)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.9", 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.settimeout(0.3)
    try:
        s.sendto(b"12", (GROUP, pa))
        try:
            data, src = s.recvfrom(100)
            raise Fail("a group probe was echoed by %s: %r" % (src, data))
        except socket.timeout:
            pass
        s.sendto(b"13", ("127.0.0.2", pa))
        try:
            data, src = s.recvfrom(100)
        except socket.timeout:
            raise Fail("a unicast probe to the group port was not echoed")
        check(data == b"13" and src[0] == "127.0.0.2", (data, src))
    finally:
        s.close()
    for proc, me, other in ((a, "127.0.0.2", "127.0.0.3"), (b, "127.0.0.3", "127.0.0.2")):
        rc, out, err = finish(proc)
        check(rc == 0, "%s: exit %d %s" % (me, rc, err))
        docs = reports(out)
        check(len(docs) == 4, "%s: %d reports" % (me, len(docs)))
        for d in docs[1:]:             # the first may hold the peer's discovery
            peers = [p for p in d["peers"] if p["peer"] != "127.0.0.9"]
            check([p["peer"] for p in peers] == [other], "%s: peers %s" % (me, d["peers"]))
            p = peers[0]
            # answered counts the replies that came in the interval, one of
            # which may be to a probe of the interval before: expected +- 1
            check(abs(p["answered"] - p["expected"]) <= 1 and p["expected"] >= 8 and
                  p["lost"] == 0 and p["late"] == 0, "%s: %s" % (me, p))
            f = p["from_peer"]
            check(f["samples"] >= 8 and f["lost"] == 0, "%s: from the peer %s" % (me, f))
            check(d["lost"] == 0, "%s: %s" % (me, d))
        t = docs[-1]["totals"]
        check(t["own_replies"] == 0 and t["send_errors"] == 0 and
              t["tx_clock_fallbacks"] == 0, "%s: %s" % (me, t))


if __name__ == "__main__":
    pkutil.main([test_metrics_http_and_file, test_static_peers])
