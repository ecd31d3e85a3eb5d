"""Heartbeat benchmarks, on loopback, every run bounded in count and time.

1. Detection time. A client (--misses 3, timeout = interval) watches our
   server; the server is killed (SIGKILL) at a random phase of the interval;
   the time from the kill to the client's `server down` line is compared with
   the bound K x interval + timeout (goal: never later than the bound + 2 ms)
   and with the earliest the rule allows, (K-1) x interval + timeout (never
   earlier). The timer lateness is the `server down` time minus the deadline
   of the K-th missed heartbeat (the client stamps both with -D).
2. Server scale. hb_load plays 10,000 clients at 10 heartbeats/s each
   (100,000 datagrams/s) for 10 s against `heartbeat server -q --loss 0`;
   the server's CPU share (utime + stime over wall time, /proc), replies
   lost, and memory per client (RSS after the run with --max-clients 10000
   minus RSS of a server with --max-clients 1, over 9,999: records, hash
   index and rate-limit entries; the server also states its slot size).
Processes are pinned: server on CPU 0, client / load generator on CPU 1.
"""
import os
import random
import re
import select
import signal
import subprocess
import sys
import time

BUILD = sys.argv[1]
QUICK = len(sys.argv) > 2 and sys.argv[2] == "quick"
ONLY = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] in ("detect", "scale") else None
HB = os.path.join(BUILD, "heartbeat", "heartbeat")
LOAD = os.path.join(BUILD, "heartbeat", "hb_load")
NCPU = os.cpu_count() or 1
CPU_SRV, CPU_CLI = "0", ("1" if NCPU > 1 else "0")


def pinned(cpu, args):
    return ["taskset", "-c", cpu] + args


class Lines:
    def __init__(self, args):
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  bufsize=0)
        self.buf = b""

    def line(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def wait_for(self, pattern, timeout):
        end = time.monotonic() + timeout
        while True:
            line = self.line(max(0.0, end - time.monotonic()))
            if line is None:
                raise RuntimeError("no %r" % pattern)
            if re.search(pattern, line):
                return line

    def stop(self, sig=signal.SIGTERM):
        """Signals the process and reads its output to the end (a server's
        final table can be larger than the pipe); returns that output."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
        out, end = [self.buf], time.monotonic() + 10
        while time.monotonic() < end and select.select([self.p.stdout], [], [], 1)[0]:
            chunk = os.read(self.p.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            out.append(chunk)
        self.p.wait(10)
        self.p.stdout.close()
        return b"".join(out).decode(errors="replace")


def start_server(*args):
    s = Lines(pinned(CPU_SRV, [HB, "server", "-p", "0", "-b", "127.0.0.1"] + list(args)))
    port = int(re.search(r"listening on [^ ]*:(\d+)", s.wait_for("listening on", 10)).group(1))
    return s, port


def detection_trial(interval_ms, k=3):
    srv, port = start_server("--loss", "0", "-q")
    cli = Lines(pinned(CPU_CLI, [HB, "client", "-D", "-i", "%gms" % interval_ms,
                                 "-W", "%gms" % interval_ms, "--misses", str(k), "-c", "100000",
                                 "-p", str(port), "127.0.0.1"]))
    try:
        for _ in range(3):
            cli.wait_for(r"bytes from", 10)
        time.sleep(random.uniform(0, interval_ms / 1000.0))    # random phase
        t_kill = time.time()
        srv.p.kill()
        deadline = None
        while True:
            line = cli.line(k * interval_ms / 1000.0 * 3 + 5)
            if line is None:
                raise RuntimeError("no server down")
            m = re.match(r"\[([0-9.]+)\] (.*)", line)
            if m and m.group(2).startswith("no answer yet"):
                deadline = float(m.group(1))
            if m and m.group(2).startswith("server down"):
                t_down = float(m.group(1))
                break
    finally:
        srv.stop(signal.SIGKILL)
        cli.stop(signal.SIGKILL)
    return t_down - t_kill, t_down - deadline


def detection(interval_ms, trials, k=3):
    bound = (k * interval_ms + interval_ms) / 1000.0
    earliest = ((k - 1) * interval_ms + interval_ms) / 1000.0
    took, late = [], []
    for _ in range(trials):
        t, l = detection_trial(interval_ms, k)
        took.append(t)
        late.append(l)
    over = sum(1 for t in took if t > bound + 0.002)
    under = sum(1 for t in took if t < earliest)
    print("detection interval %g ms, timeout %g ms, K=%d: %d kills; bound %.1f ms, earliest "
          "%.1f ms; took min/avg/max = %.2f/%.2f/%.2f ms; later than bound+2ms: %d, earlier "
          "than allowed: %d; timer lateness max %.3f ms (avg %.3f)"
          % (interval_ms, interval_ms, k, trials, bound * 1e3, earliest * 1e3,
             min(took) * 1e3, sum(took) / len(took) * 1e3, max(took) * 1e3, over, under,
             max(late) * 1e3, sum(late) / len(late) * 1e3), flush=True)
    return over == 0 and under == 0


def proc_cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def scale(clients=10000, rate=10, secs=10):
    small, _ = start_server("--loss", "0", "-q", "--max-clients", "1")
    rss_small = rss_kb(small.p.pid)
    small.stop()
    srv, port = start_server("--loss", "0", "-q", "--max-clients", str(clients))
    rss_big = rss_kb(srv.p.pid)
    c0, w0 = proc_cpu(srv.p.pid), time.monotonic()
    load = subprocess.run(pinned(CPU_CLI, [LOAD, str(port), str(clients), str(rate), str(secs)]),
                          capture_output=True, text=True, timeout=secs + 30)
    c1, w1 = proc_cpu(srv.p.pid), time.monotonic()
    rss_after = rss_kb(srv.p.pid)
    final = srv.stop()
    print(load.stdout.strip())
    for line in final.splitlines()[-2:]:
        print("server: " + line)
    m = re.search(r"(\d+) sent, (\d+) replies, (\d+) lost", load.stdout)
    sent, replies, lost = map(int, m.groups())
    share = (c1 - c0) / (w1 - w0)
    # RSS after the run: every record, hash bucket and rate-limit entry touched
    per_client = (rss_after - rss_small) * 1024.0 / (clients - 1)
    print("server scale: %d clients x %d/s = %d datagrams/s for %d s: server CPU %.1f%% of one "
          "core (CPU %s, load generator on CPU %s), replies lost %d of %d (%.3f%%), memory per "
          "client %.0f bytes (RSS %d kB with 1 slot; %d kB with %d at start, %d kB after the run)"
          % (clients, rate, clients * rate, secs, 100 * share, CPU_SRV, CPU_CLI, lost, sent,
             100.0 * lost / max(sent, 1), per_client, rss_small, rss_big, clients, rss_after),
          flush=True)
    return share < 1.0 and per_client < 256 and lost == 0


def main():
    for p in (HB, LOAD):
        if not os.access(p, os.X_OK):
            sys.exit("heartbeat bench: %s not built" % p)
    print("heartbeat bench: %d CPUs, server pinned to CPU %s, client to CPU %s"
          % (NCPU, CPU_SRV, CPU_CLI), flush=True)
    ok = True
    plan = ((1000, 2 if QUICK else 5), (100, 5 if QUICK else 20), (10, 10 if QUICK else 50))
    if ONLY != "scale":
        for interval, trials in plan:
            ok = detection(interval, trials) and ok
    if ONLY != "detect":
        ok = scale(secs=3 if QUICK else 10) and ok
    print("heartbeat bench: goals %s" % ("met" if ok else "NOT met"))


if __name__ == "__main__":
    main()
