"""Helpers shared by the integration tests (stdlib only).

Servers are started on port 0 and print, as their first line on stdout,
``... listening on ADDR:PORT`` (IPv6 as ``[ADDR]:PORT``); start_server() waits
for that line (never a sleep) and returns the process and the real port.
Every process a test starts is stopped by its PID through stop().
"""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

LISTEN_RE = re.compile(r"listening on (\[[^\]]+\]|[^\s:]+):(\d+)")


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def build_dir():
    return sys.argv[1]


def prog(name):
    """Path of a probekit executable in the build tree."""
    for sub in (name, ""):
        p = os.path.join(build_dir(), sub, name)
        if os.access(p, os.X_OK) and not os.path.isdir(p):
            return p
    raise Fail("program %s not built under %s" % (name, build_dir()))


def read_line(proc, timeout, stream="stdout"):
    """One line of proc's stdout (or stderr) within timeout seconds, or None
    at EOF or timeout. Reads the pipe's fd directly (select() cannot see
    what a buffered reader already holds); what it read past the line is
    kept on proc (stdout's is handed back by stop())."""
    fd = getattr(proc, stream).fileno()
    key = "_pk_buf" if stream == "stdout" else "_pk_buf_" + stream
    buf = getattr(proc, key, b"")
    end = time.monotonic() + timeout
    while b"\n" not in buf:
        left = end - time.monotonic()
        if left <= 0:
            setattr(proc, key, buf)
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            setattr(proc, key, b"")
            return buf.decode(errors="replace") if buf else None
        buf += chunk
    line, rest = buf.split(b"\n", 1)
    setattr(proc, key, rest)
    return line.decode(errors="replace") + "\n"


def start_server(args, timeout=10.0, stderr=subprocess.PIPE, env=None, banner="stdout"):
    """Starts args, waits for its 'listening on' line (or, under
    --json-stream, its `listening` record), returns (proc, port).
    env: extra environment variables for this process. banner="stderr":
    the line is on stderr (a server under -J or --json-stream)."""
    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update(env)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr,
                            text=True, bufsize=1, env=full_env)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = read_line(proc, end - time.monotonic(), banner)
        if line is None:
            break
        if line.startswith('{"event":"listening"'):
            return proc, json.loads(line)["data"]["port"]
        m = LISTEN_RE.search(line)
        if m:
            return proc, int(m.group(2))
    stop(proc)
    raise Fail("server %r did not report its port" % (args,))


def stop(proc, sig=signal.SIGTERM, timeout=10.0):
    """Stops one process we started, by its PID; returns (rc, stdout, stderr)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    early = getattr(proc, "_pk_buf", b"").decode(errors="replace")
    early_err = getattr(proc, "_pk_buf_stderr", b"").decode(errors="replace")
    return proc.returncode, early + (out or ""), early_err + (err or "")


def run(args, timeout=60.0, input=None):
    """Runs a client to completion; returns CompletedProcess (text)."""
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, input=input)


def run_json(args, timeout=60.0):
    r = run(args, timeout)
    try:
        doc = json.loads(r.stdout)
    except ValueError as e:
        raise Fail("not JSON (%s): %r / %r" % (e, r.stdout[:500], r.stderr[:500]))
    return r, doc


def main(tests):
    """Runs test functions in order; prints 'N passed, N failed'."""
    passed = failed = 0
    for t in tests:
        name = t.__name__
        t0 = time.monotonic()
        try:
            t()
        except Exception as e:  # a failed check or an unexpected error
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
        else:
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
