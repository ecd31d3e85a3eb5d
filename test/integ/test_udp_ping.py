"""udp-ping server and client on 127.0.0.1 and ::1, port 0."""
import json
import math
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from pkutil import Fail, check, main, prog, run, run_json, start_server, stop, read_line  # noqa: E402

UDP_PING = None


def server(*args):
    return start_server([UDP_PING, "server", "-p", "0", "-q"] + list(args))


def client(port, host, *args, timeout=60):
    return run_json([UDP_PING, "client", "-J", "-p", str(port)] + list(args) + [host],
                    timeout=timeout)


def adds_up(doc, count):
    s = doc["summary"]
    check(s["transmitted"] == count, "transmitted %d != %d" % (s["transmitted"], count))
    check(s["received"] + s["lost"] + s["late"] == s["transmitted"],
          "received + lost + late != transmitted: %r" % s)
    samples = doc["samples"]
    check(len(samples) == count, "%d samples for %d pings" % (len(samples), count))
    check([x["seq"] for x in samples] == list(range(1, count + 1)), "sample seqs")
    by = {}
    for x in samples:
        by[x["status"]] = by.get(x["status"], 0) + 1
        check((x["rtt_ms"] is None) == (x["status"] == "lost"), "rtt null iff lost: %r" % x)
    check(by.get("ok", 0) == s["received"], "ok samples != received")
    check(by.get("lost", 0) == s["lost"], "lost samples != lost")
    check(by.get("late", 0) == s["late"], "late samples != late")
    want = 100.0 * (s["transmitted"] - s["received"]) / s["transmitted"]
    check(abs(s["loss_percent"] - want) < 1e-9, "loss_percent")
    lo, hi = s["loss_ci95"]
    check(0 <= lo <= s["loss_percent"] <= hi <= 100, "CI brackets the loss")
    r = s["rtt_ms"]
    if s["received"]:
        oks = [x["rtt_ms"] for x in samples if x["status"] == "ok"]
        check(abs(min(oks) - r["min"]) < 1e-9 and abs(max(oks) - r["max"]) < 1e-9, "min/max")
        check(abs(sum(oks) / len(oks) - r["avg"]) < 1e-6, "avg")
        mean = sum(oks) / len(oks)
        mdev = math.sqrt(sum((x - mean) ** 2 for x in oks) / len(oks))
        check(abs(mdev - r["mdev"]) < 1e-6, "mdev is the population stddev")
        check(r["min"] <= r["p50"] <= r["p90"] <= r["p99"] <= r["max"], "percentiles ordered")
        clocks = s["rx_clock"]
        check(clocks["kernel"] + clocks["monotonic"] == s["received"], "rx clocks add up")
        # longest loss run from the samples
    run_, best = 0, 0
    for x in samples:
        run_ = run_ + 1 if x["status"] != "ok" else 0
        best = max(best, run_)
    check(best == s["longest_loss_run"], "longest loss run %d != %d" % (best, s["longest_loss_run"]))


def test_loss_near_p_v4():
    n, p = 400, 0.3
    srv, port = server("--loss", str(p), "--seed", "42")
    try:
        r, doc = client(port, "127.0.0.1", "-c", str(n), "-i", "2ms", "-W", "300ms")
    finally:
        stop(srv)
    check(r.returncode == 0, "exit %d" % r.returncode)
    adds_up(doc, n)
    s = doc["summary"]
    sd = math.sqrt(p * (1 - p) / n)
    check(abs(s["loss_percent"] / 100 - p) < 4.5 * sd,
          "loss %.1f%% not near %.0f%%" % (s["loss_percent"], 100 * p))
    check(s["late"] == 0 and s["duplicates"] == 0, "no late or duplicates on loopback")


def lost_set(port, host, n):
    r, doc = client(port, host, "-c", str(n), "-i", "2ms", "-W", "300ms")
    return [x["seq"] for x in doc["samples"] if x["status"] == "lost"]


def test_seed_reproduces_drops_v6():
    n = 200
    runs = []
    for _ in range(2):
        srv, port = server("--loss", "0.3", "--seed", "7", "-6")
        try:
            runs.append(lost_set(port, "::1", n))
        finally:
            stop(srv)
    check(runs[0] == runs[1], "same seed, different drops")
    check(0.15 * n < len(runs[0]) < 0.45 * n, "loss near 30%%: %d of %d" % (len(runs[0]), n))
    srv, port = server("--loss", "0.3", "--seed", "8", "-6")
    try:
        other = lost_set(port, "::1", n)
    finally:
        stop(srv)
    check(other != runs[0], "another seed, same drops")


class SlowServer:
    """A test peer on ::1 or 127.0.0.1: seq % 4 == 1 answered at once,
    == 2 answered after `delay`, == 3 never, == 0 answered twice."""

    def __init__(self, family, host, delay):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.delay = delay
        self.stop = False
        self.timers = []
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if not r:
                continue
            data, addr = self.sock.recvfrom(65535)
            seq = int(data.split()[1])
            reply = data.upper()
            if seq % 4 == 1:
                self.sock.sendto(reply, addr)
            elif seq % 4 == 2:
                t = threading.Timer(self.delay, self.sock.sendto, (reply, addr))
                t.start()
                self.timers.append(t)
            elif seq % 4 == 0:
                self.sock.sendto(reply, addr)
                self.sock.sendto(reply, addr)

    def close(self):
        self.stop = True
        self.t.join()
        for t in self.timers:
            t.cancel()
        self.sock.close()


def test_late_is_not_lost_nor_received():
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        peer = SlowServer(family, host, 0.25)
        try:
            # 12 pings 50 ms apart, 100 ms timeout: seq 2, 6, 10 answer
            # 250 ms late; the run lasts until the last late reply is in
            r, doc = client(peer.port, host, "-c", "12", "-i", "50ms", "-W", "100ms")
            rt = run([UDP_PING, "client", "-p", str(peer.port), "-c", "12", "-i", "50ms",
                      "-W", "100ms", host])
        finally:
            peer.close()
        adds_up(doc, 12)
        st = {x["seq"]: x["status"] for x in doc["samples"]}
        s = doc["summary"]
        for seq in range(1, 13):
            want = {1: "ok", 2: None, 3: "lost", 0: "ok"}[seq % 4]
            if want:
                check(st[seq] == want, "seq %d: %s, want %s" % (seq, st[seq], want))
            else:
                # a late reply needs the client to still run: the last ones
                # may come after the client stopped, then they are lost
                check(st[seq] in ("late", "lost"), "seq %d: %s" % (seq, st[seq]))
        check(st[2] == "late" and st[6] == "late", "late replies seen as late: %r" % st)
        check(s["received"] == 6, "received %d, want 6" % s["received"])
        check(s["duplicates"] == 3, "duplicates %d, want 3" % s["duplicates"])
        late = [x for x in doc["samples"] if x["status"] == "late"]
        check(all(x["rtt_ms"] > 100 for x in late), "late rtt above the timeout")
        check(s["rtt_ms"]["max"] < 100, "late replies are not in the rtt figures")
        out = rt.stdout
        check("no answer yet for seq=3\n" in out, "timeout line: %s" % out)
        check(re.search(r"^\d+ bytes from %s: seq=2 time=\d+\.\d{3} ms \"PING 2 [^\n]*\" \(late\)$"
                        % re.escape(host), out, re.M), "late line: %s" % out)
        check(re.search(r"^\d+ bytes from %s: seq=4 time=\d+\.\d{3} ms \"PING 4 [^\n]*\" \(DUP!\)$"
                        % re.escape(host), out, re.M), "duplicate line: %s" % out)
        check("12 packets transmitted, 6 received, +3 duplicates, 50% packet loss" in out,
              "ping summary line: %s" % out)


def test_exit_codes():
    srv, port = server("--loss", "1")
    try:
        r = run([UDP_PING, "client", "-c", "3", "-i", "10ms", "-W", "50ms", "-p", str(port),
                 "127.0.0.1"])
        check(r.returncode == 1, "all dropped: exit %d" % r.returncode)
        check("3 packets transmitted, 0 received, 100% packet loss" in r.stdout, r.stdout)
        check("rtt min" not in r.stdout, "no rtt line without replies")
    finally:
        stop(srv)
    srv, port = server("--loss", "0")
    try:
        r = run([UDP_PING, "client", "-c", "3", "-i", "10ms", "-p", str(port), "::1"])
        check(r.returncode == 0, "replies: exit %d" % r.returncode)
    finally:
        stop(srv)
    # nothing listening on a port we just closed: ICMP errors, exit 1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    r = run([UDP_PING, "client", "-c", "2", "-i", "10ms", "-W", "50ms", "-p", str(dead),
             "127.0.0.1"])
    check(r.returncode == 1, "no server: exit %d" % r.returncode)
    for args in (["client", "-c", "abc", "127.0.0.1"], ["client", "-i", "-1", "127.0.0.1"],
                 ["client", "-W", "1parsec", "127.0.0.1"], ["client", "-s", "70000", "::1"],
                 ["client", "-p", "65536", "::1"], ["client"], ["client", "a", "b"],
                 ["client", "--bogus", "::1"], ["server", "--loss", "1.5"],
                 ["server", "--seed", "x"], ["server", "extra"], ["frobnicate"], []):
        r = run([UDP_PING] + args)
        check(r.returncode == 2, "%r: exit %d" % (args, r.returncode))
        check("--help' for more information." in r.stderr, "%r: no Try line: %r" % (args, r.stderr))
        check(r.stdout == "", "%r: usage errors go to stderr" % (args,))
    r = run([UDP_PING, "client", "-c", "1", "no-such-host.invalid"])
    check(r.returncode == 2 and "no-such-host.invalid" in r.stderr, "unknown host: %r" % r.stderr)
    r = run([UDP_PING, "client", "-4", "-c", "1", "::1"])
    check(r.returncode == 2, "-4 with an IPv6 address: exit %d" % r.returncode)
    for args in (["--help"], ["client", "--help"], ["server", "-h"]):
        r = run([UDP_PING] + args)
        check(r.returncode == 0 and "usage:" in r.stdout, "%r help" % (args,))
    for args in (["-V"], ["--version"], ["server", "-V"], ["client", "--version"]):
        r = run([UDP_PING] + args)
        check(r.returncode == 0 and r.stdout.startswith("udp-ping (probekit) "),
              "%r version: %r" % (args, r.stdout))


def test_server_socket():
    """The wildcard serves IPv4 and IPv6; -6 serves IPv6 only; a port in
    use is an error, not a second server sharing it."""
    srv, port = start_server([UDP_PING, "server", "-p", "0", "-q", "--loss", "0"])
    try:
        for host in ("127.0.0.1", "::1"):
            _, doc = client(port, host, "-c", "1", "-W", "1s")
            check(doc["summary"]["received"] == 1, "wildcard over %s: %r" % (host, doc["summary"]))
        r = run([UDP_PING, "server", "-p", str(port), "-q"])
        check(r.returncode == 2 and "port %d" % port in r.stderr and "in use" in r.stderr,
              "second server on port %d: exit %d %r" % (port, r.returncode, r.stderr))
    finally:
        stop(srv)
    srv, port = start_server([UDP_PING, "server", "-6", "-p", "0", "-q", "--loss", "0"])
    try:
        _, doc = client(port, "::1", "-c", "1", "-W", "1s")
        check(doc["summary"]["received"] == 1, "-6 over ::1: %r" % doc["summary"])
        _, doc = client(port, "127.0.0.1", "-c", "1", "-W", "200ms")
        check(doc["summary"]["received"] == 0, "-6 answered IPv4: %r" % doc["summary"])
    finally:
        stop(srv)


def test_csv_rows():
    srv, port = server("--loss", "0.5", "--seed", "3")
    try:
        r = run([UDP_PING, "client", "--csv", "-c", "20", "-i", "2ms", "-W", "100ms",
                 "-p", str(port), "127.0.0.1"])
    finally:
        stop(srv)
    lines = r.stdout.strip().split("\n")
    check(lines[0] == "seq,time,status,rtt_ms,size_bytes,clock", "header %r" % lines[0])
    check(len(lines) == 21, "%d rows" % (len(lines) - 1))
    # a row per ping as its outcome is known: replies at once, losses at
    # their timeout, so the seqs come in that order, each once
    seqs = []
    for line in lines[1:]:
        f = line.split(",")
        seqs.append(int(f[0]))
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", f[1]), "time %r" % line)
        check(f[2] in ("ok", "lost"), "row %r" % line)
        check((f[3] == "") == (f[2] == "lost") and (f[4] == "") == (f[2] == "lost"),
              "rtt and size empty iff lost: %r" % line)
        # "PING <seq> <s>.<us>": 23 bytes and the digits of seq
        check(f[2] == "lost" or int(f[4]) == 23 + len(f[0]), "size of the echo: %r" % line)
    check(sorted(seqs) == list(range(1, 21)), "seqs %r" % seqs)
    check("20 packets transmitted" in r.stderr, "the summary on stderr: %r" % r.stderr)


def test_server_many_clients_and_totals():
    srv, port = start_server([UDP_PING, "server", "-p", "0", "--loss", "0"])
    procs = []
    try:
        for i in range(4):
            host = "127.0.0.1" if i % 2 else "::1"
            procs.append(subprocess.Popen([UDP_PING, "client", "-J", "-c", "50", "-i", "1ms",
                                           "-p", str(port), host],
                                          stdout=subprocess.PIPE, text=True))
        for p in procs:
            out, _ = p.communicate(timeout=60)
            s = json.loads(out)["summary"]
            check(s["received"] == 50, "concurrent client got %d of 50" % s["received"])
    finally:
        rc, out, err = stop(srv, signal.SIGINT)
    check(rc == 0, "server exit %d on SIGINT" % rc)
    check("200 received, 200 replied, 0 dropped by simulation, 0 refused by rate limit" in out,
          "totals: %s" % out[-300:])
    check(out.count(" replied\n") == 200, "a line per datagram")
    check('"PING 1 ' in out, "the line shows the datagram")


def test_big_datagrams_and_sizes():
    srv, port = server("--loss", "0")
    try:
        for size in (100, 1472, 9000, 65000):
            r, doc = client(port, "127.0.0.1", "-c", "2", "-i", "10ms", "-s", str(size))
            s = doc["summary"]
            check(s["received"] == 2 and s["altered"] == 0, "size %d: %r" % (size, s))
        r = run([UDP_PING, "client", "-c", "1", "-s", "64", "-p", str(port), "::1"])
        check("64 bytes from ::1: seq=1 " in r.stdout, "64-byte request echoed whole: %s" % r.stdout)
    finally:
        stop(srv)


def test_rate_limit_refuses_and_counts():
    srv, port = start_server([UDP_PING, "server", "-p", "0", "-q", "--loss", "0",
                              "--rate-limit", "50"])
    try:
        r, doc = client(port, "127.0.0.1", "-c", "200", "-i", "1ms", "-W", "100ms")
    finally:
        rc, out, err = stop(srv)
    s = doc["summary"]
    # a burst of 15 and 50/s over ~0.2 s: far fewer than 200 answered
    check(s["received"] < 60, "rate limit let %d through" % s["received"])
    refused = int(out.split(" refused by rate limit")[0].split(", ")[-1])
    check(refused == 200 - s["received"], "refused %d" % refused)


def test_ctrl_c_prints_summary():
    srv, port = server("--loss", "0")
    try:
        p = subprocess.Popen([UDP_PING, "client", "-c", "0", "-i", "10ms", "-p", str(port),
                              "127.0.0.1"], stdout=subprocess.PIPE, text=True, bufsize=1)
        replies = 0
        while replies < 5:
            line = read_line(p, 10)
            check(line is not None, "client printed no replies")
            replies += " bytes from 127.0.0.1: seq=" in line
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=10)
    finally:
        stop(srv)
    check(p.returncode == 0, "exit %d after Ctrl-C" % p.returncode)
    check("packets transmitted" in out and "rtt min/avg/max/mdev" in out, "summary: %r" % out)


def test_schedule_does_not_wait_for_replies():
    # a server that never answers: 20 sends at 20 ms must take ~0.4 s plus
    # one timeout, not 20 timeouts
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        t0 = time.monotonic()
        r = run([UDP_PING, "client", "-c", "20", "-i", "20ms", "-W", "200ms",
                 "-p", str(s.getsockname()[1]), "127.0.0.1"])
        took = time.monotonic() - t0
        got = 0
        s.setblocking(False)
        try:
            while True:
                s.recv(100)
                got += 1
        except BlockingIOError:
            pass
    finally:
        s.close()
    check(got == 20, "server saw %d sends" % got)
    check(r.stdout.count("no answer yet for seq=") == 20, "20 timeouts")
    # waiting for each reply would take 20 timeouts, 4 s: half of that is
    # far above the schedule (0.38 s + one timeout) and any start-up cost
    check(took < 20 * 0.2 / 2, "took %.2fs: sends waited for replies" % took)


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)   # Linux; not in every Python


class Sink:
    """A UDP socket on 127.0.0.1 that reads every datagram and never answers,
    keeping the kernel's receive time of each (SO_TIMESTAMPNS)."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.times = []
        self.done = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.done:
            r, _, _ = select.select([self.s], [], [], 0.05)
            if not r:
                continue
            _, anc, _, _ = self.s.recvmsg(2048, socket.CMSG_SPACE(16))
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = int.from_bytes(data[:8], "little"), int.from_bytes(data[8:16], "little")
                    self.times.append(sec + nsec / 1e9)

    def close(self):
        self.done = True
        self.t.join()
        self.s.close()


def timed_client(port, *args):
    t0 = time.monotonic()
    r, doc = client(port, "127.0.0.1", *args)
    return time.monotonic() - t0, r, doc


def test_adaptive_no_replies_one_timeout_each():
    """-A with a peer that never answers: each ping waits out its timeout,
    then the next leaves at once; 10 pings take 10 timeouts. The margin is
    the overhead of a 1-ping run measured here (start-up, exit, one timer),
    ten times over, plus half a timeout."""
    w = 0.1
    sink = Sink()
    try:
        t1, r1, _ = timed_client(sink.port, "-A", "-c", "1", "-W", "100ms")
        n1 = len(sink.times)
        t10, r10, doc = timed_client(sink.port, "-A", "-c", "10", "-W", "100ms")
    finally:
        sink.close()
    arrivals = sink.times[n1:]
    overhead = max(t1 - w, 0.0)
    check(r1.returncode == 1 and r10.returncode == 1, "no reply: exit 1")
    check(doc["summary"]["adaptive"] is True and doc["summary"]["interval_s"] == 0,
          "adaptive in JSON: %r" % doc["summary"])
    adds_up(doc, 10)
    check(doc["summary"]["lost"] == 10, "all lost: %r" % doc["summary"])
    check(10 * w <= t10 <= 10 * w + 10 * overhead + w / 2,
          "10 pings in %.3f s; 10 timeouts = %.3f s, 1-ping overhead %.3f s" % (t10, 10 * w, overhead))
    check(doc["summary"]["elapsed_ms"] >= 9 * w * 1e3, "elapsed %r" % doc["summary"]["elapsed_ms"])
    # on the wire: 10 pings, each one timeout after the one before (kernel times)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    check(len(arrivals) == 10 and all(g >= 0.99 * w for g in gaps),
          "%d arrivals, gaps %r" % (len(arrivals), gaps))
    # and no later than the timeout allows: not the 1 s schedule of -i
    check(max(gaps) < 10 * overhead + 1.5 * w, "gaps %r" % gaps)


def test_adaptive_with_replies_one_in_flight():
    """-A with replies: the next ping leaves when the reply arrives, so the
    run takes about 10 RTTs: every send after the reply before it (the sends
    are at least the sum of the RTTs apart), and far shorter than the same
    run on a schedule. The scheduled run uses -i 100ms rather than the
    default 1 s only to keep the test short: 10x apart either way."""
    srv, port = server("--loss", "0", "-b", "127.0.0.1")
    try:
        r0, base = client(port, "127.0.0.1", "-c", "10", "-i", "100ms")
        r1, doc = client(port, "127.0.0.1", "-A", "-c", "10")
        r2, gap = client(port, "127.0.0.1", "-A", "-c", "10", "-i", "30ms")
    finally:
        stop(srv)
    for r, d in ((r0, base), (r1, doc), (r2, gap)):
        check(r.returncode == 0, "exit %d" % r.returncode)
        adds_up(d, 10)
        check(d["summary"]["received"] == 10, "all answered: %r" % d["summary"])
    check(base["summary"]["adaptive"] is False and doc["summary"]["adaptive"] is True and
          doc["summary"]["interval_s"] == 0, "adaptive flag in JSON")
    rtts = [x["rtt_ms"] for x in doc["samples"]]
    el = doc["summary"]["elapsed_ms"]
    check(el >= sum(rtts[:9]), "sends %.3f ms apart in all, RTTs sum to %.3f ms: more than one "
          "in flight" % (el, sum(rtts[:9])))
    check(el * 10 < base["summary"]["elapsed_ms"],
          "adaptive %.3f ms, scheduled %.3f ms" % (el, base["summary"]["elapsed_ms"]))
    # -i with -A: the next ping no closer than the interval to the last one
    check(abs(gap["summary"]["interval_s"] - 0.03) < 1e-9 and gap["summary"]["elapsed_ms"] >= 9 * 30,
          "min gap: %r" % gap["summary"]["elapsed_ms"])


# ---- the command-line and output contract of issue 12 (docs/OUTPUT.md) ----

import schema_check  # noqa: E402

TIME_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


def no_errs(errs, what):
    check(not errs, "%s: %s" % (what, "; ".join(errs[:8])))


def start_server_err(args, timeout=10.0):
    """A server whose banner is on stderr (-J, --json-stream): (proc, port)."""
    return start_server(args, timeout, banner="stderr")


def test_usage_errors_one_line():
    for args, msg in ((["client", "--bogus", "::1"], "udp-ping client: unknown option '--bogus'"),
                      (["client", "-x", "::1"], "udp-ping client: unknown option '-x'"),
                      (["client", "-c"], "udp-ping client: option '-c' needs a value"),
                      (["client", "--quiet=1", "::1"], "udp-ping client: option '--quiet' takes no value"),
                      (["client"], "udp-ping client: a HOST is required"),
                      (["client", "-t", "0", "::1"], "udp-ping client: TTL '0': "),
                      (["client", "-Q", "zz", "::1"], "udp-ping client: ToS 'zz': "),
                      (["client", "-J", "--csv", "::1"],
                       "udp-ping client: -J and --csv cannot be used together"),
                      (["client", "--json-stream", "--csv", "::1"],
                       "udp-ping client: -J and --csv cannot be used together"),
                      (["server", "-p"], "udp-ping server: option '-p' needs a value"),
                      (["server", "-t", "256"], "udp-ping server: TTL '256': "),
                      (["server", "--frob"], "udp-ping server: unknown option '--frob'")):
        r = run([UDP_PING] + args)
        lines = r.stderr.splitlines()
        check(r.returncode == 2 and r.stdout == "", "%r: exit %d, stdout %r" % (args, r.returncode, r.stdout))
        check(len(lines) == 2 and lines[0].startswith(msg) and
              lines[1] == "Try 'udp-ping %s --help' for more information." % args[0],
              "%r: stderr %r" % (args, r.stderr))
    for role in ("server", "client"):
        r = run([UDP_PING, role, "-V"])
        check(r.returncode == 0 and re.fullmatch(r"udp-ping \(probekit\) \S+( \(git [0-9a-f]+\))?\n",
                                                 r.stdout), "%s -V: %r" % (role, r.stdout))


def test_client_json_schema():
    srv, port = server("--loss", "0.3", "--seed", "5")
    try:
        r, doc = client(port, "127.0.0.1", "-c", "20", "-i", "2ms", "-W", "200ms", "-v")
        r6, doc6 = client(port, "::1", "-c", "3", "-i", "2ms", "-W", "200ms")
    finally:
        stop(srv)
    for d in (doc, doc6):
        no_errs(schema_check.check_doc(d), "client -J")
        check(d["schema_version"] == 1 and d["role"] == "client" and d["tool"] == "udp-ping",
              "envelope %r" % {k: d[k] for k in d if k not in ("samples", "summary")})
        schema = schema_check.load_schema()
        no_errs(schema_check.validate(d["summary"], {"$ref": "#/$defs/udp_ping_client_summary"},
                                      schema), "client summary")
        for x in d["samples"]:
            no_errs(schema_check.validate(x, {"$ref": "#/$defs/udp_ping_sample"}, schema), "sample")
    check(doc["target"] == {"host": "127.0.0.1", "address": "127.0.0.1", "port": port},
          "target %r" % doc["target"])
    adds_up(doc, 20)
    for x in doc["samples"]:
        ok = x["status"] == "ok"
        check((x["size_bytes"] is not None) == (x["status"] != "lost"), "size iff reply: %r" % x)
        # -v: the reply's ttl and tos (loopback: 64 and 0 by default)
        check(not ok or (x["ttl"] == 64 and x["tos"] == 0), "-v ttl/tos: %r" % x)
    t = [x["time"] for x in doc["samples"]]
    check(t == sorted(t) and doc["start"] <= t[0], "sample times: the sends, in order")
    check("ttl" not in doc6["samples"][0], "no ttl without -v: %r" % doc6["samples"][0])
    check(r.stderr.startswith("UDP-PING 127.0.0.1 (127.0.0.1) port %d" % port),
          "-J: banner on stderr: %r" % r.stderr)
    # a run-time error: the line on stderr, the document with "error", exit 2
    r, doc = run_json([UDP_PING, "client", "-J", "-c", "1", "no-such-host.invalid"])
    check(r.returncode == 2 and doc.get("error") and doc["error"] in r.stderr,
          "error doc %r / %r" % (doc, r.stderr))
    no_errs(schema_check.check_doc(doc), "client -J error")


def test_client_json_stream():
    srv, port = server("--loss", "0.3", "--seed", "6")
    try:
        r = run([UDP_PING, "client", "--json-stream", "-c", "30", "-i", "2ms", "-W", "200ms",
                 "-p", str(port), "127.0.0.1"])
        rj = run([UDP_PING, "client", "-J", "--json-stream", "-c", "2", "-i", "2ms",
                  "-p", str(port), "127.0.0.1"])
    finally:
        stop(srv)
    check(r.returncode == 0, "exit %d" % r.returncode)
    no_errs(schema_check.check_stream(r.stdout), "client --json-stream")
    no_errs(schema_check.check_stream(rj.stdout), "-J with --json-stream: the stream wins")
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    start, end = recs[0]["data"], recs[-1]["data"]
    check("summary" not in start and "samples" not in start and start["role"] == "client",
          "start: the envelope only: %r" % start)
    check(start["start"] == end["start"] and start["target"] == end["target"], "start/end agree")
    samples = [x["data"] for x in recs if x["event"] == "sample"]
    check(sorted(x["seq"] for x in samples) == list(range(1, 31)), "a sample per ping, once")
    final = {x["seq"]: x for x in end["samples"]}
    for x in samples:
        check(x == final[x["seq"]], "streamed %r != final %r" % (x, final[x["seq"]]))
    adds_up(end, 30)
    check(r.stderr.startswith("UDP-PING "), "banner on stderr: %r" % r.stderr)


def test_server_json_and_stream():
    for mode in ("-J", "--json-stream"):
        srv, port = start_server_err([UDP_PING, "server", "-p", "0", "-b", "127.0.0.1",
                                      "--loss", "0", "--seed", "18446744073709551557", mode])
        try:
            r1, d1 = client(port, "127.0.0.1", "-c", "3", "-i", "2ms")
            r2, d2 = client(port, "127.0.0.1", "-c", "2", "-i", "2ms")
            # a port in use: the line on stderr, the document with "error", exit 2
            r = run([UDP_PING, "server", "-p", str(port), "-b", "127.0.0.1", mode], timeout=20)
        finally:
            rc, out, err = stop(srv, signal.SIGINT)
        check(rc == 0, "%s: exit %d" % (mode, rc))
        check("5 received, 5 replied" in err, "%s: text totals on stderr: %r" % (mode, err))
        if mode == "-J":
            doc = json.loads(out)
        else:
            no_errs(schema_check.check_stream(out), "server --json-stream")
            recs = [json.loads(x) for x in out.splitlines()]
            ev = [x["event"] for x in recs]
            check(ev[:2] == ["start", "listening"] and ev.count("sample") == 5 and
                  ev.count("client_seen") == 2, "records %r" % ev)
            check(recs[1]["data"]["port"] == port, "listening %r" % recs[1])
            schema = schema_check.load_schema()
            for x in recs:
                if x["event"] == "sample":
                    no_errs(schema_check.validate(x["data"], {"$ref": "#/$defs/udp_ping_server_sample"},
                                                  schema), "server sample")
                    check(x["data"]["verdict"] == "replied", "verdict %r" % x)
            check([x["data"]["seq"] for x in recs if x["event"] == "sample"] == [1, 2, 3, 4, 5],
                  "datagram numbers")
            doc = recs[-1]["data"]
        no_errs(schema_check.check_doc(doc), "server %s" % mode)
        check(r.returncode == 2 and "in use" in r.stderr, "%s: port in use: %r" % (mode, r.stderr))
        if mode == "-J":
            no_errs(schema_check.check_doc(json.loads(r.stdout)), "server -J error doc")
            check("in use" in json.loads(r.stdout)["error"], "error %r" % r.stdout)
        else:
            no_errs(schema_check.check_stream(r.stdout), "server --json-stream error")
        s = doc["summary"]
        check(doc["role"] == "server" and doc["target"] == {"address": "127.0.0.1", "port": port},
              "server envelope %r" % doc)
        check(s["received"] == 5 and s["replied"] == 5 and s["clients"] == 2 and
              s["received_bytes"] > 5 * 20 and s["seed"] == 18446744073709551557,
              "summary %r" % s)
        seen = [e for e in doc["events"] if e["event"] == "client_seen"]
        check(len(seen) == 2 and len({e["port"] for e in seen}) == 2 and
              all(e["address"] == "127.0.0.1" for e in seen), "events %r" % doc["events"])


# Linux's numbers, for Pythons whose socket module lacks the names
IP_TOS, IP_TTL, IP_RECVTTL, IP_RECVTOS = (getattr(socket, n, v) for n, v in (
    ("IP_TOS", 1), ("IP_TTL", 2), ("IP_RECVTTL", 12), ("IP_RECVTOS", 13)))
IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT, IPV6_RECVTCLASS, IPV6_TCLASS = (getattr(socket, n, v) for n, v in (
    ("IPV6_RECVHOPLIMIT", 51), ("IPV6_HOPLIMIT", 52), ("IPV6_RECVTCLASS", 66), ("IPV6_TCLASS", 67)))


def test_ttl_tos_at_the_receiver():
    """-t/-Q on the client, as a receiver on 127.0.0.1 and ::1 sees them
    (IP_RECVTTL/IP_RECVTOS, IPV6_RECVHOPLIMIT/IPV6_RECVTCLASS); the same
    receiver first sees the defaults (baseline)."""
    for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        rcv = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET:
            rcv.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            rcv.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
            want = {(socket.IPPROTO_IP, IP_TTL): "ttl", (socket.IPPROTO_IP, IP_TOS): "tos"}
        else:
            rcv.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            rcv.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
            want = {(socket.IPPROTO_IPV6, IPV6_HOPLIMIT): "ttl",
                    (socket.IPPROTO_IPV6, IPV6_TCLASS): "tos"}
        rcv.bind((host, 0))
        rcv.settimeout(5)
        port = rcv.getsockname()[1]

        def seen(args):
            p = subprocess.Popen([UDP_PING, "client", "-q", "-c", "1", "-W", "100ms",
                                  "-p", str(port)] + args + [host],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, anc, _, src = rcv.recvmsg(2048, 256)
            p.communicate(timeout=30)
            got = {}
            for level, typ, data in anc:
                k = want.get((level, typ))
                if k:
                    got[k] = data[0] if k == "tos" and fam == socket.AF_INET else \
                        int.from_bytes(data[:4], sys.byteorder)
            return got, src[0], p.returncode

        try:
            base, _, _ = seen([])
            got, _, rc = seen(["-t", "7", "-Q", "0xb8"])
            named, _, _ = seen(["-t", "200", "-Q", "af41"])
        finally:
            rcv.close()
        check(base == {"ttl": 64, "tos": 0}, "%s baseline %r" % (host, base))
        check(got == {"ttl": 7, "tos": 0xb8}, "%s -t 7 -Q 0xb8: %r" % (host, got))
        check(named == {"ttl": 200, "tos": 34 << 2}, "%s -t 200 -Q af41: %r" % (host, named))
        check(rc == 1, "no reply: exit %d" % rc)


def test_server_ttl_tos_seen_by_client_v():
    """The server's -t/-Q on its replies, as the client's -v reports them."""
    for host in ("127.0.0.1", "::1"):
        res = []
        for extra in ([], ["-t", "9", "-Q", "ef"]):
            srv, port = server("--loss", "0", *extra)
            try:
                r, doc = client(port, host, "-v", "-c", "2", "-i", "5ms")
                t = run([UDP_PING, "client", "-v", "-c", "1", "-p", str(port), host])
            finally:
                stop(srv)
            res.append(({(x["ttl"], x["tos"]) for x in doc["samples"]}, t.stdout))
        check(res[0][0] == {(64, 0)}, "%s default replies: %r" % (host, res[0][0]))
        check(res[1][0] == {(9, 0xb8)}, "%s -t 9 -Q ef replies: %r" % (host, res[1][0]))
        check(re.search(r"^\d+ bytes from %s: seq=1 ttl=9 time=\d+\.\d{3} ms tos=0xb8 \"PING 1 "
                        % re.escape(host), res[1][1], re.M), "-v line: %r" % res[1][1])


def test_interface_option():
    """-I ADDR is the source; a bad interface is one line, exit 2."""
    rcv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rcv.bind(("127.0.0.1", 0))
    rcv.settimeout(5)
    port = rcv.getsockname()[1]
    srcs = []
    try:
        for src in ("127.0.0.1", "127.0.0.2"):
            p = subprocess.Popen([UDP_PING, "client", "-q", "-c", "1", "-W", "50ms", "-I", src,
                                  "-p", str(port), "127.0.0.1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            srcs.append(rcv.recvfrom(100)[1][0])
            p.communicate(timeout=30)
    finally:
        rcv.close()
    check(srcs == ["127.0.0.1", "127.0.0.2"], "sources %r" % srcs)
    for args, why in ((["-I", "nosuchif0"], "-I nosuchif0: no such interface"),
                      (["-I", "192.0.2.77"], "-I 192.0.2.77: not an address of this host")):
        r = run([UDP_PING, "client", "-c", "1"] + args + ["127.0.0.1"])
        check(r.returncode == 2 and r.stderr == "udp-ping: %s\n" % why and r.stdout == "",
              "%r: exit %d %r" % (args, r.returncode, r.stderr))
    r = run([UDP_PING, "client", "-c", "1", "-I", "bad/name", "127.0.0.1"])
    check(r.returncode == 2 and r.stderr.startswith("udp-ping client: source 'bad/name'"),
          "bad name syntax: %r" % r.stderr)


def test_timestamps_prefix():
    srv, port = start_server([UDP_PING, "server", "-p", "0", "--loss", "0", "-D"])
    try:
        t0 = time.time()
        r = run([UDP_PING, "client", "-D", "-c", "3", "-i", "5ms", "-p", str(port), "127.0.0.1"])
        t1 = time.time()
    finally:
        rc, out, err = stop(srv)
    lines = r.stdout.splitlines()
    stamped = [x for x in lines if x.startswith("[")]
    check(len(stamped) == 3, "3 stamped lines: %r" % lines)
    for x in stamped:
        m = re.match(r"\[(\d+\.\d{6})\] \d+ bytes from 127\.0\.0\.1: seq=\d ", x)
        check(m and t0 <= float(m.group(1)) <= t1, "stamp %r not in [%f, %f]" % (x, t0, t1))
    check(lines[0].startswith("UDP-PING") and not any(x.startswith("[") for x in lines[4:]),
          "banner and summary not stamped: %r" % lines)
    srv_lines = [x for x in out.splitlines() if "bytes \"PING" in x]
    check(len(srv_lines) == 3 and all(re.match(r"\[\d+\.\d{6}\] 127\.0\.0\.1:\d+ ", x)
                                      for x in srv_lines), "server -D: %r" % srv_lines)


def closed_pipe_run(args):
    """args with stdout a pipe read by `head -1`: (client rc, head's output)."""
    p1 = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p2 = subprocess.Popen(["head", "-1"], stdin=p1.stdout, stdout=subprocess.PIPE)
    p1.stdout.close()
    out, _ = p2.communicate(timeout=30)
    try:
        rc = p1.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p1.kill()
        p1.wait()
        raise Fail("%r still running after head exited" % (args,))
    return rc, out.decode()


def test_closed_stdout_is_sigpipe():
    """`udp-ping client -c 0 ... | head -1`: one line, then death by
    SIGPIPE (141 in the shell, -13 here), as ping; in every format."""
    srv, port = server("--loss", "0")
    try:
        for fmt, first in (([], "UDP-PING "), (["--json-stream"], '{"event":"start"'),
                           (["--csv"], "seq,time,")):
            rc, out = closed_pipe_run([UDP_PING, "client", "-c", "0", "-i", "10ms"] + fmt +
                                      ["-p", str(port), "127.0.0.1"])
            check(rc == -signal.SIGPIPE, "%r: exit %r, want SIGPIPE" % (fmt, rc))
            check(out.count("\n") == 1 and out.startswith(first), "%r printed %r" % (fmt, out))
        r = subprocess.run(["bash", "-c", "set -o pipefail; '%s' client -c 0 -i 10ms -p %d "
                            "127.0.0.1 2>/dev/null | head -1 >/dev/null" % (UDP_PING, port)],
                           timeout=30)
        check(r.returncode == 141, "the shell sees %d" % r.returncode)
    finally:
        stop(srv)


def test_sigquit_interim():
    srv, port = server("--loss", "0")
    try:
        p = subprocess.Popen([UDP_PING, "client", "-c", "0", "-i", "10ms", "-p", str(port),
                              "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, bufsize=1)
        for _ in range(6):
            check(read_line(p, 10) is not None, "client printed nothing")
        p.send_signal(signal.SIGQUIT)
        line = (read_line(p, 10, "stderr") or "").rstrip("\n")
        after = 0
        while after < 5:
            x = read_line(p, 10)
            check(x is not None, "no reply after SIGQUIT: the run stopped")
            after += " bytes from " in x
        check(p.poll() is None, "the run ended on SIGQUIT")
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=10)
        srv.send_signal(signal.SIGQUIT)
        srv_line = read_line(srv, 10, "stderr")
        srv_alive = srv.poll() is None
    finally:
        stop(srv)
    m = re.fullmatch(r"--- interim: (\d+) sent, (\d+) received, [\d.]+% loss, rtt min/avg/max/mdev "
                     r"= [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", line or "")
    check(m and int(m.group(1)) >= 5 and int(m.group(2)) >= 4, "interim line %r" % line)
    check(p.returncode == 0 and "packets transmitted" in out, "SIGINT after: %d" % p.returncode)
    check("--- interim" not in out, "interim on stdout")
    check(srv_alive and re.match(r"--- interim: \d+ received, \d+ replied, ", srv_line or ""),
          "server interim %r, still running %r" % (srv_line, srv_alive))


def test_stream_interim_and_end_on_sigint():
    """--json-stream -c 0: SIGQUIT adds an interim record (the text line on
    stderr), SIGINT ends the stream with its end record."""
    srv, port = server("--loss", "0")
    try:
        p = subprocess.Popen([UDP_PING, "client", "--json-stream", "-c", "0", "-i", "10ms",
                              "-p", str(port), "127.0.0.1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, bufsize=1)
        lines = []
        for _ in range(4):
            lines.append(read_line(p, 10))
            check(lines[-1] is not None, "no records")
        p.send_signal(signal.SIGQUIT)
        for _ in range(200):
            lines.append(read_line(p, 10))
            check(lines[-1] is not None, "no interim record")
            if '"event":"interim"' in lines[-1]:
                break
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    finally:
        stop(srv)
    text = "".join(lines) + out
    no_errs(schema_check.check_stream(text), "stream with interim")
    recs = [json.loads(x) for x in text.splitlines()]
    interim = [x["data"] for x in recs if x["event"] == "interim"]
    check(len(interim) == 1 and interim[0]["transmitted"] >= 3 and
          re.fullmatch(TIME_RE, interim[0]["time"]), "interim %r" % interim)
    check(p.returncode == 0 and recs[-1]["event"] == "end" and
          recs[-1]["data"]["summary"]["received"] >= 3, "end after SIGINT, exit %d" % p.returncode)
    check("--- interim: " in err, "the text line on stderr: %r" % err)


def contract_tests():
    return [test_usage_errors_one_line, test_client_json_schema, test_client_json_stream,
            test_server_json_and_stream, test_ttl_tos_at_the_receiver,
            test_server_ttl_tos_seen_by_client_v, test_interface_option, test_timestamps_prefix,
            test_closed_stdout_is_sigpipe, test_sigquit_interim,
            test_stream_interim_and_end_on_sigint]


def tests():
    global UDP_PING
    UDP_PING = prog("udp-ping")
    return [test_exit_codes, test_server_socket, test_loss_near_p_v4, test_seed_reproduces_drops_v6,
            test_late_is_not_lost_nor_received, test_csv_rows,
            test_server_many_clients_and_totals, test_big_datagrams_and_sizes,
            test_rate_limit_refuses_and_counts, test_ctrl_c_prints_summary,
            test_schedule_does_not_wait_for_replies, test_adaptive_no_replies_one_timeout_each,
            test_adaptive_with_replies_one_in_flight]


if __name__ == "__main__":
    if "--contract" in sys.argv[2:]:
        UDP_PING = prog("udp-ping")
        main(contract_tests())
    else:
        main(tests())
