#!/usr/bin/env python3
"""mesh.py: a vxlan-agent fleet at a glance (docs/monitoring.md).

  mesh.py --prometheus URL [--window DUR] [-o mesh.png] [--top N]
  mesh.py --json-dir DIR [--reports N] [-o mesh.png] [--top N]

Reads the loss and the latency of every (source agent, peer) pair, from a
Prometheus that scrapes the agents (its HTTP API, /api/v1/query, over the
last --window) or from a directory of the agents' `--json-stream` output (one
file per agent, named after it; every `report` record, or the last
--reports), prints the worst pairs (by loss, then latency) and, with -o,
draws the matrix as two heatmaps with gnuplot (PNG, or SVG by the name's
ending): loss (%) and latency (ms), sources down, destinations across.

Latency is the agent's: RTT/2, the mean over the window (Prometheus:
vxlan_agent_peer_rtt_seconds_sum / _count / 2; JSON: the reports'
latency_ms.avg weighted by their answers). Loss: lost / expected probes.
A destination is named after the agent whose address it is: the address of
a Prometheus target (instance), a file named after the address, or, in a
full mesh, the one address the other agents (most of them) see and this
one does not.
Unnamed destinations keep their address. Pairs without data are drawn as
crosses, an agent's own cell is hatched grey.

Malformed JSON lines are skipped and counted on stderr; no usable report at
all is an error. Errors: one line `mesh.py: ...`, exit 2.
"""
import argparse
import ipaddress
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

PROG = "mesh.py"


class Error(Exception):
    pass


def natural(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def is_addr(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


# ---- sources -----------------------------------------------------------------

def prom_query(url, query, timeout):
    try:
        if urllib.parse.urlparse(url).scheme not in ("http", "https"):
            raise ValueError
        full = url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
        with urllib.request.urlopen(full, timeout=timeout) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        try:
            why = json.loads(e.read()).get("error", "")
        except (ValueError, AttributeError):
            why = ""
        raise Error("%s: HTTP %d%s" % (url, e.code, ": " + str(why) if why else ""))
    except (urllib.error.URLError, OSError) as e:
        raise Error("cannot reach Prometheus at %s: %s" % (url, getattr(e, "reason", e)))
    except ValueError:
        raise Error("%s: not an http:// or https:// URL" % url)
    try:
        doc = json.loads(body)
    except ValueError:
        raise Error("%s: not a Prometheus API answer (not JSON)" % url)
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise Error("%s: query failed: %s" % (url, doc.get("error", "no status") if isinstance(doc, dict) else "not an object"))
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" \
            or not isinstance(data.get("result"), list):
        raise Error("%s: not a vector result" % url)
    return [s for s in data["result"] if isinstance(s, dict) and isinstance(s.get("metric"), dict)]


def from_prometheus(url, window, timeout):
    """{source: {"addr": a or None, "peers": {peer: {loss, lat_ms, expected}}}}"""
    q_exp = "increase(vxlan_agent_peer_expected_probes_total[%s])" % window
    q_lost = "increase(vxlan_agent_peer_lost_probes_total[%s])" % window
    q_lat = ("rate(vxlan_agent_peer_rtt_seconds_sum[{w}]) / rate(vxlan_agent_peer_rtt_seconds_count[{w}])"
             .format(w=window))
    srcs = {}
    rows = {}
    for key, q in (("expected", q_exp), ("lost", q_lost), ("rtt", q_lat)):
        for s in prom_query(url, q, timeout):
            m = s["metric"]
            if "peer" not in m:
                continue
            name = m.get("agent") or m.get("instance", "?")
            host = m.get("instance", "").rsplit(":", 1)[0].strip("[]")
            try:
                v = float(s["value"][1])
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            srcs.setdefault(name, {"addr": host if is_addr(host) else None, "peers": {}})
            rows.setdefault((name, m["peer"]), {})[key] = v
    if not rows:
        raise Error("%s: no vxlan_agent_peer_* series over the last %s (are the agents scraped?)"
                    % (url, window))
    for (name, peer), r in rows.items():
        exp, lost, rtt = r.get("expected"), r.get("lost"), r.get("rtt")
        loss = lost / exp if exp and lost is not None and not math.isnan(lost) and exp > 0 else None
        lat = rtt * 1e3 / 2 if rtt is not None and not math.isnan(rtt) else None
        srcs[name]["peers"][peer] = {"loss": loss, "lat_ms": lat, "expected": exp or 0}
    return srcs


def read_stream(path, last):
    """The 'report' records of one agent's --json-stream file (the last
    `last`, or all with 0); malformed lines are counted on stderr."""
    reports, bad, first_bad = [], 0, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict) or not isinstance(rec.get("event"), str):
                    raise ValueError
            except ValueError:
                bad += 1
                first_bad = first_bad or n
                continue
            if rec["event"] == "report":
                d = rec.get("data")
                if isinstance(d, dict) and isinstance(d.get("peers"), list):
                    reports.append(d)
                else:
                    bad += 1
                    first_bad = first_bad or n
    if bad:
        print("%s: %s: %d malformed line%s skipped (first: line %d)"
              % (PROG, path, bad, "" if bad == 1 else "s", first_bad), file=sys.stderr)
    return reports[-last:] if last else reports


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def from_json_dir(d, last):
    if not os.path.isdir(d):
        raise Error("%s: not a directory" % d)
    files = sorted(f for f in os.listdir(d) if not f.startswith(".")
                   and os.path.isfile(os.path.join(d, f)))
    if not files:
        raise Error("%s: empty: one --json-stream file per agent expected" % d)
    srcs = {}
    for f in files:
        name = re.sub(r"\.(jsonl|json|ndjson|log|txt)$", "", f)
        reports = read_stream(os.path.join(d, f), last)
        if not reports:
            print("%s: %s: no report record, left out" % (PROG, os.path.join(d, f)), file=sys.stderr)
            continue
        acc = {}
        for rep in reports:
            for p in rep["peers"]:
                if not isinstance(p, dict) or not isinstance(p.get("peer"), str):
                    continue
                a = acc.setdefault(p["peer"], [0, 0, 0, 0.0])  # expected, lost, answered, sum
                exp, lost, ans = num(p.get("expected")), num(p.get("lost")), num(p.get("answered"))
                avg = num((p.get("latency_ms") or {}).get("avg")) if isinstance(p.get("latency_ms"), dict) else None
                a[0] += exp or 0
                a[1] += lost or 0
                if ans and avg is not None:
                    a[2] += ans
                    a[3] += ans * avg
        srcs[name] = {"addr": name if is_addr(name) else None,
                      "peers": {peer: {"loss": a[1] / a[0] if a[0] else None,
                                       "lat_ms": a[3] / a[2] if a[2] else None,
                                       "expected": a[0]} for peer, a in acc.items()}}
    if not srcs:
        raise Error("%s: no agent report in any file" % d)
    return srcs


# ---- the matrix --------------------------------------------------------------

def matrix(srcs):
    """rows (source names), cols [(label, address)], cells[r][c] = pair or
    'self' or None, and the address -> name map."""
    names = sorted(srcs, key=natural)
    allp = set()
    for s in srcs.values():
        allp |= set(s["peers"])
    own = {}
    for n in names:
        a = srcs[n]["addr"]
        if a and a in allp:
            own[n] = a
    found = True
    while found:  # a full mesh: the one address everybody else sees
        found = False
        for n in names:
            if n not in own:
                cand = allp - set(srcs[n]["peers"]) - set(own.values())
                seen = sum(1 for m in names if m != n and cand & set(srcs[m]["peers"]))
                if len(cand) == 1 and 2 * seen >= len(names) - 1:
                    own[n] = cand.pop()
                    found = True
    byaddr = {a: n for n, a in own.items()}
    cols = [(n, own[n]) for n in names if n in own]
    cols += [(a, a) for a in sorted(allp - set(byaddr), key=natural)]
    cells = []
    for n in names:
        row = []
        for _, a in cols:
            row.append("self" if own.get(n) == a else srcs[n]["peers"].get(a))
        cells.append(row)
    return names, cols, cells, byaddr


def worst(names, cols, cells, top):
    pairs = []
    for i, n in enumerate(names):
        for j, (label, addr) in enumerate(cols):
            c = cells[i][j]
            if isinstance(c, dict) and (c["loss"] is not None or c["lat_ms"] is not None):
                pairs.append((n, label, addr, c))
    pairs.sort(key=lambda p: (-(p[3]["loss"] if p[3]["loss"] is not None else -1),
                              -(p[3]["lat_ms"] if p[3]["lat_ms"] is not None else -1),
                              natural(p[0]), natural(p[1])))
    return pairs[:top]


def fmt(v, scale, digits):
    return "-" if v is None else "%.*f" % (digits, v * scale)


def print_table(names, cols, cells, top, out=sys.stdout):
    missing = [(n, label) for i, n in enumerate(names) for j, (label, _) in enumerate(cols)
               if cells[i][j] is None]
    have = sum(1 for row in cells for c in row if isinstance(c, dict))
    print("%d agents, %d destinations: %d pairs with data, %d missing"
          % (len(names), len(cols), have, len(missing)), file=out)
    rows = worst(names, cols, cells, top)
    w1 = max([6] + [len(r[0]) for r in rows])
    w2 = max([11] + [len(r[1]) for r in rows])
    w3 = max([4] + [len(r[2]) for r in rows])
    print("worst %d pairs (by loss, then latency):" % len(rows), file=out)
    print("  %-*s  %-*s  %-*s  %7s  %10s  %8s" % (w1, "source", w2, "destination", w3, "peer",
                                                 "loss %", "latency ms", "probes"), file=out)
    for n, label, addr, c in rows:
        print("  %-*s  %-*s  %-*s  %7s  %10s  %8d" % (w1, n, w2, label, w3, addr,
                                                     fmt(c["loss"], 100, 2), fmt(c["lat_ms"], 1, 3),
                                                     c["expected"]), file=out)
    if missing:
        shown = ", ".join("%s->%s" % m for m in missing[:8])
        print("missing: %s%s" % (shown, ", ..." if len(missing) > 8 else ""), file=out)


# ---- the picture ---------------------------------------------------------------

def short(v):
    """A cell's value in at most 4 characters: 100, 20, 5.0, 0.55, 0."""
    if v == 0:
        return "0"
    return "%.0f" % v if v >= 9.95 else "%.1f" % v if v >= 0.995 else "%.2f" % v


def gp_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


MAPS = (  # key, scale, title, palette (white to dark), lowest top of the colour bar
    ("loss", 100.0, "loss %", "0 '#f7f7f7', 1 '#fee08b', 2 '#fc8d59', 3 '#d73027'", 5.0),
    ("lat_ms", 1.0, "latency ms (RTT/2, mean)", "0 '#f7fbff', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'",
     0.1),
)


def draw(names, cols, cells, out, title):
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        raise Error("gnuplot not found (Debian: gnuplot-nox)")
    nr, nc = len(names), len(cols)
    values = max(nr, nc) <= 16          # numbers in the cells up to 16x16
    cell = 26 if values else 20
    lw = max([len(n) for n in names] + [4]) * 7
    lh = max([len(c[0]) for c in cols] + [4]) * 6
    side_w = lw + 150 + cell * nc
    width, height = 2 * side_w, 90 + lh + cell * nr
    g = ["set terminal %s size %d,%d noenhanced font 'sans,%d' background '#ffffff'"
         % ("svg" if out.lower().endswith(".svg") else "pngcairo", width, height, 10 if values else 9),
         "set output %s" % gp_str(out),
         "set multiplot layout 1,2 title %s" % gp_str(title),
         "set size ratio %g" % (nr / nc),
         "set xrange [-0.5:%g]\nset yrange [%g:-0.5]" % (nc - 0.5, nr - 0.5),
         "set xtics (%s) rotate by 60 right nomirror" % ", ".join(
             "%s %d" % (gp_str(label), j) for j, (label, _) in enumerate(cols)),
         "set ytics (%s) nomirror" % ", ".join("%s %d" % (gp_str(n), i) for i, n in enumerate(names)),
         "set xlabel 'destination'\nset ylabel 'source'\nset tics scale 0",
         "unset key\nset cbtics nomirror"]
    for j in range(nc + 1):  # white cell borders
        g.append("set arrow from %g,-0.5 to %g,%g nohead lc rgb '#ffffff' front" % (j - 0.5, j - 0.5, nr - 0.5))
    for i in range(nr + 1):
        g.append("set arrow from -0.5,%g to %g,%g nohead lc rgb '#ffffff' front" % (i - 0.5, nc - 0.5, i - 0.5))
    with tempfile.TemporaryDirectory(prefix="mesh.") as tmp:
        for key, scale, name, palette, floor in MAPS:
            vals = [c[key] * scale for row in cells for c in row
                    if isinstance(c, dict) and c[key] is not None]
            top = max(vals + [floor])
            path = os.path.join(tmp, key + ".dat")
            with open(path, "w") as f:  # column, row, value, kind, text, dark cell
                for i in range(nr):
                    for j in range(nc):
                        c = cells[i][j]
                        v = c[key] * scale if isinstance(c, dict) and c[key] is not None else None
                        kind = "self" if c == "self" else "none" if v is None else "v"
                        f.write('%d %d %r %s "%s" %d\n' % (j, i, v or 0.0, kind,
                                                           short(v) if v is not None else "",
                                                           v is not None and v > 0.6 * top))
            g.append("set title %s\nset palette defined (%s)\nset cbrange [0:%r]"
                     % (gp_str(name + "   (x: no data)"), palette, top))
            cmd = ("plot %s using 1:2:(strcol(4) eq 'v' ? $3 : NaN) with image, "
                   "'' using 1:2:(0.5):(strcol(4) eq 'self' ? 0.5 : NaN) with boxxy "
                   "lc rgb '#777777' fs pattern 2, "
                   "'' using 1:(strcol(4) eq 'none' ? $2 : NaN) with points pt 2 ps 1.5 "
                   "lc rgb '#888888'" % gp_str(path))
            if values:
                for dark, colour in ((0, "#000000"), (1, "#ffffff")):
                    cmd += (", '' using 1:2:($6 == %d ? strcol(5) : '') with labels font ',8' "
                            "tc rgb '%s'" % (dark, colour))
            g.append(cmd)
        g.append("unset multiplot\nset output")
        script = os.path.join(tmp, "mesh.gp")
        with open(script, "w") as f:
            f.write("\n".join(g) + "\n")
        r = subprocess.run([gnuplot, script], capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or not os.path.exists(out):
            raise Error("gnuplot failed: %s" % (r.stderr.strip().splitlines() or ["?"])[-1])


# ---- main ------------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    def error(self, message):
        print("%s: %s\nTry '%s --help' for more information." % (PROG, message, PROG), file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    ap = Parser(prog=PROG, description="The loss and latency of every pair of a vxlan-agent fleet.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--prometheus", metavar="URL", help="a Prometheus that scrapes the agents")
    src.add_argument("--json-dir", metavar="DIR", help="one --json-stream file per agent")
    ap.add_argument("-o", "--output", metavar="FILE", help="draw the heatmaps (PNG, or .svg)")
    ap.add_argument("--top", type=int, default=10, metavar="N", help="worst pairs listed (10)")
    ap.add_argument("--window", default="5m", metavar="DUR", help="Prometheus: range (5m)")
    ap.add_argument("--reports", type=int, default=0, metavar="N",
                    help="JSON: the last N reports of each agent (0: all)")
    ap.add_argument("--timeout", type=float, default=10.0, metavar="S", help="HTTP timeout (10 s)")
    ap.add_argument("--title", default=None, help="the picture's title")
    a = ap.parse_args(argv)
    if a.top < 1:
        ap.error("--top %d: at least 1" % a.top)
    if a.reports < 0:
        ap.error("--reports %d: 0 or more" % a.reports)
    if not re.fullmatch(r"[0-9]+(ms|s|m|h|d)", a.window):
        ap.error("--window %s: a Prometheus duration (30s, 5m, 1h)" % a.window)
    if a.output and not a.output.lower().endswith((".png", ".svg")):
        ap.error("-o %s: a .png or .svg file" % a.output)
    try:
        if a.prometheus:
            srcs = from_prometheus(a.prometheus, a.window, a.timeout)
            what = "%s, last %s" % (a.prometheus, a.window)
        else:
            srcs = from_json_dir(a.json_dir, a.reports)
            what = a.json_dir
        names, cols, cells, _ = matrix(srcs)
        print_table(names, cols, cells, a.top)
        if a.output:
            draw(names, cols, cells, a.output, a.title or "vxlan-agent mesh: " + what)
            print("written %s" % a.output)
    except Error as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 2
    except OSError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
