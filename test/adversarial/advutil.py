"""Helpers the adversarial tests share (stdlib only): CPU time of a process,
UDP sockets on loopback, forged IPv4 sources (raw socket, root only)."""
import os
import socket
import struct

ROOT = os.geteuid() == 0


def cpu_s(pid):
    """utime + stime of pid in seconds (/proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spoof4(src, sport, dst, dport, payload):
    """One UDP datagram with a forged IPv4 source (raw socket, root only)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        udp_ = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp_), 0, 0x4000, 64, 17, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
        s.sendto(ip + udp_, (dst, 0))
    finally:
        s.close()


def udp(bind=("127.0.0.1", 0), timeout=0.5):
    """A UDP socket bound on loopback, with a receive timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(bind)
    s.settimeout(timeout)
    return s


def skip(what):
    print("SKIP %s: needs root (raw sockets or ports below 1024); not run as root" % what,
          flush=True)


def sigterm(proc, within=10):
    """SIGTERM to a server we started, then its exit status and stderr; a
    server that does not exit within `within` seconds is killed (status
    None)."""
    import signal
    import subprocess
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(within)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = None
    return rc, proc.stderr.read()
