#!/usr/bin/env python3
"""env/clean.sh leaves nothing behind: after each topology (patch, VXLAN with
the delay bridge and its link emulator, a 12-agent mesh) the namespaces,
root-namespace interfaces, processes and state are as before; a namespace
that is not ours survives; clean.sh again is a no-op."""
import os
import subprocess

from nsutil import check, env_script, require_root, run_tests, sh, skip, topo_up

STATE = os.environ.get("PK_ENV_STATE", "/run/probekit-env")


def snapshot():
    netns = sorted(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
                   .stdout.split("\n"))
    links = sorted(l.split(":")[1].strip() for l in
                   subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines())
    procs = sorted(l.strip() for l in
                   subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout.splitlines()
                   if ("ovs-vswitchd" in l or "ovsdb-server" in l or "linkemu" in l)
                   and STATE in l or ("linkemu" in l and "port12" in l))
    procs = [p for p in procs if not p.startswith("Z")]   # exited, not yet reaped
    return {"netns": [n.split()[0] for n in netns if n], "links": links, "procs": procs,
            "state": os.path.exists(STATE)}


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


def test_clean_vxlan_delay():
    cycle("--link", "vxlan", "--delay", "20ms,30ms", "--loss", "5")


def test_clean_mesh():
    cycle("--link", "vxlan", "--agents", "12", "--ip", "4")


def test_clean_after_failed_up():
    """An up that fails half-way (a bad --delay value for the emulator) is
    still removed completely."""
    sh([env_script("clean.sh")])
    before = snapshot()
    r = sh([env_script("topo.sh"), "up", "-q", "--link", "vxlan", "--delay", "bogus,1ms"], check_rc=False)
    if r.returncode == 3:
        skip("Open vSwitch cannot start")
    check(r.returncode != 0, "a bogus delay was accepted")
    sh([env_script("clean.sh")])
    check(snapshot() == before, "a failed up left something behind")


def main():
    require_root()
    run_tests([test_clean_patch, test_clean_vxlan_delay, test_clean_mesh, test_clean_after_failed_up])


if __name__ == "__main__":
    main()
