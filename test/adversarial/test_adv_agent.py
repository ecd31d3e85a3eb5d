#!/usr/bin/env python3
"""vxlan-agent under hostile input (issue 10, items 1, 2, 8, 12), on the
loopback interface as test/integ/test_agent.py runs it (agents at 127.0.0.2
and .3 on a free group port, --iface lo). Each test fails on the agent
before the fix it names:

- the metrics endpoint: a connection cap (the extra ones closed at once), a
  slowloris closed at the request's deadline, a connection flood under
  `ulimit -n 256` and a forced descriptor exhaustion (EMFILE) that cost
  little CPU, log a line or two, leave the prom-file and the probes working,
  and /metrics answering again after (item 1);
- the echo source: a spoofed probe from port 0 does not move the address
  later echoes leave from (item 2; raw socket: root only);
- no reflection: probes from the group port (an agent's echo socket), from
  below 1024 or from port 0 are never echoed, and one probe from a peer
  that echoes everything (the original agent) does not start a loop (items
  2 and 6);
- the echo limit is per address: one address using many source ports is
  limited as one (item 8);
- --prom-file never writes through a link placed at a temporary name (item 12).

Bounded: each test a few seconds, the whole file under a minute.
"""
import json
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))
import pkutil  # noqa: E402
from pkutil import Fail, check  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
from advutil import ROOT, cpu_s  # noqa: E402
from test_agent import agent_bin, free_port, reports  # noqa: E402


def start(port, own, *args, nofile=None, stderr=None):
    """An agent on lo; returns (proc, metrics port or None). nofile: its
    RLIMIT_NOFILE (as `ulimit -n`)."""
    def limit():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    proc = subprocess.Popen([agent_bin(), "-I", "lo", "-p", str(port)] + list(args) + [own],
                            stdout=subprocess.PIPE, stderr=stderr or subprocess.DEVNULL,
                            text=True, bufsize=1, preexec_fn=limit)
    line = pkutil.read_line(proc, 5)
    stream = "--json-stream" in args
    # --json-stream: the start record (the banner is on stderr), then the
    # metrics endpoint's `listening` record; text: the banner lines
    if line is None or (stream and json.loads(line)["event"] != "start") or \
            (not stream and "listening on" not in line):
        pkutil.stop(proc)
        raise Fail("agent did not start: %r" % line)
    if "--metrics-port" in args:
        line = pkutil.read_line(proc, 5)
        if stream:
            rec = json.loads(line) if line else {}
            check(rec.get("event") == "listening" and rec["data"].get("what") == "metrics",
                  "no listening record: %r" % line)
            return proc, rec["data"]["port"]
        check(line and line.startswith("metrics listening on"), "no metrics line: %r" % line)
        return proc, int(line.strip().rsplit(":", 1)[1])
    return proc, None



def next_report(proc, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = pkutil.read_line(proc, end - time.monotonic())
        if line is None:
            break
        rec = json.loads(line)
        if rec["event"] == "report":
            return rec["data"]
    raise Fail("no report within %.0f s" % timeout)


def wait_for(cond, within):
    end = time.monotonic() + within
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def scrape(mport, timeout=3):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=timeout) as r:
        return r.status, r.read().decode()


def scrape_until(mport, within):
    """/metrics answered 200 within `within` seconds: the body, else Fail."""
    end = time.monotonic() + within
    last = None
    while time.monotonic() < end:
        try:
            status, body = scrape(mport, timeout=1)
            if status == 200:
                return body
        except (OSError, urllib.error.URLError) as e:
            last = e
        time.sleep(0.2)
    raise Fail("/metrics did not answer within %.0f s (%s)" % (within, last))


def metric(body, name):
    for l in body.splitlines():
        if l.startswith(name + " "):
            return float(l.split()[1])
    return None


def flood(mport, n):
    """n connections to the endpoint, non-blocking, left open (idle)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", mport))
        socks.append(s)
    return socks


def closed_by_peer(s):
    """1 when the agent closed s (EOF or reset; a 503 before it is fine)."""
    try:
        s.setblocking(False)
        while True:
            data = s.recv(4096)
            if not data:
                return 1
    except BlockingIOError:
        return 0
    except OSError:
        return 1


def fds(pid):
    """The descriptor numbers a process has open."""
    return {int(x) for x in os.listdir("/proc/%d/fd" % pid)}


def close_all(socks):
    for s in socks:
        s.close()


# --- item 1: the metrics endpoint ---------------------------------------

def test_metrics_connection_cap():
    """100 idle connections: at most the cap (16) stay open, the others are
    closed at once; a scraper gets /metrics once they go."""
    port = free_port()
    a, mport = start(port, "127.0.0.2", "--json-stream", "-i", "200ms", "-r", "1h",
                     "--metrics-port", "0", "--metrics-addr", "127.0.0.1")
    socks = []
    try:
        socks = flood(mport, 100)
        gone = set()

        def most_closed():    # a connect beyond the backlog completes late
            gone.update(i for i, s in enumerate(socks) if i not in gone and closed_by_peer(s))
            return len(gone) >= 100 - 16
        wait_for(most_closed, 4)
        closed = len(gone)
        check(closed >= 100 - 16, "only %d of 100 idle connections closed: no cap" % closed)
        close_all(socks)
        socks = []
        body = scrape_until(mport, 3)
        check("vxlan_agent_probes_sent_total" in body, body[:300])
        refused = [l for l in body.splitlines()
                   if l.startswith('vxlan_agent_metrics_connections_total{result="refused"}')]
        check(refused and float(refused[0].split()[1]) >= 84, "refusals not counted: %s" % refused)
    finally:
        close_all(socks)
        pkutil.stop(a)


def test_metrics_slowloris():
    """Clients sending one byte every 0.5 s are closed at the deadline of
    the whole request (10 s), not kept while each byte resets a timer."""
    port = free_port()
    a, mport = start(port, "127.0.0.2", "--json-stream", "-i", "200ms", "-r", "1h",
                     "--metrics-port", "0", "--metrics-addr", "127.0.0.1")
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-a: b\r\n" * 100
    socks = []
    try:
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", mport), timeout=2)
            socks.append(s)
        t0 = time.monotonic()
        open_at_end = None
        i = 0
        while time.monotonic() - t0 < 13:
            for s in socks:
                try:
                    s.send(req[i % len(req):i % len(req) + 1])
                except OSError:
                    pass
            i += 1
            time.sleep(0.5)
            if i == 4:    # meanwhile a scraper is served
                status, _ = scrape(mport)
                check(status == 200, "status %d during the slowloris" % status)
            if time.monotonic() - t0 > 11.5 and open_at_end is None:
                open_at_end = sum(1 - closed_by_peer(s) for s in socks)
        check(open_at_end == 0, "%d slowloris connections still open after 11.5 s" % open_at_end)
    finally:
        close_all(socks)
        pkutil.stop(a)


def test_metrics_fd_exhaustion():
    """Under `ulimit -n 256`: 400 connections held for 3 s, then the agent's
    descriptors forced out (RLIMIT_NOFILE lowered under its open files, so
    accept fails with EMFILE) for 3 s while clients keep connecting. CPU
    stays low, stderr gets a line or two, not one per attempt, the
    prom-file is rewritten and the peer answered during the held flood,
    /metrics answers again after."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="pk-adv-agent-")
    errpath = os.path.join(tmp, "stderr")
    prom = os.path.join(tmp, "agent.prom")
    b, _ = start(port, "127.0.0.3", "-q", "-i", "50ms", "-r", "1h")
    errf = open(errpath, "w")
    a, mport = start(port, "127.0.0.2", "--json-stream", "-i", "50ms", "-r", "500ms", "--prom-file", prom,
                     "--metrics-port", "0", "--metrics-addr", "127.0.0.1", nofile=256, stderr=errf)
    socks = []
    try:
        next_report(a)            # printed just before the file is written
        check(wait_for(lambda: os.path.exists(prom), 2), "no prom-file after a report")
        m0 = os.stat(prom).st_mtime_ns
        nfd0 = len(fds(a.pid))
        # phase 1: 400 connections, held
        socks = flood(mport, 400)
        c0, t0 = cpu_s(a.pid), time.monotonic()
        answered0 = sum(p["answered"] for p in next_report(a)["peers"])
        time.sleep(2.0)
        doc = next_report(a)
        load = (cpu_s(a.pid) - c0) / (time.monotonic() - t0)
        print("  400 connections under ulimit -n 256: agent CPU %.1f%%" % (100 * load))
        check(load < 0.25, "agent CPU %.0f%% under a connection flood" % (100 * load))
        check(wait_for(lambda: os.stat(prom).st_mtime_ns > m0, 1),
              "prom-file not rewritten during the flood")
        answered = sum(p["answered"] for p in doc["peers"])
        check(answered > 0 and doc["lost"] == 0,
              "probes not answered during the flood: %d then %s" % (answered0, doc))
        close_all(socks)
        socks = []
        scrape_until(mport, 3)
        # phase 2: no descriptor left. The soft limit is the lowest free
        # descriptor, once the agent has closed the flood's connections: a
        # free one below it would let accept succeed and the connection
        # beyond the cap be closed, again and again, never EMFILE.
        check(wait_for(lambda: len(fds(a.pid)) <= nfd0, 3),
              "flood connections still open: %d descriptors, %d before" %
              (len(fds(a.pid)), nfd0))
        held = fds(a.pid)
        lowest = min(set(range(len(held) + 1)) - held)
        resource.prlimit(a.pid, resource.RLIMIT_NOFILE, (lowest, 256))
        c0, t0 = cpu_s(a.pid), time.monotonic()
        for _ in range(6):
            socks += flood(mport, 50)
            time.sleep(0.5)
        load = (cpu_s(a.pid) - c0) / (time.monotonic() - t0)
        print("  accept failing with EMFILE for 3 s: agent CPU %.1f%%" % (100 * load))
        check(load < 0.25, "agent CPU %.0f%% while accept fails" % (100 * load))
        close_all(socks)
        socks = []
        resource.prlimit(a.pid, resource.RLIMIT_NOFILE, (256, 256))
        body = scrape_until(mport, 4)
        backoffs = metric(body, "vxlan_agent_metrics_accept_backoffs_total")
        errf.flush()
        with open(errpath, errors="replace") as f:
            lines = [l for l in f if "metrics" in l or "accept" in l]
        print("  %d accept back-offs, %d lines on stderr about them" % (backoffs or 0, len(lines)))
        check(backoffs is not None and backoffs > 0, "no accept back-off counted: %s" % backoffs)
        check(len(lines) <= 6, "%d lines on stderr: %r" % (len(lines), lines[:3]))
    finally:
        close_all(socks)
        pkutil.stop(a)
        pkutil.stop(b)
        errf.close()
        shutil.rmtree(tmp, ignore_errors=True)


# --- item 2: the echo source; reflection ---------------------------------

def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def spoof(src, sport, dst, dport, payload):
    """One IPv4 UDP datagram with any source (a raw socket: root)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        r.sendto(ip + udp, (dst, 0))
    finally:
        r.close()


def echo_of(sock, payload, to):
    """Sends payload to `to` from sock; the (data, source) of its echo or None."""
    sock.sendto(payload, to)
    try:
        return sock.recvfrom(100)
    except socket.timeout:
        return None


def test_echo_source_after_port0():
    """With OWN_ADDR 127.0.0.2 echoes leave from 127.0.0.2; a probe spoofed
    from port 0 (never echoed) does not change that for the next ones."""
    if not ROOT:
        print("  skipped: a spoofed source needs a raw socket (root)")
        return
    port = free_port()
    a, _ = start(port, "127.0.0.2", "--json-stream", "-i", "1s", "-r", "1h")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.9", 0))
    s.settimeout(0.5)
    try:
        r = echo_of(s, b"11", ("127.0.0.1", port))
        check(r is not None and r[1] == ("127.0.0.2", port), "first echo %s" % (r,))
        spoof("127.0.0.9", 0, "127.0.0.1", port, b"12345")
        time.sleep(0.2)
        for n in (b"12", b"13", b"14"):
            r = echo_of(s, n, ("127.0.0.1", port))
            check(r is not None and r[1] == ("127.0.0.2", port),
                  "after a probe from port 0 the echo of %r came from %s" % (n, r and r[1]))
    finally:
        s.close()
    _, out, _ = pkutil.stop(a)
    tot = reports(out)[-1]["totals"]
    check(tot.get("source_refused", 0) >= 1 and tot["echoed"] == 4, "totals %s" % tot)


def test_no_echo_to_group_or_low_ports():
    """A probe from the group port (where agents echo from) or from a port
    below 1024 is not echoed; the same probe from an ordinary port is; with
    --peer (unicast only) as without."""
    for extra in ([], ["--peer", "127.0.0.3"]):
        no_echo_to_group_or_low_ports(extra)


def no_echo_to_group_or_low_ports(extra):
    port = free_port()
    a, _ = start(port, "127.0.0.2", "--json-stream", "-i", "1s", "-r", "1h", *extra)
    socks = []
    try:
        for sport, want in ((port, False), (999 if ROOT else None, False), (0, True)):
            if sport is None:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.9", sport))
            s.settimeout(0.4)
            socks.append(s)
            r = echo_of(s, b"4242", ("127.0.0.1", port))
            check((r is not None) == want, "%s probe from port %d: echo %s" % (extra, s.getsockname()[1], r))
    finally:
        close_all(socks)
        pkutil.stop(a)


def test_no_loop_with_an_echoer():
    """A peer that echoes every datagram on its group port back to its
    source (as the original agent, main.py, does) at 127.0.0.9, and one
    probe from there: before, the agent and it answered each other for ever
    (at the echo rate); now the agent never echoes a group port."""
    port = free_port()
    a, _ = start(port, "127.0.0.2", "--json-stream", "-i", "1h", "-r", "1h")
    e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    e.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    e.bind(("127.0.0.9", port))
    e.settimeout(0.2)
    heard = 0
    try:
        e.sendto(b"777", ("127.0.0.1", port))
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            try:
                data, src = e.recvfrom(100)
            except socket.timeout:
                continue
            if data == b"777":
                heard += 1
                e.sendto(data, src)
    finally:
        e.close()
        _, out, _ = pkutil.stop(a)
    print("  %d echoes in 1.5 s after one probe" % heard)
    check(heard == 0, "%d echoes in 1.5 s after one probe: a reflection loop" % heard)


def test_peer_mode_forged_probe():
    """--peer: one probe from an address nobody listed (it could be forged)
    draws at most timeout / interval + 1 unicast probes to that address's
    group port (-i 100ms -W 300ms: 4), not probes for the whole peer
    timeout; the same address probing on keeps getting them (a real
    unlisted agent is measured)."""
    port = free_port()
    a, _ = start(port, "127.0.0.2", "--json-stream", "-i", "100ms", "-W", "300ms", "-r", "1h",
                 "--peer", "127.0.0.3")
    v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)     # the "victim"'s group port
    v.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    v.bind(("127.0.0.9", port))
    src = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    src.bind(("127.0.0.9", 0))
    src.settimeout(0.5)

    def probes_to_victim(seconds):
        n, end = 0, time.monotonic() + seconds
        v.settimeout(0.05)
        while time.monotonic() < end:
            try:
                data, frm = v.recvfrom(100)
                if frm[0] == "127.0.0.2" and data.isdigit():
                    n += 1
            except socket.timeout:
                pass
        return n

    try:
        src.sendto(b"4243", ("127.0.0.2", port))
        check(src.recvfrom(100)[0] == b"4243", "the probe was not echoed")
        once = probes_to_victim(2.0)            # the peer timeout is 30 s
        print("  %d probes to the address of one probe, in 2 s" % once)
        check(1 <= once <= 4, "%d probes after one probe: want 1..4" % once)
        steady = 0
        for _ in range(10):                     # 1 s of probes from it
            src.sendto(b"4244", ("127.0.0.2", port))
            steady += probes_to_victim(0.1)
        check(steady >= 7, "a peer probing every 100 ms got %d probes in 1 s" % steady)
    finally:
        close_all([v, src])
        pkutil.stop(a)


# --- item 8: the echo limit per address ----------------------------------

def test_echo_limit_per_address():
    """--echo-rate 50 (burst 100): 100 source ports of one address sending 5
    probes each get about 100 echoes, not 500."""
    port = free_port()
    a, _ = start(port, "127.0.0.2", "--json-stream", "-i", "1s", "-r", "1h", "--echo-rate", "50")
    socks = []
    got = 0
    try:
        for _ in range(100):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.9", 0))
            s.setblocking(False)
            socks.append(s)
        t0 = time.monotonic()
        for k in range(5):
            for s in socks:
                s.sendto(str(1000 + k).encode(), ("127.0.0.1", port))
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        time.sleep(0.3)
        for s in socks:
            try:
                while s.recv(100):
                    got += 1
            except BlockingIOError:
                pass
        allowed = 100 + 50 * (elapsed + 0.3) + 5
        print("  %d echoes of 500 probes from 100 ports (allowed %.0f)" % (got, allowed))
        check(got <= allowed, "%d echoes: the limit is per port, not per address" % got)
        check(got >= 90, "only %d echoes" % got)
    finally:
        close_all(socks)
        pkutil.stop(a)


# --- item 12: the prom-file's temporary file -----------------------------

def test_prom_file_symlink():
    """A link placed at the old temporary name (PATH.<pid>.tmp) is never
    followed: the file it points to keeps its bytes."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="pk-adv-agent-")
    try:
        victim = os.path.join(tmp, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        prom = os.path.join(tmp, "agent.prom")
        a, _ = start(port, "127.0.0.2", "--json-stream", "-i", "100ms", "-r", "300ms", "--prom-file", prom)
        try:
            os.symlink(victim, "%s.%d.tmp" % (prom, a.pid))
            next_report(a)
            next_report(a)
        finally:
            pkutil.stop(a)
        check(open(victim).read() == "precious\n", "the prom-file was written through a link")
        check(os.path.isfile(prom) and not os.path.islink(prom) and
              "vxlan_agent_probes_sent_total" in open(prom).read(), "no prom-file")
        left = [n for n in os.listdir(tmp) if n.endswith(".tmp") and
                not os.path.islink(os.path.join(tmp, n))]
        check(not left, "temporary files left: %s" % left)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    pkutil.main([test_metrics_connection_cap, test_echo_source_after_port0,
                 test_no_echo_to_group_or_low_ports, test_no_loop_with_an_echoer,
                 test_peer_mode_forged_probe,
                 test_echo_limit_per_address, test_prom_file_symlink,
                 test_metrics_fd_exhaustion, test_metrics_slowloris])
