"""tcp-echo experiment (issue 11) on loopback, small grids, a few seconds.

The files it writes and that they parse and agree (CSV columns and rows,
JSON, PNG bytes, SVG root, report.md's tables and delay sentence), the
slope of RTT on the server delay near 1 ms per ms (bounded by the 0 ms
baseline of the same run, not by an absolute time), its own server gone
after the run, a given HOST, the refusal of a non-empty directory and of
-n below 10, figures skipped without gnuplot, and SIGINT leaving a valid
partial directory. Traffic only to 127.0.0.1 and ::1.
"""
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
from pkutil import check  # noqa: E402
from test_tcp_echo import Server, echo  # noqa: E402

TMP = tempfile.mkdtemp(prefix="tcp_echo_exp_")
SMALL = ["--delays", "0,20ms", "--sizes-rtt", "1,500,1000", "--sizes-ttput", "1K,4K,16K",
         "-n", "10"]
FILES = ("rtt.csv", "ttput.csv", "experiment.json", "report.md",
         "rtt.png", "rtt.svg", "ttput.png", "ttput.svg")
SLOPE_RE = re.compile(r"RTT rises (\d+\.\d+) ms per ms of server delay")
PID_RE = re.compile(r"own server on loopback, pid (\d+)")


def outdir(name):
    return os.path.join(TMP, name)


def load(d):
    with open(os.path.join(d, "experiment.json")) as f:
        doc = json.load(f)
    with open(os.path.join(d, "report.md")) as f:
        md = f.read()
    rows = {}
    for m in ("rtt", "ttput"):
        with open(os.path.join(d, m + ".csv")) as f:
            rows[m] = list(csv.DictReader(f))
    return doc, md, rows


def gone(pid):
    """True once pid is no process of ours any more (or only a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def check_agrees(doc, rows, mode, npts):
    sw = [s for s in doc["summary"]["sweeps"] if s["mode"] == mode][0]
    pts = sw["points"]
    check(len(pts) == npts and len(rows[mode]) == npts,
          "%s: %d points, %d rows, want %d" % (mode, len(pts), len(rows[mode]), npts))
    for row, p in zip(rows[mode], pts):
        check(set(("server_delay_s", "size_bytes", "probes", "rtt_avg_ms",
                   "throughput_avg_mbps")) <= set(row), "csv columns %r" % list(row))
        check(int(row["size_bytes"]) == p["size_bytes"] and int(row["probes"]) == p["probes"],
              "csv row %r vs %r" % (row, p))
        check(abs(float(row["rtt_avg_ms"]) - p["rtt_ms"]["avg"]) <= 1e-5 * p["rtt_ms"]["avg"] + 1e-6,
              "csv mean %r vs %r" % (row, p))
        mine = [s["rtt_ms"] for s in doc["samples"] if s["mode"] == mode and
                s["server_delay_s"] == p["server_delay_s"] and s["size_bytes"] == p["size_bytes"]]
        check(len(mine) == p["probes"] and abs(sum(mine) / len(mine) - p["rtt_ms"]["avg"]) < 1e-6,
              "samples of %r" % p)
    return sw


def test_small_grid():
    d = outdir("small")
    r = pkutil.run([echo(), "experiment", "-o", d, "-q"] + SMALL, timeout=120)
    check(r.returncode == 0, "rc %d: %s" % (r.returncode, r.stderr[-800:]))
    check(r.stdout == "", "-q: nothing on stdout, got %r" % r.stdout[:200])
    # progress on stderr, every point, with elapsed and ETA
    prog = [l for l in r.stderr.splitlines() if l.startswith("point ")]
    check(len(prog) == 12 and prog[-1].startswith("point 12/12") and "ETA" in prog[0],
          "progress lines: %r" % prog)
    for name in FILES:
        check(os.path.getsize(os.path.join(d, name)) > 0, "%s written" % name)
    for m in ("rtt", "ttput"):
        with open(os.path.join(d, m + ".png"), "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", "%s.png magic" % m)
        root = ET.parse(os.path.join(d, m + ".svg")).getroot()
        check(root.tag.endswith("svg"), "%s.svg root %r" % (m, root.tag))
    doc, md, rows = load(d)
    sm = doc["summary"]
    check(doc["tool"] == "tcp-echo" and sm["mode"] == "experiment" and sm["partial"] is False,
          "summary %r" % {k: sm[k] for k in ("mode", "partial")})
    check(doc["target"]["address"] == "127.0.0.1" and sm["own_server"] is True, "target")
    check(sm["points_done"] == sm["points_total"] == 12 and sm["probes"] == 10, "points")
    check(sm["server_delays_s"] == [0, 0.02], "delays %r" % sm["server_delays_s"])
    rs = check_agrees(doc, rows, "rtt", 6)
    check_agrees(doc, rows, "ttput", 6)
    check(len(rs["fit"]) == 2 and all("significant" in f for f in rs["fit"]), "fits")
    for f in rs["fit"]:     # a bandwidth only where the slope shows something
        check((f["bandwidth_mbps"] is None) == (not f["significant"]), "fit %r" % f)
    # report.md: setup, tables, the delay sentence, the figures
    for want in ("## Setup", "uname -r", "tcp-echo experiment -o", "| delay (ms) | size (B) |",
                 "Fit RTT = a + size / b", "![mean RTT", "(rtt.png)", "(ttput.svg)",
                 "## Discussion", "Throughput at 16 KiB falls from"):
        check(want.lower() in md.lower(), "report.md lacks %r" % want)
    check(len(re.findall(r"\n\| 20 \| \d+ \| 10 \| ", md)) == 6, "6 table rows at 20 ms")
    nofx = md.count("size has no measurable effect on this path (slope")
    check(nofx == sum(1 for s in sm["sweeps"] for f in s["fit"] if not f["significant"]),
          "one verdict per fit without effect")
    m = SLOPE_RE.search(md)
    check(m is not None, "delay sentence in report.md")
    slope = float(m.group(1))
    check(abs(slope - sm["delay_effect"]["rtt_ms_per_delay_ms"]) < 0.006, "report = JSON slope")
    # the slope from the means: (RTT at 20 ms - RTT at 0 ms) / 20 ms, bounded
    # by this run's own baseline: the delay can only add itself and what the
    # 0 ms RTT already was, plus at most a quarter of itself in late wake-ups
    base = [s["rtt_ms"] for s in doc["samples"] if s["mode"] == "rtt" and s["server_delay_s"] == 0]
    dly = [s["rtt_ms"] for s in doc["samples"] if s["mode"] == "rtt" and s["server_delay_s"] == 0.02]
    b0, b20 = sum(base) / len(base), sum(dly) / len(dly)
    check(abs((b20 - b0) / 20 - slope) < 0.006, "slope %.3f vs means %.3f %.3f" % (slope, b0, b20))
    check(min(dly) >= 20, "every delayed RTT holds the delay")
    check(1 - max(base) / 20 <= slope <= 1.25, "slope %.3f, baseline max %.3f ms" % (slope, max(base)))
    # the own server is gone
    pm = PID_RE.search(r.stderr)
    check(pm is not None and gone(int(pm.group(1))), "own server stopped: %r" % r.stderr[:300])


def test_host_and_json():
    with Server("-q", "-b", "::1") as srv:
        d = outdir("host")
        r = pkutil.run([echo(), "experiment", "-J", "-o", d, "-p", str(srv.port),
                        "--delays", "0,5ms", "--sizes-rtt", "1,100", "--sizes-ttput", "1K,2K",
                        "-n", "10", "--repeat", "2", "::1"], timeout=120)
        check(r.returncode == 0, "rc %d %s" % (r.returncode, r.stderr[-500:]))
        out = json.loads(r.stdout)
        doc, md, rows = load(d)
        check(out == doc, "-J prints experiment.json")
        check(doc["target"]["host"] == "::1" and doc["target"]["port"] == srv.port and
              doc["summary"]["own_server"] is False, "target %r" % doc["target"])
        pts = doc["summary"]["sweeps"][0]["points"]
        check(all(p["sessions"] == 2 and p["probes"] == 20 for p in pts), "repeat 2")
        check("::1 port %d" % srv.port in md, "server in report")


def test_refusals():
    d = outdir("small")
    before = os.path.getmtime(os.path.join(d, "report.md"))
    r = pkutil.run([echo(), "experiment", "-o", d] + SMALL)
    check(r.returncode == 2, "non-empty dir rc %d" % r.returncode)
    check(r.stderr.count("\n") == 1 and r.stderr.startswith("tcp-echo: ") and "--force" in r.stderr,
          "one clear line: %r" % r.stderr)
    check(os.path.getmtime(os.path.join(d, "report.md")) == before, "nothing overwritten")
    # a stranger's file counts too
    d2 = outdir("stranger")
    os.makedirs(d2)
    with open(os.path.join(d2, "notes.txt"), "w") as f:
        f.write("mine\n")
    r = pkutil.run([echo(), "experiment", "-o", d2] + SMALL)
    check(r.returncode == 2 and "not empty" in r.stderr, "stranger's dir: %r" % r.stderr)
    # --force writes, and keeps the stranger's file
    r = pkutil.run([echo(), "experiment", "-q", "--force", "-o", d2, "--delays", "0",
                    "--sizes-rtt", "1,2", "--sizes-ttput", "1K,2K", "-n", "10"])
    check(r.returncode == 0, "--force rc %d %s" % (r.returncode, r.stderr[-300:]))
    check(os.path.exists(os.path.join(d2, "notes.txt")) and
          os.path.exists(os.path.join(d2, "report.md")), "--force")
    # usage errors: exit 2 and a line naming the value
    for args, msg in ((["-n", "5"], "probes '5': at least 10"),
                      (["-n", "9"], "probes '9': at least 10"),
                      ([], "missing -o DIR"),
                      (["-p", "9900"], "-p needs HOST"),
                      (["--delays", "0,,1"], "delays '0,,1'"),
                      (["--sizes-rtt", "0"], "sizes-rtt '0'"),
                      (["-W", "0"], "timeout '0'")):
        full = [echo(), "experiment"] + (["-o", outdir("never")] if msg != "missing -o DIR" else []) + args
        r = pkutil.run(full)
        check(r.returncode == 2 and r.stderr.startswith("tcp-echo experiment: ") and msg in r.stderr,
              "usage %r: %r" % (args, r.stderr[:200]))
        check(not os.path.exists(outdir("never")), "no directory after a usage error")
    r = pkutil.run([echo(), "experiment", "-o", outdir("never"), "--bogus"])
    check(r.returncode == 2 and "Try 'tcp-echo experiment --help'" in r.stderr, "unknown option")
    r = pkutil.run([echo(), "experiment", "--help"])
    check(r.returncode == 0 and r.stdout.startswith("usage: tcp-echo experiment"), "help")


def test_no_gnuplot():
    d = outdir("nognuplot")
    env = dict(os.environ, PATH=os.path.join(TMP, "empty-path"))
    r = subprocess.run([echo(), "experiment", "-q", "-o", d, "--delays", "0,1ms",
                        "--sizes-rtt", "1,100", "--sizes-ttput", "1K,2K", "-n", "10"],
                       capture_output=True, text=True, timeout=120, env=env)
    check(r.returncode == 0, "rc %d %s" % (r.returncode, r.stderr[-300:]))
    check("figures skipped: gnuplot not found" in r.stderr, r.stderr[-300:])
    check(not any(os.path.exists(os.path.join(d, m)) for m in FILES[4:]), "no figures")
    doc, md, rows = load(d)
    check(doc["summary"]["figures"] is False and "Figures skipped: gnuplot not found" in md,
          "report says why")


def test_sigint_partial():
    d = outdir("partial")
    p = subprocess.Popen([echo(), "experiment", "-q", "-o", d, "--delays", "0,100ms",
                          "-n", "10"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    seen, pid = [], None
    while len(seen) < 8:               # the 0 ms points, then two at 100 ms
        line = pkutil.read_line(p, 10)
        check(line is not None, "progress: %r" % seen)
        m = PID_RE.search(line)
        pid = int(m.group(1)) if m else pid
        if line.startswith("point "):
            seen.append(line)
    rc, out, _ = pkutil.stop(p, signal.SIGINT)
    check(rc == 0, "rc after SIGINT %r: %s" % (rc, out[-300:]))
    check("partial experiment written to" in out, out[-300:])
    doc, md, rows = load(d)
    sm = doc["summary"]
    check(sm["partial"] is True and 8 <= sm["points_done"] < sm["points_total"] == 24,
          "partial %r" % {k: sm[k] for k in ("partial", "points_done", "points_total")})
    check(len(rows["rtt"]) == sm["points_done"] and rows["ttput"] == [], "rows of the points done")
    check_agrees(doc, rows, "rtt", sm["points_done"])
    check("**Partial run**" in md and "of 24 points" in md, "report marked partial")
    check(os.path.exists(os.path.join(d, "rtt.png")) and
          not os.path.exists(os.path.join(d, "ttput.png")), "figures of what was measured")
    check(pid is not None, "pid line")
    end = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < end:
        time.sleep(0.05)
    check(gone(pid), "own server %d stopped" % pid)


pkutil.main([
    test_small_grid,
    test_host_and_json,
    test_refusals,
    test_no_gnuplot,
    test_sigint_partial,
])
