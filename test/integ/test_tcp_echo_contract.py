"""tcp-echo and the command-line and output contract of issue 12
(docs/OUTPUT.md): the -J documents and --json-stream records against the
schema (client, sweep, plain echo, server, experiment), the options -c, -D,
-I, -t, -Q (seen by the peer), --csv on stdout with the banner on stderr,
the closed pipe (141), SIGQUIT's interim line, --help and the one-line
usage errors. Everything on 127.0.0.1 / ::1.

TTL and ToS of TCP segments: a TCP socket has no IP_RECVTTL cmsg per read,
but Linux latches the options of the last segment received on a stream
socket with IP_RECVTTL/IP_RECVTOS (IPV6_RECVHOPLIMIT/IPV6_RECVTCLASS) set,
and returns them as cmsgs from getsockopt(IP_PKTOPTIONS)
(IPV6_2292PKTOPTIONS). The peer here is a Python socket that does that;
each check has its baseline (the same run without -t/-Q) in the same test.
"""
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
import schema_check  # noqa: E402
from pkutil import check  # noqa: E402
from test_tcp_echo import Server, echo, start_stderr_banner  # noqa: E402

TMP = tempfile.mkdtemp(prefix="tcp_echo_contract_")
IP_RECVTTL, IP_PKTOPTIONS = 12, 9
IPV6_2292PKTOPTIONS, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS = 6, 51, 66
STAMP_RE = re.compile(r"^\[\d{10}\.\d{6}\] ")


def no_errors(errs, what):
    check(errs == [], "%s: %s" % (what, errs[:5]))


def test_json_docs_and_streams():
    with Server("-q") as srv:
        port = str(srv.port)
        for args in (["-c", "3"], ["-c", "4", "--window", "2", "-m", "ttput"],
                     ["--sweep", "--sizes", "1,100", "--delays", "0,1ms", "-n", "2"]):
            r, doc = pkutil.run_json([echo(), "client", "-p", port, "-J"] + args + ["127.0.0.1"])
            check(r.returncode == 0, "rc %d %s" % (r.returncode, r.stderr))
            no_errors(schema_check.check_doc(doc), "-J %r" % args)
            check(doc["role"] == "client" and doc["target"]["port"] == srv.port, "envelope %r" % doc)
            r = pkutil.run([echo(), "client", "-p", port, "--json-stream"] + args + ["127.0.0.1"])
            check(r.returncode == 0, "rc %d %s" % (r.returncode, r.stderr))
            no_errors(schema_check.check_stream(r.stdout), "--json-stream %r" % args)
            recs = [json.loads(l) for l in r.stdout.splitlines()]
            smp = [x["data"] for x in recs if x["event"] == "sample"]
            end = recs[-1]["data"]
            if "--sweep" in args:
                check(len(smp) == 4 and [x["seq"] for x in smp] == [0, 1, 2, 3] and
                      [x["size_bytes"] for x in smp] == [1, 100, 1, 100], "a sample per point %r" % smp)
            else:
                check([x["seq"] for x in smp] == [x["seq"] for x in end["samples"]] and
                      [x["rtt_ms"] for x in smp] == [x["rtt_ms"] for x in end["samples"]],
                      "a sample per probe, the same as the end document's")
        with Server("-q", "--plain") as plain:
            r, doc = pkutil.run_json([echo(), "client", "-p", str(plain.port), "-J", "--message",
                                      "hello", "127.0.0.1"])
            check(r.returncode == 0 and doc["summary"]["echo"] == "hello", r.stderr)
            no_errors(schema_check.check_doc(doc), "-J --message")
        # a failure: the document carries the error (nothing listens on this port)
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        dead = str(ls.getsockname()[1])
        ls.close()
        r = pkutil.run([echo(), "client", "-p", dead, "-J", "127.0.0.1"])
        doc = json.loads(r.stdout)
        check(r.returncode == 1 and "error" in doc, "refused: %r" % doc)
        no_errors(schema_check.check_doc(doc), "-J refused")
        # the experiment: -J and --json-stream (a sample per point)
        d = os.path.join(TMP, "exp")
        common = ["-p", port, "--delays", "0", "--sizes-rtt", "1,10", "--sizes-ttput", "1K,2K",
                  "-n", "10"]
        r = pkutil.run([echo(), "experiment", "-J", "-o", d] + common + ["127.0.0.1"], timeout=120)
        check(r.returncode == 0, r.stderr[-500:])
        doc = json.loads(r.stdout)
        no_errors(schema_check.check_doc(doc), "experiment -J")
        check(doc["role"] == "experiment", "role %r" % doc.get("role"))
        r = pkutil.run([echo(), "experiment", "--json-stream", "--force", "-o", d] + common +
                       ["127.0.0.1"], timeout=120)
        check(r.returncode == 0, r.stderr[-500:])
        no_errors(schema_check.check_stream(r.stdout), "experiment --json-stream")
        recs = [json.loads(l) for l in r.stdout.splitlines()]
        check(sum(x["event"] == "sample" for x in recs) == 4, "a sample per point")
    # the server that cannot listen: exit 2, the document (the record) with the error
    with Server("-q", "-b", "127.0.0.1") as srv:
        for opt in ("-J", "--json-stream"):
            r = pkutil.run([echo(), "server", "-b", "127.0.0.1", "-p", str(srv.port), opt])
            check(r.returncode == 2 and r.stderr.startswith("tcp-echo: cannot listen on"), r.stderr)
            if opt == "-J":
                doc = json.loads(r.stdout)
                no_errors(schema_check.check_doc(doc), "server -J error")
            else:
                no_errors(schema_check.check_stream(r.stdout), "server --json-stream error")
                doc = json.loads(r.stdout.splitlines()[-1])["data"]
            check(doc["error"].startswith("cannot listen on 127.0.0.1 port %d" % srv.port), doc)


def pktoptions(conn, family):
    """{'ttl': .., 'tos': ..} of the last segment conn received."""
    if family == socket.AF_INET:
        raw = conn.getsockopt(socket.IPPROTO_IP, IP_PKTOPTIONS, 256)
        names = {(socket.IPPROTO_IP, socket.IP_TTL): "ttl", (socket.IPPROTO_IP, socket.IP_TOS): "tos"}
    else:
        raw = conn.getsockopt(socket.IPPROTO_IPV6, IPV6_2292PKTOPTIONS, 256)
        names = {(socket.IPPROTO_IPV6, 52): "ttl", (socket.IPPROTO_IPV6, 67): "tos"}
    out, i = {}, 0
    while i + 16 <= len(raw):
        ln, lvl, typ = struct.unpack_from("Qii", raw, i)
        data = raw[i + 16:i + ln]
        if (lvl, typ) in names and data:
            out[names[(lvl, typ)]] = data[0] if len(data) == 1 else struct.unpack_from("i", data)[0]
        i += (ln + 7) & ~7
    return out


def recv_opts(s, family):
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)


def client_seen_by_listener(family, host, extra):
    """Runs `client -c 1 extra host` against a Python listener; returns the
    TTL/ToS of its setup segment and the client's address as the listener saw it."""
    ls = socket.socket(family)
    ls.bind((host, 0))
    ls.listen()
    recv_opts(ls, family)
    p = subprocess.Popen([echo(), "client", "-p", str(ls.getsockname()[1]), "-c", "1", "-W", "2s"]
                         + extra + [host], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ls.settimeout(10)
    try:
        c, peer = ls.accept()
        c.settimeout(5)
        c.recv(100)
        opts = pktoptions(c, family)
        c.close()
    finally:
        ls.close()
        p.communicate(timeout=10)
    return opts, peer[0]


def test_client_ttl_tos_source():
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        base, _ = client_seen_by_listener(family, host, [])
        got, _ = client_seen_by_listener(family, host, ["-t", "7", "-Q", "0x28"])
        check(set(base) == {"ttl", "tos"} and base != {"ttl": 7, "tos": 0x28},
              "baseline %r" % base)
        check(got == {"ttl": 7, "tos": 0x28}, "%s: -t 7 -Q 0x28 seen as %r" % (host, got))
        got, _ = client_seen_by_listener(family, host, ["-Q", "af41"])
        check(got.get("tos") == 34 << 2, "-Q af41 seen as %r" % got)
    # -I ADDR: the source; 127.0.0.2 is an address of this host (lo is 127/8)
    _, peer = client_seen_by_listener(socket.AF_INET, "127.0.0.1", [])
    _, peer2 = client_seen_by_listener(socket.AF_INET, "127.0.0.1", ["-I", "127.0.0.2"])
    check(peer == "127.0.0.1" and peer2 == "127.0.0.2", "-I: peers %r %r" % (peer, peer2))
    # errors: one line, exit 2, nothing on stdout
    for arg, why in (("nosuch0", "no such interface"), ("192.0.2.1", "not an address of this host"),
                     ("::1", "source address is IPv6")):
        r = pkutil.run([echo(), "client", "-p", "9", "-I", arg, "127.0.0.1"])
        check(r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1 and
              r.stderr.startswith("tcp-echo: -I %s: " % arg) and why in r.stderr,
              "-I %s: rc %d %r" % (arg, r.returncode, r.stderr))
    r = pkutil.run([echo(), "client", "-t", "0", "127.0.0.1"])
    check(r.returncode == 2 and r.stderr.startswith("tcp-echo client: TTL '0'"), r.stderr)


def test_server_ttl_tos():
    """IPv6 only: an active (connecting) IPv4 socket does not latch the TTL
    and ToS of what it receives (only an accepted one does, from the
    handshake); an IPv6 one latches every in-order segment's. The option
    code is the same (pk_sockopt_apply on the listening socket)."""
    for family, host in ((socket.AF_INET6, "::1"),):
        seen = []
        for extra in ([], ["-t", "9", "-Q", "0x48"]):
            with Server("-q", "-b", host, *extra) as srv:
                s = socket.socket(family)
                recv_opts(s, family)
                s.settimeout(5)
                s.connect((host, srv.port))
                s.sendall(b"s RTT 3 1 0\n")
                check(s.recv(100).startswith(b"200"), "ready")
                seen.append(pktoptions(s, family))
                s.close()
        check(seen[0] != {"ttl": 9, "tos": 0x48} and seen[1] == {"ttl": 9, "tos": 0x48},
              "%s: server without / with -t 9 -Q 0x48: %r" % (host, seen))


def test_count_timestamps_csv():
    with Server("-q") as srv:
        port = str(srv.port)
        for opt in ("-c", "--count", "-n", "--probes"):
            r = pkutil.run([echo(), "client", "-p", port, opt, "3", "127.0.0.1"])
            check(r.returncode == 0 and r.stdout.count(" bytes from 127.0.0.1: seq=") == 3,
                  "%s 3: %r" % (opt, r.stdout))
        r = pkutil.run([echo(), "client", "-p", port, "-c", "2", "-s", "10", "-D", "127.0.0.1"])
        lines = r.stdout.splitlines()
        replies = [l for l in lines if "bytes from" in l]
        check(len(replies) == 2 and all(STAMP_RE.match(l) for l in replies), "-D %r" % lines)
        check(re.search(r"\] 15 bytes from 127\.0\.0\.1: seq=1 time=\d+\.\d{3} ms "
                        r"throughput=\d+\.\d{3} Mbit/s$", replies[0]), "reply line %r" % replies[0])
        check(not any(STAMP_RE.match(l) for l in lines if "statistics" in l or "rtt " in l),
              "the summary is not stamped")
        # --csv: only CSV on stdout (a row per probe, as it happens); the banner
        # and the summary on stderr
        r = pkutil.run([echo(), "client", "-p", port, "-c", "3", "--csv", "127.0.0.1"])
        rows = r.stdout.splitlines()
        check(r.returncode == 0 and rows[0] == "seq,time,rtt_ms,size_bytes,throughput_mbps" and
              len(rows) == 4 and all(x.split(",")[0] == str(i + 1) for i, x in enumerate(rows[1:])),
              "csv %r" % rows)
        check("Connecting to" in r.stderr and "statistics" in r.stderr, "stderr %r" % r.stderr)
        r = pkutil.run([echo(), "client", "-p", port, "--sweep", "--sizes", "1,5", "-n", "2",
                        "--csv", "127.0.0.1"])
        rows = r.stdout.splitlines()
        check(r.returncode == 0 and rows[0].startswith("server_delay_s,size_bytes,") and
              len(rows) == 3, "sweep csv %r" % rows)
        for args in (["-J", "--csv"], ["--json-stream", "--csv"]):
            r = pkutil.run([echo(), "client"] + args + ["127.0.0.1"])
            check(r.returncode == 2 and r.stdout == "" and r.stderr ==
                  "tcp-echo client: -J and --csv cannot be used together\n"
                  "Try 'tcp-echo client --help' for more information.\n", "%r: %r" % (args, r.stderr))


def test_closed_pipe_141():
    """`tcp-echo client -c 1000 ... | head -2`: dies of SIGPIPE at the third
    line, long before the 1000th probe (the server's session record says how
    many were echoed)."""
    proc, port = start_stderr_banner([echo(), "server", "-p", "0", "-b", "127.0.0.1",
                                      "--json-stream"])
    try:
        head = subprocess.Popen(["head", "-2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        cl = subprocess.Popen([echo(), "client", "-p", str(port), "-c", "1000", "-d", "2ms",
                               "127.0.0.1"], stdout=head.stdin, stderr=subprocess.PIPE)
        head.stdin.close()
        out = head.stdout.read()
        head.wait(timeout=30)
        _, err = cl.communicate(timeout=30)
        check(cl.returncode == -signal.SIGPIPE, "client rc %r %r" % (cl.returncode, err))
        check(err == b"", "nothing on stderr: %r" % err)
        check(len(out.splitlines()) == 2, "two lines %r" % out)
    finally:
        rc, sout, _ = pkutil.stop(proc)
    sess = [json.loads(l)["data"] for l in sout.splitlines() if '"event":"session"' in l]
    check(len(sess) == 1 and sess[0]["end"] == "peer closed" and sess[0]["probes_echoed"] < 100,
          "the client stopped early: %r" % sess)
    # the shell sees 141
    with Server("-q") as srv:
        r = subprocess.run(["bash", "-c", "set -o pipefail; '%s' client -p %d -c 1000 -d 1ms "
                            "127.0.0.1 | head -1 >/dev/null" % (echo(), srv.port)],
                           capture_output=True, timeout=60)
        check(r.returncode == 141, "shell status %r %r" % (r.returncode, r.stderr))


def test_sigquit_interim():
    with Server("-q") as srv:
        p = subprocess.Popen([echo(), "client", "-p", str(srv.port), "-c", "400", "-d", "5ms",
                              "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        n = 0
        while n < 3:
            line = pkutil.read_line(p, 10)
            check(line is not None, "client output")
            n += "bytes from" in line
        p.send_signal(signal.SIGQUIT)
        fd, err, end = p.stderr.fileno(), b"", 0
        while b"\n" not in err and end < 100:
            r, _, _ = select.select([fd], [], [], 10)
            check(r, "interim line on stderr")
            err += os.read(fd, 4096)
            end += 1
        m = re.match(rb"--- interim: (\d+) sent, (\d+) received, [\d.]+% loss, "
                     rb"rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms\n", err)
        check(m is not None and int(m.group(2)) >= 3, "interim %r" % err)
        # it goes on: more replies after the interim line
        more = 0
        while more < 3:
            line = pkutil.read_line(p, 10)
            check(line is not None, "output after SIGQUIT")
            more += "bytes from" in line
        rc, out, rest = pkutil.stop(p, signal.SIGINT)
        check(rc == 0 and "tcp-echo RTT statistics" in out, "rc %r %r" % (rc, rest))
    # the server: a line of counters on stderr, and it goes on
    proc = subprocess.Popen([echo(), "server", "-p", "0", "-b", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = pkutil.read_line(proc, 10)
    port = int(pkutil.LISTEN_RE.search(line).group(2))
    r = pkutil.run([echo(), "client", "-p", str(port), "-c", "2", "-q", "127.0.0.1"])
    proc.send_signal(signal.SIGQUIT)
    fd, err = proc.stderr.fileno(), b""
    while b"\n" not in err:
        rd, _, _ = select.select([fd], [], [], 10)
        check(rd, "server interim on stderr")
        err += os.read(fd, 4096)
    check(err.startswith(b"--- interim: 1 accepted, 0 refused, 0 active, 2 probes echoed"), err)
    r = pkutil.run([echo(), "client", "-p", str(port), "-c", "1", "-q", "127.0.0.1"])
    check(r.returncode == 0, "server still serves after SIGQUIT")
    rc, out, _ = pkutil.stop(proc)
    check(rc == 0 and "2 connections accepted" in out, out)


def test_help_and_usage_errors():
    for role in ("server", "client", "experiment"):
        r = pkutil.run([echo(), role, "--help"])
        check(r.returncode == 0 and "  -h, --help" in r.stdout and "  -V, --version" in r.stdout,
              "%s --help: %r" % (role, r.stdout[-300:]))
        r = pkutil.run([echo(), role, "-V"])
        check(r.returncode == 0 and r.stdout.startswith("tcp-echo (probekit) "), r.stdout)
        for args, msg in ((["-x"], "unknown option '-x'"), (["--frob"], "unknown option '--frob'"),
                          (["-p"], "option '-p' needs a value"),
                          (["--port"], "option '--port' needs a value"),
                          (["--quiet=1"], "option '--quiet' takes no value")):
            r = pkutil.run([echo(), role] + args)
            check(r.returncode == 2 and r.stdout == "" and r.stderr ==
                  "tcp-echo %s: %s\nTry 'tcp-echo %s --help' for more information.\n"
                  % (role, msg, role), "%s %r: %r" % (role, args, r.stderr))
    r = pkutil.run([echo(), "client", "-c", "12x", "h"])
    check(r.returncode == 2 and r.stderr.startswith("tcp-echo client: count '12x': invalid\nTry"),
          r.stderr)
    r = pkutil.run([echo(), "client", "--csv-file", "x.csv", "127.0.0.1"])
    check(r.returncode == 2 and "--csv-file" in r.stderr and "--sweep" in r.stderr, r.stderr)


pkutil.main([
    test_json_docs_and_streams,
    test_client_ttl_tos_source,
    test_server_ttl_tos,
    test_count_timestamps_csv,
    test_closed_pipe_141,
    test_sigquit_interim,
    test_help_and_usage_errors,
])
