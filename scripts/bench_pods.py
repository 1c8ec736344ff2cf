"""Pod sandbox benchmark: brig against Debian's containerd 1.6, same CNI network.

Measured, for each runtime, over PODS pods made one after another (after
WARMUP pods that are made and removed untimed), from the same Python gRPC
client:

- RunPodSandbox: the wall time of the one CRI call, per pod;
- Stop+Remove: StopPodSandbox and RemovePodSandbox of one pod together,
  per pod, once all PODS pods exist.

The pods are what kubelet asks for by default: their own network and IPC
namespaces, the PID namespace per container, a hostname, namespace
"default".

Both runtimes attach each pod to the same network: the shipped
contrib/cni/10-brig.conflist (bridge brig0 + host-local 10.88.0.0/16 +
portmap + loopback, Debian's plugins in /usr/lib/cni), each from its own
copy with host-local's dataDir in the bench's temporary directory rather
than the node's /var/lib/cni. They run one after the other, never at once,
so they can share the bridge and the subnet. The bench removes brig0 at the
end if it made it.

The floor: the same CNI chain run alone by a small driver here, ADD for
PODS fresh network namespaces (pinned under the temporary directory with
unshare) and then DEL for each. Every runtime pays for it, so "brig own"
(brig's p50 minus the floor's p50) is what brig's own work costs: the
namespaces, the records, the round trips through brig-helper.

brig runs no infra container; containerd needs one. This script compiles
scripts/pause.c statically, writes an OCI image holding it as /pause (the
entrypoint) by hand, pushes it with skopeo to the local registry on
127.0.0.1:5000 (../shared/tools/test-registry.sh) and points containerd's
sandbox_image at it. containerd runs runc with cgroupfs, and
restrict_oom_score_adj = true because this machine refuses a negative
oom_score_adj even to root.

Goals (the issue): brig's RunPodSandbox p50 at most a third of
containerd's, its Stop+Remove p50 at most half of containerd's.

p50 is the median; p99 over 50 samples is the interpolated 99th percentile
(statistics.quantiles, inclusive), close to the slowest pod.

`make bench` (scripts/bench.sh) runs this after the pull benchmark, whose
branch has started the registry when ../shared/tools/test-registry.sh is
there, and runs it whether or not the registry is up. Parts that cannot run
(no registry, containerd or skopeo) are skipped with a message; brig and
the floor always run. The exit status is 1 only when brig itself cannot
run or remove pods.

State lives in $BENCH_DIR (default /var/tmp): on disk, as on a node, since
both runtimes make their records durable. Everything the bench makes goes
away at the end, on error and on ^C or SIGTERM too: the daemons (stopped by
PID), their pods, mounts, directories and iptables rules.

The client, the daemons' start and clean-up, the pause image and the CNI
chain are scripts/bench_cri.py's, shared with bench_containers.py.

Usage: bench_pods.py BUILD   (root; run by `make bench`)
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import bench_cri
from bench_cri import (BENCH_DIR, BRIDGE, CONFLIST, CONTAINERD, REGISTRY, Chain,
                       bench_conflist, brig_daemon, check_no_leftover_chains,
                       containerd_daemon, link_exists, p50, p99, pod_ids, push_pause_image,
                       registry_up, remove_every_pod, run, stop_remove, unmount_under)

bench_cri.LOG_PREFIX = "bench_pods"
log = bench_cri.log

PODS = 50
WARMUP = 3

api = None  # the generated runtime.v1 messages, loaded in main()


def pod_config(tag, i):
    uid = str(uuid.uuid4())
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=f"bench-{tag}-{i}", uid=uid,
                                        namespace="default", attempt=0),
        hostname=f"bench-{i}")
    config.linux.security_context.namespace_options.CopyFrom(
        api.NamespaceOption(network=api.POD, pid=api.CONTAINER, ipc=api.POD))
    return config


def time_pods(cri, tag):
    """(RunPodSandbox ms per pod, Stop+Remove ms per pod)."""
    try:
        for i in range(WARMUP):
            reply = cri.runtime("RunPodSandbox",
                                api.RunPodSandboxRequest(config=pod_config(tag + "-warm", i)))
            pod_ids.add(reply.pod_sandbox_id)
            stop_remove(cri, reply.pod_sandbox_id)
        # The configs are made before the clock starts: uuid4 and protobuf
        # building are the client's cost, not the runtime's.
        configs = [pod_config(tag, i) for i in range(PODS)]
        ids, run_ms = [], []
        for config in configs:
            request = api.RunPodSandboxRequest(config=config)
            start = time.perf_counter()
            reply = cri.runtime("RunPodSandbox", request)
            run_ms.append((time.perf_counter() - start) * 1e3)
            ids.append(reply.pod_sandbox_id)
            pod_ids.add(reply.pod_sandbox_id)
        stop_ms = []
        for pod_id in ids:
            start = time.perf_counter()
            stop_remove(cri, pod_id)
            stop_ms.append((time.perf_counter() - start) * 1e3)
        return run_ms, stop_ms
    finally:
        remove_every_pod(cri)


# ---------------------------------------------------------------- brig

def bench_brig(build, work):
    with brig_daemon(build, work / "brig") as d:
        return time_pods(d.cri, "brig")


# ---------------------------------------------------------------- containerd

def bench_containerd(work):
    with containerd_daemon(work / "containerd") as d:
        return time_pods(d.cri, "containerd")


# ---------------------------------------------------------------- CNI floor

def bench_floor(work):
    base = work / "floor"
    base.mkdir()
    chain = Chain(bench_conflist(base / "net.d", base / "cni-ipam"))
    ns_dir = base / "ns"
    ns_dir.mkdir()
    pods = []  # every pod whose namespace exists, until it is gone again

    def new_pod(tag, i):
        pod = {"name": f"floor-{tag}-{i}", "uid": str(uuid.uuid4()),
               "id": uuid.uuid4().hex + uuid.uuid4().hex,
               "netns": ns_dir / f"{tag}-{i}", "added": False, "result": None}
        pod_ids.add(pod["id"])
        pod["netns"].touch()
        # A fresh network namespace pinned by a bind mount on the file.
        r = run(["unshare", f"--net={pod['netns']}", "true"], timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"unshare --net failed: {r.stderr.strip()}")
        pods.append(pod)
        return pod

    def add(pod):
        pod["added"] = True  # DEL is due even if ADD fails half way
        pod["result"] = chain.add(pod)

    def delete(pod):
        chain.delete(pod, pod["result"])
        pod["added"] = False

    def drop(pod):
        run(["umount", str(pod["netns"])], timeout=10)
        pods.remove(pod)

    try:
        for i in range(WARMUP):
            pod = new_pod("warm", i)
            add(pod)
            delete(pod)
            drop(pod)
        batch = [new_pod("p", i) for i in range(PODS)]
        add_ms = []
        for pod in batch:
            start = time.perf_counter()
            add(pod)
            add_ms.append((time.perf_counter() - start) * 1e3)
        del_ms = []
        for pod in batch:
            start = time.perf_counter()
            delete(pod)
            del_ms.append((time.perf_counter() - start) * 1e3)
        return add_ms, del_ms
    finally:
        for pod in list(pods):
            if pod["added"]:
                try:
                    chain.delete(pod, pod["result"])
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    log(f"floor: DEL of {pod['name']} on the way out: {e}")
            drop(pod)
        unmount_under(base, "the floor")


# ---------------------------------------------------------------- report

def report(results, errors):
    def pair(name, i):
        if name not in results:
            return f"{'-':>7} {'-':>7}"
        return f"{p50(results[name][i]):7.1f} {p99(results[name][i]):7.1f}"

    print(f"pod sandboxes: {PODS} pods made one after another ({WARMUP} untimed first), "
          f"then each stopped and removed; network {CONFLIST.name} (bridge {BRIDGE} + "
          f"host-local + portmap + loopback); state in {BENCH_DIR}")
    print(f"{'':<14}  {'brig':^15}  {'containerd 1.6':^15}  {'containerd/':>11}  "
          f"{'CNI floor':^15}  {'brig own':>8}")
    print(f"{'ms':<14}  {'p50':>7} {'p99':>7}  {'p50':>7} {'p99':>7}  {'brig p50':>11}  "
          f"{'p50':>7} {'p99':>7}  {'p50':>8}")
    for i, (row, floor_part) in enumerate((("RunPodSandbox", "ADD"), ("Stop+Remove", "DEL"))):
        ratio = own = "-"
        if "brig" in results and "containerd" in results:
            ratio = f"{p50(results['containerd'][i]) / p50(results['brig'][i]):.2f}x"
        if "brig" in results and "floor" in results:
            own = f"{p50(results['brig'][i]) - p50(results['floor'][i]):.1f}"
        print(f"{row:<14}  {pair('brig', i)}  {pair('containerd', i)}  {ratio:>11}  "
              f"{pair('floor', i)}  {own:>8}   (floor: the chain's {floor_part})")
    print("  brig own: brig's p50 minus the floor's p50, the part that is brig's own work")
    for name, error in errors.items():
        print(f"  {name}: not measured: {error.splitlines()[0]}")
    if "brig" in results and "containerd" in results:
        for i, (row, share) in enumerate((("RunPodSandbox", 3), ("Stop+Remove", 2))):
            b, c = p50(results["brig"][i]), p50(results["containerd"][i])
            verdict = "met" if b <= c / share else "NOT met"
            print(f"  goal: {row} p50 at most containerd's / {share}: {verdict} "
                  f"({b:.1f} ms, goal {c / share:.1f} ms)")
            if "floor" in results and p50(results["floor"][i]) > c / share:
                print(f"    (below the CNI floor of {p50(results['floor'][i]):.1f} ms: "
                      "out of reach of any runtime that runs this chain here)")
    sys.stdout.flush()


def main():
    global api
    if os.geteuid() != 0:
        sys.exit("bench_pods: run as root: it starts brig-helper and containerd")
    build = Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
    # A SIGTERM (make interrupted) unwinds through the finally blocks below,
    # which stop the daemons and remove what they made.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="brig-bench-pods-", dir=BENCH_DIR))
    work.chmod(0o755)
    had_bridge = link_exists(BRIDGE)
    results, errors = {}, {}
    try:
        api = bench_cri.load_stubs(work)

        log("brig ...")
        try:
            results["brig"] = bench_brig(build, work)
        except Exception as e:  # reported below; the other parts still run
            errors["brig"] = str(e)

        if not os.path.exists(CONTAINERD):
            errors["containerd"] = f"{CONTAINERD} is not installed"
        elif not shutil.which("skopeo"):
            errors["containerd"] = "skopeo is not installed (it pushes the pause image)"
        elif not registry_up():
            errors["containerd"] = (f"no registry on {REGISTRY} for its pause image "
                                    "(start ../shared/tools/test-registry.sh)")
        else:
            log("containerd ...")
            try:
                push_pause_image(work)
                results["containerd"] = bench_containerd(work)
            except Exception as e:
                errors["containerd"] = str(e)

        log("CNI floor ...")
        try:
            results["floor"] = bench_floor(work)
        except Exception as e:
            errors["floor"] = str(e)
    finally:
        check_no_leftover_chains()
        if not had_bridge and link_exists(BRIDGE):
            run(["ip", "link", "del", BRIDGE], timeout=10)
        unmount_under(work, "the bench")
        shutil.rmtree(work, ignore_errors=True)

    report(results, errors)
    for name, error in errors.items():
        if "\n" in error:  # the one-line summary is in the table already
            print(f"\nbench_pods: {name}: {error}", file=sys.stderr)
    if "brig" in errors:
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # The finally blocks have stopped the daemons and cleaned up by now.
        sys.exit("bench_pods: interrupted")
