"""Container benchmark: brig against Debian's containerd 1.6 + runc, same run.

Measured, for each runtime, from the same Python gRPC client, one runtime
after the other (never at once):

1. Create+Start: the wall time of CreateContainer and StartContainer of one
   container together, over CONTAINERS containers (`busybox sleep 1000`),
   each in its own pod. The pods are made beforehand, untimed, and WARMUP
   pods with a container each are made and removed first, untimed.
   Goal: brig's p50 at most 0.6 x containerd's.
2. ExecSync: `busybox true` in a running container, EXEC_CALLS calls one
   after another (WARMUP untimed first). Reported as "not available" with
   the runtime's answer when the RPC fails. No goal: for reference.
3. Exit-to-status: a container running `busybox sh -c 'busybox sleep 0.5;
   exit 3'`, its ContainerStatus polled every POLL_MS ms from StartContainer
   on; the figure is the host's realtime clock when the first answer saying
   EXITED arrives minus that answer's finished_at (the runtime's record of
   the exit, ns since the epoch on the same clock), over EXIT_RUNS
   containers, each in its own pod. It includes up to one polling interval
   and one ContainerStatus round trip. Goal: p99 within 100 ms.
4. Memory per pod: the sum of Pss (and, beside it, of Rss) from
   /proc/PID/smaps_rollup, first of the runtime idle (no pods; after its
   image pull and the warm-up), then with MEM_PODS pods each running one
   `busybox sleep 1000`. Per pod = (growth of the daemons + the per-pod
   processes) / MEM_PODS:
     brig: growth of brigd and of brig-helper, plus every brig-monitor
       (found as processes whose /proc/PID/exe is BUILD/brig-monitor and
       whose argv[1] is one of these pods' ids);
     containerd: growth of containerd, plus its containerd-shim-runc-v2
       processes (found by the containerd address in their argv) and the
       pause processes under them (the shims' children running /pause);
   the containers' own processes (busybox sleep) are the workload and are
   not counted. Goal: brig's Pss per pod at most 1 MiB. It is judged on
   Pss: Rss counts libc's and the binary's shared pages again in every
   process, Pss splits each shared page among the processes mapping it,
   which is what one more pod really costs.

The pods are what kubelet asks for by default for a pod with
hostNetwork: true: the node's network namespace, their own IPC namespace,
a PID namespace per container, namespace "default", a log directory
<pod_log_root>/<ns>_<name>_<uid> and in it <container>/ made beforehand (as
kubelet does), log path <container>/0.log, the image by the id PullImage
returned. Host networking keeps the CNI chain (bench_pods.py's subject) out
of every figure here; both runtimes still get the shipped network config
(bench_cri.py) so that they report NetworkReady, as on a node.

The image: Debian's busybox-static as /bin/busybox with /bin/sh linking to
it (what tests/integration/registry.py's Images builds), written as an OCI
layout by hand and pushed with skopeo to the local registry on
127.0.0.1:5000 (../shared/tools/test-registry.sh) as BUSYBOX_REPO; both
runtimes pull it from there. With no registry there but docker-registry and
skopeo installed, the bench starts its own (the integration tests'
registry.py) for both. containerd is skipped with a message when it, skopeo
or a registry is missing; brig runs whenever it can get the image.

State lives in $BENCH_DIR (default /var/tmp). Everything the bench makes
goes away at the end, on error and on ^C or SIGTERM too: pods and
containers (through CRI, and what is left after that by PID: brig's pod
monitors, containerd's shims and their children), the daemons (stopped by
PID), mounts, cgroups the runtimes made, the registry it started, its
temporary directory.

The report goes to stdout and to BUILD/bench-containers.txt (or the file
named with --results FILE). The exit status is 1 only when brig itself
cannot run containers.

Usage: bench_containers.py [--results FILE] BUILD   (root; run by `make bench`)
"""
import argparse
import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import bench_cri
from bench_cri import (BENCH_DIR, CONTAINERD, REGISTRY, CriError, brig_daemon,
                       containerd_daemon, children_of, log, monitors_of, p50, p99, pod_ids,
                       ctr_ids, proc_argv, proc_exe, push_image, push_pause_image, registry_up,
                       remove_every_pod, shims_of, stop_remove, write_oci_image)

bench_cri.LOG_PREFIX = "bench_containers"

CONTAINERS = 50
WARMUP = 3
EXEC_CALLS = 50
EXIT_RUNS = 20
MEM_PODS = 20
POLL_MS = 5
EXIT_TIMEOUT = 30  # seconds for the exit container to be seen EXITED
SETTLE = 2.0  # seconds before memory is read
BUSYBOX = "/bin/busybox"
BUSYBOX_REPO = "bench/busybox-static"
BUSYBOX_TAG = "1"
SLEEP = ["busybox", "sleep", "1000"]
TRUE = ["busybox", "true"]
EXIT3 = ["busybox", "sh", "-c", "busybox sleep 0.5; exit 3"]
GOAL_CREATE_RATIO = 0.6
GOAL_EXIT_MS = 100
GOAL_POD_KIB = 1024

api = None  # the generated runtime.v1 messages, loaded in main()


# ---------------------------------------------------------------- image

def push_busybox(work, registry):
    """busybox-static as /bin/busybox and /bin/sh, pushed to registry;
    returns its reference."""
    layout = write_oci_image(
        work / "busybox-oci", BUSYBOX_TAG,
        [("bin/busybox", BUSYBOX), ("bin/sh", "->busybox")],
        {"Cmd": ["sh"], "WorkingDir": "/",
         "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]})
    ref = f"{registry}/{BUSYBOX_REPO}:{BUSYBOX_TAG}"
    push_image(layout, BUSYBOX_TAG, ref)
    return ref


@contextlib.contextmanager
def a_registry(work):
    """The shared registry on 127.0.0.1:5000 if it answers, else one of our
    own (tests/integration/registry.py) if docker-registry is installed;
    yields its host:port, or None with a reason logged."""
    if registry_up():
        yield REGISTRY
        return
    if not shutil.which("docker-registry"):
        log(f"no registry on {REGISTRY} and no docker-registry to start one "
            "(run ../shared/tools/test-registry.sh)")
        yield None
        return
    sys.path.insert(0, str(bench_cri.REPO / "tests" / "integration"))
    import registry  # noqa: E402  (the integration tests' registry helpers)
    log(f"no registry on {REGISTRY}; starting one of the bench's own")
    with registry.start_registry(work / "registry") as reg:
        yield reg.host


# ---------------------------------------------------------------- one runtime

class Runtime:
    """Pods and containers of one runtime, as kubelet makes them."""

    def __init__(self, name, daemon, log_root):
        self.name = name
        self.d = daemon
        self.cri = daemon.cri
        self.log_root = log_root
        self.image = None

    def pull(self, ref):
        self.image = self.cri.image("PullImage", api.PullImageRequest(
            image=api.ImageSpec(image=ref)), timeout=120).image_ref

    def run_pod(self, tag, i):
        """A ready host-network pod; returns (id, its config)."""
        uid = str(uuid.uuid4())
        name = f"bench-{tag}-{i}"
        config = api.PodSandboxConfig(
            # No hostname: kubelet sets none for a host-network pod.
            metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace="default",
                                            attempt=0))
        config.log_directory = str(self.log_root / f"default_{name}_{uid}")
        Path(config.log_directory).mkdir(parents=True)
        config.linux.security_context.namespace_options.CopyFrom(
            api.NamespaceOption(network=api.NODE, pid=api.CONTAINER, ipc=api.POD))
        pod_id = self.cri.runtime("RunPodSandbox",
                                  api.RunPodSandboxRequest(config=config)).pod_sandbox_id
        pod_ids.add(pod_id)
        return pod_id, config

    def create_request(self, pod, command, name="c"):
        pod_id, pod_config = pod
        (Path(pod_config.log_directory) / name).mkdir(exist_ok=True)
        config = api.ContainerConfig(
            metadata=api.ContainerMetadata(name=name, attempt=0),
            image=api.ImageSpec(image=self.image), command=command,
            log_path=f"{name}/0.log")
        config.linux.security_context.namespace_options.CopyFrom(
            pod_config.linux.security_context.namespace_options)
        return api.CreateContainerRequest(pod_sandbox_id=pod_id, config=config,
                                          sandbox_config=pod_config)

    def create_start(self, request):
        ctr = self.cri.runtime("CreateContainer", request).container_id
        ctr_ids.add(ctr)
        self.cri.runtime("StartContainer", api.StartContainerRequest(container_id=ctr))
        return ctr

    def remove(self, pods):
        for pod_id, _ in pods:
            try:
                stop_remove(self.cri, pod_id)
            except CriError as e:
                log(f"{self.name}: cannot remove pod {pod_id[:12]}: {e}")
        pods.clear()

    # ---- the phases

    def warm_up(self):
        pods = []
        try:
            for i in range(WARMUP):
                pods.append(self.run_pod("warm", i))
                self.create_start(self.create_request(pods[-1], SLEEP))
        finally:
            self.remove(pods)

    def create_start_ms(self):
        pods = []
        try:
            pods += [self.run_pod("cs", i) for i in range(CONTAINERS)]
            # Requests are built before the clock starts: protobuf building and
            # the log directory kubelet makes are not the runtime's work.
            requests = [self.create_request(pod, SLEEP) for pod in pods]
            # (Create, Start) per container: the figure is their sum, the parts
            # are shown beside it.
            times = []
            for request in requests:
                start = time.perf_counter()
                ctr = self.cri.runtime("CreateContainer", request).container_id
                created = time.perf_counter()
                self.cri.runtime("StartContainer", api.StartContainerRequest(container_id=ctr))
                done = time.perf_counter()
                ctr_ids.add(ctr)
                times.append(((created - start) * 1e3, (done - created) * 1e3))
            return times
        finally:
            self.remove(pods)

    def exec_sync_ms(self):
        """ExecSync latencies, or a string saying why there are none."""
        pods = [self.run_pod("exec", 0)]
        try:
            ctr = self.create_start(self.create_request(pods[0], SLEEP))
            request = api.ExecSyncRequest(container_id=ctr, cmd=TRUE, timeout=10)
            try:
                for _ in range(WARMUP):
                    reply = self.cri.runtime("ExecSync", request)
                    if reply.exit_code != 0:
                        return (f"busybox true exited {reply.exit_code}: "
                                f"{reply.stderr.decode(errors='replace').strip()[:200]}")
            except CriError as e:
                return str(e)
            times = []
            for _ in range(EXEC_CALLS):
                start = time.perf_counter()
                self.cri.runtime("ExecSync", request)
                times.append((time.perf_counter() - start) * 1e3)
            return times
        finally:
            self.remove(pods)

    def exit_to_status_ms(self):
        """(first status seen EXITED - finished_at) per container, ms."""
        exited = api.CONTAINER_EXITED
        times = []
        for i in range(EXIT_RUNS):
            pods = [self.run_pod("exit", i)]
            try:
                ctr = self.create_start(self.create_request(pods[0], EXIT3))
                request = api.ContainerStatusRequest(container_id=ctr)
                deadline = time.monotonic() + EXIT_TIMEOUT
                while True:
                    tick = time.monotonic()
                    status = self.cri.runtime("ContainerStatus", request).status
                    seen = time.time_ns()
                    if status.state == exited:
                        break
                    if tick > deadline:
                        raise RuntimeError(f"container not EXITED after {EXIT_TIMEOUT} s")
                    time.sleep(max(0.0, tick + POLL_MS / 1e3 - time.monotonic()))
                if status.exit_code != 3:
                    raise RuntimeError(f"exit container: exit code {status.exit_code}, "
                                       f"expected 3 ({status.reason}: {status.message})")
                times.append((seen - status.finished_at) / 1e6)
            finally:
                self.remove(pods)
        return times

    def memory(self, groups):
        """groups(pods) -> {group: [pid]}: KiB of Rss and Pss per group,
        idle and with MEM_PODS pods, and the per-pod figures."""
        idle = settled(lambda: groups(set()))
        pods = []
        try:
            for i in range(MEM_PODS):
                pods.append(self.run_pod("mem", i))
                self.create_start(self.create_request(pods[-1], SLEEP))
            ids = {pod_id for pod_id, _ in pods}
            busy = settled(lambda: groups(ids))
        finally:
            self.remove(pods)
        out = {"idle": idle, "busy": busy}
        for i, kind in enumerate(("rss", "pss")):
            total = sum(busy[g][i] for g in busy) - sum(idle[g][i] for g in idle)
            out[f"per_pod_{kind}"] = total / MEM_PODS
        return out


def smaps_rollup(pid):
    """(Rss, Pss) of a process in KiB; (0, 0) if it is gone."""
    got = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss"):
                    got[key] = int(rest.split()[0])
    except OSError:
        return 0, 0
    return got.get("Rss", 0), got.get("Pss", 0)


def settled(find):
    """After SETTLE seconds, three readings 0.5 s apart of each group's
    summed (Rss, Pss, process count); the median reading of each."""
    time.sleep(SETTLE)
    readings = []
    for _ in range(3):
        groups = find()
        readings.append({g: [sum(smaps_rollup(p)[i] for p in pids) for i in (0, 1)]
                         + [len(pids)] for g, pids in groups.items()})
        time.sleep(0.5)
    return {g: [statistics.median([r[g][i] for r in readings]) for i in range(3)]
            for g in readings[0]}


def bench(rt, groups):
    """Every phase of one runtime; a phase that fails is reported as not
    measured and the next one still runs."""
    results, errors = {}, {}
    rt.warm_up()
    phases = (("memory", lambda: rt.memory(groups)),
              ("create_start", rt.create_start_ms),
              ("exec", rt.exec_sync_ms),
              ("exit", rt.exit_to_status_ms))
    for key, fn in phases:
        log(f"{rt.name}: {key} ...")
        try:
            value = fn()
        except Exception as e:  # noqa: BLE001  (reported, the next phase runs)
            errors[key] = str(e)
            continue
        if isinstance(value, str):
            errors[key] = value
        elif key == "create_start":
            results[key] = [a + b for a, b in value]
            results["create"] = [a for a, _ in value]
            results["start"] = [b for _, b in value]
        else:
            results[key] = value
    remove_every_pod(rt.cri)
    return results, errors


def bench_brig(build, work, registry, image_ref):
    log_root = work / "brig-logs"
    log_root.mkdir(mode=0o755)
    conf_dir = work / "brig-registries.conf.d"
    conf_dir.mkdir()
    conf = work / "brig-registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n')
    extra = (f'pod_log_root = "{log_root}"\n'
             f'registries_conf = "{conf}"\n'
             f'registries_conf_dir = "{conf_dir}"\n')
    brigd_exe = str((build / "brigd").resolve())
    with brig_daemon(build, work / "brig", extra) as d:
        helper = d.proc.pid
        brigd = [k for k in children_of(helper) if proc_exe(k) == brigd_exe]
        if len(brigd) != 1:
            raise RuntimeError(f"brigd not found among brig-helper's children ({brigd})")

        def groups(pods):
            g = {"daemon": brigd, "helper": [helper]}
            if pods:
                g["per_pod"] = monitors_of(build, pods)
            return g

        rt = Runtime("brig", d, log_root)
        rt.pull(image_ref)
        try:
            return bench(rt, groups)
        finally:
            remove_every_pod(d.cri)


def bench_containerd(work, registry, image_ref):
    log_root = work / "containerd-logs"
    log_root.mkdir(mode=0o755)
    with containerd_daemon(work / "containerd", registry) as d:
        def groups(pods):
            g = {"daemon": [d.proc.pid]}
            if pods:
                shims = shims_of(d.sock)
                g["per_pod"] = shims
                # The pods' infra containers: what runs /pause under a shim.
                g["pause"] = [k for s in shims for k in children_of(s)
                              if proc_argv(k)[:1] == ["/pause"]]
            return g

        rt = Runtime("containerd", d, log_root)
        rt.pull(image_ref)
        try:
            return bench(rt, groups)
        finally:
            remove_every_pod(d.cri)


# ---------------------------------------------------------------- report

def report(results, errors, registry):
    lines = []
    out = lines.append
    b, c = results.get("brig", {}), results.get("containerd", {})
    out(f"containers: brig vs containerd 1.6 + runc (cgroupfs), host-network pods "
        f"(no CNI in any figure), image {BUSYBOX_REPO}:{BUSYBOX_TAG} (busybox-static) "
        f"from {registry or 'no registry'}; state in {BENCH_DIR}")
    out(f"{'':<28}  {'brig':^15}  {'containerd':^15}  {'brig/ctrd':>9}  "
        f"{'goal':<22} {'verdict':<7}")
    out(f"{'ms':<28}  {'p50':>7} {'p99':>7}  {'p50':>7} {'p99':>7}  {'p50':>9}")

    def cell(res, key):
        if key not in res:
            return f"{'-':>7} {'-':>7}"
        return f"{p50(res[key]):7.1f} {p99(res[key]):7.1f}"

    rows = (("create_start", f"Create+Start ({CONTAINERS})"),
            ("create", "  of which CreateContainer"),
            ("start", "  of which StartContainer"),
            ("exec", f"ExecSync true ({EXEC_CALLS})"),
            ("exit", f"exit-to-status ({EXIT_RUNS})"))
    for key, title in rows:
        ratio, goal, verdict = "-", "-", "-"
        if key in b and key in c:
            ratio = f"{p50(b[key]) / p50(c[key]):.3f}x"
        if key == "create_start":
            goal = f"brig p50 <= {GOAL_CREATE_RATIO} x ctrd"
            if key in b and key in c:
                verdict = "pass" if p50(b[key]) <= GOAL_CREATE_RATIO * p50(c[key]) else "FAIL"
        elif key == "exit":
            goal = f"brig p99 <= {GOAL_EXIT_MS} ms"
            if key in b:
                verdict = "pass" if p99(b[key]) <= GOAL_EXIT_MS else "FAIL"
        elif key == "exec":
            goal = "(none; reference)"
        elif key in ("create", "start"):
            goal = "(part of the above)"
        out(f"{title:<28}  {cell(b, key)}  {cell(c, key)}  {ratio:>9}  {goal:<22} {verdict:<7}")
    out("  Create+Start: both runtimes started the pod's process (brig-monitor, the shim) in "
        "RunPodSandbox, untimed; brig runs runc create in CreateContainer, containerd in "
        "StartContainer.")
    out(f"  exit-to-status: first ContainerStatus answer showing EXITED (polled every "
        f"{POLL_MS} ms) minus its finished_at; includes up to one poll interval and one "
        "status round trip")

    out("")
    out(f"memory: {MEM_PODS} pods, one `busybox sleep 1000` each; KiB summed over "
        "/proc/PID/smaps_rollup, median of 3 readings")
    out(f"{'KiB':<38}  {'brig':^17}  {'containerd':^17}")
    out(f"{'':<38}  {'Pss':>8} {'Rss':>8}  {'Pss':>8} {'Rss':>8}")
    bm, cm = b.get("memory"), c.get("memory")

    def mem(m, phase, group, per=1):
        if m is None or group not in m[phase]:
            return f"{'-':>8} {'-':>8}"
        rss, pss, _ = m[phase][group]
        return f"{pss / per:8.0f} {rss / per:8.0f}"

    def growth(m, group):
        if m is None or group not in m["idle"]:
            return f"{'-':>8} {'-':>8}"
        rss = m["busy"][group][0] - m["idle"][group][0]
        pss = m["busy"][group][1] - m["idle"][group][1]
        return f"{pss:8.0f} {rss:8.0f}"

    def count(m, group):
        return int(m["busy"][group][2]) if m is not None and group in m["busy"] else 0

    out(f"{'daemon idle (brigd / containerd)':<38}  {mem(bm, 'idle', 'daemon')}  "
        f"{mem(cm, 'idle', 'daemon')}")
    out(f"{'brig-helper idle':<38}  {mem(bm, 'idle', 'helper')}  {'-':>8} {'-':>8}")
    out(f"{'daemon growth':<38}  {growth(bm, 'daemon')}  {growth(cm, 'daemon')}")
    out(f"{'brig-helper growth':<38}  {growth(bm, 'helper')}  {'-':>8} {'-':>8}")
    per_title = (f"monitors ({count(bm, 'per_pod')}) / shims ({count(cm, 'per_pod')}), "
                 "all")
    out(f"{per_title:<38}  {mem(bm, 'busy', 'per_pod')}  {mem(cm, 'busy', 'per_pod')}")
    out(f"{'pause processes (' + str(count(cm, 'pause')) + ')':<38}  {'-':>8} {'-':>8}  "
        f"{mem(cm, 'busy', 'pause')}")

    def per_pod(m):
        if m is None:
            return f"{'-':>8} {'-':>8}"
        return f"{m['per_pod_pss']:8.0f} {m['per_pod_rss']:8.0f}"

    out(f"{'per pod: (growth + processes) / ' + str(MEM_PODS):<38}  {per_pod(bm)}  "
        f"{per_pod(cm)}")
    if bm is not None:
        verdict = "pass" if bm["per_pod_pss"] <= GOAL_POD_KIB else "FAIL"
        ratio = (f", {bm['per_pod_pss'] / cm['per_pod_pss']:.2f}x containerd's"
                 if cm is not None and cm["per_pod_pss"] > 0 else "")
        out(f"  goal: brig per pod at most {GOAL_POD_KIB} KiB, judged on Pss: {verdict} "
            f"({bm['per_pod_pss']:.0f} KiB Pss{ratio}; Rss {bm['per_pod_rss']:.0f} KiB)")
    out("  Pss is the honest per-pod cost: Rss counts the pages of libc and of the binary "
        "again in every process; Pss shares each page out among the processes mapping it.")
    out("  Not counted: the containers' own processes (the workload). brig's figure "
        "includes brig-helper's growth.")

    for runtime in ("brig", "containerd"):
        for key, error in errors.get(runtime, {}).items():
            what = {"exec": "ExecSync: not available",
                    "all": "not measured"}.get(key, f"{key}: not measured")
            out(f"  {runtime}: {what}: {error.splitlines()[0]}")
    return "\n".join(lines) + "\n"


def main():
    global api
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", nargs="?", default="build")
    parser.add_argument("--results", help="also write the report here "
                        "(default BUILD/bench-containers.txt)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_containers: run as root: it starts brig-helper and containerd")
    build = Path(args.build).resolve()
    results_path = Path(args.results) if args.results else build / "bench-containers.txt"
    # A SIGTERM (make interrupted) unwinds through the finally blocks below,
    # which stop the daemons and remove what they made.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="brig-bench-ctrs-", dir=BENCH_DIR))
    work.chmod(0o755)
    results, errors = {}, {}
    registry = None
    try:
        api = bench_cri.load_stubs(work)
        with a_registry(work) as registry:
            image_ref = None
            if registry is None:
                errors["brig"] = {"all": "no registry to pull the image from"}
            elif not shutil.which("skopeo"):
                errors["brig"] = {"all": "skopeo is not installed (it pushes the image)"}
            else:
                try:
                    image_ref = push_busybox(work, registry)
                except Exception as e:  # noqa: BLE001
                    errors["brig"] = {"all": f"cannot push the image: {e}"}
            if image_ref is not None:
                log("brig ...")
                try:
                    results["brig"], errors["brig"] = bench_brig(build, work, registry,
                                                                 image_ref)
                except Exception as e:  # reported below; containerd still runs
                    errors["brig"] = {"all": str(e)}

            if not os.path.exists(CONTAINERD):
                errors["containerd"] = {"all": f"{CONTAINERD} is not installed"}
            elif image_ref is None:
                errors["containerd"] = {"all": "no image (see brig's line)"}
            else:
                log("containerd ...")
                try:
                    push_pause_image(work, registry)
                    results["containerd"], errors["containerd"] = bench_containerd(
                        work, registry, image_ref)
                except Exception as e:
                    errors["containerd"] = {"all": str(e)}
    finally:
        bench_cri.unmount_under(work, "the bench")
        shutil.rmtree(work, ignore_errors=True)

    text = report(results, errors, registry)
    sys.stdout.write(text)
    sys.stdout.flush()
    try:
        results_path.write_text(text)
        print(f"(written to {results_path})")
    except OSError as e:
        log(f"cannot write {results_path}: {e}")
    for name, errs in errors.items():
        for key, error in errs.items():
            if "\n" in error:  # the one-line summary is in the report already
                print(f"\nbench_containers: {name} {key}: {error}", file=sys.stderr)
    if "all" in errors.get("brig", {}) or "create_start" in errors.get("brig", {}):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # The finally blocks have stopped the daemons and cleaned up by now.
        sys.exit("bench_containers: interrupted")
