"""Adversarial tests of the heartbeat server (issue 10), loopback only, bounded.

- reflection (item 6): a heartbeat spoofed with the server's own address and
  port, from port 0, from a port below 1024 (answered only with
  --allow-low-ports); two heartbeat servers, and a heartbeat and a udp-ping
  server, made to answer each other: never more than one hop; a reply-shaped
  datagram is never answered; the servers' CPU seconds are printed;
- amplification (item 7): no reply is ever longer than its heartbeat;
- a far sequence jump (item 11): 2^63-1 after 5 is dropped, never 9.2e18 lost;
- rate limit per source address (item 8): 100 source ports of one address
  are limited as one source;
- SIGPIPE (item 14): stdout a pipe closed early; the server keeps answering,
  the final table goes to stderr, SIGTERM exits 0.

Spoofed sources use a raw socket when run as root; otherwise ordinary
sockets bound to the chosen address and port, and what needs root is
reported as SKIP, never silently."""
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integ"))
from pkutil import check, main, prog, start_server, stop  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
from advutil import ROOT, cpu_s, sigterm, spoof4, udp, skip  # noqa: E402



def server(*args):
    """Our server under --json-stream: (proc, port) from its `listening` record."""
    return start_server([prog("heartbeat"), "server", "-p", "0", "--json-stream"] + list(args))


def final(out):
    """The final table: the summary of the `end` record (--json-stream)."""
    for line in out.splitlines():
        if line.startswith('{"event":"end"'):
            return json.loads(line)["data"]["summary"]
    check(False, "no final table in %r" % out[-400:])


def beat(seq, ts=None):
    return b"%d %.9f" % (seq, time.time() if ts is None else ts)


def reply_or_none(s):
    try:
        return s.recvfrom(70000)[0]
    except socket.timeout:
        return None


def test_own_endpoint_never_answered():
    srv, port = server("-b", "127.0.0.1", "--loss", "0", "--rate-limit", "0", "-q")
    used = None
    try:
        if ROOT:
            c0 = cpu_s(srv.pid)
            spoof4("127.0.0.1", port, "127.0.0.1", port, beat(1))
            time.sleep(1.0)
            used = cpu_s(srv.pid) - c0
            print("figure: heartbeat server CPU during 1 s after a spoofed self-loop"
                  " heartbeat: %.2f s" % used, flush=True)
        else:
            skip("raw spoof of the server's own address and port")
        s = udp(("127.0.0.2", port))
        s.sendto(beat(2), ("127.0.0.1", port))
        data = reply_or_none(s)
        s.close()
    finally:
        rc, out, err = stop(srv)
    if used is not None:
        check(used < 0.3, "the server spent %.2f CPU s on a spoofed loop" % used)
    check(data is None, "answered a source with our own port on loopback: %r" % (data,))
    f = final(out)
    want = 2 if ROOT else 1
    check(rc == 0 and f["datagrams"] == want and f["replies"] == 0 and
          f.get("refused_source") == want and not f["clients"], "final %r" % f)


def test_port_zero_and_low_ports():
    if not ROOT:
        skip("source port 0 and ports below 1024")
        return
    for allow in (False, True):
        args = ["-b", "127.0.0.1", "--loss", "0", "-q"] + (["--allow-low-ports"] if allow else [])
        srv, port = server(*args)
        low = None
        try:
            spoof4("127.0.0.1", 0, "127.0.0.1", port, beat(1))
            for p in range(1023, 900, -1):
                try:
                    low = udp(("127.0.0.1", p))
                    break
                except OSError:
                    continue
            check(low is not None, "no free port below 1024")
            low.sendto(beat(2), ("127.0.0.1", port))
            data = reply_or_none(low)
            check((data is not None) == allow, "low port, allow=%s: %r" % (allow, data))
        finally:
            if low:
                low.close()
            rc, out, err = stop(srv)
        f = final(out)
        check(f["datagrams"] == 2 and f.get("refused_source") == (1 if allow else 2) and
              f["replies"] == (1 if allow else 0), "allow=%s: %r" % (allow, f))


def test_never_amplifies():
    """Every reply fits in its heartbeat; what cannot fit is not answered."""
    srv, port = server("-b", "127.0.0.1", "--loss", "0", "-q")
    now = int(time.time())
    cases = [b"0 0", b"7 5", b"12345 0.5", b"1 %d" % now, b"2 %d.5" % now, b"3 %de0" % now,
             beat(4), beat(123456789012345678), b"5 %d\r\n" % now, b"6\t\t%d" % now,
             b"44 0.000051234", b"9223372036854775807 %d" % now, b"8 %.1e" % now]
    shaped = {b"0 0", b"7 5", b"12345 0.5", b"44 0.000051234"}   # replies, not heartbeats
    short = {b"8 %.1e" % now}        # "8 1.8e+09": its reply needs more than 9 bytes
    answered = 0
    try:
        for c in cases:
            s = udp(timeout=0.3)             # a client each: no sequence jumps
            s.sendto(c, ("127.0.0.1", port))
            r = reply_or_none(s)
            s.close()
            if r is not None:
                answered += 1
                check(len(r) <= len(c), "%r (%d bytes) got %r (%d bytes)" % (c, len(c), r, len(r)))
                check(r.split()[0] == c.split()[0], "seq of %r in %r" % (c, r))
            check((r is None) == (c in shaped or c in short), "%r answered %r" % (c, r))
    finally:
        rc, out, err = stop(srv)
    f = final(out)
    check(answered == len(cases) - len(shaped) - len(short),
          "%d of %d answered" % (answered, len(cases)))
    check(f["replies"] == answered and f.get("reply_shaped") == len(shaped) and
          f.get("too_short") == len(short), "%r" % f)


def test_servers_never_answer_each_other():
    """A reply-shaped datagram is never answered, so two servers (heartbeat
    and heartbeat, heartbeat and udp-ping) stop after one hop."""
    a, pa = server("-b", "127.0.0.1", "--loss", "0", "--rate-limit", "0", "-q")
    b, pb = server("-b", "127.0.0.1", "--loss", "0", "--rate-limit", "0", "-q")
    u, pu = start_server([prog("udp-ping"), "server", "-p", "0", "-b", "127.0.0.1",
                          "--loss", "0", "--rate-limit", "0", "-q"])
    try:
        s = udp(timeout=0.3)
        for msg in (b"44 0.000051234", b"44 0.0", b"7 4.0531158447265625e-05"):
            s.sendto(msg, ("127.0.0.1", pa))
            r = reply_or_none(s)
            check(r is None, "reply-shaped %r answered: %r" % (msg, r))
        s.close()
        if ROOT:
            pids = (a.pid, b.pid, u.pid)
            c0 = sum(map(cpu_s, pids))
            spoof4("127.0.0.1", pb, "127.0.0.1", pa, beat(7))
            spoof4("127.0.0.1", pu, "127.0.0.1", pa, beat(8))
            time.sleep(1.0)
            used = sum(map(cpu_s, pids)) - c0
            print("figure: two heartbeat servers and a udp-ping server, CPU during 1 s after"
                  " spoofed heartbeats between them: %.2f s" % used, flush=True)
        else:
            skip("raw spoof between two servers")
    finally:
        _, oa, _ = stop(a)
        _, ob, _ = stop(b)
        _, ou, _ = stop(u)
    fa, fb = final(oa), final(ob)
    if ROOT:
        check(fa["datagrams"] <= 6 and fb["datagrams"] <= 2,
              "a %d, b %d datagrams: the servers answered each other"
              % (fa["datagrams"], fb["datagrams"]))
        check(re.search(r"^1 received, 0 replied", ou, re.M), "udp-ping: %r" % ou[-300:])
    check(fa.get("reply_shaped", 0) == 3, "reply-shaped: %r" % fa)


def test_far_sequence_jump():
    srv, port = server("-b", "127.0.0.1", "--loss", "0", "-q")
    try:
        s = udp()
        for q in list(range(6)) + [2 ** 63 - 1] + list(range(6, 10)):
            s.sendto(beat(q), ("127.0.0.1", port))
            r = reply_or_none(s)
            check(r is not None or q == 2 ** 63 - 1, "heartbeat %d not answered" % q)
        s.close()
    finally:
        rc, out, err = stop(srv)
    f = final(out)
    check(len(f["clients"]) == 1, "%r" % f)
    c = f["clients"][0]
    check(c["lost"] < 10 ** 6, "lost %r: the jump counted as loss" % c["lost"])
    check(c["received"] == 10 and c["lost"] == 0 and c["duplicates"] == 0 and
          c["last_seq"] == 9, "client %r" % c)


def test_rate_limit_ignores_the_port():
    """100 source ports of one address share one bucket (10/s, burst 10)."""
    srv, port = server("-b", "127.0.0.1", "--loss", "0", "--rate-limit", "10", "-q")
    socks = []
    got = 0
    try:
        socks = [udp(timeout=0.01) for _ in range(100)]
        t0 = time.monotonic()
        for s in socks:
            s.sendto(beat(0), ("127.0.0.1", port))
            s.sendto(beat(1), ("127.0.0.1", port))
        elapsed = time.monotonic() - t0
        time.sleep(0.2)
        for s in socks:
            while reply_or_none(s) is not None:
                got += 1
    finally:
        for s in socks:
            s.close()
        rc, out, err = stop(srv)
    f = final(out)
    bound = 10 + 10 * (elapsed + 0.3) + 2
    check(got <= bound, "%d replies to 200 heartbeats from 100 ports (bound %.0f)"
          % (got, bound))
    check(f["rate_limited"] >= 200 - bound and f["replies"] == got, "%r, %d" % (f, got))


def test_closed_stdout_keeps_serving():
    """Text and --json-stream: a closed stdout ends the output, not the
    service (the clients die of SIGPIPE; the server does not)."""
    for mode, want in (([], ("--- final heartbeat clients", "replies 5")),
                       (["--json-stream"], ('{"event":"end"', '"replies":5'))):
        if mode:
            srv, port = server("-b", "127.0.0.1", "--loss", "0")
        else:
            srv, port = start_server([prog("heartbeat"), "server", "-p", "0", "-b",
                                      "127.0.0.1", "--loss", "0"])
        try:
            srv.stdout.close()
            for i in range(5):
                # a new source each time: a `seen` line (record) each, EPIPE
                t = udp(timeout=2)
                t.sendto(beat(0), ("127.0.0.1", port))
                check(reply_or_none(t) is not None, "%r: heartbeat %d not answered" % (mode, i))
                t.close()
            check(srv.poll() is None, "%r: the server died (SIGPIPE?): %r" % (mode, srv.returncode))
        finally:
            rc, err = sigterm(srv)
        check(rc == 0, "%r: exit %r (-13 is SIGPIPE)" % (mode, rc))
        check(all(w in err for w in want), "%r: final table on stderr: %r" % (mode, err[-500:]))


if __name__ == "__main__":
    main([test_own_endpoint_never_answered, test_port_zero_and_low_ports,
          test_never_amplifies, test_servers_never_answer_each_other, test_far_sequence_jump,
          test_rate_limit_ignores_the_port, test_closed_stdout_keeps_serving])
