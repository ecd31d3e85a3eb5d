#!/usr/bin/env python3
"""vxlan-agent on the loopback interface (no root needed): several agents on
one host keep distinct addresses (127.0.0.2, .3, the seed's at 127.0.0.1)
through OWN_ADDR. All multicast stays on lo (-I lo, TTL 1). The reports are
read from --json-stream records (docs/OUTPUT.md)."""
import json
import select
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
import schema_check  # noqa: E402
from pkutil import Fail, check  # noqa: E402

GROUP = "239.255.255.250"
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def agent_bin():
    p = os.path.join(pkutil.build_dir(), "agent", "vxlan-agent")
    check(os.access(p, os.X_OK), "vxlan-agent not built under %s" % pkutil.build_dir())
    return p


def free_port():
    """A UDP port nobody uses now (the agents must share one group port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read_err_line(proc, timeout):
    """One line of proc's stderr within timeout seconds (byte by byte: what
    follows stays in the pipe for communicate()), or None."""
    fd = proc.stderr.fileno()
    buf = b""
    end = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        b = os.read(fd, 1)
        if not b:
            return None
        buf += b
    return buf.decode()


def agent(port, own, *args):
    """An agent on lo, started: its banner (stdout in text; stderr under -J,
    --json-stream and --csv, where stdout holds the machine format only) or
    its stream's start record was read. Returns (proc, None)."""
    argv = [agent_bin(), "-I", "lo", "-p", str(port)] + list(args) + [own]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    if "--json-stream" in args:
        line = pkutil.read_line(proc, 10)
        ok = line is not None and json.loads(line)["event"] == "start"
        if ok:      # handed back with the rest by finish() / pkutil.stop()
            proc._pk_buf = line.encode() + getattr(proc, "_pk_buf", b"")
    elif "-J" in args or "--csv" in args:
        line = read_err_line(proc, 10)
        ok = line is not None and "listening on" in line
    else:
        line = pkutil.read_line(proc, 10)
        ok = line is not None and "listening on" in line
    if not ok:
        pkutil.stop(proc)
        raise Fail("agent %r did not start: %r" % (argv, line))
    return proc, None


def records(out):
    """The --json-stream records of an agent's stdout (every line one)."""
    return [json.loads(l) for l in out.splitlines()]


def reports(out):
    """The reports of a --json-stream run (the data of its 'report' records)."""
    return [r["data"] for r in records(out) if r["event"] == "report"]


def finish(proc, timeout=20):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pkutil.stop(proc)
        raise Fail("agent did not stop after its reports")
    early = getattr(proc, "_pk_buf", b"").decode(errors="replace")
    return proc.returncode, early + out, err


def member(port):
    """A socket in the group on lo: it hears the agents' probes."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    idx = socket.if_nametoindex("lo")
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 struct.pack("4s4si", socket.inet_aton(GROUP), bytes(4), idx))
    s.settimeout(3)
    return s


TRY = "Try 'vxlan-agent --help' for more information.\n"


def usage_error(args, msg):
    """A command-line error: one line naming the program, the Try line,
    nothing on stdout, exit 2."""
    r = pkutil.run([agent_bin()] + args)
    check(r.returncode == 2 and r.stdout == "" and r.stderr == "vxlan-agent: %s\n%s" % (msg, TRY),
          "%s: exit %d, %r / %r" % (args, r.returncode, r.stdout, r.stderr))


def test_usage():
    usage_error(["-i", "x"], "interval 'x': invalid")
    usage_error(["-x"], "unknown option '-x'")
    usage_error(["--frob"], "unknown option '--frob'")
    usage_error(["-p"], "option '-p' needs a value")
    usage_error(["--quiet=1"], "option '--quiet' takes no value")
    # "too large" is pk_sockopt's word; pk_cli_sockopt reads it before the
    # parse sets it (argument evaluation order) and says "invalid" today
    r = pkutil.run([agent_bin(), "-t", "300"])
    check(r.returncode == 2 and re.fullmatch(r"vxlan-agent: TTL '300': (too large|invalid)\n" +
                                             re.escape(TRY), r.stderr), r.stderr)
    usage_error(["-J", "--csv"], "-J and --csv cannot be used together")
    usage_error(["--json-stream", "--csv"], "-J and --csv cannot be used together")
    r = pkutil.run([agent_bin(), "-Q", "bogus"])
    check(r.returncode == 2 and r.stderr.startswith("vxlan-agent: ToS 'bogus': ") and
          r.stderr.endswith(TRY) and r.stderr.count("\n") == 2, r.stderr)
    r = pkutil.run([agent_bin(), "--port", "0"])
    check(r.returncode == 2, "port 0 accepted")
    r = pkutil.run([agent_bin(), "a", "b"])
    check(r.returncode == 2, "two addresses accepted")
    usage_error(["--peer", ""], "peer '': no address")
    usage_error(["--peer", "10.0.0.1:0"], "peer '10.0.0.1:0': port 0")
    usage_error(["--peer", "10.0.0.1:x"], "peer '10.0.0.1:x': port 'x': invalid")
    usage_error(["--peer", "[::1"], "peer '[::1': expected [ADDR] or [ADDR]:PORT")
    usage_error(["--peer", "10.0.0.1", "--peer", "10.0.0.1:1910"], "peer '10.0.0.1:1910' given twice")
    usage_error(["-6", "--peer", "10.0.0.1"], "peer '10.0.0.1': not an IPv6 address, as the agent's")
    usage_error(["--peer", "::1", "10.0.0.1"], "peer '::1': not an IPv4 address, as the agent's")
    r = pkutil.run([agent_bin(), "--peer", "no-such-host.invalid"])
    check(r.returncode == 2 and r.stderr.startswith("vxlan-agent: peer 'no-such-host.invalid': ") and
          r.stderr.endswith(TRY) and r.stderr.count("\n") == 2, r.stderr)
    r = pkutil.run([agent_bin()] + ["--peer=10.0.%d.%d" % (i // 250, i % 250 + 1) for i in range(257)])
    check(r.returncode == 2 and r.stderr == "vxlan-agent: --peer: at most 256 peers\n" + TRY, r.stderr)
    r = pkutil.run([agent_bin(), "--help"])
    check(r.returncode == 0 and "usage: vxlan-agent" in r.stdout and "--metrics-port" in r.stdout, r.stdout)
    for o in ("-I, --interface", "-t, --ttl", "-Q, --tos", "-D, --timestamps", "--json-stream",
              "--csv", "-h, --help", "-V, --version"):
        check(o in r.stdout, "%s not in --help" % o)
    for args in (["-V"], ["--version"]):
        r = pkutil.run([agent_bin()] + args)
        check(r.returncode == 0 and re.fullmatch(r"vxlan-agent \(probekit\) \S+( \(git [0-9a-f]+\))?\n", r.stdout),
              r.stdout)


def test_two_agents_measure_each_other():
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "50ms", "-W", "300ms", "-r", "1s", "-c", "3")
    b, _ = agent(port, "127.0.0.3", "--json-stream", "-i", "50ms", "-W", "300ms", "-r", "1s", "-c", "3")
    for proc, me, other in ((a, "127.0.0.2", "127.0.0.3"), (b, "127.0.0.3", "127.0.0.2")):
        rc, out, err = finish(proc)
        docs = reports(out)
        check(rc == 0, "%s: exit %d %s" % (me, rc, err))
        check(len(docs) == 3, "%s: %d reports" % (me, len(docs)))
        last = docs[-1]
        check([p["peer"] for p in last["peers"]] == [other], "%s: peers %s" % (me, last["peers"]))
        p = last["peers"][0]
        check(p["answered"] >= 15 and p["lost"] == 0, "%s: %s" % (me, p))
        # no absolute bound on a time: one late wake-up of this machine can
        # make any sample milliseconds long (an idle run saw a 9.6 ms one-way
        # sample on loopback); the figures must agree with each other
        check(last["avg_latency_ms"] is not None and 0 < last["avg_latency_ms"], last)
        check(last["lost"] == 0 and last["sent"] >= 18, last)
        check(p["latency_ms"]["min"] <= p["latency_ms"]["avg"] <= p["latency_ms"]["max"], p)
        check(last["totals"]["own_replies"] == 0, "own echo not suppressed: %s" % last["totals"])
        check(set(last) >= {"time", "interval_s", "avg_latency_ms", "lost", "peers"}, last)
        # the peer's direction toward us, from its stamped probes (one clock)
        f = p["from_peer"]
        ow = f["oneway_ms"]
        check(f["samples"] >= 15 and f["lost"] == 0 and f["implausible"] == 0, "%s: %s" % (me, f))
        check(0 <= ow["min"] <= ow["avg"] <= ow["max"], "%s: one-way %s" % (me, ow))
        # one way is part of the round trip: its median is below the
        # largest round trip of the same run (latency_ms is RTT/2)
        check(ow["p50"] <= 2 * p["latency_ms"]["max"],
              "%s: one-way median %s above the largest RTT %s" % (me, ow, p["latency_ms"]))
        t = last["totals"]
        check(t["tx_clock_fallbacks"] == 0 and t["tx_kernel_stamps"] == t["sent"] and
              t["rx_clock_fallbacks"] == 0, "%s: times not from the kernel: %s" % (me, t))


def test_stamped_and_seq_probes():
    """On the wire: a stamped probe is 19 digits, '1', the sender's wall
    clock in us modulo 10^11, its sequence modulo 10^7; --seq-probes sends
    1, 2, 3 as the seed, and its peer then has no one-way figures for it."""
    port = free_port()
    m = member(port)
    a, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "50ms", "-r", "1s", "-c", "2")
    b, _ = agent(port, "127.0.0.3", "--json-stream", "-i", "50ms", "-r", "1s", "-c", "2", "--seq-probes")
    seen = {}
    try:
        end = time.monotonic() + 3
        while time.monotonic() < end and len(seen) < 2:
            data, src = m.recvfrom(64)
            now_us = time.time_ns() // 1000
            seen.setdefault(src[0], (data, now_us))
    finally:
        m.close()
    check(set(seen) == {"127.0.0.2", "127.0.0.3"}, "probes heard from %s" % list(seen))
    data, now_us = seen["127.0.0.2"]
    check(len(data) == 19 and data.isdigit() and data[:1] == b"1", "stamped probe %r" % data)
    age_us = (now_us % 10**11 - int(data[1:12])) % 10**11
    check(age_us < 1000000, "stamp %r is %d us from the receive time" % (data, age_us))
    data, _ = seen["127.0.0.3"]
    check(data.isdigit() and int(data) < 100, "--seq-probes sent %r" % data)
    for proc, other, stamped in ((a, "127.0.0.3", False), (b, "127.0.0.2", True)):
        rc, out, err = finish(proc)
        p = reports(out)[-1]["peers"][0]
        check(rc == 0 and p["peer"] == other and p["answered"] >= 15, "%s" % p)
        if stamped:
            check(p["from_peer"]["samples"] >= 15, "no one-way figures from stamped probes: %s" % p)
        else:
            check(p["from_peer"]["samples"] == 0 and p["from_peer"]["oneway_ms"]["avg"] is None,
                  "one-way figures from plain probes: %s" % p)


def test_against_seed_agent():
    port = free_port()
    seed = subprocess.Popen([sys.executable, os.path.join(SRC, "test", "peers", "agent_seed.py"),
                             "--iface", "lo", "--port", str(port), "--interval", "0.05",
                             "--report", "1", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        check(pkutil.read_line(seed, 10) is not None, "seed agent did not start")
        ours, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "50ms", "-r", "1s", "-c", "3")
        rc, out, _ = finish(ours)
        last = reports(out)[-1]
        check([p["peer"] for p in last["peers"]] == ["127.0.0.1"], last["peers"])
        check(last["peers"][0]["answered"] >= 15 and last["peers"][0]["probes_heard"] >= 15, last)
    finally:
        _, sout, _ = pkutil.stop(seed)
    lines = [l for l in sout.splitlines() if l.startswith("Average latency")]
    check(len(lines) >= 2, "the seed agent measured nothing: %r" % sout)


def test_only_probes_are_echoed():
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "1s", "-r", "1h")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.9", 0))
    s.settimeout(0.3)
    try:
        for payload in (b"hello", b"123456789012345678901", b"12 ", b"-1", b"", b"\x00" * 8):
            s.sendto(payload, ("127.0.0.1", port))
            try:
                data, _ = s.recvfrom(100)
                raise Fail("%r was echoed as %r" % (payload, data))
            except socket.timeout:
                pass
        for payload in (b"12", b"18446744073709551616", b"00000000000000000001"):
            s.sendto(payload, ("127.0.0.1", port))
            try:
                data, src = s.recvfrom(100)
            except socket.timeout:
                raise Fail("probe %r not echoed" % payload)
            check(data == payload, "probe %r echoed as %r" % (payload, data))
    finally:
        s.close()
    rc, out, _ = pkutil.stop(a)     # SIGTERM: the final report
    tot = reports(out)[-1]["totals"]
    check(tot["bad_probes"] == 6, "bad probes %s" % tot)
    check(tot["echoed"] == 3, "echoed %s" % tot)


def test_unknown_bad_and_duplicate_replies():
    """Replies to the agent's probes from a fake peer at 127.0.0.9: one good,
    one duplicate, one to a probe never sent, one not a number."""
    port = free_port()
    m = member(port)
    a, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "200ms", "-r", "1s", "-c", "2")
    fake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fake.bind(("127.0.0.9", 0))
    try:
        while True:
            data, src = m.recvfrom(100)
            if src[0] == "127.0.0.2":
                break
        fake.sendto(data, src)
        fake.sendto(data, src)
        fake.sendto(b"99999999", src)
        fake.sendto(b"not a number", src)
    finally:
        m.close()
        fake.close()
    rc, out, _ = finish(a)
    docs = reports(out)
    tot = docs[-1]["totals"]
    peers = {p["peer"]: p for d in docs for p in d["peers"]}
    check("127.0.0.9" in peers, "fake peer not found: %s" % docs)
    check(sum(p["duplicates"] for d in docs for p in d["peers"]) == 1, docs)
    check(sum(p["answered"] for d in docs for p in d["peers"]) == 1, docs)
    check(tot["unknown_replies"] == 1 and tot["bad_replies"] == 1, tot)


def test_peer_expiry_and_bound():
    """--max-peers 1: a second peer is counted, not stored; a peer silent for
    --peer-timeout is forgotten (and the other can then take its place)."""
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "100ms", "-r", "400ms", "--max-peers", "1",
                 "--peer-timeout", "600ms")
    fakes = []
    try:
        for host in ("127.0.0.8", "127.0.0.9"):
            f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            f.bind((host, 0))
            f.settimeout(1)
            fakes.append(f)
        # both "peers" probe the agent (unicast to its group port) for 1 s
        end = time.monotonic() + 1.0
        n = 1
        while time.monotonic() < end:
            for f in fakes:
                f.sendto(str(n).encode(), ("127.0.0.1", port))
                f.recvfrom(100)                       # its echo
            n += 1
            time.sleep(0.05)
        # then only 127.0.0.9 goes on; 127.0.0.8 falls silent
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            fakes[1].sendto(str(n).encode(), ("127.0.0.1", port))
            fakes[1].recvfrom(100)
            n += 1
            time.sleep(0.05)
    finally:
        for f in fakes:
            f.close()
    rc, out, _ = pkutil.stop(a)
    docs = reports(out)
    first = [p["peer"] for p in docs[0]["peers"]]
    check(first == ["127.0.0.8"] or first == ["127.0.0.9"], "first report peers %s" % first)
    check(docs[0]["totals"]["untracked"] > 0, "second peer not counted: %s" % docs[0]["totals"])
    check(all(len(d["peers"]) <= 1 for d in docs), "table grew past 1")
    last = docs[-1]
    check([p["peer"] for p in last["peers"]] == ["127.0.0.9"], "last peers %s" % last["peers"])
    if first == ["127.0.0.8"]:
        check(last["totals"]["peers_expired"] >= 1, "silent peer not expired: %s" % last["totals"])


def test_interrupt_prints_summary():
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "-i", "50ms", "-r", "1h")
    time.sleep(0.3)   # let it send a few probes into an empty group
    rc, out, _ = pkutil.stop(a, sig=signal.SIGINT)
    check("final report" in out and "All packets are lost" in out, out)
    check(rc == 1, "exit %d with no peer" % rc)


def test_bad_interface():
    """-I with an interface that does not exist: one line, exit 2; under -J
    the document still comes, with the error (and stdout parses)."""
    port = free_port()
    r = pkutil.run([agent_bin(), "-I", "nosuch0", "-p", str(port), "127.0.0.2"], timeout=10)
    check(r.returncode == 2 and r.stderr == "vxlan-agent: -I nosuch0: no such interface\n" and
          r.stdout == "", "exit %d %r %r" % (r.returncode, r.stdout, r.stderr))
    r = pkutil.run([agent_bin(), "--iface", "nosuch0", "-J", "-p", str(port), "127.0.0.2"],
                   timeout=10)
    check(r.returncode == 2 and r.stderr == "vxlan-agent: -I nosuch0: no such interface\n",
          r.stderr)
    doc = json.loads(r.stdout)
    check(doc["error"] == "-I nosuch0: no such interface", doc)
    errs = schema_check.check_doc(doc)
    check(not errs, errs)
    # an address that is not this host's, as the source of the probes
    r = pkutil.run([agent_bin(), "-I", "192.0.2.1", "-p", str(port), "127.0.0.2"], timeout=10)
    check(r.returncode == 2 and r.stderr == "vxlan-agent: -I 192.0.2.1: not an address of this host\n",
          r.stderr)


def agent_shapes(doc):
    """The agent's own $defs on a -J document: its samples are reports, its
    events peer events (the envelope's check leaves them open)."""
    schema = schema_check.load_schema()
    errs = []
    for i, s in enumerate(doc.get("samples", [])):
        errs += schema_check.validate(s, {"$ref": "#/$defs/vxlan_agent_report"}, schema,
                                      "$.samples[%d]" % i)
    for i, e in enumerate(doc.get("events", [])):
        errs += schema_check.validate(e, {"$ref": "#/$defs/vxlan_agent_peer_event"}, schema,
                                      "$.events[%d]" % i)
    return errs


def test_json_document():
    """-J: nothing on stdout but one document at the end (the banner is on
    stderr: `vxlan-agent -J | jq .` works), samples = the reports (seq 1..N,
    time), events = the peers seen; valid against the schema."""
    port = free_port()
    b, _ = agent(port, "127.0.0.3", "-i", "50ms", "-r", "1h")
    try:
        a, _ = agent(port, "127.0.0.2", "-J", "-i", "50ms", "-r", "500ms", "-c", "3")
        rc, out, err = finish(a)
    finally:
        pkutil.stop(b)
    check(rc == 0, "exit %d %s" % (rc, err))
    doc = json.loads(out)          # the whole stdout is one JSON document
    errs = schema_check.check_doc(doc)
    check(not errs, "schema: %s" % errs)
    errs = agent_shapes(doc)
    check(not errs, "schema: %s" % errs)
    check(doc["tool"] == "vxlan-agent" and "role" not in doc and
          doc["target"] == {"address": GROUP, "port": port}, doc)
    check([s["seq"] for s in doc["samples"]] == [1, 2, 3], [s["seq"] for s in doc["samples"]])
    check([p["peer"] for p in doc["samples"][-1]["peers"]] == ["127.0.0.3"], doc["samples"][-1])
    check([(e["event"], e["peer"]) for e in doc["events"]] == [("peer_seen", "127.0.0.3")],
          doc["events"])
    s = doc["summary"]
    check(s["reports"] == 3 and s["peers"] == 1 and s["peers_found"] == 1 and
          s["sent"] == sum(x["sent"] for x in doc["samples"]) and s["replies"] > 0 and
          s["avg_latency_ms"] is not None and s["avg_latency_ms"] > 0, s)


def test_json_stream():
    """--json-stream: start, peer_seen, a report record per period, end
    (the -J document); valid against the schema; SIGTERM still ends it."""
    port = free_port()
    b, _ = agent(port, "127.0.0.3", "-i", "50ms", "-r", "1h")
    try:
        a, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "50ms", "-r", "300ms", "-c", "2")
        rc, out, err = finish(a)
        errs = schema_check.check_stream(out)
        check(rc == 0 and not errs, "exit %d, schema: %s" % (rc, errs))
        recs = records(out)
        names = [r["event"] for r in recs]
        check(names[0] == "start" and names[-1] == "end" and names.count("report") == 2 and
              "peer_seen" in names and names.index("peer_seen") < names.index("report"), names)
        end = recs[-1]["data"]
        errs = agent_shapes(end)
        check(not errs, "schema: %s" % errs)
        check(end["samples"] == [r["data"] for r in recs if r["event"] == "report"],
              "end's samples are not the report records")
        # stopped by SIGTERM: the final report, then end
        a, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "50ms", "-r", "1h")
        time.sleep(0.3)
        rc, out, _ = pkutil.stop(a)
    finally:
        pkutil.stop(b)
    errs = schema_check.check_stream(out)
    check(rc == 0 and not errs, "exit %d, schema: %s" % (rc, errs))
    recs = records(out)
    check(recs[-2]["event"] == "report" and recs[-2]["data"]["final"] is True and
          recs[-1]["event"] == "end", [r["event"] for r in recs])


def test_peer_lost_event():
    """A peer silent for --peer-timeout: a peer_lost record."""
    port = free_port()
    a, _ = agent(port, "127.0.0.2", "--json-stream", "-i", "100ms", "-r", "200ms",
                 "--peer-timeout", "300ms")
    f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    f.bind(("127.0.0.9", 0))
    f.settimeout(1)
    try:
        for n in range(1, 4):
            f.sendto(str(n).encode(), ("127.0.0.1", port))
            f.recvfrom(100)
        time.sleep(1.0)                      # silent: forgotten at a report
    finally:
        f.close()
    rc, out, _ = pkutil.stop(a)
    recs = records(out)
    ev = [(r["event"], r["data"].get("peer")) for r in recs if r["event"].startswith("peer_")]
    check(ev == [("peer_seen", "127.0.0.9"), ("peer_lost", "127.0.0.9")], ev)
    check([(e["event"], e["peer"]) for e in recs[-1]["data"]["events"]] == ev, recs[-1])


def test_csv_and_timestamps():
    """--csv: a header, then a row per peer per report (a report without
    peers: one row, peer empty); -D: [unix time] before each text line."""
    import csv
    import io
    port = free_port()
    b, _ = agent(port, "127.0.0.3", "-i", "50ms", "-r", "1h")
    try:
        a, _ = agent(port, "127.0.0.2", "--csv", "-i", "50ms", "-r", "300ms", "-c", "2")
        rc, out, err = finish(a)
        t, _ = agent(port, "127.0.0.2", "-D", "-i", "50ms", "-r", "300ms", "-c", "1")
        trc, tout, _ = finish(t)
    finally:
        pkutil.stop(b)
    rows = list(csv.DictReader(io.StringIO(out)))
    check(rc == 0 and [r["seq"] for r in rows] == ["1", "2"] and
          all(r["peer"] == "127.0.0.3" for r in rows), out)
    check(out.splitlines()[0].startswith("seq,time,sent,lost,avg_latency_ms,peer,"), out)
    check(int(rows[-1]["answered"]) > 0 and float(rows[-1]["latency_avg_ms"]) > 0, rows[-1])
    lines = tout.splitlines()
    # (the banner, unstamped, was read by agent())
    check(trc == 0 and lines and all(re.match(r"\[\d{10}\.\d{6}\] ", l) for l in lines) and
          any("Average latency" in l for l in lines), tout)
    a, _ = agent(port, "127.0.0.2", "--csv", "-i", "50ms", "-r", "200ms", "-c", "1")
    rc, out, _ = finish(a)
    rows = list(csv.DictReader(io.StringIO(out)))
    check(len(rows) == 1 and rows[0]["peer"] == "" and rows[0]["seq"] == "1", out)


# Linux's numbers (<linux/in.h>), where Python's socket module lacks them
IP_TOS = getattr(socket, "IP_TOS", 1)
IP_TTL = getattr(socket, "IP_TTL", 2)
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_RECVTOS = getattr(socket, "IP_RECVTOS", 13)


def recv_ttl_tos(port, sender, want):
    """The TTL and ToS of the first `want` datagrams from `sender` to the
    group on lo (IP_RECVTTL / IP_RECVTOS), as [(ttl, tos)]."""
    m = member(port)
    m.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    m.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
    got = []
    try:
        for _ in range(50):
            if len(got) >= want:
                break
            data, anc, _, src = m.recvmsg(64, socket.CMSG_SPACE(4) * 2)
            if src[0] != sender:
                continue
            ttl = tos = None
            for level, typ, cdata in anc:
                if level == socket.IPPROTO_IP and typ == IP_TTL:
                    ttl = struct.unpack("i", cdata[:4])[0]
                elif level == socket.IPPROTO_IP and typ == IP_TOS:
                    tos = cdata[0]
            got.append((ttl, tos))
    finally:
        m.close()
    return got


def test_ttl_and_tos_on_the_wire():
    """-t and -Q on the probes as received (the group member's IP_RECVTTL
    and IP_RECVTOS), against a run without them: TTL 1 and ToS 0."""
    port = free_port()
    runs = {}
    for opts in ((), ("-t", "7", "-Q", "ef"), ("--ttl", "200", "--tos", "0x28")):
        m_port = free_port() if opts else port
        a, _ = agent(m_port, "127.0.0.2", "-i", "50ms", "-r", "1h", *opts)
        try:
            runs[opts] = recv_ttl_tos(m_port, "127.0.0.2", 3)
        finally:
            pkutil.stop(a)
    check(runs[()] and all(x == (1, 0) for x in runs[()]), "defaults: %s" % runs[()])
    check(runs[("-t", "7", "-Q", "ef")] and all(x == (7, 0xb8) for x in runs[("-t", "7", "-Q", "ef")]),
          runs)
    check(runs[("--ttl", "200", "--tos", "0x28")] and
          all(x == (200, 0x28) for x in runs[("--ttl", "200", "--tos", "0x28")]), runs)


def test_interface_address_is_the_source():
    """-I ADDR: the probes leave from that address (the other agent sees
    them from it), the interface being the one that has it."""
    port = free_port()
    m = member(port)
    a = subprocess.Popen([agent_bin(), "-I", "127.0.0.5", "-p", str(port), "-i", "50ms", "-r", "1h"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        srcs = set()
        for _ in range(5):
            _, src = m.recvfrom(64)
            srcs.add(src[0])
    finally:
        m.close()
        pkutil.stop(a)
    check(srcs == {"127.0.0.5"}, "probes from %s" % srcs)


def test_head_closes_the_pipe():
    """`vxlan-agent -c 0 -r 100ms ... | head -1`: one line, then the agent
    dies of SIGPIPE (141 in the shell) at its next report; -c 0 never ends
    by itself, so only the closed pipe can end it (a hang is the run's
    timeout)."""
    port = free_port()
    sh = ("%s -I lo -p %d -c 0 -i 50ms -r 100ms 127.0.0.2 | head -1; "
          "echo \"rc=${PIPESTATUS[0]}\"" % (agent_bin(), port))
    r = subprocess.run(["bash", "-c", sh], capture_output=True, text=True, timeout=60)
    lines = r.stdout.splitlines()
    check(len(lines) == 2 and "listening on" in lines[0] and lines[1] == "rc=141",
          "%r %r" % (r.stdout, r.stderr))
    check(r.stderr == "", r.stderr)
    # the same under --json-stream: the start record, then death at a report
    sh = ("%s -I lo -p %d --json-stream -i 50ms -r 100ms 127.0.0.2 2>/dev/null | head -1; "
          "echo \"rc=${PIPESTATUS[0]}\"" % (agent_bin(), port))
    r = subprocess.run(["bash", "-c", sh], capture_output=True, text=True, timeout=60)
    lines = r.stdout.splitlines()
    check(len(lines) == 2 and json.loads(lines[0])["event"] == "start" and lines[1] == "rc=141",
          "%r %r" % (r.stdout, r.stderr))


def test_sigquit_prints_the_report_so_far():
    """SIGQUIT: the interim report on stderr, the run goes on (its reports
    continue on stdout, and it still exits normally on SIGTERM)."""
    port = free_port()
    b, _ = agent(port, "127.0.0.3", "-i", "50ms", "-r", "1h")
    try:
        a, _ = agent(port, "127.0.0.2", "-i", "50ms", "-r", "1h")
        time.sleep(0.5)                      # probes both ways: a peer to report
        seen = ""
        for n in (1, 2):
            a.send_signal(signal.SIGQUIT)
            # the interim report comes on stderr, then the agent goes on
            while seen.count("--- interim report ") < n:
                line = pkutil.read_line(a, 5, "stderr")
                check(line is not None, "no interim report after SIGQUIT %d: %r" % (n, seen))
                seen += line
            check(a.poll() is None, "the agent died of SIGQUIT %d" % n)
        rc, out, err = pkutil.stop(a)
        err = seen + err
    finally:
        pkutil.stop(b)
    check(rc == 0, "exit %d" % rc)
    check(err.count("--- interim report ") == 2 and "Average latency" in err and
          "127.0.0.3" in err, "stderr: %r" % err)
    check("interim" not in out and "final report" in out, out)


if __name__ == "__main__":
    pkutil.main([test_usage, test_two_agents_measure_each_other, test_stamped_and_seq_probes,
                 test_against_seed_agent,
                 test_only_probes_are_echoed, test_unknown_bad_and_duplicate_replies,
                 test_peer_expiry_and_bound, test_interrupt_prints_summary,
                 test_bad_interface, test_json_document, test_json_stream, test_peer_lost_event,
                 test_csv_and_timestamps, test_ttl_and_tos_on_the_wire,
                 test_interface_address_is_the_source, test_head_closes_the_pipe,
                 test_sigquit_prints_the_report_so_far])
