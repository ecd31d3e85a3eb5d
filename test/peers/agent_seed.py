#!/usr/bin/env python3
"""An agent written to the seed's description (seeds 000/001), as a real peer.

asyncio, call_later timers, one Timer object per probe, a latencyList per
interval; it echoes every datagram it hears on the group port back to its
source and ignores replies from its own address, as the seed's main.py.

    agent_seed.py [--port N] [--group G] [--interval S] [--timeout S]
                  [--report S] [--iface IF] [-6] OWN_ADDR

--iface only pins the multicast interface (tests on one host use lo); the
defaults are the seed's: 239.255.255.250 (ff0e::10 with -6), port 1910,
a probe every 0.5 s, lost after 2 s, a report every 10 s.
Reports (flushed): 'Average latency: X ms' (half the RTT) or
'All packets are lost', then 'Number of lost packets: N'.
"""
import argparse
import asyncio
import socket
import struct
import sys
import time


class Timer:
    """One probe: its number, start time, and latency once answered."""

    def __init__(self, agent, number):
        self.agent = agent
        self.number = number
        self.start = time.monotonic()
        self.latency = None
        self.handle = agent.loop.call_later(agent.args.timeout, self.expire)

    def stop(self, now):
        if self.latency is None:
            self.latency = (now - self.start) / 2
            self.handle.cancel()
            self.agent.latencyList.append(self.latency)

    def expire(self):
        self.agent.timers.pop(self.number, None)
        if self.latency is None:
            self.agent.lost += 1


class Echo(asyncio.DatagramProtocol):
    def __init__(self, agent):
        self.agent = agent

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


class Replies(asyncio.DatagramProtocol):
    def __init__(self, agent):
        self.agent = agent

    def datagram_received(self, data, addr):
        if addr[0] == self.agent.args.own:
            return
        try:
            number = int(data.decode())
        except ValueError:
            return
        t = self.agent.timers.get(number)
        if t is not None:
            t.stop(time.monotonic())


class Agent:
    def __init__(self, args):
        self.args = args
        self.loop = None
        self.timers = {}
        self.latencyList = []
        self.lost = 0
        self.counter = 0

    def sockets(self):
        a = self.args
        fam = socket.AF_INET6 if a.v6 else socket.AF_INET
        idx = socket.if_nametoindex(a.iface) if a.iface else 0
        rx = socket.socket(fam, socket.SOCK_DGRAM)
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        rx.bind(("", a.port))
        tx = socket.socket(fam, socket.SOCK_DGRAM)
        if a.v6:
            rx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                          socket.inet_pton(fam, a.group) + struct.pack("@I", idx))
            tx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 2)
            if idx:
                tx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
        else:
            rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                          struct.pack("4s4si", socket.inet_aton(a.group),
                                      bytes(4), idx))
            tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            if idx:
                tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                              struct.pack("4s4si", bytes(4),
                                          socket.inet_aton(a.own), idx))
        return rx, tx

    def send(self):
        self.counter += 1
        self.timers[self.counter] = Timer(self, self.counter)
        self.tx.sendto(str(self.counter).encode(), (self.args.group, self.args.port))
        self.loop.call_later(self.args.interval, self.send)

    def report(self):
        if self.latencyList:
            avg = sum(self.latencyList) / len(self.latencyList)
            print("Average latency: %.3f ms" % (avg * 1000))
        else:
            print("All packets are lost")
        print("Number of lost packets: %d" % self.lost, flush=True)
        self.latencyList = []
        self.lost = 0
        self.loop.call_later(self.args.report, self.report)

    async def run(self):
        self.loop = asyncio.get_running_loop()
        rx, self.tx = self.sockets()
        await self.loop.create_datagram_endpoint(lambda: Echo(self), sock=rx)
        await self.loop.create_datagram_endpoint(lambda: Replies(self), sock=self.tx)
        print("seed agent listening on %s:%d" % (self.args.group, self.args.port), flush=True)
        self.loop.call_soon(self.send)
        self.loop.call_later(self.args.report, self.report)
        await asyncio.Event().wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("own")
    p.add_argument("-6", dest="v6", action="store_true")
    p.add_argument("--group")
    p.add_argument("--port", type=int, default=1910)
    p.add_argument("--interval", type=float, default=0.5)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--report", type=float, default=10.0)
    p.add_argument("--iface")
    a = p.parse_args()
    if a.group is None:
        a.group = "ff0e::10" if a.v6 else "239.255.255.250"
    try:
        asyncio.run(Agent(a).run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
