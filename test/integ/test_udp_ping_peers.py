"""udp-ping against real peers: the seed programs of seeds 003 and 004
(test/peers/, ported to Python 3), both directions, on loopback."""
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from pkutil import check, main, prog, run, run_json, start_server, stop  # noqa: E402

PEERS = os.path.join(os.path.dirname(__file__), "..", "peers")
UDP_PING = None


def seed_server(name):
    return start_server([sys.executable, "-u", os.path.join(PEERS, name), "0"])


def our_client_against(name, p_drop):
    n = 200
    srv, port = seed_server(name)
    try:
        r, doc = run_json([UDP_PING, "client", "-J", "-c", str(n), "-i", "2ms", "-W", "300ms",
                           "-p", str(port), "127.0.0.1"])
        t = run([UDP_PING, "client", "-c", "10", "-i", "5ms", "-W", "300ms",
                 "-p", str(port), "127.0.0.1"])
    finally:
        rc, out, err = stop(srv)
    s = doc["summary"]
    check(r.returncode == 0, "%s: exit %d" % (name, r.returncode))
    check(s["transmitted"] == n, "transmitted")
    # the seeds' servers are not seeded: allow 4.5 standard deviations
    sd = math.sqrt(n * p_drop * (1 - p_drop))
    check(abs(s["lost"] - n * p_drop) <= 4.5 * sd,
          "%s: %d lost of %d, expected about %.0f" % (name, s["lost"], n, n * p_drop))
    check(s["late"] == 0 and s["duplicates"] == 0 and s["altered"] == 0,
          "%s: the seed echo is intact: %r" % (name, s))
    check(s["received"] + s["lost"] == n, "adds up")
    # our client's own line (ping's, docs/udp-ping.md): the seeds' programs
    # only read the server's echo, never this line
    check(re.search(r"^\d+ bytes from 127\.0\.0\.1: seq=\d+ time=\d+\.\d{3} ms \"PING ",
                    t.stdout, re.M) and "packets transmitted" in t.stdout,
          "text output against %s" % name)
    return out


def test_our_client_vs_seed003_server():
    # randint(0, 10) < 4: 4 drops in 11
    out = our_client_against("udp_ping_seed003_server.py", 4 / 11)
    check("b'PING 1 " in out, "the seed server saw our requests: %r" % out[:200])
    check("Oops, dropped it!" in out, "the seed server dropped some")


def test_our_client_vs_seed004_server():
    # randint(1, 10) < 4: 3 drops in 10
    our_client_against("udp_ping_seed004_server.py", 0.3)


def test_seed004_client_vs_our_server():
    for host, flag in (("127.0.0.1", "-4"), ("::1", "-6")):
        srv, port = start_server([UDP_PING, "server", "-p", "0", flag, "--loss", "0.3",
                                  "--seed", "11"])
        try:
            r = run([sys.executable, os.path.join(PEERS, "udp_ping_seed004_client.py"),
                     host, str(port)], timeout=60)
        finally:
            rc, out, err = stop(srv)
        # exit 3 would mean an echo that is not the upper-cased request
        check(r.returncode == 0, "seed client exit %d: %s" % (r.returncode, r.stdout[-400:]))
        check(re.search(r"Received b'PING \d+ [A-Z]{3} [A-Z]{3} ", r.stdout),
              "seed client output: %s" % r.stdout[:300])
        check("Average RTT:" in r.stdout, "statistics printed")
        check("10 received, " in out, "our server counted 10: %s" % out[-200:])


def tests():
    global UDP_PING
    UDP_PING = prog("udp-ping")
    return [test_our_client_vs_seed003_server, test_our_client_vs_seed004_server,
            test_seed004_client_vs_our_server]


if __name__ == "__main__":
    main(tests())
