"""tcp-echo against real peers.

- our server against the independent conformance suite
  (test/peers/tcp_echo_conformance.py, written from docs/PROTOCOLS.md
  section 3),
  on 127.0.0.1 and ::1; the same suite against the independent seed server
  too, so the suite itself is checked against a second implementation;
- our client against the independent server written to seed 002
  (test/peers/tcp_echo_seed_server.py): sessions, windows, sweeps, IPv6;
- the plain echo both ways with seed 002's first-half programs.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkutil  # noqa: E402
from pkutil import check  # noqa: E402

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers")
PY = sys.executable


def echo():
    return pkutil.prog("tcp-echo")


def seed_server(*args):
    return pkutil.start_server([PY, os.path.join(PEERS, "tcp_echo_seed_server.py"),
                                "--port", "0"] + list(args))


def conformance(host, port):
    r = pkutil.run([PY, os.path.join(PEERS, "tcp_echo_conformance.py"), host, str(port)],
                   timeout=120)
    fails = [l for l in r.stdout.splitlines() if l.startswith("FAIL")]
    check(r.returncode == 0 and r.stdout.rstrip().endswith(" 0 failed"),
          "conformance on %s: %s %s" % (host, fails[:5], r.stderr[-500:]))


def test_our_server_conforms():
    extra = os.environ.get("PK_ECHO_SERVER_ARGS", "").split()   # as test_tcp_echo.py
    proc, port = pkutil.start_server([echo(), "server", "-p", "0", "-q"] + extra)
    try:
        conformance("127.0.0.1", port)
        conformance("::1", port)
    finally:
        rc, _, err = pkutil.stop(proc)
    check(rc == 0, "server exit %r %s" % (rc, err))


def test_suite_agrees_with_seed_server():
    proc, port = seed_server()
    try:
        conformance("127.0.0.1", port)
    finally:
        pkutil.stop(proc)


def test_our_client_against_seed_server():
    for host in ("127.0.0.1", "::1"):
        proc, port = seed_server("--host", host)
        try:
            r = pkutil.run([echo(), "client", "-p", str(port), "-n", "10", "-d", "10ms", host])
            check(r.returncode == 0, "rtt session: %s" % r.stderr)
            check("200 OK: Ready" in r.stdout and "200 OK: Closing Connection" in r.stdout
                  and "10 probes of 1000 bytes sent, 10 echoed" in r.stdout, r.stdout)
            r, doc = pkutil.run_json([echo(), "client", "-p", str(port), "-m", "ttput", "-s",
                                      "32K", "-n", "10", "--window", "4", "-J", host])
            check(r.returncode == 0 and doc["summary"]["received"] == 10, r.stderr)
            r, doc = pkutil.run_json([echo(), "client", "-p", str(port), "--sweep", "-n", "3",
                                      "--delays", "0,5ms", "-J", host])
            check(r.returncode == 0, r.stderr)
            pts = doc["summary"]["points"]
            check(len(pts) == 12 and all(p["probes"] == 3 for p in pts), "sweep points")
            check(all(p["rtt_ms"]["min"] >= 5 for p in pts if p["server_delay_s"] > 0),
                  "delays honoured by the seed server")
        finally:
            _, out, _ = pkutil.stop(proc)
        check("setup RTT size=1000 probes=10 delay=0.01" in out, "seed server saw our setup")
        check("terminated after 10 probes" in out, "seed server saw our termination")


def test_plain_echo_with_seed_programs():
    # our --message client against the seed's first-half server
    proc, port = seed_server("--plain")
    try:
        r = pkutil.run([echo(), "client", "-p", str(port), "--message", "Hello world!",
                        "127.0.0.1"])
    finally:
        _, out, _ = pkutil.stop(proc)
    check(r.returncode == 0 and "Received: Hello world!" in r.stdout, r.stdout + r.stderr)
    check("Data: b'Hello world!'" in out, out)
    # the seed's client_app.py against our --plain server
    extra = os.environ.get("PK_ECHO_SERVER_ARGS", "").split()
    proc, port = pkutil.start_server([echo(), "server", "-p", "0", "--plain"] + extra)
    try:
        r = pkutil.run([PY, os.path.join(PEERS, "tcp_echo_seed_client_app.py"), "--port",
                        str(port)])
    finally:
        pkutil.stop(proc)
    check(r.returncode == 0, r.stderr)
    check(r.stdout.splitlines()[1:] == ["Sending Hello world!", "Received: Hello world!",
                                        "Closing connection to the server"], r.stdout)


pkutil.main([
    test_our_server_conforms,
    test_suite_agrees_with_seed_server,
    test_our_client_against_seed_server,
    test_plain_echo_with_seed_programs,
])
