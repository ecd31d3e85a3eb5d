#!/usr/bin/env bash
# Heartbeat benchmarks (see heartbeat_bench.py): detection time at 1 s,
# 100 ms and 10 ms intervals, and server scale (10,000 clients x 10/s).
# Usage: test/bench/heartbeat_bench.sh [quick|detect|scale]   (PK_BUILD_DIR = build dir)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${PK_BUILD_DIR:-$here/../../build}
exec python3 "$here/heartbeat_bench.py" "$build" "$@"
