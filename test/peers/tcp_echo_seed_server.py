#!/usr/bin/env python3
"""An independent TCP echo measurement server written to seed 002.

It follows the assignment's text (connection setup, measurement and
termination phases, the 200 / 404 answers) the way a student would write
it in Python: one thread per client, a line reader over recv(), time.sleep()
for the server delay. It shares no code with probekit and is the peer our
client must work against. With --plain it is the seed's first-half server:
receive one message, send it back, close.

    tcp_echo_seed_server.py [--host HOST] --port PORT [--plain]

Prints "Starting up server on HOST port PORT (listening on ADDR:PORT)" first.
"""
import argparse
import signal
import socket
import sys
import threading
import time

READY = "200 OK: Ready\n"
CLOSING = "200 OK: Closing Connection\n"
BAD_SETUP = "404 ERROR: Invalid Connection Setup Message\n"
BAD_MEASURE = "404 ERROR: Invalid Measurement Message\n"
BAD_TERM = "404 ERROR: Invalid Connection Termination Message\n"


class LineReader:
    def __init__(self, conn):
        self.conn = conn
        self.buf = b""

    def readline(self):
        """One line without its newline, or None at EOF."""
        while b"\n" not in self.buf:
            data = self.conn.recv(65536)
            if not data:
                return None
            self.buf += data
            if len(self.buf) > 2 * 1024 * 1024:
                return self.buf  # far too long: invalid whatever it is
        line, self.buf = self.buf.split(b"\n", 1)
        return line


def positive_int(text):
    return text.isdigit() and not text.startswith("0")


def parse_setup(line):
    """(m_type, size, probes, delay) or None when invalid."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        return None
    parts = text.split(" ")
    if len(parts) != 5 or parts[0] != "s" or parts[1] not in ("RTT", "TTPUT"):
        return None
    if not positive_int(parts[2]) or not positive_int(parts[3]):
        return None
    whole, dot, frac = parts[4].partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()):
        return None
    delay = float(parts[4])
    if delay > 60:
        return None
    return parts[1], int(parts[2]), int(parts[3]), delay


def log(*args):
    print(*args, flush=True)


def measure(conn, reader, size, probes, delay):
    """The measurement and termination phases; returns a word for the log."""
    seq = 0
    while True:
        line = reader.readline()
        if line is None:
            return "client closed"
        if line == b"t":
            conn.sendall(CLOSING.encode())
            return "terminated after %d probes" % seq
        if seq == probes:
            # after the last probe only "t" is valid; an 'm' line is a probe too many
            if line.startswith(b"m"):
                conn.sendall(BAD_MEASURE.encode())
                return "probe beyond %d" % probes
            conn.sendall(BAD_TERM.encode())
            return "invalid termination"
        parts = line.split(b" ")
        if (len(parts) != 3 or parts[0] != b"m" or len(parts[1]) != size
                or parts[2] != str(seq + 1).encode()):
            conn.sendall(BAD_MEASURE.encode())
            return "invalid measurement at probe %d" % (seq + 1)
        if delay > 0:
            time.sleep(delay)
        conn.sendall(line + b"\n")
        seq += 1


def serve_client(conn, addr, plain):
    try:
        if plain:
            data = conn.recv(1024)
            if data:
                log("Data: %s" % data)
                conn.sendall(data)
                log("send %s bytes back to %s" % (data, addr))
            return
        reader = LineReader(conn)
        line = reader.readline()
        setup = parse_setup(line) if line is not None else None
        if setup is None:
            conn.sendall(BAD_SETUP.encode())
            log("%s: invalid setup %r" % (addr, line))
            return
        m_type, size, probes, delay = setup
        log("%s: setup %s size=%d probes=%d delay=%s" % (addr, m_type, size, probes, delay))
        conn.sendall(READY.encode())
        log("%s: %s" % (addr, measure(conn, reader, size, probes, delay)))
    except OSError as e:
        log("%s: %s" % (addr, e))
    finally:
        try:
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(1.0)
            while conn.recv(65536):
                pass
        except OSError:
            pass
        conn.close()


def main():
    ap = argparse.ArgumentParser(description="Seed 002 echo measurement server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--plain", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    servsock = socket.socket(family, socket.SOCK_STREAM)
    servsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    servsock.bind((args.host, args.port))
    servsock.listen(64)
    port = servsock.getsockname()[1]
    shown = "[%s]" % args.host if family == socket.AF_INET6 else args.host
    log("Starting up server on %s port %d (listening on %s:%d)" % (args.host, port, shown, port))
    while True:
        conn, addr = servsock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_client, args=(conn, addr, args.plain), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
