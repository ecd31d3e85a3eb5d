#!/usr/bin/env python3
"""Conformance suite for a TCP echo measurement server, from docs/PROTOCOLS.md
section 3.

Written from the protocol table alone (not from any server's code) and run
against any server:

    tcp_echo_conformance.py HOST PORT [--seed N] [--no-delay-checks]

Every case opens its own connection, sends its bytes, and requires the exact
bytes of the answers and then the server's close (EOF) when the table says
the server closes. Each case runs three ways: all bytes in one write, one
byte per write, and cut at random points (seeded). Then concurrent sessions
with interleaved writes, and a delayed session beside an undelayed one.
Prints "ok"/"FAIL" per check and "N passed, N failed"; exit 1 on a failure.
"""
import argparse
import random
import socket
import sys
import threading
import time

OK_READY = b"200 OK: Ready\n"
OK_CLOSE = b"200 OK: Closing Connection\n"
E_SETUP = b"404 ERROR: Invalid Connection Setup Message\n"
E_MEASURE = b"404 ERROR: Invalid Measurement Message\n"
E_TERM = b"404 ERROR: Invalid Connection Termination Message\n"


def probe(payload, seq):
    return b"m " + payload + b" " + str(seq).encode() + b"\n"


def session(kind, size, n, delay="0"):
    return ("s %s %d %d %s\n" % (kind, size, n, delay)).encode()


P3 = [probe(b"abc", i) for i in range(1, 4)]

# (name, what the client sends, exact server bytes, server closes afterwards)
CASES = [
    # setup phase
    ("setup RTT then t", session("RTT", 3, 3) + b"t\n", OK_READY + OK_CLOSE, True),
    ("setup TTPUT then t", session("TTPUT", 3, 3) + b"t\n", OK_READY + OK_CLOSE, True),
    ("setup with decimal delay", session("RTT", 3, 1, "0.01") + P3[0] + b"t\n",
     OK_READY + P3[0] + OK_CLOSE, True),
    ("setup only, open", session("RTT", 3, 3), OK_READY, False),
    ("setup missing delay", b"s RTT 3 3\n", E_SETUP, True),
    ("setup missing everything", b"s\n", E_SETUP, True),
    ("setup unknown type", b"s PING 3 3 0\n", E_SETUP, True),
    ("setup type in lower case", b"s ttput 3 3 0\n", E_SETUP, True),
    ("setup size not a number", b"s RTT abc 3 0\n", E_SETUP, True),
    ("setup size zero", b"s RTT 0 3 0\n", E_SETUP, True),
    ("setup probes zero", b"s RTT 3 0 0\n", E_SETUP, True),
    ("setup negative size", b"s RTT -3 3 0\n", E_SETUP, True),
    ("setup delay negative", b"s RTT 3 3 -0.5\n", E_SETUP, True),
    ("setup delay not a number", b"s RTT 3 3 soon\n", E_SETUP, True),
    ("setup two spaces", b"s RTT  3 3 0\n", E_SETUP, True),
    ("setup tab separated", b"s\tRTT\t3\t3\t0\n", E_SETUP, True),
    ("setup six fields", b"s RTT 3 3 0 9\n", E_SETUP, True),
    ("setup wrong phase letter", b"x RTT 3 3 0\n", E_SETUP, True),
    ("probe before setup", P3[0], E_SETUP, True),
    ("termination before setup", b"t\n", E_SETUP, True),
    ("empty line as setup", b"\n", E_SETUP, True),
    # measurement phase
    ("three probes and t", session("RTT", 3, 3) + b"".join(P3) + b"t\n",
     OK_READY + b"".join(P3) + OK_CLOSE, True),
    ("early t after one probe", session("RTT", 3, 3) + P3[0] + b"t\n",
     OK_READY + P3[0] + OK_CLOSE, True),
    ("payload may be any non-space bytes", session("RTT", 4, 1) + probe(b"\x01\xff\r!", 1) + b"t\n",
     OK_READY + probe(b"\x01\xff\r!", 1) + OK_CLOSE, True),
    ("sequence starts at 2", session("RTT", 3, 3) + P3[1], OK_READY + E_MEASURE, True),
    ("sequence starts at 0", session("RTT", 3, 3) + probe(b"abc", 0), OK_READY + E_MEASURE, True),
    ("sequence skips", session("RTT", 3, 3) + P3[0] + P3[2], OK_READY + P3[0] + E_MEASURE, True),
    ("sequence repeats", session("RTT", 3, 3) + P3[0] + P3[0], OK_READY + P3[0] + E_MEASURE, True),
    ("payload one byte short", session("RTT", 3, 3) + probe(b"ab", 1), OK_READY + E_MEASURE, True),
    ("payload one byte long", session("RTT", 3, 3) + probe(b"abcd", 1), OK_READY + E_MEASURE, True),
    ("payload with a space", session("RTT", 3, 3) + probe(b"a c", 1), OK_READY + E_MEASURE, True),
    ("probe missing seq", session("RTT", 3, 3) + b"m abc\n", OK_READY + E_MEASURE, True),
    ("probe wrong letter", session("RTT", 3, 3) + b"p abc 1\n", OK_READY + E_MEASURE, True),
    ("setup again in measurement", session("RTT", 3, 3) * 2, OK_READY + E_MEASURE, True),
    ("probe with trailing space", session("RTT", 3, 3) + b"m abc 1 \n", OK_READY + E_MEASURE, True),
    # termination phase (after the last probe)
    ("probe beyond probes", session("RTT", 3, 2) + P3[0] + P3[1] + P3[2],
     OK_READY + P3[0] + P3[1] + E_MEASURE, True),
    ("m line after the last probe", session("RTT", 3, 1) + P3[0] + b"mystery\n",
     OK_READY + P3[0] + E_MEASURE, True),
    ("other line after the last probe", session("RTT", 3, 1) + P3[0] + b"bye\n",
     OK_READY + P3[0] + E_TERM, True),
    ("empty line after the last probe", session("RTT", 3, 1) + P3[0] + b"\n",
     OK_READY + P3[0] + E_TERM, True),
    ("setup after the last probe", session("RTT", 3, 1) + P3[0] + session("RTT", 3, 1),
     OK_READY + P3[0] + E_TERM, True),
    ("T in upper case", session("RTT", 3, 1) + P3[0] + b"T\n", OK_READY + P3[0] + E_TERM, True),
]


class Result:
    def __init__(self):
        self.passed = self.failed = 0
        self.lock = threading.Lock()

    def check(self, cond, name, detail=""):
        with self.lock:
            if cond:
                self.passed += 1
                print("ok   %s" % name, flush=True)
            else:
                self.failed += 1
                print("FAIL %s %s" % (name, detail), flush=True)


def connect(host, port):
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def receive(s, want, closes, timeout=5.0):
    """Reads len(want) bytes (and EOF when closes); returns (data, closed)."""
    data = b""
    end = time.monotonic() + timeout
    s.settimeout(0.2)
    while time.monotonic() < end:
        if len(data) >= len(want) and not closes:
            break
        try:
            b = s.recv(65536)
        except socket.timeout:
            if len(data) >= len(want) and not closes:
                break
            continue
        except ConnectionResetError:
            return data, True
        if not b:
            return data, True
        data += b
    if not closes:  # nothing more must come and the connection must stay open
        try:
            s.settimeout(0.1)
            more = s.recv(65536)
            return data + more, not more
        except socket.timeout:
            return data, False
    return data, False


def cuts(data, how, rng):
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i:i + 1] for i in range(len(data))]
    pieces, i = [], 0
    while i < len(data):
        k = rng.randint(1, max(1, len(data) // 3))
        pieces.append(data[i:i + k])
        i += k
    return pieces


def run_case(host, port, case, how, rng):
    name, sent, want, closes = case
    s = connect(host, port)
    try:
        for piece in cuts(sent, how, rng):
            s.sendall(piece)
            if how != "whole":
                time.sleep(0.0005)
        return receive(s, want, closes)
    finally:
        s.close()


def concurrent_sessions(host, port, res, count=20):
    """count sessions at once, their writes interleaved in small pieces."""
    socks, expect, sent = [], [], []
    for i in range(count):
        size, n = 1 + i * 37, 1 + i % 5
        pay = bytes([97 + i % 26]) * size
        msg = session("TTPUT" if i % 2 else "RTT", size, n)
        msg += b"".join(probe(pay, k) for k in range(1, n + 1)) + b"t\n"
        socks.append(connect(host, port))
        sent.append(msg)
        expect.append(OK_READY + b"".join(probe(pay, k) for k in range(1, n + 1)) + OK_CLOSE)
    offs = [0] * count
    while any(o < len(m) for o, m in zip(offs, sent)):
        for i, s in enumerate(socks):
            if offs[i] < len(sent[i]):
                s.sendall(sent[i][offs[i]:offs[i] + 7])
                offs[i] += 7
    for i, s in enumerate(socks):
        data, closed = receive(s, expect[i], True)
        res.check(data == expect[i] and closed, "concurrent session %d" % i,
                  "got %r" % data[:120])
        s.close()


def delay_checks(host, port, res):
    """A delayed probe waits its delay; it does not hold up another session."""
    slow = connect(host, port)
    slow.sendall(session("RTT", 1, 1, "0.5"))
    receive(slow, OK_READY, False)
    t0 = time.monotonic()
    slow.sendall(probe(b"z", 1))
    fast = connect(host, port)
    fast.sendall(session("RTT", 2, 2) + probe(b"ab", 1) + probe(b"ab", 2) + b"t\n")
    data, closed = receive(fast, OK_READY + probe(b"ab", 1) + probe(b"ab", 2) + OK_CLOSE, True)
    fast_time = time.monotonic() - t0
    res.check(closed and fast_time < 0.4, "undelayed session beside a delayed one",
              "took %.3f s" % fast_time)
    data, _ = receive(slow, probe(b"z", 1), False, 3)
    waited = time.monotonic() - t0
    res.check(data == probe(b"z", 1) and 0.5 <= waited < 1.5, "delayed echo after 0.5 s",
              "after %.3f s: %r" % (waited, data))
    slow.sendall(b"t\n")
    data, closed = receive(slow, OK_CLOSE, True)
    res.check(data == OK_CLOSE and closed, "termination after a delayed probe")
    slow.close()
    fast.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--no-delay-checks", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    res = Result()
    for case in CASES:
        for how in ("whole", "bytes", "random"):
            data, closed = run_case(args.host, args.port, case, how, rng)
            name, _, want, closes = case
            res.check(data == want and closed == closes, "%s (%s)" % (name, how),
                      "got %r closed=%s, want %r closed=%s" % (data, closed, want, closes))
    # several sessions merged into one write each, large probes
    size = 20000
    pay = b"Q" * size
    msg = session("TTPUT", size, 8) + b"".join(probe(pay, k) for k in range(1, 9)) + b"t\n"
    want = OK_READY + b"".join(probe(pay, k) for k in range(1, 9)) + OK_CLOSE
    data, closed = run_case(args.host, args.port, ("big", msg, want, True), "whole", rng)
    res.check(data == want and closed, "eight 20000-byte probes in one write")
    concurrent_sessions(args.host, args.port, res)
    if not args.no_delay_checks:
        delay_checks(args.host, args.port, res)
    print("%d passed, %d failed" % (res.passed, res.failed))
    sys.exit(1 if res.failed else 0)


if __name__ == "__main__":
    main()
