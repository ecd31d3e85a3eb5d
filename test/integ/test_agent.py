#!/usr/bin/env python3
"""vxlan-agent on the loopback interface (no root needed): several agents on
one host keep distinct addresses (127.0.0.2, .3, the seed's at 127.0.0.1)
through OWN_ADDR. All multicast stays on lo (--iface lo, TTL 1)."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
from pkutil import Fail, check  # noqa: E402

GROUP = "239.255.255.250"
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def agent_bin():
    p = os.path.join(pkutil.build_dir(), "agent", "vxlan-agent")
    check(os.access(p, os.X_OK), "vxlan-agent not built under %s" % pkutil.build_dir())
    return p


def free_port():
    """A UDP port nobody uses now (the agents must share one group port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def agent(port, own, *args):
    return pkutil.start_server([agent_bin(), "-I", "lo", "-p", str(port)] + list(args) + [own])


def reports(out):
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def finish(proc, timeout=20):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pkutil.stop(proc)
        raise Fail("agent did not stop after its reports")
    return proc.returncode, out, err


def member(port):
    """A socket in the group on lo: it hears the agents' probes."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    idx = socket.if_nametoindex("lo")
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 struct.pack("4s4si", socket.inet_aton(GROUP), bytes(4), idx))
    s.settimeout(3)
    return s


def test_usage():
    r = pkutil.run([agent_bin(), "-i", "x"])
    check(r.returncode == 2 and "interval 'x': invalid" in r.stderr, r.stderr)
    r = pkutil.run([agent_bin(), "--port", "0"])
    check(r.returncode == 2, "port 0 accepted")
    r = pkutil.run([agent_bin(), "a", "b"])
    check(r.returncode == 2, "two addresses accepted")
    r = pkutil.run([agent_bin(), "--help"])
    check(r.returncode == 0 and "usage: vxlan-agent" in r.stdout and "--metrics-port" in r.stdout, r.stdout)
    for args in (["-V"], ["--version"]):
        r = pkutil.run([agent_bin()] + args)
        check(r.returncode == 0 and re.fullmatch(r"vxlan-agent \(probekit\) \S+( \(git [0-9a-f]+\))?\n", r.stdout),
              r.stdout)


def test_two_agents_measure_each_other():
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "-J", "-i", "50ms", "-W", "300ms", "-r", "1s", "-c", "3")
    b, _ = agent(port, "127.0.0.3", "-J", "-i", "50ms", "-W", "300ms", "-r", "1s", "-c", "3")
    for proc, me, other in ((a, "127.0.0.2", "127.0.0.3"), (b, "127.0.0.3", "127.0.0.2")):
        rc, out, err = finish(proc)
        docs = reports(out)
        check(rc == 0, "%s: exit %d %s" % (me, rc, err))
        check(len(docs) == 3, "%s: %d reports" % (me, len(docs)))
        last = docs[-1]
        check([p["peer"] for p in last["peers"]] == [other], "%s: peers %s" % (me, last["peers"]))
        p = last["peers"][0]
        check(p["answered"] >= 15 and p["lost"] == 0, "%s: %s" % (me, p))
        # no absolute bound on a time: one late wake-up of this machine can
        # make any sample milliseconds long (an idle run saw a 9.6 ms one-way
        # sample on loopback); the figures must agree with each other
        check(last["avg_latency_ms"] is not None and 0 < last["avg_latency_ms"], last)
        check(last["lost"] == 0 and last["sent"] >= 18, last)
        check(p["latency_ms"]["min"] <= p["latency_ms"]["avg"] <= p["latency_ms"]["max"], p)
        check(last["totals"]["own_replies"] == 0, "own echo not suppressed: %s" % last["totals"])
        check(set(last) >= {"time", "interval_s", "avg_latency_ms", "lost", "peers"}, last)
        # the peer's direction toward us, from its stamped probes (one clock)
        f = p["from_peer"]
        ow = f["oneway_ms"]
        check(f["samples"] >= 15 and f["lost"] == 0 and f["implausible"] == 0, "%s: %s" % (me, f))
        check(0 <= ow["min"] <= ow["avg"] <= ow["max"], "%s: one-way %s" % (me, ow))
        # one way is part of the round trip: its median is below the
        # largest round trip of the same run (latency_ms is RTT/2)
        check(ow["p50"] <= 2 * p["latency_ms"]["max"],
              "%s: one-way median %s above the largest RTT %s" % (me, ow, p["latency_ms"]))
        t = last["totals"]
        check(t["tx_clock_fallbacks"] == 0 and t["tx_kernel_stamps"] == t["sent"] and
              t["rx_clock_fallbacks"] == 0, "%s: times not from the kernel: %s" % (me, t))


def test_stamped_and_seq_probes():
    """On the wire: a stamped probe is 19 digits, '1', the sender's wall
    clock in us modulo 10^11, its sequence modulo 10^7; --seq-probes sends
    1, 2, 3 as the seed, and its peer then has no one-way figures for it."""
    port = free_port()
    m = member(port)
    a, _ = agent(port, "127.0.0.2", "-J", "-i", "50ms", "-r", "1s", "-c", "2")
    b, _ = agent(port, "127.0.0.3", "-J", "-i", "50ms", "-r", "1s", "-c", "2", "--seq-probes")
    seen = {}
    try:
        end = time.monotonic() + 3
        while time.monotonic() < end and len(seen) < 2:
            data, src = m.recvfrom(64)
            now_us = time.time_ns() // 1000
            seen.setdefault(src[0], (data, now_us))
    finally:
        m.close()
    check(set(seen) == {"127.0.0.2", "127.0.0.3"}, "probes heard from %s" % list(seen))
    data, now_us = seen["127.0.0.2"]
    check(len(data) == 19 and data.isdigit() and data[:1] == b"1", "stamped probe %r" % data)
    age_us = (now_us % 10**11 - int(data[1:12])) % 10**11
    check(age_us < 1000000, "stamp %r is %d us from the receive time" % (data, age_us))
    data, _ = seen["127.0.0.3"]
    check(data.isdigit() and int(data) < 100, "--seq-probes sent %r" % data)
    for proc, other, stamped in ((a, "127.0.0.3", False), (b, "127.0.0.2", True)):
        rc, out, err = finish(proc)
        p = reports(out)[-1]["peers"][0]
        check(rc == 0 and p["peer"] == other and p["answered"] >= 15, "%s" % p)
        if stamped:
            check(p["from_peer"]["samples"] >= 15, "no one-way figures from stamped probes: %s" % p)
        else:
            check(p["from_peer"]["samples"] == 0 and p["from_peer"]["oneway_ms"]["avg"] is None,
                  "one-way figures from plain probes: %s" % p)


def test_against_seed_agent():
    port = free_port()
    seed = subprocess.Popen([sys.executable, os.path.join(SRC, "test", "peers", "agent_seed.py"),
                             "--iface", "lo", "--port", str(port), "--interval", "0.05",
                             "--report", "1", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        check(pkutil.read_line(seed, 10) is not None, "seed agent did not start")
        ours, _ = agent(port, "127.0.0.2", "-J", "-i", "50ms", "-r", "1s", "-c", "3")
        rc, out, _ = finish(ours)
        last = reports(out)[-1]
        check([p["peer"] for p in last["peers"]] == ["127.0.0.1"], last["peers"])
        check(last["peers"][0]["answered"] >= 15 and last["peers"][0]["probes_heard"] >= 15, last)
    finally:
        _, sout, _ = pkutil.stop(seed)
    lines = [l for l in sout.splitlines() if l.startswith("Average latency")]
    check(len(lines) >= 2, "the seed agent measured nothing: %r" % sout)


def test_only_probes_are_echoed():
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "-J", "-i", "1s", "-r", "1h")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.9", 0))
    s.settimeout(0.3)
    try:
        for payload in (b"hello", b"123456789012345678901", b"12 ", b"-1", b"", b"\x00" * 8):
            s.sendto(payload, ("127.0.0.1", port))
            try:
                data, _ = s.recvfrom(100)
                raise Fail("%r was echoed as %r" % (payload, data))
            except socket.timeout:
                pass
        for payload in (b"12", b"18446744073709551616", b"00000000000000000001"):
            s.sendto(payload, ("127.0.0.1", port))
            try:
                data, src = s.recvfrom(100)
            except socket.timeout:
                raise Fail("probe %r not echoed" % payload)
            check(data == payload, "probe %r echoed as %r" % (payload, data))
    finally:
        s.close()
    rc, out, _ = pkutil.stop(a)     # SIGTERM: the final report
    tot = reports(out)[-1]["totals"]
    check(tot["bad_probes"] == 6, "bad probes %s" % tot)
    check(tot["echoed"] == 3, "echoed %s" % tot)


def test_unknown_bad_and_duplicate_replies():
    """Replies to the agent's probes from a fake peer at 127.0.0.9: one good,
    one duplicate, one to a probe never sent, one not a number."""
    port = free_port()
    m = member(port)
    a, _ = agent(port, "127.0.0.2", "-J", "-i", "200ms", "-r", "1s", "-c", "2")
    fake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fake.bind(("127.0.0.9", 0))
    try:
        while True:
            data, src = m.recvfrom(100)
            if src[0] == "127.0.0.2":
                break
        fake.sendto(data, src)
        fake.sendto(data, src)
        fake.sendto(b"99999999", src)
        fake.sendto(b"not a number", src)
    finally:
        m.close()
        fake.close()
    rc, out, _ = finish(a)
    docs = reports(out)
    tot = docs[-1]["totals"]
    peers = {p["peer"]: p for d in docs for p in d["peers"]}
    check("127.0.0.9" in peers, "fake peer not found: %s" % docs)
    check(sum(p["duplicates"] for d in docs for p in d["peers"]) == 1, docs)
    check(sum(p["answered"] for d in docs for p in d["peers"]) == 1, docs)
    check(tot["unknown_replies"] == 1 and tot["bad_replies"] == 1, tot)


def test_metrics_http_and_file():
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="pk-agent-integ-")
    try:
        path = os.path.join(tmp, "agent.prom")
        b, _ = agent(port, "127.0.0.3", "-q", "-i", "50ms", "-r", "500ms")
        a = subprocess.Popen([agent_bin(), "-I", "lo", "-p", str(port), "-q", "-i", "50ms", "-r", "500ms",
                              "--prom-file", path, "--metrics-port", "0", "--metrics-addr", "127.0.0.1",
                              "127.0.0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, bufsize=1)
        pkutil.read_line(a, 5)
        line = pkutil.read_line(a, 5)
        check(line and line.startswith("metrics listening on 127.0.0.1:"), line)
        mport = int(line.strip().rsplit(":", 1)[1])
        for _ in range(4):               # two reports: the peer's gauges exist
            pkutil.read_line(a, 5)
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
            body = r.read().decode()
            ctype = r.headers["Content-Type"]
        check(ctype.startswith("text/plain; version=0.0.4"), ctype)
        check('vxlan_agent_peer_latency_avg_seconds{peer="127.0.0.3"}' in body, body[:3000])
        # the peer's direction toward us, labelled
        check('vxlan_agent_peer_oneway_latency_avg_seconds{peer="127.0.0.3",direction="from_peer"}' in body
              and 'vxlan_agent_peer_oneway_received_probes_total{peer="127.0.0.3",direction="from_peer"}'
              in body and 'vxlan_agent_clock_fallbacks_total{direction="tx"} 0' in body, body[:6000])
        check("# TYPE vxlan_agent_probes_sent_total counter" in body, body[:500])
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/other" % mport, timeout=5)
            raise Fail("/other answered")
        except urllib.error.HTTPError as e:
            check(e.code == 404, "status %d" % e.code)
        text = open(path).read()
        check("vxlan_agent_peer_answered_probes_total" in text, text[:500])
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
            check(r.returncode == 0, "promtool: %s %s" % (r.stdout, r.stderr))
        pkutil.stop(a)
        pkutil.stop(b)
        check(not [n for n in os.listdir(tmp) if n.endswith(".tmp")], os.listdir(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_peer_expiry_and_bound():
    """--max-peers 1: a second peer is counted, not stored; a peer silent for
    --peer-timeout is forgotten (and the other can then take its place)."""
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "-J", "-i", "100ms", "-r", "400ms", "--max-peers", "1",
                 "--peer-timeout", "600ms")
    fakes = []
    try:
        for host in ("127.0.0.8", "127.0.0.9"):
            f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            f.bind((host, 0))
            f.settimeout(1)
            fakes.append(f)
        # both "peers" probe the agent (unicast to its group port) for 1 s
        end = time.monotonic() + 1.0
        n = 1
        while time.monotonic() < end:
            for f in fakes:
                f.sendto(str(n).encode(), ("127.0.0.1", port))
                f.recvfrom(100)                       # its echo
            n += 1
            time.sleep(0.05)
        # then only 127.0.0.9 goes on; 127.0.0.8 falls silent
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            fakes[1].sendto(str(n).encode(), ("127.0.0.1", port))
            fakes[1].recvfrom(100)
            n += 1
            time.sleep(0.05)
    finally:
        for f in fakes:
            f.close()
    rc, out, _ = pkutil.stop(a)
    docs = reports(out)
    first = [p["peer"] for p in docs[0]["peers"]]
    check(first == ["127.0.0.8"] or first == ["127.0.0.9"], "first report peers %s" % first)
    check(docs[0]["totals"]["untracked"] > 0, "second peer not counted: %s" % docs[0]["totals"])
    check(all(len(d["peers"]) <= 1 for d in docs), "table grew past 1")
    last = docs[-1]
    check([p["peer"] for p in last["peers"]] == ["127.0.0.9"], "last peers %s" % last["peers"])
    if first == ["127.0.0.8"]:
        check(last["totals"]["peers_expired"] >= 1, "silent peer not expired: %s" % last["totals"])


def test_interrupt_prints_summary():
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "-i", "50ms", "-r", "1h")
    time.sleep(0.3)   # let it send a few probes into an empty group
    rc, out, _ = pkutil.stop(a, sig=signal.SIGINT)
    check("final report" in out and "All packets are lost" in out, out)
    check(rc == 1, "exit %d with no peer" % rc)


if __name__ == "__main__":
    pkutil.main([test_usage, test_two_agents_measure_each_other, test_stamped_and_seq_probes,
                 test_against_seed_agent,
                 test_only_probes_are_echoed, test_unknown_bad_and_duplicate_replies,
                 test_metrics_http_and_file, test_peer_expiry_and_bound, test_interrupt_prints_summary])
