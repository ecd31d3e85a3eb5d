#!/usr/bin/env python3
"""env/mesh.py on a known matrix (label integ; stdlib, loopback only).

--json-dir: agents' --json-stream files written here (reports with known
expected/lost/answered and latencies, malformed lines among them); the
worst-pairs table must list exactly the known worst pairs with their figures,
name the missing pair, count the malformed lines, and -o must write a PNG of
the size the matrix asks. --prometheus: a fake Prometheus API on 127.0.0.1
answering the tool's queries with the same matrix; the same table. Errors:
an unreachable URL, a failing query, an empty directory, nothing but
garbage, bad options: one line, exit 2.

argv: [1] build directory (unused), [2] source directory.
"""
import http.server
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pkutil
import urllib.parse

SRC = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..")
MESH = os.path.join(SRC, "env", "mesh.py")

N = 6
ADDR = {k: "10.1.1.%d" % (4 + k) for k in range(1, N + 1)}
REPORTS, PER_REPORT = 3, 100       # reports per agent file, probes per report
LOSS = {(2, 5): 0.20, (5, 2): 0.18, (1, 3): 0.05,   # the lossy pairs
        (3, 1): 1.0}                                 # no answer: no latency
MISSING = {(4, 6)}                                 # agent4 has no data for agent6


def latency_ms(i, j):
    """The pair's mean RTT/2, distinct for every pair: the highest of the
    loss-free pairs are 6->5 (0.955) and 6->4 (0.945)."""
    if LOSS.get((i, j)) == 1.0:
        return None
    return round(0.3 + 0.1 * i + 0.01 * j + (0.005 if i == 6 else 0), 6)


def pairs():
    for i in range(1, N + 1):
        for j in range(1, N + 1):
            if i != j and (i, j) not in MISSING:
                yield i, j


def expected_table(top):
    rows = []
    for i, j in pairs():
        lat = latency_ms(i, j)
        rows.append((-LOSS.get((i, j), 0.0), -lat if lat is not None else 1, i, j))
    rows.sort()
    return [("agent%d" % i, "agent%d" % j, ADDR[j], "%.2f" % (-loss * 100),
             "%.3f" % -lat if lat != 1 else "-", str(REPORTS * PER_REPORT))
            for loss, lat, i, j in rows[:top]]


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def write_json_dir(d, garbage=True):
    for i in range(1, N + 1):
        lines = [json.dumps({"event": "start", "data": {"schema_version": 1, "tool": "vxlan-agent"}})]
        for r in range(REPORTS):
            peers = []
            for j in range(1, N + 1):
                if (i, j) not in set(pairs()):
                    continue
                lost = round(PER_REPORT * LOSS.get((i, j), 0.0))
                lat = latency_ms(i, j)
                # avg varies by report; the answers' weighted mean is lat
                ms = ({"min": lat / 2, "avg": lat + (r - 1) * 0.01, "max": lat * 2, "p50": lat,
                       "p99": lat * 2} if lat is not None else
                      {"min": None, "avg": None, "max": None, "p50": None, "p99": None})
                peers.append({"peer": ADDR[j], "expected": PER_REPORT, "answered": PER_REPORT - lost,
                              "lost": lost, "late": 0, "duplicates": 0, "latency_ms": ms})
            lines.append(json.dumps({"event": "report", "data": {"seq": r + 1, "peers": peers}}))
            if garbage and i == 3 and r == 1:
                lines.append('{"event":"report","data":{"seq":')   # cut short
                lines.append("not json at all")
        lines.append(json.dumps({"event": "end", "data": {}}))
        with open(os.path.join(d, "agent%d.jsonl" % i), "w") as f:
            f.write("\n".join(lines) + "\n")


def run(*args, timeout=60):
    return subprocess.run([sys.executable, MESH] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def table_rows(out):
    """The worst-pairs rows: (source, destination, peer, loss, latency, probes)."""
    lines = out.splitlines()
    i = next(k for k, l in enumerate(lines) if l.startswith("worst "))
    rows = []
    for l in lines[i + 2:]:
        if not l.startswith("  "):
            break
        rows.append(tuple(l.split()))
    return rows


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def test_json_dir():
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "agents")
        os.mkdir(data)
        write_json_dir(data)
        png = os.path.join(d, "mesh.png")
        r = run("--json-dir", data, "--top", "5", "-o", png)
        check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        print(r.stdout, end="")
        got = table_rows(r.stdout)
        want = expected_table(5)
        check(got == want and got[0][:5] == ("agent3", "agent1", ADDR[1], "100.00", "-"),
              "table:\n%s\nwanted:\n%s" % (got, want))
        check("%d agents, %d destinations: %d pairs with data, 1 missing" % (N, N, N * (N - 1) - 1)
              in r.stdout, "the counts: %s" % r.stdout)
        check("missing: agent4->agent6" in r.stdout, "the missing pair: %s" % r.stdout)
        check("agent3.jsonl: 2 malformed lines skipped (first: line 4)" in r.stderr,
              "malformed lines: %r" % r.stderr)
        w, h = png_size(png)
        size = os.path.getsize(png)
        print("  PNG %dx%d, %d bytes" % (w, h, size))
        check(500 <= w <= 1200 and 200 <= h <= 700 and w > h, "PNG %dx%d" % (w, h))
        check(20000 <= size <= 2000000, "PNG of %d bytes" % size)


def test_json_dir_32():
    """32 agents: the picture grows with the matrix and stays a PNG."""
    global N, ADDR
    saved = N, ADDR
    N, ADDR = 32, {k: "10.1.%d.%d" % (k // 200, 4 + k % 200) for k in range(1, 33)}
    try:
        with tempfile.TemporaryDirectory() as d:
            write_json_dir(d, garbage=False)
            png = os.path.join(d, "..", os.path.basename(d) + ".png")
            try:
                t0 = time.monotonic()
                r = run("--json-dir", d, "-o", png, "--top", "3")
                check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
                check(table_rows(r.stdout) == expected_table(3), "32x32 table: %s" % r.stdout)
                w, h = png_size(png)
                print("  32x32: PNG %dx%d in %.1f s" % (w, h, time.monotonic() - t0))
                check(w >= 1400 and h >= 700, "PNG %dx%d for 32 agents" % (w, h))
            finally:
                if os.path.exists(png):
                    os.unlink(png)
    finally:
        N, ADDR = saved


class FakeProm(http.server.BaseHTTPRequestHandler):
    queries = []
    fail = False

    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query).get("query", [""])[0]
        FakeProm.queries.append(q)
        if u.path != "/api/v1/query" or FakeProm.fail:
            body = json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"})
            code = 400
        else:
            body = json.dumps({"status": "success", "data": {"resultType": "vector",
                                                             "result": vector(q)}})
            code = 200
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())


def vector(q):
    """The matrix as Prometheus would answer the tool's three queries."""
    out = []
    now = time.time()
    for i, j in pairs():
        m = {"job": "vxlan-agent", "instance": "%s:9101" % ADDR[i], "agent": "agent%d" % i,
             "host": "hv%d" % ((i + 1) // 2), "peer": ADDR[j]}
        exp = float(REPORTS * PER_REPORT)
        if "expected_probes_total" in q:
            v = exp
        elif "lost_probes_total" in q:
            v = exp * LOSS.get((i, j), 0.0)
        elif "rtt_seconds_sum" in q:
            # no answer in the window: 0/0, NaN as Prometheus writes it
            v = 2 * latency_ms(i, j) / 1e3 if latency_ms(i, j) is not None else "NaN"
        else:
            return []
        out.append({"metric": m, "value": [now, v if isinstance(v, str) else repr(v)]})
    return out


def test_prometheus():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeProm)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        with tempfile.TemporaryDirectory() as d:
            png = os.path.join(d, "mesh.png")
            FakeProm.queries = []
            r = run("--prometheus", url, "--window", "2m", "--top", "5", "-o", png)
            check(r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
            print(r.stdout, end="")
            check(all("[2m]" in q for q in FakeProm.queries) and len(FakeProm.queries) == 3,
                  "queries: %s" % FakeProm.queries)
            check(table_rows(r.stdout) == expected_table(5), "table: %s" % r.stdout)
            check("missing: agent4->agent6" in r.stdout, "the missing pair: %s" % r.stdout)
            png_size(png)
            FakeProm.fail = True
            r = run("--prometheus", url)
            check(r.returncode == 2 and r.stderr.count("\n") == 1 and "HTTP 400: parse error" in r.stderr,
                  "a failing query: %d %r" % (r.returncode, r.stderr))
    finally:
        FakeProm.fail = False
        srv.shutdown()
        srv.server_close()


def test_errors():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()     # nothing listens there now
    r = run("--prometheus", "http://127.0.0.1:%d" % port, "--timeout", "2")
    check(r.returncode == 2 and r.stderr.startswith("mesh.py: cannot reach Prometheus at")
          and r.stderr.count("\n") == 1, "unreachable: %d %r" % (r.returncode, r.stderr))
    r = run("--prometheus", "localhost:9090")
    check(r.returncode == 2 and r.stderr == "mesh.py: localhost:9090: not an http:// or https:// URL\n",
          "not a URL: %d %r" % (r.returncode, r.stderr))
    with tempfile.TemporaryDirectory() as d:
        r = run("--json-dir", d)
        check(r.returncode == 2 and "empty" in r.stderr and r.stderr.count("\n") == 1,
              "empty dir: %d %r" % (r.returncode, r.stderr))
        with open(os.path.join(d, "a1.jsonl"), "w") as f:
            f.write("garbage\n{\"event\": \"report\"}\n")
        r = run("--json-dir", d)
        check(r.returncode == 2 and r.stderr.strip().splitlines()[-1] == "mesh.py: %s: no agent report in any file" % d,
              "garbage only: %d %r" % (r.returncode, r.stderr))
        check("a1.jsonl: 2 malformed lines skipped" in r.stderr, "garbage counted: %r" % r.stderr)
    r = run("--json-dir", "/nonexistent/dir")
    check(r.returncode == 2 and "not a directory" in r.stderr, "no dir: %r" % r.stderr)
    for bad in (["--json-dir", ".", "--top", "0"], ["--prometheus", "http://x", "--window", "5 m"],
                ["--json-dir", ".", "-o", "mesh.gif"], [], ["--json-dir", ".", "--prometheus", "u"]):
        r = run(*bad)
        check(r.returncode == 2 and r.stderr.startswith("mesh.py: ") and "Try" in r.stderr,
              "usage %s: %d %r" % (bad, r.returncode, r.stderr))


def main():
    pkutil.main([test_json_dir, test_json_dir_32, test_prometheus, test_errors])

if __name__ == "__main__":
    main()
