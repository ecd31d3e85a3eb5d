#!/usr/bin/env python3
"""-t, -Q and -I on the wire between two namespaces (docs/OUTPUT.md).

pk-so-a and pk-so-b are joined by two veth pairs, eth0 (10.203.0.0/24,
fd03::/64) and eth1. pk-so-a reaches 10.203.0.2 by eth0; eth1 has a route to
the same prefix with a higher metric, so only a socket bound to eth1 (-I eth1,
SO_BINDTODEVICE) leaves by it. A packet socket in pk-so-b captures the first
datagram or segment to the test's port and reads the TTL / hop limit and the
ToS / traffic class from its IP header and the interface it came in by. Each
client runs once without the options first (the baseline: the kernel's
default TTL 64, ToS 0, eth0), then with them.
"""
import socket
import struct
import subprocess
import time

from nsutil import (Fail, InNetns, check, nsexec, prog, require_root, run_tests, stop)

NS = ("pk-so-a", "pk-so-b")
A4, B4, A6, B6 = "10.203.0.1", "10.203.0.2", "fd03::1", "fd03::2"
ETH_P_ALL = 0x0003


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True, capture_output=True)


def setup():
    teardown()
    for ns in NS:
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    for dev in ("eth0", "eth1"):
        ip("-n", "pk-so-a", "link", "add", dev, "type", "veth", "peer", "name", dev,
           "netns", "pk-so-b")
    for ns in NS:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0",
                        "net.ipv4.conf.default.rp_filter=0"], check=True, capture_output=True)
        for dev in ("eth0", "eth1"):
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                            "net.ipv4.conf.%s.rp_filter=0" % dev], check=True, capture_output=True)
            ip("-n", ns, "link", "set", dev, "up")
    ip("-n", "pk-so-a", "addr", "add", A4 + "/24", "dev", "eth0")
    ip("-n", "pk-so-b", "addr", "add", B4 + "/24", "dev", "eth0")
    ip("-n", "pk-so-a", "addr", "add", A6 + "/64", "dev", "eth0", "nodad")
    ip("-n", "pk-so-b", "addr", "add", B6 + "/64", "dev", "eth0", "nodad")
    ip("-n", "pk-so-a", "route", "add", "10.203.0.0/24", "dev", "eth1", "metric", "100")


def teardown():
    for ns in NS:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class Capture:
    """A packet socket in pk-so-b: the first IPv4/IPv6 packet to `port`."""

    def __init__(self):
        with InNetns("pk-so-b"):
            self.s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        self.s.settimeout(0.2)

    def first(self, port, within=3.0):
        """(version, ttl, tos, interface name) of the first packet to UDP/TCP
        `port`."""
        end = time.monotonic() + within
        while time.monotonic() < end:
            try:
                pkt, addr = self.s.recvfrom(2048)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 48:
                continue
            v = pkt[0] >> 4
            if v == 4:
                ihl = (pkt[0] & 15) * 4
                proto, ttl, tos, l4 = pkt[9], pkt[8], pkt[1], pkt[ihl:]
            elif v == 6:
                proto, ttl = pkt[6], pkt[7]
                tos = ((pkt[0] & 15) << 4) | (pkt[1] >> 4)
                l4 = pkt[40:]
            else:
                continue
            if proto in (6, 17) and struct.unpack("!H", l4[2:4])[0] == port:
                return v, ttl, tos, addr[0]
        raise Fail("nothing to port %d within %.0f s" % (port, within))

    def close(self):
        self.s.close()


def free_port():
    with InNetns("pk-so-b"):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::", 0))
        port = s.getsockname()[1]
        s.close()
    return port


def sent(cap, args, port, family_addr):
    """Runs one client in pk-so-a (it gets no answer), returns the capture."""
    p = nsexec("pk-so-a", args + ["-p", str(port), family_addr])
    try:
        return cap.first(port)
    finally:
        stop(p)


def client(tool):
    if tool == "tcp-echo":
        return [prog("tcp-echo", "tcp-echo"), "client", "-c", "1", "-W", "300ms"]
    return [prog(tool, tool), "client", "-c", "1", "-W", "300ms"]


def test_ttl_and_tos():
    """udp-ping, heartbeat and tcp-echo: default TTL 64 and ToS 0 without
    the options, then exactly what -t and -Q asked, IPv4 and (udp-ping)
    IPv6."""
    cap = Capture()
    try:
        cases = [("udp-ping", B4, ["-t", "5", "-Q", "af41"], (4, 5, 0x88)),
                 ("udp-ping", B6, ["-6", "-t", "9", "-Q", "ef"], (6, 9, 0xb8)),
                 ("heartbeat", B4, ["-t", "6", "-Q", "ef"], (4, 6, 0xb8)),
                 ("tcp-echo", B4, ["-t", "7", "-Q", "cs1"], (4, 7, 0x20))]
        for tool, dst, opts, want in cases:
            flag = ["-6"] if dst == B6 else []
            base = sent(cap, client(tool) + flag, free_port(), dst)
            check(base[:3] == (want[0], 64, 0), "%s baseline %r" % (tool, base))
            got = sent(cap, client(tool) + opts, free_port(), dst)
            print("  %s %s: baseline ttl %d tos 0x%02x; %s: ttl %d tos 0x%02x"
                  % (tool, dst, base[1], base[2], " ".join(opts), got[1], got[2]))
            check(got[:3] == want, "%s %s: %r, want %r" % (tool, " ".join(opts), got, want))
    finally:
        cap.close()


def test_interface():
    """-I eth1 (SO_BINDTODEVICE, as root) leaves by eth1 although the route
    to the peer is eth0; -I with an address of pk-so-a is the source."""
    cap = Capture()
    try:
        for tool in ("udp-ping", "heartbeat", "tcp-echo"):
            base = sent(cap, client(tool), free_port(), B4)
            got = sent(cap, client(tool) + ["-I", "eth1"], free_port(), B4)
            print("  %s: in by %s, with -I eth1 by %s" % (tool, base[3], got[3]))
            check(base[3] == "eth0", "%s baseline came by %s, not eth0" % (tool, base[3]))
            check(got[3] == "eth1", "%s -I eth1 came by %s, not eth1" % (tool, got[3]))
    finally:
        cap.close()


def main():
    require_root()
    try:
        setup()
        run_tests([test_ttl_and_tos, test_interface])
    finally:
        teardown()


if __name__ == "__main__":
    main()
