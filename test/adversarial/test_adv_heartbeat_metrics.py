"""Adversarial: the heartbeat server's /metrics endpoint (--metrics-port)
held by clients that never read their answer, and one that sends its request
a byte at a time, does not delay the heartbeat answers on the same loop.

The endpoint itself under hostile clients (cap, deadline, descriptors) is
common/pk_http's, tested by test_pk_http and test_adv_agent. Here: 3000
clients in the table and --metrics-max-clients 3000 make each answer
~2.6 MB, far more than a never-reading client's socket takes; every slot of
--metrics-conns is held; heartbeat round trips are measured before, during
and after, loopback only, bounded in count and time."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integ"))
from pkutil import build_dir, check, main, prog, read_line, run, stop  # noqa: E402

CLIENTS = 3000
CONNS = 8                    # --metrics-conns: all held during the run
BEATS = 200                  # heartbeats per measured run, 5 ms apart


def start():
    args = [prog("heartbeat"), "server", "-p", "0", "-b", "127.0.0.1", "--loss", "0", "-q",
            "--json-stream", "--metrics-port", "0", "--metrics-conns", str(CONNS),
            "--metrics-timeout", "20s", "--metrics-max-clients", str(CLIENTS)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    for _ in range(3):
        line = read_line(proc, 10.0)
        rec = json.loads(line) if line else {}
        if rec.get("event") == "listening":
            return proc, rec["data"]
    stop(proc)
    raise AssertionError("no listening record")


def get(port, timeout=10, ask=True):
    """One GET /metrics: (status line, body bytes). ask=False: connect and
    read without asking (a refusal then ends in a FIN, not a reset for an
    unread request)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if ask:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


def rtts(port):
    """Round trips (ms) of BEATS heartbeats of our client, sorted; none lost."""
    r = run([prog("heartbeat"), "client", "-4", "-J", "-q", "--keep-going", "-c", str(BEATS),
             "-i", "5ms", "-W", "2s", "-p", str(port), "127.0.0.1"], timeout=60)
    doc = json.loads(r.stdout)
    s = doc["summary"]
    check(s["transmitted"] == BEATS and s["received"] == BEATS,
          "every heartbeat answered: %r" % {k: s[k] for k in ("transmitted", "received", "lost")})
    return sorted(x["rtt_ms"] for x in doc["samples"])


def pct(v, q):
    return v[min(len(v) - 1, int(q * len(v)))]


def test_unread_answers_do_not_delay_heartbeats():
    srv, lis = start()
    hostile, stop_slow = [], threading.Event()
    slow = None
    try:
        load = run([os.path.join(build_dir(), "heartbeat", "hb_load"), str(lis["port"]),
                    str(CLIENTS), "1", "1"], timeout=30)
        check(load.returncode == 0 and " 0 lost" in load.stdout, load.stdout + load.stderr)
        status, body = get(lis["metrics_port"])
        check(status.endswith("200 OK") and
              body.count(b"heartbeat_server_client_state{") == 2 * CLIENTS,
              "%s, %d bytes" % (status, len(body)))
        base1 = rtts(lis["port"])
        # CONNS - 1 clients that ask and never read (a small receive buffer)
        for _ in range(CONNS - 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", lis["metrics_port"]))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            hostile.append(s)
        # and one that sends a never-ending request a byte every 20 ms
        sl = socket.create_connection(("127.0.0.1", lis["metrics_port"]))
        hostile.append(sl)

        def drip():
            for _ in range(500):                      # at most 10 s
                if stop_slow.wait(0.02):
                    return
                sl.send(b"x")
        slow = threading.Thread(target=drip)
        slow.start()
        # each never-reading client has its answer started and unread
        for s in hostile[:-1]:
            s.settimeout(10)
            check(s.recv(16, socket.MSG_PEEK).startswith(b"HTTP/1.1 200"), "answer begun")
        held = rtts(lis["port"])
        # every slot was held throughout: one more is turned away at once
        status, _ = get(lis["metrics_port"], ask=False)
        check(status.startswith("HTTP/1.1 503"), "over the cap while held: %r" % status)
    finally:
        stop_slow.set()
        if slow is not None:
            slow.join()
        for s in hostile:
            s.close()
    try:
        base2 = rtts(lis["port"])
        status, body = get(lis["metrics_port"])
    finally:
        rc, out, err = stop(srv)
    check(rc == 0, "server exit %d: %s" % (rc, err[-300:]))
    check(status.endswith("200 OK"), "served again after: %r" % status)
    # bounds from the two baselines around the run: their larger p50 and p90
    # plus three times their spread (p90 - p10, and the baselines' own
    # difference); a loop blocked on an unread answer would hold the
    # heartbeats for the whole --metrics-timeout (20 s) and lose them
    spread = max(pct(base1, 0.9) - pct(base1, 0.1), pct(base2, 0.9) - pct(base2, 0.1),
                 abs(pct(base1, 0.5) - pct(base2, 0.5)), abs(pct(base1, 0.9) - pct(base2, 0.9)))
    # The p90 of a 1-s window also takes the VM's stalls (its vCPUs stop for
    # 10-150 ms at times: test/bench/RESULTS.md, issue 14 B), which a quiet
    # baseline does not show in its spread; so its bound is never below the
    # smaller of the two baselines' own worst round trips, the stall this
    # machine showed in this test without any hostile client.
    stall = min(base1[-1], base2[-1])
    figures = {}
    for q in (0.5, 0.9):
        bound = max(pct(base1, q), pct(base2, q)) + 3 * spread
        if q == 0.9:
            bound = max(bound, stall)
        figures[q] = (pct(base1, q), pct(held, q), pct(base2, q), bound)
        check(pct(held, q) <= bound, "p%d rtt %.3f ms held vs baselines %.3f / %.3f ms "
              "(bound %.3f)" % ((q * 100,) + (figures[q][1], figures[q][0], figures[q][2], bound)))
    print("rtt ms p50 base %.3f held %.3f base %.3f (bound %.3f); p90 %.3f %.3f %.3f (bound %.3f);"
          " max %.3f %.3f %.3f" % (figures[0.5] + figures[0.9] + (base1[-1], held[-1], base2[-1])),
          flush=True)


if __name__ == "__main__":
    main([test_unread_answers_do_not_delay_heartbeats])
