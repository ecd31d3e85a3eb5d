"""tcp-echo client against our server on 127.0.0.1 and ::1, port 0.

The session's lines, summary and JSON, --window pipelining, the exit codes
(404, refused, -W timeout, early close, usage, -V), a sweep that adds up
(JSON, CSV, table and fit), the plot file, and the summary after SIGINT.
Against a scripted server: echoes in pieces or run together, a byte
changed, a wrong seq, a 404 or a close mid-session, a line too many (the
client compares an echo as it reads it and judges anything else as a line:
both ways must say the same).
The server and the raw-socket helpers are test_tcp_echo.py's.
"""
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
from pkutil import check  # noqa: E402
from test_tcp_echo import BAD_PROBE, CLOSING, HOSTS, READY, Server, echo  # noqa: E402

TMP = tempfile.mkdtemp(prefix="tcp_echo_test_")


def test_client_session_output():
    with Server("-q") as srv:
        for host in HOSTS:
            r = pkutil.run([echo(), "client", "-p", str(srv.port), "-n", "4", "-s", "64", host])
            check(r.returncode == 0, "rc %d %s" % (r.returncode, r.stderr))
            lines = r.stdout.splitlines()
            check("200 OK: Ready" in lines and "200 OK: Closing Connection" in lines, r.stdout)
            check(sum(1 for l in lines if "bytes from" in l and "seq=" in l) == 4, r.stdout)
            check("4 probes of 64 bytes sent, 4 echoed" in r.stdout, r.stdout)
            check("rtt min/avg/max/mdev" in r.stdout and "throughput min/avg/max/mdev" in r.stdout,
                  r.stdout)
        r, doc = pkutil.run_json([echo(), "client", "-p", str(srv.port), "-m", "ttput", "-n", "6",
                                  "-J", "::1"])
        sm = doc["summary"]
        check(doc["tool"] == "tcp-echo" and sm["mode"] == "ttput" and sm["size_bytes"] == 2048,
              "ttput default size: %r" % sm)
        check(len(doc["samples"]) == 6 and sm["received"] == 6, "samples")
        rtts = [x["rtt_ms"] for x in doc["samples"]]
        check(abs(sum(rtts) / 6 - sm["rtt_ms"]["avg"]) < 1e-6, "mean adds up")
        tp = [x["throughput_mbps"] for x in doc["samples"]]
        check(all(abs(t - 8 * 2048 / (x / 1e3) / 1e6) < 1e-6 * t for t, x in zip(tp, rtts)),
              "throughput = 8 x size / RTT")


def test_window_pipelines():
    with Server("-q") as srv:
        r, doc = pkutil.run_json([echo(), "client", "-p", str(srv.port), "-n", "16", "-d", "50ms",
                                  "--window", "8", "-s", "1K", "-J", "127.0.0.1"])
        took = doc["summary"]["elapsed_ms"] / 1e3
        check(r.returncode == 0 and doc["summary"]["received"] == 16, r.stderr)
        # one at a time: 16 x 50 ms = 0.8 s; eight in flight: two rounds, 0.1 s
        check(took < 0.8 / 2, "16 probes at 50 ms in windows of 8 took %.3f s" % took)
        check(min(x["rtt_ms"] for x in doc["samples"]) >= 50, "each echo waited the delay")


def test_client_exit_codes():
    # a 404, printed as it came, exit 1
    with Server("-q", "--max-size", "10") as srv:
        r = pkutil.run([echo(), "client", "-p", str(srv.port), "-s", "11", "127.0.0.1"])
        check(r.returncode == 1, "404 rc %d" % r.returncode)
        check("404 ERROR: Invalid Connection Setup Message\n" in r.stdout, r.stdout + r.stderr)
        r = pkutil.run([echo(), "client", "-p", str(srv.port), "-s", "11", "-J", "127.0.0.1"])
        check(r.returncode == 1 and "404 ERROR: Invalid Connection Setup Message" in r.stderr,
              "404 with -J on stderr")
        check(json.loads(r.stdout)["error"].startswith("404 ERROR"), "error in JSON")
    # connection refused
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    port = ls.getsockname()[1]
    ls.close()
    r = pkutil.run([echo(), "client", "-p", str(port), "127.0.0.1"])
    check(r.returncode == 1 and "Connection refused" in r.stderr, "refused: %r" % r.stderr)
    # a server that accepts and never answers: -W
    ls = socket.socket(socket.AF_INET6)
    ls.bind(("::1", 0))
    ls.listen(4)
    t0 = time.monotonic()
    r = pkutil.run([echo(), "client", "-p", str(ls.getsockname()[1]), "-W", "300ms", "::1"])
    check(r.returncode == 1 and "no reply" in r.stderr, "timeout: %r" % r.stderr)
    check(time.monotonic() - t0 < 3, "timeout took too long")
    ls.close()
    # a server that closes after the setup
    ls = socket.socket(socket.AF_INET6)
    ls.bind(("::1", 0))
    ls.listen(4)

    def closer():
        c, _ = ls.accept()
        c.recv(100)
        c.sendall(READY)
        c.recv(100)
        c.close()
    th = threading.Thread(target=closer)
    th.start()
    r = pkutil.run([echo(), "client", "-p", str(ls.getsockname()[1]), "-W", "2s", "::1"])
    th.join()
    ls.close()
    check(r.returncode == 1 and "closed the connection after 0 of 10 probes" in r.stderr,
          "early close: %r" % r.stderr)
    # usage errors
    for args in (["-s", "0"], ["--window", "0"], ["-m", "ping"], ["--sweep", "--plot", "x.jpg"],
                 ["--sizes", "1,2"], ["-d", "-1"], ["--sizes", "1,,2", "--sweep"], []):
        r = pkutil.run([echo(), "client"] + args + (["127.0.0.1"] if args else []))
        check(r.returncode == 2 and r.stderr.startswith("tcp-echo client: "), "usage %r: %r" % (args, r.stderr))
    r = pkutil.run([echo(), "client", "-s", "x", "h"])
    check("size 'x': invalid" in r.stderr, r.stderr)
    for role in ("server", "client", "experiment"):
        r = pkutil.run([echo(), role, "--help"])
        check(r.returncode == 0 and r.stdout.startswith("usage: tcp-echo " + role), "help")
    for args in (["-V"], ["--version"], ["server", "-V"], ["client", "--version"]):
        r = pkutil.run([echo()] + args)
        check(r.returncode == 0 and re.fullmatch(r"tcp-echo \(probekit\) \S+( \(git [0-9a-f]+\))?\n", r.stdout),
              "version %r: %r" % (args, r.stdout))
    for args, msg in (([], "tcp-echo: a role is required: server, client or experiment\n"),
                      (["bogus"], "tcp-echo: unknown role 'bogus' (server, client or experiment)\n")):
        r = pkutil.run([echo()] + args)
        check(r.returncode == 2 and r.stderr.startswith(msg), "role %r: %r" % (args, r.stderr))
    r = pkutil.run([echo(), "server", "--idle-timeout", "soon"])
    check(r.returncode == 2, "server usage")


def test_sweep_adds_up():
    with Server("-q") as srv:
        csvf = os.path.join(TMP, "sweep.csv")
        r, doc = pkutil.run_json([echo(), "client", "-p", str(srv.port), "--sweep",
                                  "--sizes", "1,100,1000", "--delays", "0,20ms", "--repeat", "2",
                                  "-n", "3", "--csv-file", csvf, "-J", "127.0.0.1"])
        check(r.returncode == 0, r.stderr)
        pts = doc["summary"]["points"]
        check(len(pts) == 6, "6 points")
        check([(p["server_delay_s"], p["size_bytes"]) for p in pts] ==
              [(d, s) for d in (0, 0.02) for s in (1, 100, 1000)], "grid order")
        smp = doc["samples"]
        check(len(smp) == 36, "36 samples, got %d" % len(smp))
        for p in pts:
            mine = [x["rtt_ms"] for x in smp if x["server_delay_s"] == p["server_delay_s"]
                    and x["size_bytes"] == p["size_bytes"]]
            check(p["sessions"] == 2 and p["probes"] == 6 and len(mine) == 6, "counts %r" % p)
            check(abs(sum(mine) / 6 - p["rtt_ms"]["avg"]) < 1e-6, "mean of point")
            check(abs(min(mine) - p["rtt_ms"]["min"]) < 1e-9, "min of point")
            if p["server_delay_s"] > 0:
                check(p["rtt_ms"]["min"] >= 20, "delay in RTT %r" % p["rtt_ms"])
        fits = doc["summary"]["fit"]
        check(len(fits) == 2 and all(f["samples"] == 18 for f in fits), "fits %r" % fits)
        check(fits[1]["base_latency_ms"] > 19, "base latency of the delayed curve")
        with open(csvf) as f:
            rows = list(csv.DictReader(f))
        check(len(rows) == 6, "csv rows")
        for row, p in zip(rows, pts):
            check(int(row["probes"]) == p["probes"] and
                  abs(float(row["rtt_avg_ms"]) - p["rtt_ms"]["avg"]) < 1e-5 * p["rtt_ms"]["avg"] + 1e-6,
                  "csv %r vs %r" % (row, p))
        # the human table has one row per point and one fit line per delay
        r = pkutil.run([echo(), "client", "-p", str(srv.port), "--sweep", "--sizes", "1,10",
                        "--delays", "0,1ms", "-n", "2", "-q", "127.0.0.1"])
        check(r.returncode == 0, r.stderr)
        check(r.stdout.count("base latency a =") == 2, r.stdout)
        check(len([l for l in r.stdout.splitlines() if l.strip().startswith(("0.000", "0.001"))]) == 4,
              r.stdout)


def test_plot_file_made():
    with Server("-q") as srv:
        for ext, magic in (("png", b"\x89PNG"), ("svg", b"<svg")):
            path = os.path.join(TMP, "sweep." + ext)
            r = pkutil.run([echo(), "client", "-p", str(srv.port), "--sweep", "-m", "ttput",
                            "--sizes", "1K,4K", "--delays", "0,2ms", "-n", "2", "-q", "--plot",
                            path, "::1"])
            check(r.returncode == 0, "plot rc %d %s" % (r.returncode, r.stderr))
            with open(path, "rb") as f:
                data = f.read()
            check(len(data) > 1000 and magic in data[:400], "%s plot content" % ext)


def test_sigint_prints_summary():
    with Server("-q") as srv:
        p = subprocess.Popen([echo(), "client", "-p", str(srv.port), "-n", "1000", "-d", "20ms",
                              "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        seen = 0
        while seen < 3:
            line = pkutil.read_line(p, 5)
            check(line is not None, "client output")
            seen += "bytes from" in line
        rc, out, err = pkutil.stop(p, signal.SIGINT)
        check(rc == 0, "rc after SIGINT %r %s" % (rc, err))
        check("tcp-echo RTT statistics" in out and "rtt min/avg/max/mdev" in out, out)


class Scripted:
    """A server on 127.0.0.1 for one client: answers the setup, then hands
    each probe line (seq from 1) to reply(seq, line) -> (bytes, close: then
    it closes, after reading what the client still sends);
    with hold=True the replies of all probes go out together at the last.
    Each reply is sent in pieces of `piece` bytes, 5 ms apart."""

    def __init__(self, reply, probes, piece=None, hold=False):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.ls.settimeout(10)
        self.port = self.ls.getsockname()[1]
        self.reply, self.probes, self.piece, self.hold = reply, probes, piece, hold
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def send(self, c, data):
        step = self.piece or len(data) or 1
        for i in range(0, len(data), step):
            c.sendall(data[i:i + step])
            if self.piece:
                time.sleep(0.005)

    def run(self):
        try:
            c, _ = self.ls.accept()
        except OSError:
            return
        with c:
            c.settimeout(10)
            f = c.makefile("rb")
            try:
                f.readline()
                c.sendall(READY)
                held = b""
                for seq in range(1, self.probes + 1):
                    data, close = self.reply(seq, f.readline())
                    held += data
                    if not self.hold or close or seq == self.probes:
                        self.send(c, held)
                        held = b""
                    if close:               # no reset: what it sent is read
                        c.shutdown(socket.SHUT_WR)
                        while c.recv(65536):
                            pass
                        return
                if f.readline() == b"t\n":
                    c.sendall(CLOSING)
            except OSError:
                pass

    def close(self):
        self.ls.close()
        self.t.join(10)


def run_scripted(reply, window, probes=4, size=10000, piece=None, hold=False):
    """The client's exit code, its stdout with the port and figures taken out, stderr."""
    srv = Scripted(reply, probes, piece, hold)
    try:
        r = pkutil.run([echo(), "client", "-p", str(srv.port), "-n", str(probes), "-s", str(size),
                        "-W", "5s", "--window", str(window), "127.0.0.1"], timeout=30)
    finally:
        srv.close()
    out = re.sub(r"port \d+", "port P", r.stdout)
    out = re.sub(r"time \d+(\.\d+)?m?s", "time T", out)
    return r.returncode, re.sub(r"(?<![\d.])\d+\.\d+(?![\d.])", "N", out), r.stderr


def changed(line, at):
    return line[:at] + (b"Z" if line[at:at + 1] != b"Z" else b"Y") + line[at + 1:]


# (name, reply(seq, line) -> (bytes, close), exit code, echoes printed, words in stderr or stdout)
SCRIPTS = [
    ("echo", lambda q, l: (l, False), 0, 4, "4 probes of 10000 bytes sent, 4 echoed"),
    ("payload byte", lambda q, l: (changed(l, 6000) if q == 3 else l, False), 1, 2,
     'unexpected reply from 127.0.0.1: "m abcdefghij'),
    ("first byte", lambda q, l: (changed(l, 0) if q == 2 else l, False), 1, 1,
     'unexpected reply from 127.0.0.1: "Z abcdefghij'),
    ("seq", lambda q, l: (l.replace(b" 2\n", b" 3\n") if q == 2 else l, False), 1, 1,
     "unexpected reply from 127.0.0.1"),
    ("newline late", lambda q, l: (l[:-1] + b" 1\n" if q == 1 else l, False), 1, 0,
     "unexpected reply from 127.0.0.1"),
    ("newline early", lambda q, l: (l[:5000] + b"\n" if q == 4 else l, False), 1, 3,
     "unexpected reply from 127.0.0.1"),
    ("404", lambda q, l: (BAD_PROBE if q == 3 else l, q == 3), 1, 2,
     "404 ERROR: Invalid Measurement Message"),
    ("a line too many", lambda q, l: (l + b"m abc 5\n" if q == 4 else l, False), 1, 4,
     'unexpected reply from 127.0.0.1: "m abc 5"'),
    ("cut off", lambda q, l: (l[:7000] if q == 2 else l, q == 2), 1, 1,
     "closed the connection after 1 of 4 probes"),
]


def test_echo_read_as_it_comes():
    """Each scripted answer, whole, in pieces of 1000 bytes and (pipelined)
    all echoes run together: the same exit code, echoes and message, the
    same output however the bytes were cut."""
    for name, reply, rc, echoes, words in SCRIPTS:
        for window, piece, hold in ((1, None, False), (1, 1000, False), (4, None, False),
                                    (4, 3333, True)):
            what = "%s, window %d, pieces %s%s" % (name, window, piece, ", held" if hold else "")
            got = run_scripted(reply, window, piece=piece, hold=hold)
            check(got[0] == rc, "%s: exit %d, want %d: %r" % (what, got[0], rc, got[2]))
            check(got[1].count("bytes from") == echoes, "%s: %r" % (what, got[1]))
            check(words in got[1] + got[2], "%s: %r not in %r" % (what, words, got[1] + got[2]))
            if piece is None and not hold:
                first = got
            else:
                check(got[0] == first[0] and got[2] == first[2] and
                      (window > 1 or got[1] == first[1]), "%s: %r != %r" % (what, got, first))


pkutil.main([
    test_client_session_output,
    test_window_pipelines,
    test_client_exit_codes,
    test_sweep_adds_up,
    test_plot_file_made,
    test_sigint_prints_summary,
    test_echo_read_as_it_comes,
])
