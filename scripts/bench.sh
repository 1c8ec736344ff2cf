#!/bin/sh
# Runs brig's benchmarks against the binaries in BUILD: CRI call latency
# (bench.py), brig-unpack against tar (bench-unpack.sh), a cold pull
# against containerd (bench_pull.py, from the local registry that
# ../shared/tools/test-registry.sh starts), pod sandboxes against
# containerd and the bare CNI chain (bench_pods.py), and containers against
# containerd (bench_containers.py: Create+Start, ExecSync, exit-to-status,
# memory per pod). Needs root: they start brig-helper.
set -eu
build=${1:-build}
here=$(dirname "$0")
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (sudo make bench): it starts brig-helper" >&2
	exit 1
fi
/usr/bin/python3 "$here/bench.py" "$build"
echo
"$here/bench-unpack.sh" "$build"
echo
registry_tool="$here/../../shared/tools/test-registry.sh"
if [ -x "$registry_tool" ] || [ -f "$registry_tool" ]; then
	bash "$registry_tool" >/dev/null
	# In memory: the runtimes' own work. On disk: with this machine's disk,
	# which brig's per-layer syncfs waits for and containerd's unsynced
	# unpack does not.
	BENCH_DIR=/dev/shm /usr/bin/python3 "$here/bench_pull.py" "$build"
	echo
	BENCH_DIR=/var/tmp /usr/bin/python3 "$here/bench_pull.py" "$build"
else
	echo "bench: $registry_tool not found; skipping the pull benchmark" >&2
fi
echo
# Pod sandboxes against containerd (bench_pods.py). Runs with or without the
# registry: containerd's part needs it for its pause image and is skipped
# with a message when it is not there; brig's and the CNI floor's run anyway.
/usr/bin/python3 "$here/bench_pods.py" "$build"
echo
# Containers against containerd + runc (bench_containers.py), in host-network
# pods. Its image comes from the registry above; without it the bench starts
# a registry of its own if docker-registry is installed, and skips
# containerd with a message if it cannot. Its report is also written to
# $build/bench-containers.txt.
/usr/bin/python3 "$here/bench_containers.py" "$build"
