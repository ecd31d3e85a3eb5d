#!/usr/bin/env python3
"""The rules' unit tests must catch a broken rule: each mutation below (a
threshold, a window, a `for`, a clause, an operator) is applied alone to a
copy of the rules, and `promtool test rules` over every tests/*_test.yml must
then fail; unchanged, it must pass. A mutation whose text is not found once
in its file is an error (the list follows the rules).

usage: mutations.py [PROMTOOL]     (ctest: prometheus_rules_mutations)
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.dirname(HERE)

# (file, what, old text, new text)
MUTATIONS = [
    ("vxlan-agent.rules.yml", "loss ratio over answered, not expected",
     "/ rate(vxlan_agent_peer_expected_probes_total[5m])\n",
     "/ rate(vxlan_agent_peer_answered_probes_total[5m])\n"),
    ("vxlan-agent.rules.yml", "per-agent loss: max instead of sum",
     "sum without (peer) (rate(vxlan_agent_peer_lost_probes_total[5m]))",
     "max without (peer) (rate(vxlan_agent_peer_lost_probes_total[5m]))"),
    ("vxlan-agent.rules.yml", "p90 computed as p95",
     "histogram_quantile(0.9, rate(vxlan_agent_peer_rtt_seconds_bucket",
     "histogram_quantile(0.95, rate(vxlan_agent_peer_rtt_seconds_bucket"),
    ("vxlan-agent.rules.yml", "baseline: max instead of min",
     "min_over_time(\n", "max_over_time(\n"),
    ("vxlan-agent.rules.yml", "unreachable: peer_up never 0",
     "vxlan_agent_peer_up == 0", "vxlan_agent_peer_up == 2"),
    ("vxlan-agent.rules.yml", "unreachable: answered rate never below 0",
     "rate(vxlan_agent_peer_answered_probes_total[2m]) == 0",
     "rate(vxlan_agent_peer_answered_probes_total[2m]) < 0"),
    ("vxlan-agent.rules.yml", "peer lost: agents down not excluded",
     "\n            unless on (job, instance) (up == 0)", ""),
    ("vxlan-agent.rules.yml", "loss threshold 2% instead of 5%",
     "ratio_rate5m > 0.05", "ratio_rate5m > 0.02"),
    ("vxlan-agent.rules.yml", "loss for 2m instead of 5m",
     "for: 5m", "for: 2m"),
    ("vxlan-agent.rules.yml", "loss alert also for peers answering nothing",
     "\n          and rate(vxlan_agent_peer_answered_probes_total[5m]) > 0", ""),
    ("vxlan-agent.rules.yml", "latency factor 1.2 instead of 1.5",
     "1.5 * instance_peer", "1.2 * instance_peer"),
    ("vxlan-agent.rules.yml", "latency margin 0.2 ms instead of 2 ms",
     "> 0.002\n", "> 0.0002\n"),
    ("vxlan-agent.rules.yml", "agent down: any target, not only agents",
     "\n          and on (job, instance) present_over_time(vxlan_agent_info[1h])", ""),
    ("heartbeat.rules.yml", "heartbeat loss: received only in the denominator",
     "/ (clamp_min(delta(heartbeat_server_client_lost_heartbeats[5m]), 0)\n"
     "               + increase(", "/ (0 * clamp_min(delta(heartbeat_server_client_lost_heartbeats[5m]), 0)\n"
     "               + increase("),
    ("heartbeat.rules.yml", "heartbeat stopped: no hour's bound",
     "< 3600", "< 36000"),
    ("heartbeat.rules.yml", "heartbeat stopped: the active state",
     '{state="stopped"} == 1', '{state="active"} == 1'),
    ("heartbeat.rules.yml", "heartbeat loss threshold 2% instead of 5%",
     "ratio_increase5m > 0.05", "ratio_increase5m > 0.02"),
    ("heartbeat.rules.yml", "heartbeat loss for 1m instead of 5m",
     "for: 5m", "for: 1m"),
    ("heartbeat.rules.yml", "heartbeat table full: a 30m window",
     "evicted_total[10m]", "evicted_total[30m]"),
    ("heartbeat.rules.yml", "heartbeat server down: any target",
     "\n          and on (job, instance) present_over_time(heartbeat_build_info[1h])", ""),
]


def run(promtool, tmp):
    tests = sorted(glob.glob(os.path.join(tmp, "tests", "*_test.yml")))
    r = subprocess.run([promtool, "test", "rules"] + tests, capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout + r.stderr


def copy_tree(tmp):
    for f in glob.glob(os.path.join(RULES, "*.rules.yml")):
        shutil.copy(f, tmp)
    os.mkdir(os.path.join(tmp, "tests"))
    for f in glob.glob(os.path.join(HERE, "*_test.yml")):
        shutil.copy(f, os.path.join(tmp, "tests"))


def main():
    promtool = sys.argv[1] if len(sys.argv) > 1 else "promtool"
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        copy_tree(tmp)
        rc, out = run(promtool, tmp)
        if rc != 0:
            print("FAIL the unchanged rules do not pass their tests:\n" + out)
            return 1
        print("ok   unchanged rules pass")
        for name, what, old, new in MUTATIONS:
            path = os.path.join(tmp, name)
            with open(path) as f:
                orig = f.read()
            if orig.count(old) != 1:
                print("FAIL %s: %r found %d times in %s" % (what, old, orig.count(old), name))
                bad += 1
                continue
            with open(path, "w") as f:
                f.write(orig.replace(old, new))
            rc, out = run(promtool, tmp)
            with open(path, "w") as f:
                f.write(orig)
            if rc == 0:
                print("FAIL %s: the tests still pass" % what)
                bad += 1
            else:
                print("ok   %s: caught" % what)
    print("%d mutations, %d not caught" % (len(MUTATIONS), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
