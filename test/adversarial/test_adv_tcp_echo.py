"""tcp-echo under hostile peers and fake servers (issue 10, items 3, 4, 5, 9, 13).

Loopback only, bounded in count and time (the whole file well under a
minute). Each test names the hole it keeps closed:

- item 3: delayed echoes of peers that never read count in --max-buffer:
  the server's growth stays within it, the peer past it gets its 404 (the
  figure printed: RSS per hostile connection).
- item 4: with the budget full, a setup and a probe that arrive in two
  reads get their 404, never a silent close.
- item 5: a peer trickling one byte at a time is closed at the idle
  timeout (answered "incomplete"); connections per source are capped and
  a refused client is told why, and the client prints it.
- item 9: the client's -W is a deadline per reply: an echo trickled over
  6 s fails with -W 1s, a server trickling forever cannot keep it.
- item 13: the client escapes what the server says and its -J is valid
  UTF-8, not cut at a NUL.
"""
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integ"))
import pkutil  # noqa: E402
from pkutil import check  # noqa: E402

READY = b"200 OK: Ready\n"
CLOSING = b"200 OK: Closing Connection\n"
BAD_SETUP = b"404 ERROR: Invalid Connection Setup Message\n"
BAD_PROBE = b"404 ERROR: Invalid Measurement Message\n"
REFUSED_SOURCE = b"404 ERROR: Connection Refused: too many connections from your address\n"


def echo():
    return pkutil.prog("tcp-echo")


class Server:
    def __init__(self, *args, env=None):
        self.proc, self.port = pkutil.start_server(
            [echo(), "server", "-p", "0", "-b", "127.0.0.1"] + list(args) +
            os.environ.get("PK_ECHO_SERVER_ARGS", "").split(), env=env)   # as test_tcp_echo.py

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return int([x for x in f if x.startswith("VmRSS")][0].split()[1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc, self.log, err = pkutil.stop(self.proc)
        if exc[0] is None:
            check(rc == 0, "server exit %r: %s" % (rc, err[-500:]))


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until_close(s, timeout):
    """Everything until EOF (or a reset) within timeout; None if still open."""
    s.settimeout(timeout)
    data, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return data
        if not b:
            return data
        data += b
    return None


def no_asan_quarantine():
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=0"}


# ---- item 3: delayed echoes within the budget ------------------------------

def test_delayed_echoes_within_budget():
    """60 peers that never read, a 20 s delay and small probes pipelined as
    fast as the server takes them: before, each cost about 3 MB (delay marks
    and queued echoes outside any budget); now all of them together stay
    within --max-buffer 16M, and the peers past it get their 404."""
    peers, budget_kb = 60, 16 * 1024
    with Server("--max-buffer", "16M", env=no_asan_quarantine()) as srv:
        base = srv.rss_kb()
        socks = []
        for _ in range(peers):
            s = connect(srv.port)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"s RTT 1 1000000 20\n")
            socks.append(s)
        for s in socks:
            s.settimeout(5)
            check(s.recv(len(READY)) == READY, "setup answered")
            s.setblocking(False)
        chunk = b"".join(b"m x %d\n" % i for i in range(1, 60001))    # ~590 KB of probes
        offs = [0] * peers
        end = time.monotonic() + 4
        while time.monotonic() < end:
            moved = False
            for i, s in enumerate(socks):
                if offs[i] >= len(chunk):
                    continue
                try:
                    k = s.send(chunk[offs[i]:offs[i] + 65536])
                    offs[i] += k
                    moved = True
                except (BlockingIOError, ConnectionError, OSError):
                    pass
            if not moved:
                break
            time.sleep(0.005)
        time.sleep(0.5)
        grown = srv.rss_kb() - base
        sent = sum(offs)
        print("   item 3: %d hostile peers (never read, 20 s delay, %d KB of probes each),"
              " server RSS +%d KiB = %d KiB per hostile connection (budget 16 MiB)"
              % (peers, sent // peers // 1000, grown, grown // peers), flush=True)
        check(sent > peers * 100000, "probes sent: %d bytes" % sent)
        check(grown < budget_kb + 12 * 1024,
              "server grew by %d KiB with a 16 MiB budget (%d KiB per connection)"
              % (grown, grown // peers))
        # another session still gets an answer: its echo or its 404
        t = connect(srv.port)
        t.sendall(b"s RTT 1 1 0\nm q 1\nt\n")
        got = read_until_close(t, 5)
        check(got in (READY + b"m q 1\n" + CLOSING, READY + BAD_PROBE),
              "a fresh session got %r" % (got,))
        t.close()
        for s in socks:
            s.close()
    check("closed: memory budget" in srv.log, "no peer was refused: %s" % srv.log[-300:])


# ---- item 4: budget full, innocent split messages get their 404 ------------

def test_budget_full_split_messages_answered():
    """Two peers hold most of a 131005-byte line each (a buffer of 131010
    bytes each): the 256 KiB budget has 124 bytes left, less than a setup
    line's 129. A setup, and a probe, each arriving in two reads, get
    their 404 (before: closed without a word)."""
    size = 131005
    with Server("-q", "--max-size", str(size), "--max-buffer", "256K") as srv:
        hogs = []
        for _ in range(2):
            s = connect(srv.port)
            s.sendall(b"s TTPUT %d 1 0\n" % size)
            check(s.recv(len(READY)) == READY, "hog setup")
            s.sendall(b"m " + b"a" * (size - 100))
            hogs.append(s)
        time.sleep(0.3)
        # a setup in two reads
        s = connect(srv.port)
        s.sendall(b"s RTT 1")
        time.sleep(0.2)
        try:
            s.sendall(b"0 1 0\n")
        except ConnectionError:
            pass
        got = read_until_close(s, 5)
        check(got == BAD_SETUP, "split setup with the budget full got %r" % (got,))
        s.close()
        # a throughput probe in two reads
        s = connect(srv.port)
        s.sendall(b"s TTPUT 2048 1 0\n")
        check(s.recv(len(READY)) == READY, "setup of the split probe")
        s.sendall(b"m " + b"b" * 1000)
        time.sleep(0.2)
        try:
            s.sendall(b"b" * 1048 + b" 1\nt\n")
        except ConnectionError:
            pass
        got = read_until_close(s, 5)
        check(got == BAD_PROBE, "split probe with the budget full got %r" % (got[:80] if got else got,))
        s.close()
        for h in hogs:
            h.close()


# ---- item 5: idle, per-source cap, refusal line ----------------------------

def test_trickle_closed_at_idle_timeout():
    """One byte every 100 ms never completes a line: closed at the idle
    timeout (1 s) with the 404 of an incomplete message, not kept forever."""
    with Server("-q", "--idle-timeout", "1s") as srv:
        s = connect(srv.port)
        s.sendall(b"s RTT 100 1 0\n")
        check(s.recv(len(READY)) == READY, "setup")
        t0, got = time.monotonic(), b""
        s.settimeout(0.1)
        line = b"m " + b"z" * 98
        for i in range(40):                 # 4 s of trickle at most
            try:
                s.send(line[i:i + 1])
            except ConnectionError:
                break
            try:
                b = s.recv(4096)
                got += b
                if not b:
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                break
            if got.endswith(b"\n"):
                break
        took = time.monotonic() - t0
        s.close()
        check(got == BAD_PROBE, "trickler got %r after %.1f s" % (got, took))
        check(took < 2.5, "trickler closed after %.1f s (idle timeout 1 s)" % took)


def test_per_source_cap_and_refusal_line():
    """--max-per-source 4: the fifth connection from 127.0.0.1 is told why
    and closed; our client prints that line and exits 1; a slot freed is
    taken again."""
    with Server("--max-per-source", "4") as srv:
        held = [connect(srv.port) for _ in range(4)]
        for s in held:
            s.sendall(b"s RTT 1 1 0\n")
            check(s.recv(len(READY)) == READY, "held setup")
        s = connect(srv.port)
        got = read_until_close(s, 3)
        check(got == REFUSED_SOURCE, "fifth connection got %r" % (got,))
        s.close()
        r = subprocess.run([echo(), "client", "-p", str(srv.port), "-n", "1", "-s", "1",
                            "-W", "2s", "127.0.0.1"], capture_output=True, timeout=20)
        out = (r.stdout + r.stderr).decode(errors="replace")
        check(r.returncode == 1, "client exit %d: %s" % (r.returncode, out))
        check("404 ERROR: Connection Refused: too many connections from your address" in out,
              "the client prints the refusal: %r" % out)
        held.pop().close()
        time.sleep(0.2)
        r = subprocess.run([echo(), "client", "-p", str(srv.port), "-n", "1", "-s", "1",
                            "127.0.0.1"], capture_output=True, timeout=20)
        check(r.returncode == 0, "a freed slot serves: %r" % r.stderr[-300:])
        for s in held:
            s.close()
    check("refused: per-source limit reached" in srv.log, "refusal logged")


def test_default_per_source_cap():
    """Without the option one address cannot take every connection: of 150
    connections from one address (--max-conns 200), all past the default
    cap of 64 are refused with the line."""
    with Server("-q", "--max-conns", "200") as srv:
        socks, refused = [], 0
        for _ in range(150):
            socks.append(connect(srv.port))
        for s in socks:
            r, _, _ = select.select([s], [], [], 0.05)
            if r:
                try:
                    if s.recv(200) == REFUSED_SOURCE:
                        refused += 1
                except ConnectionError:
                    pass
        for s in socks:
            s.close()
        check(refused == 150 - 64, "%d of 150 refused, want %d" % (refused, 150 - 64))


# ---- item 9: the client's -W is a deadline ----------------------------------

class FakeServer:
    """A server of our own on 127.0.0.1 that runs `script(conn)` per client."""

    def __init__(self, script):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.script = script
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        self.ls.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            self.script(c, self.stop)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop.set()
        self.ls.close()


def read_line(c):
    buf = b""
    while not buf.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            raise OSError("eof")
        buf += b
    return buf


def trickle(c, data, gap, stop):
    for i in range(len(data)):
        if stop.is_set():
            return
        c.sendall(data[i:i + 1])
        time.sleep(gap)


def run_client(port, *args, timeout=15):
    t0 = time.monotonic()
    try:
        r = subprocess.run([echo(), "client", "-p", str(port)] + list(args) + ["127.0.0.1"],
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, timeout
    return r, time.monotonic() - t0


def test_client_deadline_trickled_echo():
    """An echo trickled over 6 s (20 bytes, 0.3 s apart) fails with -W 1s
    (exit 1, "no reply ... within 1s") in about a second."""
    def script(c, stop):
        read_line(c)
        c.sendall(READY)
        probe = read_line(c)
        trickle(c, probe, 0.3, stop)
        if read_line(c) == b"t\n":
            c.sendall(CLOSING)
    fs = FakeServer(script)
    try:
        r, took = run_client(fs.port, "-n", "1", "-s", "10", "-W", "1s")
    finally:
        fs.close()
    check(r is not None, "the client was kept past 15 s")
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 1 and "no reply" in err, "exit %d: %r" % (r.returncode, err))
    check(took < 3.0, "a trickled echo kept the client %.1f s with -W 1s" % took)


def test_client_deadline_server_trickles_forever():
    """A server that trickles bytes that never end a line cannot keep the
    client: setup answered, then one byte every 0.2 s forever (window 1 and
    window 4, and a trickled setup answer)."""
    def echo_trickle(c, stop):
        read_line(c)
        c.sendall(READY)
        read_line(c)
        trickle(c, b"m " + b"q" * 10000, 0.2, stop)

    def setup_trickle(c, stop):
        read_line(c)
        trickle(c, b"200 OK: Ready" + b" " * 1000, 0.2, stop)
    for script, extra in ((echo_trickle, ["-n", "3"]), (echo_trickle, ["-n", "8", "--window", "4"]),
                          (setup_trickle, [])):
        fs = FakeServer(script)
        try:
            r, took = run_client(fs.port, "-s", "10", "-W", "1s", *extra, timeout=8)
        finally:
            fs.close()
        check(r is not None, "%s %s: the client was kept past 8 s" % (script.__name__, extra))
        check(r.returncode == 1 and took < 3.0, "%s %s: exit %d after %.1f s: %r"
              % (script.__name__, extra, r.returncode, took, r.stderr[-200:]))


# ---- item 13: escaping and UTF-8 ---------------------------------------------

HOSTILE = b"404 ERROR: \x1b[31mred\x1b]0;owned\x07 \x00after-nul \xff\xfe\xc3\x28 \xe2\x82\xac\n"


def test_client_escapes_server_text():
    """A 404 with terminal escapes, a NUL and invalid UTF-8: printed
    escaped (no ESC, BEL or NUL reaches the terminal), nothing cut at the
    NUL; -J is strict UTF-8 JSON whose error holds the whole line."""
    def script(c, stop):
        read_line(c)
        c.sendall(HOSTILE)
    fs = FakeServer(script)
    try:
        r, _ = run_client(fs.port, "-n", "1", "-s", "1")
        rj, _ = run_client(fs.port, "-n", "1", "-s", "1", "-J")
    finally:
        fs.close()
    out = r.stdout + r.stderr
    check(r.returncode == 1, "exit %d" % r.returncode)
    for bad in (b"\x1b", b"\x07", b"\x00", b"\xff"):
        check(bad not in out, "%r reached the terminal: %r" % (bad, out[-300:]))
    check(b"after-nul" in out, "text after the NUL was lost: %r" % out[-300:])
    doc = json.loads(rj.stdout.decode("utf-8"))     # strict: fails on invalid UTF-8
    check("after-nul" in doc.get("error", "") and "\x1b" not in doc["error"],
          "-J error: %r" % doc.get("error"))


def test_plain_client_echo_escaped_and_utf8():
    """--message: a server echoing back escapes and invalid bytes of the
    same length: the text output escapes them; -J's echo is valid UTF-8
    and not cut at the NUL."""
    msg = b"hello-world-0123456789"
    evil = b"\x1b[2J\x00tail\xff\xfe" + b"Z" * (len(msg) - 11)

    def script(c, stop):
        got = b""
        while len(got) < len(msg):
            b = c.recv(100)
            if not b:
                return
            got += b
        c.sendall(evil)
    fs = FakeServer(script)
    try:
        r, _ = run_client(fs.port, "--message", msg.decode())
        rj, _ = run_client(fs.port, "--message", msg.decode(), "-J")
    finally:
        fs.close()
    out = r.stdout + r.stderr
    check(b"\x1b" not in out and b"\x00" not in out and b"\xff" not in out,
          "raw server bytes printed: %r" % out[-300:])
    doc = json.loads(rj.stdout.decode("utf-8"))
    e = doc["summary"]["echo"]
    check("tail" in e and "\x00" not in e, "-J echo: %r" % e)


def test_closed_stdout_keeps_serving():
    """The server's stdout closed early (`tcp-echo server | head -0`): each
    session would print a line (EPIPE); the server says so once on stderr
    and goes on serving, as udp-ping's and heartbeat's servers do."""
    from advutil import sigterm
    proc, port = pkutil.start_server([echo(), "server", "-p", "0", "-b", "127.0.0.1"])
    try:
        proc.stdout.close()                     # the reader goes away
        for i in range(5):                      # each session prints a line
            c = connect(port)
            c.sendall(b"s RTT 1 1 0\nm a 1\nt\n")
            got = read_until_close(c, 5)
            c.close()
            check(got == READY + b"m a 1\n" + CLOSING, "session %d: %r" % (i, got))
        check(proc.poll() is None, "the server died (SIGPIPE?): %r" % proc.returncode)
    finally:
        rc, err = sigterm(proc)
    check(rc == 0, "exit %r (-13 is SIGPIPE)" % rc)
    check(err.count("no more output, still serving") == 1, "said once: %r" % err[-300:])


if __name__ == "__main__":
    pkutil.main([
        test_closed_stdout_keeps_serving,
        test_delayed_echoes_within_budget,
        test_budget_full_split_messages_answered,
        test_trickle_closed_at_idle_timeout,
        test_per_source_cap_and_refusal_line,
        test_default_per_source_cap,
        test_client_deadline_trickled_echo,
        test_client_deadline_server_trickles_forever,
        test_client_escapes_server_text,
        test_plain_client_echo_escaped_and_utf8,
    ])
