"""tcp-echo server and client on 127.0.0.1 and ::1, port 0.

Raw sockets check the server's exact bytes (every 404 and when the
connection closes, byte-at-a-time and all-at-once delivery, limits, idle
timeout, a delayed session beside a fast one); the client is checked for its
exit codes, sweep output that adds up, CSV, JSON and the plot file.
"""
import csv
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
from pkutil import check, Fail  # noqa: E402

READY = b"200 OK: Ready\n"
CLOSING = b"200 OK: Closing Connection\n"
BAD_SETUP = b"404 ERROR: Invalid Connection Setup Message\n"
BAD_PROBE = b"404 ERROR: Invalid Measurement Message\n"
BAD_TERM = b"404 ERROR: Invalid Connection Termination Message\n"

HOSTS = ("127.0.0.1", "::1")
TMP = tempfile.mkdtemp(prefix="tcp_echo_test_")


def echo():
    return pkutil.prog("tcp-echo")


class Server:
    def __init__(self, *args, env=None):
        self.proc, self.port = pkutil.start_server([echo(), "server", "-p", "0"] + list(args),
                                                   env=env)

    def stop(self):
        return pkutil.stop(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc, out, err = self.stop()
        self.log = out
        if exc[0] is None:
            check(rc == 0, "server exit %r: %s" % (rc, err[-500:]))


def connect(host, port, timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_all(s, timeout=5.0):
    """Everything until the server closes (EOF); fails if it does not."""
    s.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            return data
        data += b
    raise Fail("server did not close; got %r" % data[:200])


def read_exact(s, n, timeout=5.0):
    s.settimeout(timeout)
    data = b""
    while len(data) < n:
        b = s.recv(n - len(data))
        if not b:
            raise Fail("EOF after %r" % data[:200])
        data += b
    return data


def exchange(host, port, payload, byte_at_a_time=False):
    s = connect(host, port)
    try:
        if byte_at_a_time:
            for i in range(len(payload)):
                s.sendall(payload[i:i + 1])
                time.sleep(0.0005)
        else:
            s.sendall(payload)
        return read_all(s)
    finally:
        s.close()


# (name, bytes sent, exact bytes expected before the server closes)
CASES = [
    ("valid session", b"s RTT 3 2 0\nm abc 1\nm xyz 2\nt\n",
     READY + b"m abc 1\nm xyz 2\n" + CLOSING),
    ("early termination", b"s TTPUT 4 5 0\nm abcd 1\nt\n", READY + b"m abcd 1\n" + CLOSING),
    ("termination right after setup", b"s RTT 1 1 0\nt\n", READY + CLOSING),
    ("setup: t first", b"t\n", BAD_SETUP),
    ("setup: probe first", b"m abc 1\n", BAD_SETUP),
    ("setup: missing delay", b"s RTT 3 2\n", BAD_SETUP),
    ("setup: lower-case type", b"s rtt 3 2 0\n", BAD_SETUP),
    ("setup: zero size", b"s RTT 0 2 0\n", BAD_SETUP),
    ("setup: zero probes", b"s RTT 3 0 0\n", BAD_SETUP),
    ("setup: negative delay", b"s RTT 3 2 -1\n", BAD_SETUP),
    ("setup: two spaces", b"s  RTT 3 2 0\n", BAD_SETUP),
    ("setup: CRLF", b"s RTT 3 2 0\r\n", BAD_SETUP),
    ("setup: extra field", b"s RTT 3 2 0 0\n", BAD_SETUP),
    ("setup: empty line", b"\n", BAD_SETUP),
    ("probe: seq starts at 2", b"s RTT 3 2 0\nm abc 2\n", READY + BAD_PROBE),
    ("probe: seq repeats", b"s RTT 3 3 0\nm abc 1\nm abc 1\n", READY + b"m abc 1\n" + BAD_PROBE),
    ("probe: short payload", b"s RTT 3 2 0\nm ab 1\n", READY + BAD_PROBE),
    ("probe: long payload", b"s RTT 3 2 0\nm abcd 1\n", READY + BAD_PROBE),
    ("probe: missing seq", b"s RTT 3 2 0\nm abc\n", READY + BAD_PROBE),
    ("probe: wrong letter", b"s RTT 3 2 0\nx abc 1\n", READY + BAD_PROBE),
    ("probe: setup again", b"s RTT 3 2 0\ns RTT 3 2 0\n", READY + BAD_PROBE),
    ("probe: 't ' is no termination", b"s RTT 3 2 0\nt \n", READY + BAD_PROBE),
    ("probe beyond probes", b"s RTT 3 1 0\nm abc 1\nm abc 2\n",
     READY + b"m abc 1\n" + BAD_PROBE),
    ("termination: other line", b"s RTT 3 1 0\nm abc 1\nx\n",
     READY + b"m abc 1\n" + BAD_TERM),
    ("termination: 't '", b"s RTT 3 1 0\nm abc 1\nt \n", READY + b"m abc 1\n" + BAD_TERM),
    ("termination: empty line", b"s RTT 3 1 0\nm abc 1\n\n", READY + b"m abc 1\n" + BAD_TERM),
    ("bytes after t are ignored", b"s RTT 1 1 0\nm a 1\nt\ns RTT 1 1 0\n",
     READY + b"m a 1\n" + CLOSING),
    ("bytes after a 404 are ignored", b"s RTT 1 1 0\nm aa 1\nt\n", READY + BAD_PROBE),
]


def test_each_reply_and_close():
    with Server("-q") as srv:
        for host in HOSTS:
            for name, sent, want in CASES:
                got = exchange(host, srv.port, sent)
                check(got == want, "%s on %s: sent %r, got %r, want %r"
                      % (name, host, sent, got, want))


def test_byte_at_a_time_and_all_at_once():
    with Server("-q") as srv:
        for name, sent, want in CASES[:3] + CASES[14:17] + CASES[22:24]:
            got = exchange("127.0.0.1", srv.port, sent, byte_at_a_time=True)
            check(got == want, "%s byte by byte: got %r" % (name, got))
        # many probes in one write, with a large payload
        size = 5000
        msgs = [b"s TTPUT %d 20 0\n" % size]
        msgs += [b"m " + bytes([97 + i % 26]) * size + b" %d\n" % (i + 1) for i in range(20)]
        got = exchange("::1", srv.port, b"".join(msgs) + b"t\n")
        check(got == READY + b"".join(msgs[1:]) + CLOSING, "pipelined session differs")


def test_cut_off_message():
    """A partial line at EOF is an incomplete message: answered, then closed."""
    with Server("-q") as srv:
        for sent, want in ((b"s RTT 3", BAD_SETUP), (b"s RTT 3 1 0\nm ab", READY + BAD_PROBE)):
            s = connect("127.0.0.1", srv.port)
            s.sendall(sent)
            s.shutdown(socket.SHUT_WR)
            got = read_all(s)
            s.close()
            check(got == want, "cut off %r: got %r" % (sent, got))


def test_bad_input_ends_only_that_connection():
    with Server("-q") as srv:
        good = connect("127.0.0.1", srv.port)
        good.sendall(b"s RTT 2 3 0\nm ab 1\n")
        check(read_exact(good, len(READY) + 7) == READY + b"m ab 1\n", "good start")
        for sent, _ in ((b"garbage\n", 0), (b"s RTT 2 1 0\nm a 1\n", 0), (b"\x00" * 200, 0)):
            bad = connect("127.0.0.1", srv.port)
            bad.sendall(sent)
            read_all(bad)
            bad.close()
        good.sendall(b"m cd 2\nm ef 3\nt\n")
        check(read_all(good) == b"m cd 2\nm ef 3\n" + CLOSING, "good session survived")
        good.close()


def test_delayed_session_beside_fast_one():
    """A 0.6 s delay on one connection never slows another."""
    with Server("-q") as srv:
        slow = connect("127.0.0.1", srv.port)
        slow.sendall(b"s RTT 1 1 0.6\n")
        read_exact(slow, len(READY))
        t0 = time.monotonic()
        slow.sendall(b"m x 1\n")
        r = pkutil.run_json([echo(), "client", "-p", str(srv.port), "-n", "20", "-s", "100",
                             "-J", "127.0.0.1"])[1]
        fast_done = time.monotonic() - t0
        check(r["summary"]["received"] == 20, "fast session incomplete")
        check(r["summary"]["rtt_ms"]["max"] < 100, "fast session slowed: %r" % r["summary"]["rtt_ms"])
        check(fast_done < 0.6, "fast session took %.3f s" % fast_done)
        check(read_exact(slow, 6) == b"m x 1\n", "slow echo")
        waited = time.monotonic() - t0
        check(0.6 <= waited < 1.0, "delayed echo after %.3f s" % waited)
        slow.sendall(b"t\n")
        check(read_all(slow) == CLOSING, "slow close")
        slow.close()


def test_many_delays_at_once():
    """20 sessions, delays 10..200 ms, each probe echoed after its own delay."""
    with Server("-q") as srv:
        socks = []
        for i in range(20):
            s = connect("127.0.0.1" if i % 2 else "::1", srv.port)
            s.sendall(b"s RTT 2 3 %.3f\n" % (0.01 * (20 - i)))
            socks.append(s)
        for s in socks:
            read_exact(s, len(READY))
        t0 = time.monotonic()
        for s in socks:
            s.sendall(b"m ab 1\nm cd 2\nm ef 3\n")  # three at once: each waits its delay
        bufs, done = [b""] * 20, [None] * 20
        while None in done and time.monotonic() - t0 < 3:
            r, _, _ = select.select([x for i, x in enumerate(socks) if done[i] is None], [], [], 1)
            for x in r:
                i = socks.index(x)
                bufs[i] += x.recv(100)
                if len(bufs[i]) >= 21:
                    done[i] = time.monotonic() - t0
        for i, s in enumerate(socks):
            want = 0.01 * (20 - i)
            check(bufs[i] == b"m ab 1\nm cd 2\nm ef 3\n", "echoes of %d: %r" % (i, bufs[i]))
            check(want <= done[i] < want + 0.15, "session %d (delay %.2f s) after %.3f s"
                  % (i, want, done[i]))
            s.sendall(b"t\n")
            check(read_all(s) == CLOSING, "close %d" % i)
            s.close()
        check(time.monotonic() - t0 < 1.0, "delays ran side by side")


def test_limits():
    with Server("-q", "--max-size", "100", "--max-probes", "5", "--max-delay", "1s") as srv:
        check(exchange("127.0.0.1", srv.port, b"s RTT 100 5 1\nt\n") == READY + CLOSING,
              "setup at the bounds")
        for sent in (b"s RTT 101 5 0\n", b"s RTT 100 6 0\n", b"s RTT 100 5 1.000001\n"):
            check(exchange("127.0.0.1", srv.port, sent) == BAD_SETUP, "beyond bounds %r" % sent)
        # an over-long setup line is refused before any newline comes
        s = connect("::1", srv.port)
        s.sendall(b"s RTT " + b"1" * 300)
        check(read_all(s, 3) == BAD_SETUP, "long setup line")
        s.close()
        # a probe line longer than the size allows: answered at once, no newline needed
        s = connect("127.0.0.1", srv.port)
        s.sendall(b"s RTT 10 5 0\n")
        read_exact(s, len(READY))
        s.sendall(b"m " + b"z" * 5000)
        check(read_all(s, 3) == BAD_PROBE, "long probe line")
        s.close()


def test_partial_line_budget():
    """Unfinished lines of all connections share --max-buffer: the connection
    whose line would pass it is closed, the others finish their probes."""
    size = 100000
    with Server("--max-size", str(size), "--max-buffer", "256K") as srv:
        conns = []
        for i in range(3):
            s = connect(HOSTS[i % 2], srv.port)
            s.sendall(b"s RTT %d 1 0\n" % size)
            read_exact(s, len(READY))
            s.sendall(b"m " + b"a" * 90000)     # most of a line, no newline yet
            conns.append(s)
        # three such lines pass 256 KiB: whichever the server read last is
        # closed (EOF, nothing sent); the other two stay open
        ready, _, _ = select.select(conns, [], [], 5)
        check(len(ready) == 1, "%d connections ended, want 1" % len(ready))
        closed = ready[0]
        try:
            got = read_all(closed, 3)
        except ConnectionResetError:
            got = b""
        check(got == b"", "the closed connection got %r" % got[:80])
        for s in conns:
            if s is closed:
                continue
            s.sendall(b"a" * (size - 90000) + b" 1\nt\n")
            got = read_exact(s, size + 5 + len(CLOSING))
            check(got == b"m " + b"a" * size + b" 1\n" + CLOSING, "a line within the budget")
        for s in conns:
            s.close()
    check("memory budget" in srv.log, "the budget end is logged: %s" % srv.log[-400:])


def test_reader_that_never_reads():
    """Probes pipelined by a peer that never reads: the server stops reading
    (its output is bounded), memory stays small, other sessions go on.
    Under AddressSanitizer, freed memory sits in its quarantine and would
    count as growth: this server runs without one (ignored by plain builds)."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    with Server("-q", env={"ASAN_OPTIONS": (asan + ":" if asan else "") +
                           "quarantine_size_mb=0"}) as srv:
        def rss_kb():
            with open("/proc/%d/status" % srv.proc.pid) as f:
                return int([l for l in f if l.startswith("VmRSS")][0].split()[1])
        before = rss_kb()
        s = connect("127.0.0.1", srv.port)
        s.sendall(b"s TTPUT 32768 100000 0\n")
        read_exact(s, len(READY))
        s.setblocking(False)
        pay, sent, seq, buf = b"y" * 32768, 0, 1, b""
        end = time.monotonic() + 1
        while time.monotonic() < end:
            if not buf:
                buf, seq = b"m " + pay + b" %d\n" % seq, seq + 1
            try:
                k = s.send(buf)
                buf, sent = buf[k:], sent + k
            except BlockingIOError:
                time.sleep(0.01)
        grown = rss_kb() - before
        check(sent > 4e6, "sent only %d bytes" % sent)
        check(grown < 8 * 1024, "server grew by %d KiB after %d bytes unread" % (grown, sent))
        check(exchange("::1", srv.port, b"s RTT 1 1 0\nm z 1\nt\n") == READY + b"m z 1\n" + CLOSING,
              "another session while one is stuck")
        s.close()


def test_connection_cap():
    with Server("--max-conns", "2") as srv:
        a, b = connect("127.0.0.1", srv.port), connect("127.0.0.1", srv.port)
        a.sendall(b"s RTT 1 1 0\n")
        b.sendall(b"s RTT 1 1 0\n")
        read_exact(a, len(READY))
        read_exact(b, len(READY))
        c = connect("127.0.0.1", srv.port)
        try:
            got = read_all(c, 3)
        except ConnectionResetError:
            got = b""
        check(got == b"", "third connection got %r" % got)
        c.close()
        a.close()
        # once a slot is free, a new connection is served
        deadline = time.monotonic() + 3
        while True:
            d = connect("127.0.0.1", srv.port)
            d.sendall(b"s RTT 1 1 0\nm q 1\nt\n")
            try:
                got = read_all(d, 3)
            except ConnectionResetError:
                got = b""
            d.close()
            if got or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check(got == READY + b"m q 1\n" + CLOSING, "slot freed: %r" % got)
        b.close()
    check("refused: connection limit reached" in srv.log, "refusal logged")


def test_idle_timeout():
    with Server("-q", "--idle-timeout", "300ms") as srv:
        s = connect("127.0.0.1", srv.port)
        t0 = time.monotonic()
        check(read_all(s, 5) == b"", "idle connection got bytes")
        took = time.monotonic() - t0
        check(0.25 <= took < 2.0, "idle close after %.3f s" % took)
        s.close()
        # a cut-off setup is answered as incomplete when the time runs out
        s = connect("::1", srv.port)
        s.sendall(b"s RTT 5 1")
        check(read_all(s, 5) == BAD_SETUP, "partial setup at idle timeout")
        s.close()
        # waiting on our own delay (0.6 s > idle) is not idleness
        s = connect("127.0.0.1", srv.port)
        s.sendall(b"s RTT 1 1 0.6\nm k 1\n")
        check(read_exact(s, len(READY) + 6, 3) == READY + b"m k 1\n", "delayed echo survived")
        s.sendall(b"t\n")
        check(read_all(s) == CLOSING, "close after delay")
        s.close()


def test_address_families():
    for args, ok, refused in ((["-6"], "::1", "127.0.0.1"), (["-4"], "127.0.0.1", "::1"),
                              (["-b", "::1"], "::1", "127.0.0.1"),
                              (["-b", "127.0.0.1"], "127.0.0.1", "::1")):
        with Server("-q", *args) as srv:
            check(exchange(ok, srv.port, b"s RTT 1 1 0\nt\n") == READY + CLOSING,
                  "%r on %s" % (args, ok))
            try:
                connect(refused, srv.port).close()
                check(False, "%r accepted %s" % (args, refused))
            except OSError:
                pass


def test_server_log_json():
    with Server("-J") as srv:
        exchange("127.0.0.1", srv.port, b"s TTPUT 2 2 0.001\nm ab 1\nm ab 2\nt\n")
        exchange("127.0.0.1", srv.port, b"s RTT 2 2 0\nm a 1\n")
    events = [json.loads(l) for l in srv.log.splitlines() if l.startswith("{")]
    setup = [e for e in events if e["event"] == "setup"]
    sess = [e for e in events if e["event"] == "session"]
    check(len(setup) == 2 and setup[0]["type"] == "TTPUT" and setup[0]["msg_size"] == 2
          and setup[0]["probes"] == 2 and setup[0]["server_delay_s"] == 0.001, "setup %r" % setup)
    check(sess[0]["end"] == "terminated" and sess[0]["probes_echoed"] == 2, "session %r" % sess[0])
    check(sess[1]["end"] == "invalid measurement" and sess[1]["probes_echoed"] == 0, "bad %r" % sess[1])
    stats = [e for e in events if e["event"] == "stats"][0]
    check(stats["probes_echoed"] == 2 and stats["accepted"] == 2, "stats %r" % stats)


def test_plain_mode():
    with Server("--plain") as srv:
        for host in HOSTS:
            r = pkutil.run([echo(), "client", "-p", str(srv.port), "--message", "Hello world!",
                            host])
            check(r.returncode == 0, "plain client rc %d: %s" % (r.returncode, r.stderr))
            check("Sending Hello world!\nReceived: Hello world!\n" in r.stdout, r.stdout)
        s = connect("127.0.0.1", srv.port)
        raw = b"any bytes\x00 at all, s RTT"
        s.sendall(raw)
        check(read_exact(s, len(raw)) == raw, "raw echo")
        s.close()
    check('data (12 bytes): Hello world!' in srv.log, "server logs the data")


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
        check(doc["tool"] == "tcp-echo" and sm["mode"] == "ttput" and sm["msg_size"] == 2048,
              "ttput default size: %r" % sm)
        check(len(doc["samples"]) == 6 and sm["received"] == 6, "samples")
        rtts = [x["rtt_ms"] for x in doc["samples"]]
        check(abs(sum(rtts) / 6 - sm["rtt_ms"]["avg"]) < 1e-6, "mean adds up")
        tp = [x["throughput_mbps"] for x in doc["samples"]]
        check(all(abs(t - 8 * 2048 / (x / 1e3) / 1e6) < 1e-6 * t for t, x in zip(tp, rtts)),
              "throughput = 8 x size / RTT")


def test_window_pipelines():
    with Server("-q") as srv:
        t0 = time.monotonic()
        r, doc = pkutil.run_json([echo(), "client", "-p", str(srv.port), "-n", "16", "-d", "50ms",
                                  "--window", "8", "-s", "1K", "-J", "127.0.0.1"])
        took = time.monotonic() - t0
        check(r.returncode == 0 and doc["summary"]["received"] == 16, r.stderr)
        check(took < 0.5, "16 probes at 50 ms in windows of 8 took %.3f s" % took)
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
        check(r.returncode == 2 and r.stderr.startswith("tcp-echo: "), "usage %r: %r" % (args, r.stderr))
    r = pkutil.run([echo(), "client", "-s", "x", "h"])
    check("size 'x': invalid" in r.stderr, r.stderr)
    for role in ("server", "client"):
        r = pkutil.run([echo(), role, "--help"])
        check(r.returncode == 0 and r.stdout.startswith("usage: tcp-echo " + role), "help")
    for args in (["-V"], ["--version"], ["server", "-V"], ["client", "--version"]):
        r = pkutil.run([echo()] + args)
        check(r.returncode == 0 and re.fullmatch(r"tcp-echo \(probekit\) \S+\n", r.stdout),
              "version %r: %r" % (args, r.stdout))
    for args, msg in (([], "tcp-echo: a role is required: server or client\n"),
                      (["bogus"], "tcp-echo: unknown role 'bogus' (server or client)\n")):
        r = pkutil.run([echo()] + args)
        check(r.returncode == 2 and r.stderr.startswith(msg), "role %r: %r" % (args, r.stderr))
    r = pkutil.run([echo(), "server", "--idle-timeout", "soon"])
    check(r.returncode == 2, "server usage")


def test_sweep_adds_up():
    with Server("-q") as srv:
        csvf = os.path.join(TMP, "sweep.csv")
        r, doc = pkutil.run_json([echo(), "client", "-p", str(srv.port), "--sweep",
                                  "--sizes", "1,100,1000", "--delays", "0,20ms", "--repeat", "2",
                                  "-n", "3", "--csv", csvf, "-J", "127.0.0.1"])
        check(r.returncode == 0, r.stderr)
        pts = doc["summary"]["points"]
        check(len(pts) == 6, "6 points")
        check([(p["server_delay_s"], p["msg_size"]) for p in pts] ==
              [(d, s) for d in (0, 0.02) for s in (1, 100, 1000)], "grid order")
        smp = doc["samples"]
        check(len(smp) == 36, "36 samples, got %d" % len(smp))
        for p in pts:
            mine = [x["rtt_ms"] for x in smp if x["server_delay_s"] == p["server_delay_s"]
                    and x["msg_size"] == p["msg_size"]]
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


pkutil.main([
    test_each_reply_and_close,
    test_byte_at_a_time_and_all_at_once,
    test_cut_off_message,
    test_bad_input_ends_only_that_connection,
    test_delayed_session_beside_fast_one,
    test_many_delays_at_once,
    test_limits,
    test_partial_line_budget, test_reader_that_never_reads,
    test_connection_cap,
    test_idle_timeout,
    test_address_families,
    test_server_log_json,
    test_plain_mode,
    test_client_session_output,
    test_window_pipelines,
    test_client_exit_codes,
    test_sweep_adds_up,
    test_plot_file_made,
    test_sigint_prints_summary,
])
