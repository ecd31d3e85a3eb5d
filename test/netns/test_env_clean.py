#!/usr/bin/env python3
"""The seed's scripts (env_ipv4.sh, env_ipv6.sh, test_env.sh, clean.sh) make
the seed's topology, and clean.sh leaves nothing behind.

- env_ipv4.sh: plain `ovs-vsctl show` (the system Open vSwitch, no --db)
  lists ovs1 with port1 and patch1 and ovs2 with port2 and patch2; the
  seed's `route add default dev portN` lines succeed and the agents still
  reach each other (IPv4; IPv6 after env_ipv6.sh);
- test_env.sh: ovs1 has port12 and ovs2 port22 instead of the patch ports;
  agent3 has port12 10.1.1.10/24 and port22 10.1.1.20/24 (and ::a, ::14);
  the delay's direction, a one-way UDP measurement with kernel receive
  timestamps against a 0 ms run of the same path: agent2->agent1 is 20 ms,
  agent1->agent2 30 ms (the seed's netem on port12 and port22);
- the system instance: topo.sh starts one when none runs and clean.sh stops
  it; one that runs already (started here) is used, keeps running after
  clean.sh with its own bridge, and is refused when it has an ovs1 that
  topo.sh did not make; one that cannot be used (no ovs-vswitchd) makes
  topo.sh fall back to a private instance and print the command that shows it;
- clean.sh after each topology (patch, VXLAN with the delay bridge and its
  link emulator, a 12-agent mesh, a failed up): the namespaces, root-namespace
  interfaces, Open vSwitch and emulator processes, the system instance's
  files and the state are as before; a namespace that is not ours survives;
  clean.sh again is a no-op.
"""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

from nsutil import (Fail, InNetns, check, env_script, require_root, run_tests, sh, skip, topo_up)

STATE = os.environ.get("PK_ENV_STATE", "/run/probekit-env")
SYS_RUN = os.environ.get("OVS_RUNDIR", "/var/run/openvswitch")
SYS_FILES = [SYS_RUN, "/etc/openvswitch/conf.db", "/var/lib/openvswitch/conf.db",
             "/var/lib/openvswitch/.conf.db.~lock~"]
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
ADDR4 = {"agent1": "10.1.1.5", "agent2": "10.1.1.6"}
ADDR6 = {"agent1": "fd01:2345:6789:abc1::5", "agent2": "fd01:2345:6789:abc1::6"}


def snapshot():
    netns = sorted(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
                   .stdout.split("\n"))
    links = sorted(l.split(":")[1].strip() for l in
                   subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines())
    procs = sorted(l.strip() for l in
                   subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True,
                                  text=True).stdout.splitlines()
                   if "ovs-vswitchd" in l or "ovsdb-server" in l or ("linkemu" in l and "port12" in l))
    procs = [p for p in procs if not p.split()[1].startswith("Z")]   # exited, not yet reaped
    return {"netns": [n.split()[0] for n in netns if n], "links": links, "procs": procs,
            "state": os.path.exists(STATE),
            "files": [f for f in SYS_FILES if os.path.lexists(f) and os.path.exists(f)]}


def plain_env():
    """The environment of a student's shell: plain ovs-vsctl talks to the system instance."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OVS_")}


def sys_live():
    return subprocess.run(["ovs-vsctl", "--timeout=3", "show"], capture_output=True,
                          env=plain_env()).returncode == 0


def ovs_show(db=None):
    """{bridge: {port, ...}} from `ovs-vsctl show` (plain, or with --db)."""
    args = ["ovs-vsctl", "--timeout=5"] + (["--db=" + db] if db else []) + ["show"]
    r = subprocess.run(args, capture_output=True, text=True, env=plain_env(), timeout=30)
    check(r.returncode == 0, "%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    bridges, cur = {}, None
    for line in r.stdout.splitlines():
        w = line.split()
        if len(w) == 2 and w[0] == "Bridge":
            cur = bridges.setdefault(w[1].strip('"'), set())
        elif len(w) == 2 and w[0] == "Port" and cur is not None:
            cur.add(w[1].strip('"'))
    return bridges


def up(script, *args, expect_rc=0):
    """Runs an env/ script; skips when Open vSwitch cannot start (exit 3)."""
    r = sh([env_script(script)] + list(args), check_rc=False)
    if r.returncode == 3:
        sh([env_script("clean.sh")], check_rc=False)
        skip("Open vSwitch cannot start: " + r.stderr.strip()[-300:])
    check(r.returncode == expect_rc, "%s %s: exit %d, want %d: %s %s"
          % (script, " ".join(args), r.returncode, expect_rc, r.stdout[-600:], r.stderr[-600:]))
    return r


def seed_routes(v6=False):
    """The seed README's lines after its scripts: `sudo ip netns exec agent1
    route add default dev port1` (`ip -6 netns exec ...` for IPv6; net-tools'
    route; `ip route` where net-tools is absent)."""
    have_route = shutil.which("route") is not None
    for i in (1, 2):
        ns, dev = "agent%d" % i, "port%d" % i
        if have_route:
            args = ["ip"] + (["-6"] if v6 else []) + ["netns", "exec", ns, "route", "add", "default",
                                                      "dev", dev]
        else:
            args = ["ip", "netns", "exec", ns, "ip", "route", "add", "default", "dev", dev]
        r = subprocess.run(args, capture_output=True, text=True)
        check(r.returncode == 0, "the seed's %r failed: %s" % (" ".join(args), r.stderr.strip()))


def reach(fam):
    """A datagram each way between agent1 and agent2 arrives."""
    addr = ADDR4 if fam == socket.AF_INET else ADDR6
    socks = {}
    try:
        for ns in ("agent1", "agent2"):
            with InNetns(ns):
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.bind((addr[ns], 5001))
                s.settimeout(3.0)
                socks[ns] = s
        for src, dst in (("agent1", "agent2"), ("agent2", "agent1")):
            socks[src].sendto(b"hello " + src.encode(), (addr[dst], 5001))
            data, frm = socks[dst].recvfrom(100)
            check(data == b"hello " + src.encode() and frm[0] == addr[src],
                  "%s got %r from %s" % (dst, data, frm))
    except socket.timeout:
        raise Fail("no datagram between the agents (family %d)" % fam)
    finally:
        for s in socks.values():
            s.close()


def static_neighbours():
    """Each agent knows the other's MAC: no ARP through the delay while measuring."""
    mac = {}
    for i in (1, 2):
        out = subprocess.run(["ip", "-n", "agent%d" % i, "-o", "link", "show", "port%d" % i],
                             capture_output=True, text=True, check=True).stdout
        mac[i] = out.split("link/ether ")[1].split()[0]
    for i, j in ((1, 2), (2, 1)):
        subprocess.run(["ip", "-n", "agent%d" % i, "neigh", "replace", ADDR4["agent%d" % j], "lladdr",
                        mac[j], "dev", "port%d" % i], check=True, capture_output=True)


def one_way(src, dst, count=20, gap=0.02):
    """Median one-way delay (ms) of count datagrams src->dst, each carrying
    its send time, against the kernel's receive timestamp (one host: one
    clock). All count must arrive, once each (agent3 forwards nothing itself)."""
    socks = {}
    try:
        for ns in (src, dst):
            with InNetns(ns):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                s.bind((ADDR4[ns], 5002))
                socks[ns] = s
        for i in range(count):
            socks[src].sendto(struct.pack("!Iq", i, time.time_ns()), (ADDR4[dst], 5002))
            time.sleep(gap)
        delays, seen = [], set()
        socks[dst].settimeout(0.5)
        for _ in range(count * 2):
            try:
                data, anc, _, _ = socks[dst].recvmsg(64, 256)
            except socket.timeout:
                break
            i, sent = struct.unpack("!Iq", data[:12])
            check(i not in seen, "datagram %d arrived twice" % i)
            seen.add(i)
            for lvl, typ, val in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", val[:16])
                    delays.append((sec * 10**9 + nsec - sent) / 1e6)
        check(len(seen) == count, "%s->%s: %d of %d arrived" % (src, dst, len(seen), count))
        check(len(delays) == count, "no kernel timestamps")
        return sorted(delays)[count // 2]
    finally:
        for s in socks.values():
            s.close()


def clean():
    sh([env_script("clean.sh")])


# ---- the seed's topologies --------------------------------------------------------


def test_env_ipv4_seed():
    """env_ipv4.sh: ovs1 (port1, patch1) and ovs2 (port2, patch2) in plain
    `ovs-vsctl show`; the seed's route lines succeed; the agents reach each other."""
    clean()
    try:
        up("env_ipv4.sh")
        br = ovs_show()
        print("  ovs-vsctl show: %s" % {b: sorted(p) for b, p in br.items()})
        check({"port1", "patch1"} <= br.get("ovs1", set()), "ovs1: %s" % br.get("ovs1"))
        check({"port2", "patch2"} <= br.get("ovs2", set()), "ovs2: %s" % br.get("ovs2"))
        peer = subprocess.run(["ovs-vsctl", "--timeout=5", "get", "interface", "patch1", "options:peer"],
                              capture_output=True, text=True, env=plain_env()).stdout.strip()
        check(peer.strip('"') == "patch2", "patch1's peer is %r" % peer)
        routes = subprocess.run(["ip", "-n", "agent1", "route"], capture_output=True, text=True).stdout
        check("default" not in routes and "224.0.0.0/4 dev port1" in routes, "agent1's routes: %s" % routes)
        seed_routes()
        reach(socket.AF_INET)
    finally:
        clean()


def test_env_ipv6_seed():
    """env_ipv6.sh: the same bridges; the seed's `ip -6 netns exec agentN
    route add default dev portN` succeeds; the agents reach each other over IPv6."""
    clean()
    try:
        up("env_ipv6.sh")
        br = ovs_show()
        check({"port1", "patch1"} <= br.get("ovs1", set()) and {"port2", "patch2"} <= br.get("ovs2", set()),
              "bridges: %s" % br)
        routes = subprocess.run(["ip", "-n", "agent1", "-6", "route"], capture_output=True, text=True).stdout
        check("default" not in routes and "ff0e::/16 dev port1" in routes, "agent1's routes: %s" % routes)
        seed_routes(v6=True)
        reach(socket.AF_INET6)
    finally:
        clean()


def delay_direction(link):
    """test_env.sh --link LINK: agent2->agent1 is 20 ms and agent1->agent2
    30 ms more than over a 0 ms delay bridge (median of 20 datagrams, within
    0.5 ms). Over patch first the seed's bridges and addresses: port12 on
    ovs1 and port22 on ovs2 (plain `ovs-vsctl show`), no patch ports, agent3
    with port12 10.1.1.10/24 and port22 10.1.1.20/24 (and ::a, ::14)."""
    clean()
    base = {}
    try:
        up("test_env.sh", "--link", link, "--delay", "0ms,0ms")
        reach(socket.AF_INET)   # as below: the first frames of a flow wait for its set-up
        static_neighbours()
        for src, dst in (("agent2", "agent1"), ("agent1", "agent2")):
            base[src, dst] = one_way(src, dst)
        clean()
        up("test_env.sh", "--link", link)
        if link == "patch":
            seed_delay_topology()
        seed_routes()
        reach(socket.AF_INET)
        reach(socket.AF_INET6)
        static_neighbours()
        for (src, dst), want in ((("agent2", "agent1"), 20.0), (("agent1", "agent2"), 30.0)):
            m = one_way(src, dst)
            b = base[src, dst]
            print("  %s->%s: median %.3f ms, 0 ms run %.3f ms: added %.3f ms (want %.0f)"
                  % (src, dst, m, b, m - b, want))
            check(abs(m - b - want) < 0.5, "%s->%s: added %.3f ms, want %.0f" % (src, dst, m - b, want))
    finally:
        clean()


def seed_delay_topology():
    br = ovs_show()
    print("  ovs-vsctl show: %s" % {b: sorted(p) for b, p in br.items()})
    check("port12" in br.get("ovs1", set()) and "port22" in br.get("ovs2", set()), "bridges: %s" % br)
    check(not ({"patch1", "patch2"} & (br.get("ovs1", set()) | br.get("ovs2", set()))),
          "patch ports in the delay topology: %s" % br)
    for dev, want in (("port12", ["10.1.1.10/24", "fd01:2345:6789:abc1::a/64"]),
                      ("port22", ["10.1.1.20/24", "fd01:2345:6789:abc1::14/64"])):
        out = subprocess.run(["ip", "-n", "agent3", "-o", "addr", "show", "dev", dev],
                             capture_output=True, text=True).stdout
        addrs = [l.split()[3] for l in out.splitlines()]
        for a in want:
            check(a in addrs, "agent3 %s: %s, want %s" % (dev, addrs, a))


def test_env_delay_seed():
    delay_direction("patch")


def test_env_delay_vxlan():
    """The same direction over VXLAN, where port12/port22 are the underlay's halves."""
    delay_direction("vxlan")


# ---- the system instance ---------------------------------------------------------


def test_system_instance_started_and_stopped():
    """With no system instance running, env_ipv4.sh starts one with the
    default socket and clean.sh stops it, removing the files it made."""
    clean()
    if sys_live():
        print("  a system Open vSwitch runs already: this case does not apply")
        return
    before = snapshot()
    try:
        up("env_ipv4.sh")
        check(sys_live(), "no system instance answers plain ovs-vsctl")
        with open(os.path.join(STATE, "objects")) as f:
            check("sysovs\n" in f.read(), "topo.sh did not record the instance it started")
    finally:
        clean()
    check(not sys_live(), "the system instance topo.sh started still runs")
    check(snapshot() == before, "left behind: %s vs %s" % (snapshot(), before))


class SysOvs:
    """A system instance started here (default socket and pid files, a
    database in a temporary directory): the "pre-existing" one."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pk-sysovs-")
        self.made_run = not os.path.isdir(SYS_RUN)
        os.makedirs(SYS_RUN, exist_ok=True)
        self.pids = {}
        db = os.path.join(self.dir, "conf.db")
        subprocess.run(["ovsdb-tool", "create", db, SCHEMA], check=True, capture_output=True)
        self._daemon("ovsdb-server", [db, "--remote=punix:%s/db.sock" % SYS_RUN])
        subprocess.run(["ovs-vsctl", "--timeout=5", "--no-wait", "init"], check=True, env=plain_env())

    def _daemon(self, name, args):
        pidfile = os.path.join(SYS_RUN, name + ".pid")
        subprocess.run([name] + args + ["--pidfile=" + pidfile, "--detach", "-vconsole:off",
                                        "--log-file=" + os.path.join(self.dir, name + ".log")],
                       check=True, capture_output=True, env=plain_env(), timeout=30)
        with open(pidfile) as f:
            self.pids[name] = int(f.read())

    def start_vswitchd(self):
        self._daemon("ovs-vswitchd", ["unix:%s/db.sock" % SYS_RUN])

    def running(self, name):
        try:
            with open("/proc/%d/comm" % self.pids[name]) as f:
                return f.read().strip() == name
        except (KeyError, OSError):
            return False

    def stop(self):
        for br in subprocess.run(["ovs-vsctl", "--timeout=5", "list-br"], capture_output=True, text=True,
                                 env=plain_env()).stdout.split():
            subprocess.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", br], capture_output=True,
                           env=plain_env())
        if self.running("ovs-vswitchd"):
            subprocess.run(["ovs-appctl", "--timeout=10", "-t", "%s/ovs-vswitchd.%d.ctl"
                            % (SYS_RUN, self.pids["ovs-vswitchd"]), "exit", "--cleanup"], capture_output=True)
        for name in ("ovs-vswitchd", "ovsdb-server"):
            if self.running(name):
                os.kill(self.pids[name], 15)
            for _ in range(50):
                if not self.running(name):
                    break
                time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.made_run:
            try:
                os.rmdir(SYS_RUN)
            except OSError:
                pass


def dp_type():
    return "system" if os.path.isdir("/sys/module/openvswitch") else "netdev"


def test_system_instance_preexisting():
    """A system instance that runs already: without ovs-vswitchd topo.sh falls
    back to a private instance and prints how to see it; with it, topo.sh
    uses it, clean.sh deletes ovs1/ovs2 only and leaves it running; an ovs1
    that topo.sh did not make is refused and left alone."""
    clean()
    if sys_live():
        print("  a system Open vSwitch runs already: not starting another one")
        return
    before = snapshot()
    ovs = SysOvs()
    try:
        # ovsdb-server alone: unusable, so a private instance (pk-hv0)
        r = up("env_ipv4.sh")
        cmd = [l.split("bridges: ", 1)[1] for l in r.stdout.splitlines() if "bridges: " in l]
        print("  no ovs-vswitchd: %s" % " | ".join(l for l in r.stdout.splitlines() if "private" in l))
        check("private instance" in r.stdout and cmd and "--db=unix:" in cmd[0],
              "no fallback note with the command: %r" % r.stdout)
        db = cmd[0].split("--db=", 1)[1].split()[0]
        br = ovs_show(db)
        check({"port1", "patch1"} <= br.get("ovs1", set()), "private instance: %s" % br)
        check("ovs1" not in ovs_show(), "bridges in the unusable system instance")
        seed_routes()
        reach(socket.AF_INET)
        clean()
        check(ovs.running("ovsdb-server"), "clean.sh stopped a system ovsdb-server it did not start")

        ovs.start_vswitchd()
        subprocess.run(["ovs-vsctl", "--timeout=10", "add-br", "pk-other", "--", "set", "bridge", "pk-other",
                        "datapath_type=" + dp_type()], check=True, env=plain_env())
        r = up("env_ipv4.sh")
        br = ovs_show()
        check({"port1", "patch1"} <= br.get("ovs1", set()) and {"port2", "patch2"} <= br.get("ovs2", set()),
              "bridges: %s" % br)
        with open(os.path.join(STATE, "objects")) as f:
            check("sysovs" not in f.read(), "topo.sh claims the instance it did not start")
        reach(socket.AF_INET)
        clean()
        check(ovs.running("ovsdb-server") and ovs.running("ovs-vswitchd"),
              "clean.sh stopped the pre-existing instance")
        br = ovs_show()
        check(set(br) == {"pk-other"}, "after clean.sh: %s" % br)

        # an ovs1 not ours: refused, and left alone
        subprocess.run(["ovs-vsctl", "--timeout=10", "add-br", "ovs1", "--", "set", "bridge", "ovs1",
                        "datapath_type=" + dp_type()], check=True, env=plain_env())
        r = up("env_ipv4.sh", expect_rc=2)
        print("  refused: %s" % r.stderr.strip())
        check("ovs1" in r.stderr and "did not make" in r.stderr, "refusal: %r" % r.stderr)
        clean()
        check(set(ovs_show()) == {"pk-other", "ovs1"}, "after a refused up: %s" % ovs_show())
    finally:
        clean()
        ovs.stop()
    check(snapshot() == before, "left behind: %s vs %s" % (snapshot(), before))


# ---- clean.sh ------------------------------------------------------------------------


def cycle(*args):
    subprocess.run(["ip", "netns", "add", "pk-bystander"], check=True)
    try:
        sh([env_script("clean.sh")])
        before = snapshot()
        topo_up(*args)
        during = snapshot()
        check(len(during["netns"]) > len(before["netns"]), "topology made no namespace")
        sh([env_script("clean.sh")])
        after = snapshot()
        check(after == before, "left behind: before %s after %s" % (before, after))
        check("pk-bystander" in after["netns"], "clean.sh removed a namespace it did not make")
        r = sh([env_script("clean.sh")])
        check(snapshot() == before, "second clean.sh changed something")
        check(r.returncode == 0, "second clean.sh failed")
    finally:
        subprocess.run(["ip", "netns", "del", "pk-bystander"], capture_output=True)


def test_clean_patch():
    cycle("--link", "patch")


def test_clean_patch_delay():
    cycle("--link", "patch", "--delay", "20ms,30ms")


def test_clean_patch_private():
    cycle("--link", "patch", "--ovs", "private")


def test_clean_vxlan_delay():
    cycle("--link", "vxlan", "--delay", "20ms,30ms", "--loss", "5")


def test_clean_mesh():
    cycle("--link", "vxlan", "--agents", "12", "--ip", "4")


def test_clean_after_failed_up():
    """An up that fails half-way (a bad --delay value for the emulator) is
    still removed completely, over VXLAN and over patch (system instance)."""
    for link in ("vxlan", "patch"):
        sh([env_script("clean.sh")])
        before = snapshot()
        r = sh([env_script("topo.sh"), "up", "-q", "--link", link, "--delay", "bogus,1ms"], check_rc=False)
        if r.returncode == 3:
            skip("Open vSwitch cannot start")
        check(r.returncode != 0, "a bogus delay was accepted")
        sh([env_script("clean.sh")])
        check(snapshot() == before, "%s: a failed up left something behind" % link)


def main():
    require_root()
    run_tests([test_env_ipv4_seed, test_env_ipv6_seed, test_env_delay_seed, test_env_delay_vxlan,
               test_system_instance_started_and_stopped, test_system_instance_preexisting,
               test_clean_patch, test_clean_patch_delay, test_clean_patch_private, test_clean_vxlan_delay,
               test_clean_mesh, test_clean_after_failed_up])


if __name__ == "__main__":
    main()
