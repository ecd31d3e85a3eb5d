"""Helpers of the root-only network tests (label netns; stdlib only).

Every test creates the namespaces it uses and removes them; traffic stays in
them. A test that cannot run exits 77 (CTest SKIP_RETURN_CODE) after printing
why: not root, or Open vSwitch cannot start (topo.sh exit status 3).
argv: [1] the build directory, [2] the source directory.
"""
import ctypes
import json
import math
import os
import select
import signal
import subprocess
import sys
import time

SKIP = 77
CLONE_NEWNET = 0x40000000


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def skip(why):
    print("SKIP: %s" % why, flush=True)
    sys.exit(SKIP)


_lock = None


def require_root():
    """Skips unless root; then takes the netns lock: the topologies use fixed
    namespace names, so test programs (of any build directory) run one at a time."""
    global _lock
    if os.geteuid() != 0:
        skip("needs root (network namespaces, Open vSwitch)")
    import fcntl
    _lock = open("/run/probekit-netns.lock", "w")
    fcntl.flock(_lock, fcntl.LOCK_EX)
    for tool in ("ip",):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            skip("%s is not installed" % tool)


def build_dir():
    return sys.argv[1]


def src_dir():
    return sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..")


def prog(*parts):
    p = os.path.join(build_dir(), *parts)
    check(os.access(p, os.X_OK), "%s not built" % p)
    return p


def agent_bin():
    return prog("agent", "vxlan-agent")


def env_script(name):
    return os.path.join(src_dir(), "env", name)


def sh(args, check_rc=True, timeout=120, env=None):
    e = dict(os.environ)
    e["PK_BUILD_DIR"] = build_dir()
    if env:
        e.update(env)
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=e)
    if check_rc and r.returncode != 0:
        raise Fail("%s: exit %d: %s %s" % (" ".join(args), r.returncode, r.stdout[-800:], r.stderr[-800:]))
    return r


def topo_up(*args):
    """Brings up a topology with env/topo.sh; skips when OVS cannot start."""
    sh([env_script("clean.sh")], check_rc=False)
    r = sh([env_script("topo.sh"), "up", "-q"] + list(args), check_rc=False)
    if r.returncode == 3:
        sh([env_script("clean.sh")], check_rc=False)
        skip("Open vSwitch cannot start: " + r.stderr.strip()[-300:])
    if r.returncode != 0:
        sh([env_script("clean.sh")], check_rc=False)
        raise Fail("topo.sh up %s: %s" % (" ".join(args), r.stderr[-800:]))


def topo_down():
    sh([env_script("clean.sh")])


def nsexec(ns, args, **kw):
    return subprocess.Popen(["ip", "netns", "exec", ns] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1, **kw)


def stop(proc, timeout=10.0):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out or "", err or ""


def wait_line(proc, needle, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        line = proc.stdout.readline()
        if not line:
            break
        if needle in line:
            return line
    raise Fail("no line with %r from %r" % (needle, proc.args))


# An agent's --json-stream is up once its start record is out (its banner
# is on stderr then): wait_line(p, AGENT_STARTED).
AGENT_STARTED = '{"event":"start"'


def json_reports(out):
    """The reports of an agent's --json-stream output (the data of its
    'report' records; docs/OUTPUT.md)."""
    docs = []
    for line in out.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            if rec.get("event") == "report":
                docs.append(rec["data"])
    return docs


def finish(proc, timeout):
    """Waits for an agent run with --count to exit by itself; returns stdout."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise Fail("%r did not finish: %s" % (proc.args, err[-500:]))
    return out, err


def wilson(k, n, z):
    """Wilson score interval of k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


_libc = ctypes.CDLL(None, use_errno=True)


class InNetns:
    """with InNetns("name"): sockets made inside live in that namespace."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns " + self.name)
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        _libc.setns(self.home, CLONE_NEWNET)
        os.close(self.home)


def run_tests(tests):
    passed = failed = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            t()
        except Exception as e:
            failed += 1
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e), flush=True)
        else:
            passed += 1
            print("ok   %s (%.2fs)" % (t.__name__, time.monotonic() - t0), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


# ---- tcp-echo over an emulated link (env/link.sh) ----------------------------

def line_fit(xs, ys):
    """Least squares y = a + b x: (a, b, se_a, se_b), the standard errors
    from the residuals (as the textbook: s^2 = SSR / (n - 2))."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    s2 = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys)) / max(1, n - 2)
    return a, b, math.sqrt(s2 * (1.0 / n + mx * mx / sxx)), math.sqrt(s2 / sxx)


def echo_wire_bytes(size, seq, mtu=1500, timestamps=True):
    """Bytes one way on the wire for tcp-echo's probe `m <size bytes> <seq>\\n`
    (size + 4 + digits of seq) sent in TCP segments of at most MSS bytes, each
    in an Ethernet frame with its headers: 14 Ethernet + 20 IPv4 + 20 TCP (+ 12
    of the timestamp option): 66 bytes per segment, MSS = MTU - 52 = 1448.
    Ethernet's preamble, FCS and gap are not counted: linkemu's rate paces the
    frame as the packet socket sees it (14-byte header, no FCS)."""
    opt = 12 if timestamps else 0
    mss, hdr = mtu - 40 - opt, 14 + 40 + opt
    line = size + 4 + len(str(seq))
    return line + -(-line // mss) * hdr


def echo_link_model(sizes, probes, rate_bps, delay_s, mtu=1500, timestamps=True):
    """The fit (a ms, b ms/byte) tcp-echo's stop-and-wait sweep finds over a
    link of delay_s and rate_bps each way, above the same path without them:
    each probe crosses twice, RTT = 2 delay + 2 x 8 x wire bytes / rate. The
    least squares of that over the sweep's own samples (sizes x seq 1..probes),
    so per-segment headers and the seq digits land where the tool's fit puts
    them. Payload bandwidth 8e-3 / b Mbit/s: rate / 2 for one-segment probes
    (-m rtt), about rate / 2 x MSS / (MSS + 66) for many (-m ttput)."""
    xs, ys = [], []
    for s in sizes:
        for seq in range(1, probes + 1):
            xs.append(float(s))
            ys.append(2e3 * delay_s + 2e3 * 8 * echo_wire_bytes(s, seq, mtu, timestamps) / rate_bps)
    a, b, _, _ = line_fit(xs, ys)
    return a, b
