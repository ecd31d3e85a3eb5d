"""heartbeat server --metrics-port on loopback: /metrics scraped while
clients run, checked by `promtool check metrics` and against the clients'
own -J figures of the same run (heartbeats received, one-way loss, time_diff
last/mean/min/max, stopped / active) and the server's own end document;
the per-client cardinality limit live; no endpoint and no banner change
without --metrics-port; usage errors."""
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from pkutil import check, main, prog, read_line, run, run_json, stop  # noqa: E402

HB = None
SAMPLE_RE = re.compile(r'^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def start(args):
    """A server under --json-stream: (proc, its `listening` record)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    for _ in range(5):
        line = read_line(proc, 10.0)
        if line is None:
            break
        rec = json.loads(line)
        if rec["event"] == "listening":
            return proc, rec["data"]
    stop(proc)
    raise AssertionError("no listening record from %r" % (args,))


def wait_record(proc, event, client, timeout=15.0):
    """Reads the server's records until `event` for `client`; returns it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = read_line(proc, end - time.monotonic())
        if line is None:
            break
        rec = json.loads(line)
        if rec["event"] == event and (client is None or rec["data"]["client"] == client):
            return rec["data"]
    raise AssertionError("no %s record for %s within %.0f s" % (event, client, timeout))


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        check(r.status == 200, "status %d" % r.status)
        check(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
              r.headers["Content-Type"])
        return r.read().decode()


def promtool(text):
    r = subprocess.run([shutil.which("promtool") or "promtool", "check", "metrics"],
                       input=text, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
          "promtool check metrics: rc %d %r %r" % (r.returncode, r.stdout[:500], r.stderr[:500]))


def parse(text):
    """{(name, ((label, value), ...)): float}; each series once."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        check(m is not None, "not a sample line: %r" % line)
        labels = tuple(sorted(LABEL_RE.findall(m.group(2) or "")))
        key = (m.group(1), labels)
        check(key not in out, "series twice: %r" % (key,))
        out[key] = float(m.group(3))
    return out


def val(m, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    check(key in m, "no series %s%r" % (name, labels))
    return m[key]


def client_series(m, name):
    return {dict(k[1])["client"]: v for k, v in m.items() if k[0] == name}


def check_client(m, client, doc, state):
    """The server's series of one client against the client's -J document."""
    s = doc["summary"]
    ok = [x for x in doc["samples"] if x["status"] == "ok"]
    check(s["late"] == 0 and s["duplicates"] == 0 and s["lost"] > 0,
          "%s: a run with loss, nothing late: %r" % (client, s))
    # every heartbeat the server kept was answered, and on loopback arrived
    got = val(m, "heartbeat_server_client_heartbeats_received_total", client=client)
    check(got == s["transmitted"] - s["lost"] == s["received"] == len(ok),
          "%s: server received %g, client sent %d lost %d" % (client, got, s["transmitted"], s["lost"]))
    # one-way loss: the client's losses below the highest seq the server heard
    top = max(x["seq"] for x in ok)
    gaps = sum(1 for x in doc["samples"] if x["status"] == "lost" and x["seq"] < top)
    first = min(x["seq"] for x in ok)
    gaps -= sum(1 for x in doc["samples"] if x["status"] == "lost" and x["seq"] < first)
    check(val(m, "heartbeat_server_client_lost_heartbeats", client=client) == gaps,
          "%s: lost %g, the client's gaps %d" % (client, val(m, "heartbeat_server_client_lost_heartbeats", client=client), gaps))
    ratio = val(m, "heartbeat_server_client_loss_ratio", client=client)
    check(abs(ratio - gaps / (top - first + 1)) <= 5e-10, "%s: ratio %r" % (client, ratio))  # 9 decimals
    # time_diff: the server's own figures, echoed in each reply (ns in ms)
    diffs = [x["diff_ms"] / 1e3 for x in ok]
    last = max(ok, key=lambda x: x["seq"])["diff_ms"] / 1e3
    for stat, want in (("last", last), ("min", min(diffs)), ("max", max(diffs)),
                       ("mean", sum(diffs) / len(diffs))):
        got = val(m, "heartbeat_server_client_time_diff_%s_seconds" % stat, client=client)
        check(abs(got - want) < 2e-9, "%s: time_diff %s %r, client %r" % (client, stat, got, want))
    # the last heartbeat kept: its send time plus its time_diff, wall clock
    sent = datetime.datetime.fromisoformat(
        max(ok, key=lambda x: x["seq"])["time"].replace("Z", "+00:00")).timestamp()
    heard = val(m, "heartbeat_server_client_last_heard_timestamp_seconds", client=client)
    check(abs(heard - (sent + last)) < 0.05, "%s: last heard %r, sent %r" % (client, heard, sent))
    check(val(m, "heartbeat_server_client_state", client=client, state=state) == 1 and
          val(m, "heartbeat_server_client_state", client=client,
              state="stopped" if state == "active" else "active") == 0,
          "%s: state %s" % (client, state))
    check(val(m, "heartbeat_server_client_stops_total", client=client) == (state == "stopped"),
          "%s: stops" % client)


def test_metrics_match_clients():
    """Two clients, v4 and v6, through the server's 30% loss (seed 2024): A
    runs and stops (declared stopped after --dead-after), B runs; a scrape
    right after B against both clients' -J documents and the server's end."""
    srv, lis = start([HB, "server", "-p", "0", "--loss", "0.3", "--seed", "2024",
                      "--dead-after", "1500ms", "--metrics-port", "0", "--json-stream"])
    try:
        check(lis["metrics_address"] == "127.0.0.1" and lis["metrics_port"] > 0, "%r" % lis)
        port = str(lis["port"])
        ra, a = run_json([HB, "client", "-4", "-J", "--keep-going", "-c", "50", "-i", "10ms",
                          "-W", "300ms", "-p", port, "127.0.0.1"])
        ca = wait_record(srv, "client_seen", None)["client"]
        check(ca.startswith("127.0.0.1:"), ca)
        wait_record(srv, "client_stopped", ca)
        rb, b = run_json([HB, "client", "-6", "-J", "--keep-going", "-c", "50", "-i", "10ms",
                          "-W", "300ms", "-p", port, "::1"])
        text = scrape(lis["metrics_port"])
    finally:
        rc, out, err = stop(srv)
    check(rc == 0, "server exit %d: %s" % (rc, err[-300:]))
    promtool(text)
    m = parse(text)
    cb = next(c for c in client_series(m, "heartbeat_server_client_stops_total") if c != ca)
    check(re.fullmatch(r"\[::1\]:\d+", cb) is not None, "the v6 client's label: %r" % cb)
    check_client(m, ca, a, "stopped")
    check_client(m, cb, b, "active")
    sa, sb = a["summary"], b["summary"]
    for name, want in (
            ("heartbeat_server_datagrams_received_total", sa["transmitted"] + sb["transmitted"]),
            ("heartbeat_server_simulated_drops_total", sa["lost"] + sb["lost"]),
            ("heartbeat_server_heartbeats_accepted_total", sa["received"] + sb["received"]),
            ("heartbeat_server_replies_sent_total", sa["received"] + sb["received"]),
            ("heartbeat_server_clients_seen_total", 2),
            ("heartbeat_server_clients_stopped_total", 1),
            ("heartbeat_server_metrics_clients_left_out", 0),
            ("heartbeat_server_metrics_clients_max", 100),
            ("heartbeat_server_simulated_loss_ratio", 0.3)):
        check(val(m, name) == want, "%s %g, expected %g" % (name, val(m, name), want))
    check(val(m, "heartbeat_server_clients", state="active") == 1 and
          val(m, "heartbeat_server_clients", state="stopped") == 1, "clients by state")
    check(all(v == 0 for k, v in m.items() if k[0] == "heartbeat_server_datagrams_refused_total"),
          "nothing refused")
    check(val(m, "heartbeat_server_metrics_connections_total", result="accepted") == 1,
          "this scrape is the endpoint's first connection")
    # the server's own figures at its end: the same, nothing came after
    end = json.loads(out.splitlines()[-1])
    check(end["event"] == "end", out[-300:])
    tot = end["data"]["summary"]
    check(tot["datagrams"] == val(m, "heartbeat_server_datagrams_received_total") and
          tot["sim_dropped"] == val(m, "heartbeat_server_simulated_drops_total") and
          tot["accepted"] == val(m, "heartbeat_server_heartbeats_accepted_total"), "%r" % tot)
    start_s = datetime.datetime.fromisoformat(end["data"]["start"].replace("Z", "+00:00")).timestamp()
    check(abs(val(m, "process_start_time_seconds") - start_s) < 0.01, "process start")
    check(val(m, "heartbeat_build_info", version=end["data"]["version"]) == 1, "build info")


def hb(sock, port, seq):
    sock.sendto(b"%d %.9f" % (seq, time.time()), ("127.0.0.1", port))


def test_cardinality_live():
    """--metrics-max-clients 2 and four clients heard one after another: the
    two heard last have series, two are left out; a fifth scrape with
    the first client heard again puts it back in."""
    srv, lis = start([HB, "server", "-p", "0", "-b", "127.0.0.1", "--loss", "0",
                      "--metrics-port", "0", "--metrics-max-clients", "2", "--json-stream"])
    socks = []
    try:
        for i in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.settimeout(5)
            socks.append(s)
            hb(s, lis["port"], 0)
            s.recvfrom(256)                       # answered: recorded in order
        names = ["127.0.0.1:%d" % s.getsockname()[1] for s in socks]
        m1 = parse(scrape(lis["metrics_port"]))
        hb(socks[0], lis["port"], 1)
        socks[0].recvfrom(256)
        text = scrape(lis["metrics_port"])
        m2 = parse(text)
    finally:
        for s in socks:
            s.close()
        stop(srv)
    promtool(text)
    check(set(client_series(m1, "heartbeat_server_client_stops_total")) == set(names[2:]),
          "exported: %r, heard last: %r" % (client_series(m1, "heartbeat_server_client_stops_total"), names[2:]))
    check(len(client_series(m1, "heartbeat_server_client_state")) == 2, "state series")
    check(val(m1, "heartbeat_server_metrics_clients_left_out") == 2, "left out")
    check(set(client_series(m2, "heartbeat_server_client_stops_total")) == {names[0], names[3]},
          "after the first client is heard again: %r" % client_series(m2, "heartbeat_server_client_stops_total"))


def test_without_metrics_port():
    """No --metrics-port: no endpoint line, the listening record as before."""
    srv, lis = start([HB, "server", "-p", "0", "-b", "127.0.0.1", "--json-stream"])
    rc, out, err = stop(srv)
    check(sorted(lis) == ["address", "dead_after_s", "loss", "max_clients", "port", "seed",
                          "time"], "listening record: %r" % lis)
    check("metrics" not in err and err.count("listening on") == 1, err)
    p = subprocess.Popen([HB, "server", "-p", "0", "-b", "127.0.0.1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, bufsize=1)
    first = read_line(p, 10.0)
    more = read_line(p, 0.5)
    stop(p)
    check(first is not None and first.startswith("heartbeat server listening on"), repr(first))
    check(more is None, "a line after the banner without clients: %r" % more)


def test_usage_errors():
    for args, msg in (
            (["--metrics-addr", "::1"], "need --metrics-port"),
            (["--metrics-max-clients", "5"], "need --metrics-port"),
            (["--metrics-port", "0", "--metrics-max-clients", "10001"], "metrics-max-clients '10001'"),
            (["--metrics-port", "65536"], "metrics-port '65536'"),
            (["--metrics-port", "0", "--metrics-conns", "0"], "metrics-conns '0'"),
            (["--metrics-port", "0", "--metrics-timeout", "1ms"], "metrics-timeout '1ms'")):
        r = run([HB, "server", "-p", "0"] + args, timeout=10)
        lines = r.stderr.splitlines()
        check(r.returncode == 2 and len(lines) == 2 and lines[0].startswith("heartbeat server: ")
              and msg in lines[0] and lines[1].startswith("Try 'heartbeat server --help'"),
              "%r: %d %r" % (args, r.returncode, r.stderr))
    # an address it cannot bind: one line, exit 2, nothing served
    r = run([HB, "server", "-p", "0", "--metrics-port", "0", "--metrics-addr", "192.0.2.1"],
            timeout=10)
    check(r.returncode == 2 and r.stderr.startswith("heartbeat: metrics endpoint 192.0.2.1")
          and len(r.stderr.splitlines()) == 1 and r.stdout == "", "%d %r" % (r.returncode, r.stderr))


if __name__ == "__main__":
    HB = prog("heartbeat")
    main([test_metrics_match_clients, test_cardinality_live, test_without_metrics_port,
          test_usage_errors])
