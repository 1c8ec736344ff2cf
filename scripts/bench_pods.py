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

Usage: bench_pods.py BUILD   (root; run by `make bench`)
"""
import contextlib
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parents[1]
CONFLIST = REPO / "contrib" / "cni" / "10-brig.conflist"
PAUSE_C = REPO / "scripts" / "pause.c"
CNI_BIN = "/usr/lib/cni"
BRIDGE = "brig0"
REGISTRY = "127.0.0.1:5000"
PAUSE_REPO = "bench/pause"
PAUSE_TAG = "1"
PAUSE_IMAGE = f"{REGISTRY}/{PAUSE_REPO}:{PAUSE_TAG}"
CONTAINERD = "/usr/bin/containerd"
BENCH_DIR = os.environ.get("BENCH_DIR", "/var/tmp")

PODS = 50
WARMUP = 3
CALL_TIMEOUT = 60  # seconds, any one CRI call
START_TIMEOUT = 30  # seconds, a daemon's start or stop
CMD_TIMEOUT = 60  # seconds, any one helper command or CNI plugin

api = None  # the generated runtime.v1 messages, loaded by load_stubs()
# Every pod id this run made (brig, containerd, floor): at the end none may
# still own an iptables chain of the bridge plugin.
pod_ids = set()


def log(msg):
    print(f"bench_pods: {msg}", file=sys.stderr, flush=True)


def run(argv, timeout=CMD_TIMEOUT, **kw):
    """subprocess.run that never hangs and keeps the output for messages."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def load_stubs(out):
    """Generates the CRI message classes from proto/api.proto into out."""
    global api
    r = run(["protoc", f"-I{REPO / 'proto'}", f"--python_out={out}", "api.proto"],
            cwd=REPO / "proto")
    if r.returncode != 0:
        raise RuntimeError(f"protoc api.proto failed: {r.stderr.strip()}")
    sys.path.insert(0, str(out))
    import api_pb2  # noqa: E402  (generated just above)
    api = api_pb2


# ---------------------------------------------------------------- CRI client

class CriError(RuntimeError):
    """A CRI call that failed, named with its method, code and details."""


class Cri:
    """CRI calls by method name, each with a deadline."""

    def __init__(self, target):
        self.channel = grpc.insecure_channel(target)
        self.stubs = {}

    def call(self, service, method, request, timeout=CALL_TIMEOUT):
        # One stub per method, made once: only the call itself is timed.
        fn = self.stubs.get(method)
        if fn is None:
            fn = self.stubs[method] = self.channel.unary_unary(
                f"/runtime.v1.{service}/{method}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=getattr(api, method + "Response").FromString)
        try:
            return fn(request, timeout=timeout)
        except grpc.RpcError as e:
            raise CriError(f"{method}: {e.code().name}: {e.details()}") from None

    def runtime(self, method, request, timeout=CALL_TIMEOUT):
        return self.call("RuntimeService", method, request, timeout)

    def close(self):
        self.channel.close()


def wait_network_ready(cri, alive, what):
    """Until Status says NetworkReady: containerd loads its CNI configuration
    in the background, and a pod made before that fails."""
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what} exited")
        try:
            status = cri.runtime("Status", api.StatusRequest(), timeout=5).status
            conds = {c.type: c for c in status.conditions}
            net = conds.get("NetworkReady")
            if net is not None and net.status and conds.get("RuntimeReady", net).status:
                return
            last = f"{net.reason}: {net.message}" if net is not None else "no NetworkReady"
        except CriError as e:
            last = str(e)
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {START_TIMEOUT} s ({last})")


def pod_config(tag, i):
    uid = str(uuid.uuid4())
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=f"bench-{tag}-{i}", uid=uid,
                                        namespace="default", attempt=0),
        hostname=f"bench-{i}")
    config.linux.security_context.namespace_options.CopyFrom(
        api.NamespaceOption(network=api.POD, pid=api.CONTAINER, ipc=api.POD))
    return config


def stop_remove(cri, pod_id):
    cri.runtime("StopPodSandbox", api.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    cri.runtime("RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id=pod_id))


def remove_every_pod(cri):
    """Best effort, for the way out: every pod the runtime lists, including
    any that a failed RunPodSandbox left without telling us its id."""
    try:
        pods = cri.runtime("ListPodSandbox", api.ListPodSandboxRequest()).items
    except CriError as e:
        log(f"cannot list pods to remove them: {e}")
        return
    for pod in pods:
        pod_ids.add(pod.id)
        try:
            stop_remove(cri, pod.id)
        except CriError as e:
            log(f"cannot remove pod {pod.id[:12]}: {e}")


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


# ---------------------------------------------------------------- cleanup help

def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            kids.append(int(entry))
    return kids


def stop_process(proc, what, kill_children=False):
    """SIGTERM, then SIGKILL (to it and, if asked, its direct children) if
    it does not exit in time. Returns the exit status."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        log(f"{what} did not stop on SIGTERM in {START_TIMEOUT} s; killing it")
        if kill_children:
            for kid in children_of(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(kid, signal.SIGKILL)
        proc.kill()
        return proc.wait(timeout=START_TIMEOUT)


def mounts_under(path):
    """Mount points at or below path, deepest first."""
    prefix = str(path).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_under(path, what):
    """Unmounts what a runtime left below path; says so, since a runtime
    that cleans up after itself leaves nothing."""
    left = mounts_under(path)
    for point in left:
        run(["umount", "-l", point])
    if left:
        log(f"{what} left {len(left)} mount(s) under {path}, unmounted: {', '.join(left[:3])}"
            + (" ..." if len(left) > 3 else ""))
    return left


def check_no_leftover_chains():
    """The bridge plugin's masquerade rules name the pod id in a comment."""
    r = run(["iptables", "-t", "nat", "-S"], timeout=30)
    left = {i for i in pod_ids if f'id: \\"{i}\\"' in r.stdout}
    if left:
        log(f"iptables rules of {len(left)} pod(s) of this run are left: "
            + ", ".join(sorted(i[:12] for i in left)))


def link_exists(name):
    return run(["ip", "link", "show", name], timeout=10).returncode == 0


def bench_conflist(dir_, ipam_dir):
    """The shipped network in dir_, host-local's state kept in ipam_dir."""
    conf = json.loads(CONFLIST.read_text())
    for plugin in conf["plugins"]:
        if "ipam" in plugin:
            plugin["ipam"]["dataDir"] = str(ipam_dir)
    dir_.mkdir(parents=True)
    (dir_ / CONFLIST.name).write_text(json.dumps(conf, indent=1))
    return conf


# ---------------------------------------------------------------- brig

def bench_brig(build, work):
    base = work / "brig"
    base.mkdir()
    # brigd runs as the brig user and must be able to walk to its socket.
    base.chmod(0o755)
    network = bench_conflist(base / "net.d", base / "cni-ipam")
    sock = base / "run" / "brig.sock"
    conf = base / "brig.conf"
    conf.write_text(f'root = "{base}/root"\n'
                    f'run_root = "{base}/run"\n'
                    f'listen = "unix://{sock}"\n'
                    f'cni_conf_dir = "{base}/net.d"\n'
                    f'cni_plugin_dirs = ["{CNI_BIN}"]\n'
                    'log_level = "info"\n')
    log_path = base / "brig.log"
    with open(log_path, "wb") as out:
        # Its own session: a ^C reaches this script, which stops brig in order.
        proc = subprocess.Popen([str(build / "brig-helper"), "--config", str(conf)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    cri = None
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"brig-helper exited with {proc.returncode}")
            if sock.exists():
                cri = Cri(f"unix://{sock}")
                try:
                    cri.runtime("Version", api.VersionRequest(), timeout=2)
                    break
                except CriError:
                    cri.close()
                    cri = None
            if time.monotonic() > deadline:
                raise RuntimeError(f"brigd did not answer Version in {START_TIMEOUT} s")
            time.sleep(0.05)
        wait_network_ready(cri, lambda: proc.poll() is None, "brig")
        return time_pods(cri, "brig")
    except Exception as e:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        raise RuntimeError(f"{e}\n  brig log (last lines):\n    " + "\n    ".join(tail)) from e
    finally:
        if cri is not None:
            cri.close()
        status = stop_process(proc, "brig-helper", kill_children=True)
        if status != 0:
            log(f"brig-helper exited with {status} on SIGTERM")
        release_leftover_pods(base / "run" / "ns", network)
        unmount_under(base, "brig")


def release_leftover_pods(ns_root, network):
    """A pod that brig failed to stop still holds the bridge plugin's
    iptables chain on the node (and its IP): CNI DEL from here gives them
    back while the pod's pinned network namespace is still there to name
    its interface. brig pins each pod's namespaces as ns_root/ID/net, ipc,
    uts."""
    pinned = set(mounts_under(ns_root))
    chain = Chain(network)
    for net in sorted(ns_root.glob("*/net")):
        if str(net) not in pinned:
            continue
        pod = {"id": net.parent.name, "netns": net, "name": "leftover", "uid": "leftover"}
        try:
            chain.delete(pod, None)
            log(f"brig left pod {pod['id'][:12]} attached; the bench ran CNI DEL for it")
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            log(f"brig left pod {pod['id'][:12]} attached, and CNI DEL failed: {e}")


# ---------------------------------------------------------------- containerd

def registry_up():
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=3)
        return True
    except OSError:
        return False


def oci_arch():
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def write_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_pause_image(work):
    """Compiles pause.c statically and writes an OCI layout holding it as
    /pause; returns the layout's directory."""
    binary = work / "pause"
    r = run(["gcc", "-static", "-O2", "-o", str(binary), str(PAUSE_C)], timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"gcc -static pause.c failed: {r.stderr.strip()}")
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("pause")
        info.size, info.mode, info.mtime = binary.stat().st_size, 0o755, 0
        with open(binary, "rb") as f:
            tar.addfile(info, f)
    layer_tar = tar_bytes.getvalue()
    layout = work / "pause-oci"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    layer = write_blob(layout, gzip.compress(layer_tar, mtime=0))
    config = write_blob(layout, json.dumps({
        "architecture": oci_arch(), "os": "linux",
        "config": {"Entrypoint": ["/pause"], "WorkingDir": "/"},
        "rootfs": {"type": "layers",
                   "diff_ids": [f"sha256:{hashlib.sha256(layer_tar).hexdigest()}"]},
    }).encode())
    manifest = write_blob(layout, json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }).encode())
    (layout / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
                       "annotations": {"org.opencontainers.image.ref.name": PAUSE_TAG}}],
    }))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return layout


def push_pause_image(work):
    layout = build_pause_image(work)
    r = run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
             f"oci:{layout}:{PAUSE_TAG}", f"docker://{PAUSE_IMAGE}"], timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"skopeo copy to {PAUSE_IMAGE} failed: {r.stderr.strip()}")


def shims_of(sock):
    """containerd's shims for this bench's containerd: they leave its process
    tree (they daemonize), so they are found by the address they were given."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(sock).encode() in argv:
            pids.append(int(entry))
    return pids


def bench_containerd(work):
    base = work / "containerd"
    base.mkdir()
    bench_conflist(base / "net.d", base / "cni-ipam")
    sock = base / "containerd.sock"
    cri_plugin = 'plugins."io.containerd.grpc.v1.cri"'
    (base / "config.toml").write_text(f"""version = 2
root = "{base}/root"
state = "{base}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
[{cri_plugin}]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  # Pod network namespaces under the state dir, not the node's /run/netns.
  netns_mounts_under_state_dir = true
  [{cri_plugin}.containerd]
    default_runtime_name = "runc"
    [{cri_plugin}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri_plugin}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state beside containerd's, not in the node's /run/containerd.
        Root = "{base}/runc"
  [{cri_plugin}.cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{base}/net.d"
  [{cri_plugin}.registry.mirrors."{REGISTRY}"]
    endpoint = ["http://{REGISTRY}"]
""")
    log_path = base / "containerd.log"
    had_run_dir = Path("/run/containerd").exists()
    # libcni in containerd caches each ADD result in /var/lib/cni/results
    # (not configurable in 1.6) and deletes it on DEL.
    had_cni_cache = Path("/var/lib/cni").exists()
    # runc makes the pods' parent cgroup, k8s.io, in every hierarchy and
    # removes only the pods' own.
    new_cgroups = [d / "k8s.io" for d in Path("/sys/fs/cgroup").iterdir()
                   if d.is_dir() and not (d / "k8s.io").exists()]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([CONTAINERD, "--config", str(base / "config.toml")],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    cri = None
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("containerd did not start")
            time.sleep(0.05)
        cri = Cri(f"unix://{sock}")
        grpc.channel_ready_future(cri.channel).result(timeout=START_TIMEOUT)
        wait_network_ready(cri, lambda: proc.poll() is None, "containerd")
        cri.call("ImageService", "PullImage",
                 api.PullImageRequest(image=api.ImageSpec(image=PAUSE_IMAGE)), timeout=120)
        return time_pods(cri, "containerd")
    except Exception as e:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-10:]
        raise RuntimeError(f"{e}\n  containerd log (last lines):\n    "
                           + "\n    ".join(tail)) from e
    finally:
        if cri is not None:
            cri.close()
        stop_process(proc, "containerd")
        for pid in shims_of(sock):
            # A shim left means a pod left: its pause process (the shim's
            # child) would outlive the shim and hold the pod's namespaces.
            log(f"killing containerd's leftover shim {pid} and its pause process")
            for victim in children_of(pid) + [pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
        unmount_under(base, "containerd")
        if not had_run_dir:
            # The shims' sockets live in /run/containerd/s whatever the config says.
            for d in ("/run/containerd/s", "/run/containerd"):
                with contextlib.suppress(OSError):
                    os.rmdir(d)
        if not had_cni_cache:
            for d in ("/var/lib/cni/results", "/var/lib/cni"):
                with contextlib.suppress(OSError):
                    os.rmdir(d)
        for d in new_cgroups:
            with contextlib.suppress(OSError):
                d.rmdir()  # only if empty: nothing else has moved in


# ---------------------------------------------------------------- CNI floor

class Chain:
    """The conflist's plugins run in order for ADD and in reverse for DEL,
    each given its conf with the list's name and cniVersion and, as the CNI
    spec says, prevResult: the previous plugin's result on ADD, the chain's
    final ADD result on DEL (libcni does the same)."""

    def __init__(self, conflist):
        self.name = conflist["name"]
        self.version = conflist["cniVersion"]
        self.plugins = conflist["plugins"]

    def _exec(self, plugin, command, pod, prev):
        conf = dict(plugin, name=self.name, cniVersion=self.version)
        if prev is not None:
            conf["prevResult"] = prev
        env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=pod["id"],
                   CNI_NETNS=str(pod["netns"]), CNI_IFNAME="eth0", CNI_PATH=CNI_BIN,
                   CNI_ARGS=("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;"
                             f"K8S_POD_NAME={pod['name']};"
                             f"K8S_POD_INFRA_CONTAINER_ID={pod['id']};"
                             f"K8S_POD_UID={pod['uid']}"))
        r = subprocess.run([f"{CNI_BIN}/{plugin['type']}"], input=json.dumps(conf).encode(),
                           env=env, capture_output=True, timeout=CMD_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError(f"CNI {plugin['type']} {command} failed: "
                               f"{(r.stdout or r.stderr).decode(errors='replace').strip()}")
        return json.loads(r.stdout) if r.stdout.strip() else None

    def add(self, pod):
        prev = None
        for plugin in self.plugins:
            prev = self._exec(plugin, "ADD", pod, prev)
        return prev

    def delete(self, pod, result):
        for plugin in reversed(self.plugins):
            self._exec(plugin, "DEL", pod, result)


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

def p50(values):
    return statistics.median(values)


def p99(values):
    return statistics.quantiles(values, n=100, method="inclusive")[98]


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
        load_stubs(work)

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
