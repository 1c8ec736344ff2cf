#!/bin/sh
# Runs brig's benchmarks (scripts/bench.py) against the binaries in BUILD.
# Needs root: it starts brig-helper.
set -eu
build=${1:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (sudo make bench): it starts brig-helper" >&2
	exit 1
fi
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$build"
