"""heartbeat server / client on loopback (127.0.0.1 and ::1, port 0):
loss near P with a seed, a killed server detected within the k-miss bound,
--keep-going outage and recovery on the same port, server events (seen,
stopped, resumed, restarted), garbage counted and never answered, the
bounded table, the rate limit, usage errors and exit codes."""
import datetime
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from pkutil import check, main, prog, run, run_json  # noqa: E402
import schema_check  # noqa: E402

HB = None
FAMILIES = (("127.0.0.1", "-4"), ("::1", "-6"))


class Proc:
    """A process whose stdout is read line by line with a timeout, without
    Python's buffering hiding lines from select()."""

    def __init__(self, args):
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  bufsize=0)
        self.buf = b""
        self.seen = []

    def line(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.decode()
        self.seen.append(line)
        return line

    def wait_for(self, pattern, timeout):
        """The first line matching pattern, and the wall time it was read."""
        end = time.monotonic() + timeout
        while True:
            line = self.line(max(0.0, end - time.monotonic()))
            if line is None:
                raise AssertionError("no line matching %r within %.1f s (got %r)"
                                     % (pattern, timeout, self.seen[-5:]))
            if re.search(pattern, line):
                return line, time.time()

    def finish(self, sig=None, timeout=20):
        """Signals (or just waits for) the process; returns (rc, all stdout, stderr).
        Idempotent: a second call returns the first call's result."""
        if getattr(self, "result", None) is not None:
            return self.result
        if sig is not None and self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        rest = self.buf + self.p.stdout.read()
        self.buf = b""
        out = "\n".join(self.seen) + "\n" + rest.decode()
        err = self.p.stderr.read().decode()
        self.p.stdout.close()
        self.p.stderr.close()
        self.result = (self.p.returncode, out, err)
        return self.result

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()


def server(*args, host="127.0.0.1", port=0):
    """Starts our server; returns (Proc, port) once it is listening (the
    text banner, or the --json-stream `listening` record)."""
    pr = Proc([HB, "server", "-p", str(port), "-b", host] + list(args))
    line, _ = pr.wait_for(r'listening on|"event":"listening"', 10)
    if line.startswith("{"):
        return pr, json.loads(line)["data"]["port"]
    return pr, int(re.search(r"listening on (?:\[[^\]]+\]|[^\s:]+):(\d+)", line).group(1))


def client(*args):
    return Proc([HB, "client"] + list(args))


def final_json(out):
    """The final table of a --json-stream server (the `end` record's
    summary) and its records as {"event": name, **data}."""
    recs = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    check(recs and recs[-1]["event"] == "end", "no end record: %r" % out[-300:])
    errs = schema_check.check_stream(out)
    check(not errs, "stream against the schema: %r" % errs[:5])
    lines = [dict(r["data"], event=r["event"]) for r in recs if isinstance(r["data"], dict)]
    return recs[-1]["data"]["summary"], lines


def udp(host):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    s.settimeout(0.3)
    return s


def beat(s, host, port, seq):
    s.sendto(b"%d %.9f" % (seq, time.time()), (host, port))


def sent_s(x):
    """A sample's send time (its ISO 8601 "time") in epoch seconds."""
    return datetime.datetime.strptime(x["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def kmiss_downs(samples, k, timeout_s):
    """The k-miss rule of hb_detect.h replayed on a client's samples: how
    many times it goes down (a timeout at the same instant as a reply is
    taken first, as the client does)."""
    events = []
    for x in samples:
        if x["status"] == "ok":
            events.append((sent_s(x) + x["rtt_ms"] / 1e3, 1, x["seq"]))
        else:
            events.append((sent_s(x) + timeout_s, 0, x["seq"]))
    events.sort()
    max_ok, run, down, downs = -1, 0, False, 0
    for _, is_reply, seq in events:
        if is_reply:
            if seq > max_ok:
                max_ok, run, down = seq, 0, False
        elif seq > max_ok:
            run += 1
            if run >= k and not down:
                down, downs = True, downs + 1
    return downs


def run_figures(p, k, extra, n):
    """P(at least one false down in n heartbeats), P(none) and the expected
    downs, by the state vector of the miss run (an absorbing chain, and one
    without absorption for the count): independent of hb_detect.c."""
    ke = k + extra
    v = [1.0] + [0.0] * (ke - 1)
    w = [1.0] + [0.0] * ke
    absorbed = expected = 0.0
    for _ in range(n):
        nv = [0.0] * ke
        for r, x in enumerate(v):
            nv[0] += x * (1 - p)
            if r + 1 < ke:
                nv[r + 1] += x * p
            else:
                absorbed += x * p
        v = nv
        nw = [0.0] * (ke + 1)
        for r, x in enumerate(w):
            nw[0] += x * (1 - p)
            nw[min(r + 1, ke)] += x * p
            if r + 1 == ke:
                expected += x * p
        w = nw
    # a run of k..ke-1 misses open at the end has nothing to clear it
    return (absorbed + sum(v[k:]), sum(v[:k]), expected + sum(w[k:ke]))


def close(a, b, rel=1e-9, abs_=1e-15):
    return abs(a - b) <= rel * abs(b) + abs_


def test_loss_near_p():
    for host, flag in FAMILIES:
        srv, port = server("--loss", "0.3", "--seed", "7", "--json-stream", host=host)
        try:
            r, doc = run_json([HB, "client", flag, "-J", "--keep-going", "-c", "400",
                               "-i", "4ms", "-W", "3ms", "-p", str(port), host])
        finally:
            rc, out, err = srv.finish(signal.SIGTERM)
        s = doc["summary"]
        check(doc["tool"] == "heartbeat" and doc["target"]["port"] == port, "doc shape")
        check(s["transmitted"] == 400 and len(doc["samples"]) == 400, "400 sent: %r" % s)
        # heartbeats with no reply at all are exactly the simulated drops
        # (checked against the server below); late replies only depend on load
        check(0.22 <= s["lost"] / 400 <= 0.38, "%s: loss %d/400 not near 0.3" % (host, s["lost"]))
        check(s["received"] + s["lost"] + s["late"] == 400, "adds up")
        check(s["malformed_replies"] == 0 and s["unknown_replies"] == 0, "clean replies")
        check(s["time_diff_ms"]["min"] is not None and abs(s["time_diff_ms"]["avg"]) < 50,
              "time_diff near 0 on one host: %r" % s["time_diff_ms"])
        check(s["rtt_ms"]["p50"] is not None, "rtt figures")
        # 30% loss: K=3 false alarms ~ 0.7*0.3^3 per heartbeat
        fa = s["false_alarm"]
        p = fa["loss_percent"] / 100
        check(abs(fa["per_heartbeat"] - (1 - p) * p ** 3) < 1e-12, "false-alarm arithmetic")
        check(abs(fa["per_hour"] - fa["per_heartbeat"] * 3600 / 0.004) < 1e-6, "per hour")
        k = fa["misses_for_less_than_one_per_day"]
        per_day = lambda kk: (1 - p) * p ** kk * 86400 / 0.004
        check(per_day(k) < 1 <= per_day(k - 1), "smallest K for < 1/day: %d" % k)
        # over the 400 heartbeats asked for: exact, as the chain gives it
        any_, none, expected = run_figures(p, 3, 0, 400)
        check(fa["heartbeats"] == 400 and close(fa["at_least_one"], any_) and
              close(fa["none"], none) and close(fa["expected_downs"], expected) and
              close(fa["at_least_one_approx"], 1 - (1 - fa["per_heartbeat"]) ** 400),
              "run figures %r, want %r" % (fa, (any_, none, expected)))
        kb = fa["misses_for_at_least_one_below_budget"]
        check(fa["budget"] == 0.01 and run_figures(p, kb, 0, 400)[0] < 0.01 <=
              run_figures(p, kb - 1, 0, 400)[0], "smallest K under 1%%: %d" % kb)
        check(sum(s["loss_runs"]["histogram"].values()) > 0, "loss-run histogram")
        # the k-miss verdicts are exactly what the rule gives on the events
        # in time order: a reply at sent + rtt, a timeout at sent + 3 ms (-W).
        # A miss followed by a newer reply that arrived before the miss's
        # deadline is rightly not a miss for the detector, so the runs in the
        # samples are an upper bound.
        runs = run = 0
        for x in doc["samples"]:
            run = 0 if x["status"] == "ok" else run + 1
            runs += run == 3
        downs = s["detectors"]["kmiss"]["downs"]
        want = kmiss_downs(doc["samples"], 3, 0.003)
        check(runs >= 1 and downs == want <= runs,
              "%d runs of 3 misses, %d k-miss downs, %d by the rule" % (runs, downs, want))
        check(len(s["outages"]) == downs and s["detectors"]["kmiss"]["ups"] >= downs - 1,
              "outages")
        check(rc == 0, "server exit %d" % rc)
        fin, _ = final_json(out)
        check(fin["datagrams"] == 400 and fin["accepted"] + fin["sim_dropped"] == 400 and
              fin["sim_dropped"] == s["lost"],
              "server counts: %r" % fin)
        check(fin["replies"] == fin["accepted"] == s["received"] + s["late"], "replies")
        c = fin["clients"][0]
        # one-way loss as the server saw it (the same drops)
        check(c["received"] == fin["accepted"] and c["lost"] + c["received"] >= 390 and
              abs(c["lost"] - s["lost"] - s["late"]) <= 10,
              "server one-way view: %r" % c)
        # seeded: the same seed gives the same drops
        srv, port = server("--loss", "0.3", "--seed", "7", "--json-stream", host=host)
        try:
            r2, doc2 = run_json([HB, "client", flag, "-J", "--keep-going", "-c", "400",
                                 "-i", "4ms", "-W", "3ms", "-p", str(port), host])
        finally:
            srv.finish(signal.SIGTERM)
        # (a reply may be late in one run and in time in the other: compare drops)
        check([x["status"] == "lost" for x in doc2["samples"]] ==
              [x["status"] == "lost" for x in doc["samples"]], "same seed, same drops")


def kill_detected(host, flag, interval, timeout, k):
    srv, port = server("--loss", "0", host=host)
    cli = client(flag, "-D", "-i", "%dms" % interval, "-W", "%dms" % timeout,
                 "--misses", str(k), "-c", "1000", "-p", str(port), host)
    try:
        for _ in range(5):
            cli.wait_for(r"bytes from .* seq=", 5)
        t_kill = time.time()
        srv.p.kill()
        line, _ = cli.wait_for(r"^\[[0-9.]+\] server down", 10)
        rc, out, err = cli.finish()
    finally:
        srv.finish(signal.SIGKILL)
        cli.kill()
    t_down = float(re.match(r"\[([0-9.]+)\]", line).group(1))
    took = t_down - t_kill
    bound = (k * interval + timeout) / 1000.0
    earliest = ((k - 1) * interval + timeout) / 1000.0
    check(rc == 1, "exit %d after server down" % rc)
    # scheduling slack: sanitizer builds on a loaded 2-vCPU machine
    check(earliest - 0.005 <= took <= bound + 0.05,
          "%s: down %.3f s after the kill, allowed %.3f..%.3f" % (host, took, earliest, bound))
    check("no reply to %d consecutive heartbeats" % k in line, line)
    check("packets transmitted" in out, "summary printed after down")
    return took


def test_kill_detected_within_bound():
    for host, flag in FAMILIES:
        kill_detected(host, flag, 100, 150, 3)


def test_keep_going_outage_and_recovery():
    host = "127.0.0.1"
    srv, port = server("--loss", "0", host=host)
    cli = client("--keep-going", "-i", "20ms", "-W", "40ms", "-c", "150", "-p", str(port), host)
    srv2 = None
    try:
        for _ in range(5):
            cli.wait_for(r"bytes from", 5)
        srv.finish(signal.SIGKILL)
        cli.wait_for(r"^server down", 5)
        srv2, port2 = server("--loss", "0", host=host, port=port)
        check(port2 == port, "restarted on the same port")
        cli.wait_for(r"^server up", 5)
        rc, out, err = cli.finish()
    finally:
        srv.finish(signal.SIGKILL)
        if srv2 is not None:
            srv2.finish(signal.SIGTERM)
        cli.kill()
    check(rc == 0, "ended up: exit %d: %s" % (rc, err))
    check(re.search(r"detector kmiss \(K=3\) \[acting\]: 1 down, 1 up, ended up", out), out[-800:])
    m = re.search(r"outage 1: down \S+ \(([0-9.]+) s after the last reply\), up \S+, ([0-9.]+) s", out)
    check(m, "outage listed: %r" % out[-800:])
    check(0.06 <= float(m.group(1)) <= 0.2, "detected %s s after the last reply" % m.group(1))
    check(float(m.group(2)) > float(m.group(1)), "outage lasted beyond its detection")


def test_server_events():
    for host, flag in FAMILIES:
        srv, port = server("--loss", "0", "--dead-after", "300ms", "--json-stream", host=host)
        s = udp(host)
        try:
            for seq in range(5):
                beat(s, host, port, seq)
                check(s.recvfrom(100)[0].startswith(b"%d " % seq), "reply")
            t_last = time.monotonic()
            srv.wait_for(r'"event":"client_stopped"', 3)
            silent = time.monotonic() - t_last
            check(0.29 <= silent <= 1.0, "stopped after %.3f s (dead-after 300ms)" % silent)
            beat(s, host, port, 7)                    # same run: resumed
            s.recvfrom(100)
            line, _ = srv.wait_for(r'"event":"client_resumed"', 3)
            ev = json.loads(line)["data"]
            check(ev["previous_seq"] == 4 and ev["last_seq"] == 7 and ev["lost"] == 2, line)
            beat(s, host, port, 0)                    # a new run, same address
            s.recvfrom(100)
            line, _ = srv.wait_for(r'"event":"client_restarted"', 3)
            check(json.loads(line)["data"]["restarts"] == 1, line)
        finally:
            s.close()
            rc, out, err = srv.finish(signal.SIGTERM)
        fin, lines = final_json(out)
        seen = [x for x in lines if x.get("event") == "client_seen"]
        check(len(seen) == 1 and seen[0]["last_seq"] == 0, "one seen event")
        check(fin["clients_seen"] == 1 and fin["stopped_events"] == 1 and
              fin["resumed_events"] == 1 and fin["restarted_events"] == 1, "%r" % fin)


def test_server_text_events_and_report():
    srv, port = server("--loss", "0", "--dead-after", "200ms", "--report", "100ms")
    s = udp("127.0.0.1")
    try:
        beat(s, "127.0.0.1", port, 0)
        s.recvfrom(100)
        line, _ = srv.wait_for(r"client 127\.0\.0\.1:\d+ seen \(seq 0\)", 3)
        srv.wait_for(r"--- report heartbeat clients", 3)
        line, _ = srv.wait_for(r"client 127\.0\.0\.1:\d+ stopped: no heartbeat for 0\.2", 3)
    finally:
        s.close()
        rc, out, err = srv.finish(signal.SIGINT)
    check(rc == 0 and "--- final heartbeat clients" in out, "final table on SIGINT")
    check(re.search(r"127\.0\.0\.1:\d+\s+stopped\s+1\s+0", out), out)


def test_garbage_changes_only_a_counter():
    host = "127.0.0.1"
    srv, port = server("--loss", "0", "--json-stream", host=host)
    s = udp(host)
    garbage = [b"", b"hello", b"1", b"1 2 3", b"-1 5.0", b"1 nan", b"x" * 2000,
               b"1 1e999", b"99999999999999999999999 1.0", b"1 2.0garbage", b"\x00\xff"]
    try:
        beat(s, host, port, 0)
        s.recvfrom(100)
        for g in garbage:
            s.sendto(g, (host, port))
        beat(s, host, port, 1)
        check(s.recvfrom(100)[0].startswith(b"1 "), "the next valid heartbeat answered")
        s.settimeout(0.2)
        try:
            extra = s.recvfrom(100)
            check(False, "garbage answered: %r" % (extra,))
        except socket.timeout:
            pass
        g2 = udp(host)                      # garbage from a new source
        g2.sendto(b"not a heartbeat", (host, port))
        g2.close()
        time.sleep(0.05)  # let it be read before the stop (no reply to wait for)
    finally:
        s.close()
        rc, out, err = srv.finish(signal.SIGTERM)
    fin, _ = final_json(out)
    check(fin["malformed"] == len(garbage) + 1, "malformed %d" % fin["malformed"])
    kinds = fin["malformed_by_kind"]
    check(kinds["empty"] == 1 and kinds["oversized"] == 1 and kinds["out of range"] == 2 and
          sum(kinds.values()) == fin["malformed"], "by kind: %r" % kinds)
    check(fin["accepted"] == 2 and fin["replies"] == 2, "%r" % fin)
    check(fin["clients"] and len(fin["clients"]) == 1, "garbage made no client")
    c = fin["clients"][0]
    check(c["received"] == 2 and c["lost"] == 0 and c["duplicates"] == 0, "%r" % c)


def test_bounded_table_and_rate_limit():
    host = "127.0.0.1"
    srv, port = server("--loss", "0", "--max-clients", "2", "--rate-limit", "10", "--json-stream", host=host)
    socks = [udp(host) for _ in range(3)]
    try:
        for i, s in enumerate(socks):
            beat(s, host, port, 0)
            s.recvfrom(100)
        answered = 0
        s = socks[0]
        for seq in range(1, 60):
            beat(s, host, port, seq)
        s.settimeout(0.2)
        try:
            while True:
                s.recvfrom(100)
                answered += 1
        except socket.timeout:
            pass
    finally:
        for s in socks:
            s.close()
        rc, out, err = srv.finish(signal.SIGTERM)
    fin, lines = final_json(out)
    check(fin["evicted"] == 2 and fin["client_count"] == 2 and len(fin["clients"]) == 2,
          "bounded: %r" % fin)
    check(any(x.get("event") == "client_evicted" for x in lines), "eviction event")
    check(fin["rate_limited"] >= 40 and answered <= 15, "rate limit: %d answered, %r"
          % (answered, fin))


def usage_error(err, role):
    """One line naming the program and role, then the Try line (pk_cli)."""
    return re.fullmatch(r"heartbeat %s: [^\n]+\nTry 'heartbeat %s --help' for more information\.\n"
                        % (role, role), err) is not None


def test_never_answered_and_usage():
    # a port nobody listens on: ICMP refusals, never a reply: exit 1
    s = udp("127.0.0.1")
    port = s.getsockname()[1]
    s.close()
    r, doc = run_json([HB, "client", "-J", "-c", "4", "-i", "10ms", "-W", "30ms",
                       "-p", str(port), "127.0.0.1"])
    check(r.returncode == 1, "never answered: exit %d" % r.returncode)
    check(doc["summary"]["received"] == 0 and doc["summary"]["rtt_ms"]["min"] is None, "nulls")
    check(doc["summary"]["false_alarm"]["per_hour"] is None, "no estimate without replies")
    for args, msg in ((["client", "-i", "x", "h"], "heartbeat client: interval 'x': invalid"),
                      (["client", "-c", "-1", "h"], "heartbeat client: count '-1': invalid"),
                      (["client", "--misses", "0", "h"], "heartbeat client: misses '0': too small"),
                      (["client", "--detector", "foo", "h"], "heartbeat client: detector 'foo'"),
                      (["server", "--loss", "1.5"], "heartbeat server: loss '1.5': too large"),
                      (["client"], "missing HOST"), (["bogus"], "unknown role")):
        r = run([HB] + args)
        check(r.returncode == 2 and msg in r.stderr, "%r: %d %r" % (args, r.returncode, r.stderr))
    for args in (["-h"], ["server", "-h"], ["client", "--help"], ["-V"]):
        r = run([HB] + args)
        check(r.returncode == 0 and r.stdout, "%r" % args)
    for args in (["-V"], ["--version"], ["server", "-V"], ["client", "--version"]):
        r = run([HB] + args)
        check(r.returncode == 0 and re.match(r"heartbeat \(probekit\) \S+( \(git [0-9a-f]+\))?\n$", r.stdout),
              "version %r: %r" % (args, r.stdout))
    r = run([HB, "client", "-c", "1", "no.such.host.invalid"])
    check(r.returncode == 2, "unknown host: exit %d" % r.returncode)


def test_analyze():
    """heartbeat analyze P,K,N sends nothing and prints the unit-tested
    figures; the heartbeat assignment's own parameters first."""
    known = {"0.3,3,10": (0.15511554, 0.1593), "0.3,3,100": (0.8639479206635807, 1.8603),
             "0.3,3,1000": (1 - 1.5950847309653682e-09, 18.8703)}
    for arg, (any_, expected) in known.items():
        r, doc = run_json([HB, "analyze", "-J", arg])
        fa = doc["summary"]["false_alarm"]
        check(r.returncode == 0 and close(fa["at_least_one"], any_, 1e-12) and
              close(fa["expected_downs"], expected, 1e-12) and
              close(fa["per_heartbeat"], 0.0189, 1e-12) and
              close(fa["mean_heartbeats_to_first"], 1 / 0.3 + 1 / 0.09 + 1 / 0.027, 1e-12),
              "%s: %r" % (arg, fa))
        check(fa["misses_for_less_than_one_per_day"] == 10, "K for a day at 1 s: %r" % fa)
        t = run([HB, "analyze", arg])
        check(t.returncode == 0 and "expected false downs: %.6g\n" % expected in t.stdout and
              "per heartbeat: 1.89% = (1-p) p^3" in t.stdout, t.stdout)
    check("none: 1.59508e-09" in t.stdout and "mean heartbeats to the first: 51.4815" in
          t.stdout, t.stdout)
    # a timeout spanning two more heartbeats: K + 2 losses, the end apart
    for arg, extra in (("5%,2,500", 2), ("0.5,1,40", 2), ("0.2,4,3", 2)):
        r, doc = run_json([HB, "analyze", "-J", "-i", "100ms", "-W", "300ms", arg])
        fa = doc["summary"]["false_alarm"]
        p, k, n = float(arg.split(",")[0].rstrip("%")), int(arg.split(",")[1]), \
            int(arg.split(",")[2])
        p = p / 100 if arg.split(",")[0].endswith("%") else p
        any_, none, expected = run_figures(p, k, extra, n)
        check(r.returncode == 0 and fa["extra_misses"] == extra and
              close(fa["at_least_one"], any_) and close(fa["none"], none) and
              close(fa["expected_downs"], expected) and
              close(fa["per_heartbeat"], (1 - p) * p ** (k + extra)) and
              close(fa["per_hour"], fa["per_heartbeat"] * 36000),
              "%s: %r, want %r" % (arg, fa, (any_, none, expected)))
    # the budget: the smallest K below it, its neighbour not
    r, doc = run_json([HB, "analyze", "-J", "--budget", "0.1%", "0.2,3,1000"])
    fa = doc["summary"]["false_alarm"]
    kb = fa["misses_for_at_least_one_below_budget"]
    check(fa["budget"] == 0.001 and run_figures(0.2, kb, 0, 1000)[0] < 0.001 <=
          run_figures(0.2, kb - 1, 0, 1000)[0], "budget 0.1%%: K=%r" % kb)
    # bad input: one line on stderr, nothing on stdout, exit 2
    for arg in ("1,3,10", "1.5,3,10", "-0.1,3,10", "0.3,0,10", "0.3,3,0", "abc", "0.3,3",
                "0.3,3,10,4", "0.3,,10", ",3,10", "0.3,3,10,", "0.3,x,10", "0.3,3,1e3",
                "0.3,1001,10", "0.3,3,100000001", ""):
        r = run([HB, "analyze", "--", arg])
        check(r.returncode == 2 and r.stdout == "" and usage_error(r.stderr, "analyze"),
              "analyze %r: %d %r %r" % (arg, r.returncode,
                                                                 r.stdout, r.stderr))
    for args in (["analyze"], ["analyze", "0.3,3,10", "x"], ["analyze", "--budget", "0", "0.3,3,9"],
                 ["analyze", "-i", "0", "0.3,3,9"]):
        r = run([HB] + args)
        check(r.returncode == 2 and usage_error(r.stderr, "analyze"), "%r: %r" % (args, r.stderr))


def test_phi_detector_acts_and_csv():
    host = "::1"
    srv, port = server("--loss", "0", host=host)
    cli = client("--detector", "phi", "-i", "20ms", "-W", "200ms", "-c", "1000",
                 "-p", str(port), host)
    try:
        for _ in range(20):
            cli.wait_for(r"bytes from", 5)
        srv.p.kill()
        line, _ = cli.wait_for(r"^server down: phi", 5)
        rc, out, err = cli.finish()
    finally:
        srv.finish(signal.SIGKILL)
        cli.kill()
    check(rc == 1, "phi acting: exit %d" % rc)
    # phi with regular 20 ms replies: mean 20 ms, sd floor 5 ms -> ~46 ms of silence
    m = re.search(r"last reply \S+ \(([0-9.]+) s ago\)", line)
    check(m and 0.04 <= float(m.group(1)) <= 0.1, line)
    check("detector phi (threshold 8) [acting]: 1 down" in out, out[-600:])
    # CSV: one row per heartbeat, summary on stderr
    srv, port = server("--loss", "0.5", "--seed", "3", host=host)
    try:
        r = run([HB, "client", "--csv", "--keep-going", "-c", "20", "-i", "5ms", "-W", "50ms",
                 "-p", str(port), host])
    finally:
        srv.finish(signal.SIGTERM)
    rows = r.stdout.strip().splitlines()
    check(rows[0] == "seq,time,status,rtt_ms,diff_ms" and len(rows) == 21, r.stdout)
    check(all(re.match(r"\d+,\d{4}-\d\d-\d\dT[0-9:.]+Z,(ok,[0-9.e-]+,-?[0-9.e-]+|(lost|late),,)$", x)
              for x in rows[1:]), r.stdout)
    check("packets transmitted" in r.stderr and "false alarms at" in r.stderr, r.stderr)


# ---- issue 12: the shared command-line and output contract (docs/OUTPUT.md) ----

def recv_ttl_tos(sock, family):
    """One datagram with its TTL / hop limit and ToS / traffic class as the
    kernel saw them: (data, (addr...), ttl, tos)."""
    data, anc, _, addr = sock.recvmsg(200, socket.CMSG_SPACE(4) * 4)
    ttl = tos = None
    for level, typ, val in anc:
        v = int.from_bytes(val[:4] if len(val) >= 4 else val[:1], sys.byteorder)
        if family == socket.AF_INET and level == socket.IPPROTO_IP:
            if typ == socket.IP_TTL:
                ttl = v
            elif typ == socket.IP_TOS:
                tos = val[0]
        elif family == socket.AF_INET6 and level == socket.IPPROTO_IPV6:
            if typ == socket.IPV6_HOPLIMIT:
                ttl = v
            elif typ == IPV6_TCLASS:
                tos = v
    return data, addr, ttl, tos


IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)      # Linux values where Python lacks them
IP_RECVTOS = getattr(socket, "IP_RECVTOS", 13)
IPV6_RECVTCLASS = getattr(socket, "IPV6_RECVTCLASS", 66)


def rx_socket(host):
    """A UDP socket on host, port 0, that is told each datagram's TTL and ToS."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
    s.bind((host, 0))
    s.settimeout(5)
    return s, fam


def test_ttl_tos_and_source():
    """-t/-Q on the client's heartbeats and the server's replies, seen by a
    Python receiver; the defaults differ (the test can fail); -I as source."""
    for host, flag in FAMILIES:
        for extra, want_ttl, want_tos in (([], None, 0), (["-t", "7", "-Q", "ef"], 7, 0xb8),
                                          (["-t", "200", "-Q", "0x28"], 200, 0x28)):
            rx, fam = rx_socket(host)
            port = rx.getsockname()[1]
            r = run([HB, "client", flag, "-c", "1", "-W", "20ms", "-q", "-p", str(port)] +
                    extra + [host], timeout=30)
            data, addr, ttl, tos = recv_ttl_tos(rx, fam)
            rx.close()
            check(re.match(rb"0 \d+\.\d{9}$", data), "a heartbeat: %r" % data)
            check(r.returncode == 1, "no reply: exit %d" % r.returncode)
            if want_ttl is None:
                check(ttl not in (None, 7, 200) and tos == 0, "default %r %r" % (ttl, tos))
            else:
                check(ttl == want_ttl and tos == want_tos,
                      "%s %r: ttl %r tos %r" % (host, extra, ttl, tos))
        # the server's replies
        srv, port = server("--loss", "0", "-t", "9", "-Q", "af41", host=host)
        try:
            s, fam = rx_socket(host)
            beat(s, host, port, 0)
            data, addr, ttl, tos = recv_ttl_tos(s, fam)
            s.close()
        finally:
            srv.finish(signal.SIGTERM)
        check(data.startswith(b"0 ") and ttl == 9 and tos == 34 << 2,
              "server reply %r: ttl %r tos %r" % (data, ttl, tos))
    # -I: the source address (127.0.0.2 is ours on lo, and not the default)
    rx, fam = rx_socket("127.0.0.1")
    port = rx.getsockname()[1]
    for src in ("127.0.0.1", "127.0.0.2"):
        r = run([HB, "client", "-c", "1", "-W", "20ms", "-q", "-I", src, "-p", str(port),
                 "127.0.0.1"])
        data, addr, ttl, tos = recv_ttl_tos(rx, fam)
        check(addr[0] == src, "-I %s: from %r" % (src, addr))
    rx.close()
    # a bad interface, a foreign address, a family mismatch: one line, exit 2
    for arg, why in (("nosuchif0", "no such interface"),
                     ("192.0.2.1", "not an address of this host"),
                     ("::1", "source address is IPv6")):
        r = run([HB, "client", "-4", "-c", "1", "-I", arg, "127.0.0.1"])
        check(r.returncode == 2 and r.stdout == "" and
              re.fullmatch(r"heartbeat: -I %s: [^\n]*\n" % re.escape(arg), r.stderr) and
              why in r.stderr, "-I %s: %d %r" % (arg, r.returncode, r.stderr))
    for args in (["client", "-t", "0", "h"], ["client", "-Q", "xx", "h"],
                 ["server", "-t", "256"], ["client", "-I", "a/b", "h"]):
        r = run([HB] + args)
        check(r.returncode == 2 and usage_error(r.stderr, args[0]), "%r: %r" % (args, r.stderr))


def test_verbose_ttl_and_reply_line():
    srv, port = server("--loss", "0", "-t", "33")
    try:
        r = run([HB, "client", "-v", "-D", "-c", "3", "-i", "10ms", "-p", str(port),
                 "127.0.0.1"])
        r2 = run([HB, "client", "-c", "1", "-p", str(port), "127.0.0.1"])
    finally:
        srv.finish(signal.SIGTERM)
    lines = [x for x in r.stdout.splitlines() if "bytes from" in x]
    check(r.returncode == 0 and len(lines) == 3, r.stdout)
    check(all(re.fullmatch(r"\[\d+\.\d{6}\] \d+ bytes from 127\.0\.0\.1: seq=\d ttl=33 "
                           r"time=[0-9.]+ ms diff=-?[0-9.]+ ms", x) for x in lines), lines)
    check(re.search(r"^\d+ bytes from 127\.0\.0\.1: seq=0 time=[0-9.]+ ms diff=", r2.stdout,
                    re.M) and "ttl=" not in r2.stdout, r2.stdout)


def test_json_documents_and_streams():
    """-J documents of client, server and analyze against the schema; the
    --json-stream of client and server; banners on stderr."""
    host = "127.0.0.1"
    srv, port = server("--loss", "0.3", "--seed", "5", "--json-stream", "--report", "50ms",
                       host=host)
    try:
        r, doc = run_json([HB, "client", "-J", "--keep-going", "-c", "30", "-i", "5ms",
                           "-W", "20ms", "-p", str(port), host])
        st = run([HB, "client", "--json-stream", "--keep-going", "-c", "30", "-i", "5ms",
                  "-W", "20ms", "-p", str(port), host])
        time.sleep(0.1)          # a periodic table with both clients
    finally:
        rc, out, err = srv.finish(signal.SIGTERM)
    check(not schema_check.check_doc(doc), schema_check.check_doc(doc)[:5])
    check(doc["role"] == "client" and doc["target"]["port"] == port and
          len(doc["samples"]) == 30 and doc["samples"][0]["seq"] == 0, "client doc")
    check(all(x["rtt_ms"] is None and x["diff_ms"] is None for x in doc["samples"]
              if x["status"] == "lost"), "null numbers of lost heartbeats")
    check("HEARTBEAT" in r.stderr and "HEARTBEAT" not in r.stdout, "banner on stderr")
    errs = schema_check.check_stream(st.stdout)
    check(not errs, errs[:5])
    recs = [json.loads(x) for x in st.stdout.splitlines()]
    samples = [x["data"] for x in recs if x["event"] == "sample"]
    check([x["seq"] for x in samples] == list(range(30)), "a sample per heartbeat, in order")
    end = recs[-1]["data"]
    check(end["summary"]["transmitted"] == 30 and end["samples"] == samples,
          "the end record is the -J document")
    check("HEARTBEAT" in st.stderr, "banner on stderr under --json-stream")
    fin, lines = final_json(out)         # checks the server's stream
    names = [x["event"] for x in lines]
    check(names[:2] == ["start", "listening"] and "table" in names and
          names.count("client_seen") == 2, names)
    check(fin["accepted"] + fin["sim_dropped"] == 60 and fin["seed"] == "5", "%r" % fin)
    # server_down / server_up events in stream and document
    srv, port = server("--loss", "0", host=host)
    cli = client("--json-stream", "--keep-going", "-i", "10ms", "-W", "20ms", "-c", "100",
                 "-p", str(port), host)
    try:
        cli.wait_for(r'"event":"sample"', 5)
        srv.finish(signal.SIGKILL)
        cli.wait_for(r'"event":"server_down"', 5)
        srv, port2 = server("--loss", "0", host=host, port=port)
        cli.wait_for(r'"event":"server_up"', 5)
        crc, cout, cerr = cli.finish()
    finally:
        srv.finish(signal.SIGTERM)
        cli.kill()
    errs = schema_check.check_stream(cout)
    check(crc == 0 and not errs, "%d %r" % (crc, errs[:5]))
    end = json.loads(cout.strip().splitlines()[-1])["data"]
    check([e["event"] for e in end["events"]] == ["server_down", "server_up"], end["events"])
    # the server's -J document: one at stop, the banner on stderr
    pr = subprocess.Popen([HB, "server", "-p", "0", "-b", host, "--loss", "0", "-J"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = pr.stderr.readline()
        m = re.search(r"listening on [^\s:]+:(\d+)", line)
        check(m, "banner on stderr: %r" % line)
        s = udp(host)
        for seq in range(3):
            beat(s, host, int(m.group(1)), seq)
            s.recvfrom(100)
        s.close()
    finally:
        pr.send_signal(signal.SIGTERM)
        out, err = pr.communicate(timeout=20)
    sdoc = json.loads(out)
    check(pr.returncode == 0 and not schema_check.check_doc(sdoc),
          "%r" % schema_check.check_doc(sdoc)[:5])
    check(sdoc["role"] == "server" and sdoc["summary"]["accepted"] == 3 and
          [e["event"] for e in sdoc["events"]] == ["client_seen"] and
          sdoc["summary"]["clients"][0]["received"] == 3, "server doc %r" % sdoc)
    # analyze
    r, adoc = run_json([HB, "analyze", "-J", "0.3,3,10"])
    check(not schema_check.check_doc(adoc) and adoc["role"] == "analyze" and
          "target" not in adoc, "%r" % schema_check.check_doc(adoc))
    # -J with --csv, --json-stream with --csv: the common message
    for args in (["client", "-J", "--csv", "h"], ["client", "--csv", "--json-stream", "h"]):
        r = run([HB] + args)
        check(r.returncode == 2 and usage_error(r.stderr, "client") and
              "-J and --csv cannot be used together" in r.stderr, r.stderr)


def test_closed_pipe_and_sigquit():
    """`client -c 0 -i 10ms | head -1`: one line, the client dies of SIGPIPE;
    SIGQUIT: the interim line (client) or the table (server) on stderr, and
    the run goes on."""
    srv, port = server("--loss", "0", "--dead-after", "10s")
    try:
        for args in ([], ["-D"], ["--json-stream"], ["--csv"]):
            c = subprocess.Popen([HB, "client", "-c", "0", "-i", "10ms", "-p", str(port)] +
                                 args + ["127.0.0.1"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            h = subprocess.Popen(["head", "-1"], stdin=c.stdout, stdout=subprocess.PIPE)
            c.stdout.close()
            out = h.communicate(timeout=20)[0]
            try:
                rc = c.wait(20)
            except subprocess.TimeoutExpired:
                c.kill()
                c.wait()
                rc = None
            check(rc == -signal.SIGPIPE and out.count(b"\n") == 1,
                  "%r: exit %r (141 in the shell), %r" % (args, rc, out))
        cli = client("-i", "10ms", "-c", "0", "-p", str(port), "127.0.0.1")
        for _ in range(5):
            cli.wait_for(r"bytes from", 5)
        cli.p.send_signal(signal.SIGQUIT)
        srv.p.send_signal(signal.SIGQUIT)
        cli.wait_for(r"bytes from", 5)              # it goes on
        srv_line = None
        crc, cout, cerr = cli.finish(signal.SIGINT)
    finally:
        srv_rc, sout, serr = srv.finish(signal.SIGTERM)
    m = re.search(r"^--- interim: (\d+) sent, (\d+) received, [0-9.]+% loss, rtt "
                  r"min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms$", cerr, re.M)
    check(m and int(m.group(1)) >= 5, "interim line on stderr: %r" % cerr)
    check(crc == 0 and "--- interim" not in cout and "packets transmitted" in cout,
          "summary after SIGINT, exit %d" % crc)
    check(srv_rc == 0 and re.search(r"--- report heartbeat clients at \S+: \d+ \(\d+ active\) ---",
                                    serr), "server table on stderr: %r" % serr[-500:])
    check("--- report" not in sout and srv_line is None, "nothing more on stdout")


def test_help_version_every_level():
    for role in ("client", "server", "analyze"):
        for a in ("-h", "--help"):
            r = run([HB, role, a])
            check(r.returncode == 0 and r.stdout.startswith("usage: heartbeat " + role) and
                  "-V, --version" in r.stdout and r.stderr == "", "%s %s" % (role, a))
        r = run([HB, role, "-V"])
        check(r.returncode == 0 and re.match(r"heartbeat \(probekit\) \S+", r.stdout), role)
        for bad, msg in (("-x", "unknown option '-x'"), ("--frob", "unknown option '--frob'"),
                         ("-p", "option '-p' needs a value") if role == "server" else
                         ("-i", "option '-i' needs a value"),
                         ("--json=1", "option '--json' takes no value")):
            r = run([HB, role, bad])
            check(r.returncode == 2 and r.stdout == "" and usage_error(r.stderr, role) and
                  msg in r.stderr, "%s %s: %r" % (role, bad, r.stderr))


if __name__ == "__main__":
    HB = prog("heartbeat")
    main([test_loss_near_p, test_kill_detected_within_bound,
          test_keep_going_outage_and_recovery, test_server_events,
          test_server_text_events_and_report, test_garbage_changes_only_a_counter,
          test_bounded_table_and_rate_limit, test_never_answered_and_usage,
          test_phi_detector_acts_and_csv, test_analyze, test_ttl_tos_and_source,
          test_verbose_ttl_and_reply_line, test_json_documents_and_streams,
          test_closed_pipe_and_sigquit, test_help_version_every_level])
