"""tcp-echo server on 127.0.0.1 and ::1, port 0.

Raw sockets check the server's exact bytes (every 404 and when the
connection closes, byte-at-a-time and all-at-once delivery, limits, idle
timeout, a delayed session beside a fast one), its address families, its
log and the plain echo. The client is test_tcp_echo_client.py's, which
borrows the helpers here (Server, echo, the replies).
"""
import json
import os
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
from pkutil import check, Fail  # noqa: E402

READY = b"200 OK: Ready\n"
CLOSING = b"200 OK: Closing Connection\n"
BAD_SETUP = b"404 ERROR: Invalid Connection Setup Message\n"
BAD_PROBE = b"404 ERROR: Invalid Measurement Message\n"
BAD_TERM = b"404 ERROR: Invalid Connection Termination Message\n"

REFUSED_BUSY = b"404 ERROR: Connection Refused: server busy\n"

HOSTS = ("127.0.0.1", "::1")


def echo():
    return pkutil.prog("tcp-echo")


def server_extra():
    """PK_ECHO_SERVER_ARGS: options every test server gets; CTest runs the
    server's suites once as they are (a lone session takes the fast path)
    and once with --no-fast-path (every read through the event loop), so
    both paths answer the same cases."""
    return os.environ.get("PK_ECHO_SERVER_ARGS", "").split()


class Server:
    def __init__(self, *args, env=None):
        self.proc, self.port = pkutil.start_server([echo(), "server", "-p", "0"] + list(args) +
                                                   server_extra(),
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
    """A delayed echo on one connection never slows another. Baseline: the
    same fast session alone, in this test; the slow session's delay is set
    well above it, so "slowed" (waiting for the slow echo) cannot be
    confused with a loaded machine."""
    with Server("-q") as srv:
        fast = [echo(), "client", "-p", str(srv.port), "-n", "20", "-s", "100", "-J",
                "127.0.0.1"]
        t0 = time.monotonic()
        base = pkutil.run_json(fast)[1]
        alone = time.monotonic() - t0
        delay = max(0.6, 5 * alone)
        slow = connect("127.0.0.1", srv.port)
        slow.sendall(b"s RTT 1 1 %.3f\n" % delay)
        read_exact(slow, len(READY))
        t0 = time.monotonic()
        slow.sendall(b"m x 1\n")
        r = pkutil.run_json(fast)[1]
        fast_done = time.monotonic() - t0
        check(r["summary"]["received"] == 20, "fast session incomplete")
        # a fast echo held behind the slow one would take the whole delay
        check(r["summary"]["rtt_ms"]["max"] < 1e3 * delay / 2,
              "fast session slowed: %r (alone: %r)" % (r["summary"]["rtt_ms"],
                                                       base["summary"]["rtt_ms"]))
        check(fast_done < delay, "fast session took %.3f s beside a %.3f s delay "
              "(%.3f s alone)" % (fast_done, delay, alone))
        check(read_exact(slow, 6) == b"m x 1\n", "slow echo")
        waited = time.monotonic() - t0
        check(delay <= waited < delay + max(0.4, 2 * alone),
              "delayed echo after %.3f s (delay %.3f s)" % (waited, delay))
        slow.sendall(b"t\n")
        check(read_all(slow) == CLOSING, "slow close")
        slow.close()


def test_many_delays_at_once():
    """20 sessions, delays 10..200 ms, each probe echoed after its own delay,
    all side by side. Baseline: a session at 0 ms in this test."""
    with Server("-q") as srv:
        s0 = connect("127.0.0.1", srv.port)
        s0.sendall(b"s RTT 2 3 0\n")
        read_exact(s0, len(READY))
        t0 = time.monotonic()
        s0.sendall(b"m ab 1\nm cd 2\nm ef 3\n")
        check(read_exact(s0, 21) == b"m ab 1\nm cd 2\nm ef 3\n", "0 ms echoes")
        floor = time.monotonic() - t0
        s0.sendall(b"t\n")
        read_all(s0)
        s0.close()
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
        total = time.monotonic() - t0
        # one after another the delays would add up to 2.1 s; side by side the
        # last is due at 0.2 s. A session is late by the 0 ms floor (x 20
        # sessions to serve) plus the 10 ms step between two delays.
        slack = 0.01 + 20 * floor
        for i, s in enumerate(socks):
            want = 0.01 * (20 - i)
            check(bufs[i] == b"m ab 1\nm cd 2\nm ef 3\n", "echoes of %d: %r" % (i, bufs[i]))
            check(done[i] is not None and want <= done[i] < want + 0.1 + slack,
                  "session %d (delay %.2f s) after %s s (0 ms floor %.4f s)"
                  % (i, want, done[i], floor))
            s.sendall(b"t\n")
            check(read_all(s) == CLOSING, "close %d" % i)
            s.close()
        check(total < 2.1 / 2, "delays ran one after another: %.3f s" % total)


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
    whose line would pass it is answered with its phase's 404 and closed
    (issue 10: never a silent close), the others finish their probes."""
    size = 100000
    with Server("--max-size", str(size), "--max-buffer", "256K") as srv:
        conns = []
        for i in range(3):
            s = connect(HOSTS[i % 2], srv.port)
            s.sendall(b"s RTT %d 1 0\n" % size)
            read_exact(s, len(READY))
            s.sendall(b"m " + b"a" * 90000)     # most of a line, no newline yet
            conns.append(s)
        # three such lines pass 256 KiB: whichever the server read last gets
        # the 404 of the measurement phase and is closed; the other two stay open
        ready, _, _ = select.select(conns, [], [], 5)
        check(len(ready) == 1, "%d connections ended, want 1" % len(ready))
        closed = ready[0]
        try:
            got = read_all(closed, 3)
        except ConnectionResetError:
            got = b""
        check(got == BAD_PROBE, "the refused connection got %r" % got[:80])
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


def test_large_lines_to_a_slow_reader():
    """Lines that span many reads (600 KB probes) are echoed from the
    partial-line buffer: sent at once when the socket takes them, the rest
    queued (issue 14). A peer that reads nothing for a while (the socket
    fills, part of an echo waits in the queue) then reads everything gets
    every echo byte for byte, in order."""
    import threading
    size, count = 600000, 10
    alpha = b"abcdefghijklmnopqrstuvwxyz0123456789"
    pattern = alpha * (size // len(alpha) + 2)

    def probe(seq):     # a payload that differs at every offset and per probe
        off = seq % len(alpha)
        return b"m " + pattern[off:off + size] + b" %d\n" % seq
    with Server("-q") as srv:
        s = connect("127.0.0.1", srv.port, timeout=20)
        s.sendall(b"s TTPUT %d %d 0\n" % (size, count))
        check(read_exact(s, len(READY)) == READY, "setup answered")
        errors = []

        def send_all():
            try:
                for seq in range(1, count + 1):
                    s.sendall(probe(seq))
                s.sendall(b"t\n")
            except OSError as e:
                errors.append(e)
        t = threading.Thread(target=send_all)
        t.start()
        time.sleep(0.5)                 # not reading: the server's output backs up
        for seq in range(1, count + 1):
            want = probe(seq)
            got = read_exact(s, len(want), timeout=20)
            check(got == want, "echo %d differs (%d bytes, want %d)" % (seq, len(got), len(want)))
        check(read_exact(s, len(CLOSING), timeout=20) == CLOSING, "closing reply")
        t.join(20)
        check(not errors and not t.is_alive(), "sender: %r" % errors)
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
        check(got == REFUSED_BUSY, "third connection got %r" % got)
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
            if (got and got != REFUSED_BUSY) or time.monotonic() > deadline:
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


def start_stderr_banner(args, timeout=10.0):
    """A server under -J or --json-stream (its banner on stderr): (proc, port)."""
    return pkutil.start_server(args, timeout, banner="stderr")


def test_server_log_json():
    """--json-stream: listening, setup, session records as they happen, end
    with the -J document (the totals and the same events)."""
    import schema_check
    proc, port = start_stderr_banner([echo(), "server", "-p", "0", "-b", "127.0.0.1",
                                      "--json-stream"])
    exchange("127.0.0.1", port, b"s TTPUT 2 2 0.001\nm ab 1\nm ab 2\nt\n")
    exchange("127.0.0.1", port, b"s RTT 2 2 0\nm a 1\n")
    rc, out, err = pkutil.stop(proc)
    check(rc == 0, "server rc %r %s" % (rc, err))
    check(schema_check.check_stream(out) == [], "stream: %r" % schema_check.check_stream(out))
    recs = [json.loads(l) for l in out.splitlines()]
    check(all(l.startswith("{") for l in out.splitlines()), "stdout is records only")
    names = [r["event"] for r in recs]
    check(names[:2] == ["start", "listening"] and names[-1] == "end", "order %r" % names)
    check(recs[1]["data"]["port"] == port and recs[1]["data"]["address"] == "127.0.0.1",
          "listening %r" % recs[1])
    setup = [r["data"] for r in recs if r["event"] == "setup"]
    sess = [r["data"] for r in recs if r["event"] == "session"]
    check(len(setup) == 2 and setup[0]["type"] == "TTPUT" and setup[0]["size_bytes"] == 2
          and setup[0]["probes"] == 2 and setup[0]["server_delay_s"] == 0.001, "setup %r" % setup)
    check(sess[0]["end"] == "terminated" and sess[0]["probes_echoed"] == 2, "session %r" % sess[0])
    check(sess[1]["end"] == "invalid measurement" and sess[1]["probes_echoed"] == 0, "bad %r" % sess[1])
    doc = recs[-1]["data"]
    check(doc["role"] == "server" and doc["summary"]["probes_echoed"] == 2 and
          doc["summary"]["accepted"] == 2, "end %r" % doc["summary"])
    # -J: the banner on stderr (start_stderr_banner found it there), nothing
    # on stdout until it stops, then one document (`-J | jq .` parses)
    proc, port = start_stderr_banner([echo(), "server", "-p", "0", "-b", "127.0.0.1", "-J"])
    exchange("127.0.0.1", port, b"s RTT 3 1 0\nm abc 1\nt\n")
    rc, out, err = pkutil.stop(proc)
    doc = json.loads(out)        # the whole stdout is the document
    check(rc == 0 and schema_check.check_doc(doc) == [], "-J doc %r" % schema_check.check_doc(doc))
    check([e["event"] for e in doc["events"]] == ["setup", "session"] and
          doc["summary"]["probes_echoed"] == 1 and doc["target"]["port"] == port, "-J %r" % doc)


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


if __name__ == "__main__":
    pkutil.main([
        test_each_reply_and_close,
        test_byte_at_a_time_and_all_at_once,
        test_cut_off_message,
        test_bad_input_ends_only_that_connection,
        test_delayed_session_beside_fast_one,
        test_many_delays_at_once,
        test_limits,
        test_partial_line_budget,
        test_reader_that_never_reads,
        test_large_lines_to_a_slow_reader,
        test_connection_cap,
        test_idle_timeout,
        test_address_families,
        test_server_log_json,
        test_plain_mode,
    ])
