"""What the CRI benchmarks share: bench_pods.py and bench_containers.py.

- the CRI client (Cri, CriError) over the runtime.v1 messages that
  load_stubs() generates from proto/api.proto;
- brig and containerd 1.6 started the same way for every bench
  (brig_daemon, containerd_daemon): each in its own directory under the
  bench's temporary directory, each on its own copy of the shipped network
  contrib/cni/10-brig.conflist, each stopped by PID and cleaned up after on
  the way out, also on errors: the daemon, what it left running (brig's pod
  monitors, containerd's shims and their children), mounts, the cgroups it
  made and the directories it made outside its own;
- images in the local registry (127.0.0.1:5000, ../shared/tools/
  test-registry.sh): OCI layouts written by hand (write_oci_image), pushed
  with skopeo; the pause image containerd needs, built from scripts/pause.c;
- the CNI chain run by hand (Chain), for bench_pods' floor and to give back
  what a pod brig failed to remove still holds;
- p50 / p99 as the benches report them.

Nothing here prints except log(), to stderr.
"""
import contextlib
import gzip
import hashlib
import io
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.request
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
CGROUP_ROOT = Path("/sys/fs/cgroup")

CALL_TIMEOUT = 60  # seconds, any one CRI call
START_TIMEOUT = 30  # seconds, a daemon's start or stop
CMD_TIMEOUT = 60  # seconds, any one helper command or CNI plugin

LOG_PREFIX = "bench"  # each bench sets its own name
api = None  # the generated runtime.v1 messages, loaded by load_stubs()
# Every pod id a bench made (brig, containerd, floor): at the end none may
# still own an iptables chain of the bridge plugin, and brig's monitors are
# recognised by them.
pod_ids = set()
# Every container id a bench made: the cgroups named after them are the
# bench's to remove.
ctr_ids = set()


def log(msg):
    print(f"{LOG_PREFIX}: {msg}", file=sys.stderr, flush=True)


def run(argv, timeout=CMD_TIMEOUT, **kw):
    """subprocess.run that never hangs and keeps the output for messages."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def load_stubs(out):
    """Generates the CRI message classes from proto/api.proto into out;
    returns the module (also kept as bench_cri.api)."""
    global api
    r = run(["protoc", f"-I{REPO / 'proto'}", f"--python_out={out}", "api.proto"],
            cwd=REPO / "proto")
    if r.returncode != 0:
        raise RuntimeError(f"protoc api.proto failed: {r.stderr.strip()}")
    sys.path.insert(0, str(out))
    import api_pb2  # noqa: E402  (generated just above)
    api = api_pb2
    return api


def p50(values):
    return statistics.median(values)


def p99(values):
    """Interpolated 99th percentile (inclusive): over 50 samples, close to
    the slowest one."""
    return statistics.quantiles(values, n=100, method="inclusive")[98]


# ---------------------------------------------------------------- CRI client

class CriError(RuntimeError):
    """A CRI call that failed, named with its method, code and details."""

    def __init__(self, msg, code=None):
        super().__init__(msg)
        self.code = code


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
            raise CriError(f"{method}: {e.code().name}: {e.details()}", e.code()) from None

    def runtime(self, method, request, timeout=CALL_TIMEOUT):
        return self.call("RuntimeService", method, request, timeout)

    def image(self, method, request, timeout=CALL_TIMEOUT):
        return self.call("ImageService", method, request, timeout)

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


def stop_remove(cri, pod_id):
    cri.runtime("StopPodSandbox", api.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    cri.runtime("RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id=pod_id))


def remove_every_pod(cri):
    """Best effort, for the way out: every pod the runtime lists, including
    any that a failed RunPodSandbox left without telling us its id (their
    containers go with them)."""
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


# ---------------------------------------------------------------- processes

def proc_stat_fields(pid):
    """/proc/PID/stat after the command name (field 3 on), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces.
    return stat[stat.rindex(")") + 2:].split()


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = proc_stat_fields(entry)
        if fields is not None and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def proc_exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def proc_argv(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return []


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


def kill_pids(pids):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- mounts, cgroups

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


def cgroup_dirs(name):
    """Every directory at or below /sys/fs/cgroup/<hierarchy>/name, over all
    hierarchies (v1 and v2 mounts alike)."""
    found = set()
    for hierarchy in CGROUP_ROOT.iterdir():
        top = hierarchy / name
        if not top.is_dir():
            continue
        for dirpath, _, _ in os.walk(top):
            found.add(dirpath)
    return found


def remove_new_cgroups(before, name, what):
    """rmdir, deepest first, of the cgroup directories under name that were
    not there before and are the bench's: named after one of its pods or
    containers, or named after none (the runtimes' parents such as brig,
    brig-monitor, k8s.io). Another runtime's cgroups on this node, named
    after its own ids, are left alone. rmdir removes only an empty cgroup; a
    busy one stays and is named."""
    ours = pod_ids | ctr_ids
    busy = []
    for d in sorted(cgroup_dirs(name) - before, key=len, reverse=True):
        base = os.path.basename(d)
        ids = re.findall(r"[0-9a-f]{64}", base)
        if ids and not any(i in ours for i in ids):
            continue
        try:
            os.rmdir(d)
        except OSError:
            busy.append(d)
    if busy:
        log(f"{what}: {len(busy)} cgroup(s) still busy, left: {', '.join(busy[:3])}")


# ---------------------------------------------------------------- network

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


# ---------------------------------------------------------------- images

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


def write_oci_image(layout, tag, entries, config):
    """An OCI layout at layout holding one single-layer image tagged tag.
    entries: (path in the image, host file to copy) for a regular file
    (mode 0755), or (path, "->target") for a symlink; directories are made
    for them. config: the image config's "config" object. Returns layout."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({str(Path(p).parent) for p, _ in entries} - {"."})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for path, source in entries:
            info = tarfile.TarInfo(path)
            info.mtime = 0
            if isinstance(source, str) and source.startswith("->"):
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, source[2:], 0o777
                tar.addfile(info)
                continue
            info.size, info.mode = Path(source).stat().st_size, 0o755
            with open(source, "rb") as f:
                tar.addfile(info, f)
    layer_tar = tar_bytes.getvalue()
    (layout / "blobs" / "sha256").mkdir(parents=True)
    layer = write_blob(layout, gzip.compress(layer_tar, mtime=0))
    cfg = write_blob(layout, json.dumps({
        "architecture": oci_arch(), "os": "linux", "config": config,
        "rootfs": {"type": "layers",
                   "diff_ids": [f"sha256:{hashlib.sha256(layer_tar).hexdigest()}"]},
    }).encode())
    manifest = write_blob(layout, json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }).encode())
    (layout / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return layout


def push_image(layout, tag, ref):
    r = run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
             f"oci:{layout}:{tag}", f"docker://{ref}"], timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"skopeo copy to {ref} failed: {r.stderr.strip()}")


def build_pause_image(work):
    """Compiles pause.c statically and writes an OCI layout holding it as
    /pause (the entrypoint); returns the layout's directory."""
    binary = work / "pause"
    r = run(["gcc", "-static", "-O2", "-o", str(binary), str(PAUSE_C)], timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"gcc -static pause.c failed: {r.stderr.strip()}")
    return write_oci_image(work / "pause-oci", PAUSE_TAG, [("pause", binary)],
                           {"Entrypoint": ["/pause"], "WorkingDir": "/"})


def pause_image(registry=REGISTRY):
    return f"{registry}/{PAUSE_REPO}:{PAUSE_TAG}"


def push_pause_image(work, registry=REGISTRY):
    push_image(build_pause_image(work), PAUSE_TAG, pause_image(registry))


def shims_of(sock):
    """containerd's shims for this bench's containerd: they leave its process
    tree (they daemonize), so they are found by the address they were given."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        argv = proc_argv(entry)
        if argv and argv[0].endswith("containerd-shim-runc-v2") and str(sock) in argv:
            pids.append(int(entry))
    return pids


# ---------------------------------------------------------------- the daemons

class Daemon:
    """A running runtime: its CRI client, its process and its directory."""

    def __init__(self, name, base, proc, log_path):
        self.name = name
        self.base = base
        self.proc = proc
        self.log_path = log_path
        self.cri = None

    def log_tail(self, lines):
        try:
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        return f"\n  {self.name} log (last lines):\n    " + "\n    ".join(tail)


def monitors_of(build, pods):
    """brig-monitor processes of the given pod ids: /proc/PID/exe is this
    build's brig-monitor and argv[1] one of the ids."""
    exe = str((build / "brig-monitor").resolve())
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        if proc_exe(entry) != exe:
            continue
        argv = proc_argv(entry)
        if len(argv) > 1 and argv[-1] in pods:
            pids.append(int(entry))
    return pids


@contextlib.contextmanager
def brig_daemon(build, base, extra_conf=""):
    """brig-helper (and its brigd) from build, state in base, on its own copy
    of the shipped network; yields a Daemon once brigd answers and its
    network is ready. On the way out: SIGTERM to brig-helper, then whatever
    its pods left: monitors (they outlive the helper by design), runc's
    containers, CNI attachments, mounts and cgroups."""
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
                    'log_level = "info"\n' + extra_conf)
    cgroups_before = cgroup_dirs("brig")
    log_path = base / "brig.log"
    with open(log_path, "wb") as out:
        # Its own session: a ^C reaches this script, which stops brig in order.
        proc = subprocess.Popen([str(build / "brig-helper"), "--config", str(conf)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    d = Daemon("brig", base, proc, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"brig-helper exited with {proc.returncode}")
            if sock.exists():
                d.cri = Cri(f"unix://{sock}")
                try:
                    d.cri.runtime("Version", api.VersionRequest(), timeout=2)
                    break
                except CriError:
                    d.cri.close()
                    d.cri = None
            if time.monotonic() > deadline:
                raise RuntimeError(f"brigd did not answer Version in {START_TIMEOUT} s")
            time.sleep(0.05)
        wait_network_ready(d.cri, lambda: proc.poll() is None, "brig")
        yield d
    except Exception as e:
        raise RuntimeError(f"{e}{d.log_tail(15)}") from e
    finally:
        if d.cri is not None:
            d.cri.close()
        status = stop_process(proc, "brig-helper", kill_children=True)
        if status != 0:
            log(f"brig-helper exited with {status} on SIGTERM")
        mon = base / "run" / "mon"
        left = monitors_of(build, pod_ids | set(os.listdir(mon) if mon.is_dir() else ()))
        if left:
            log(f"brig left {len(left)} pod monitor(s) running; killing them and their "
                "containers")
            for pid in left:
                kill_pids(children_of(pid) + [pid])
        runc_root = base / "run" / "runtimes" / "runc"
        if runc_root.is_dir():
            for cid in run(["runc", "--root", str(runc_root), "list", "-q"]).stdout.split():
                log(f"brig left runc container {cid[:12]}; deleting it")
                run(["runc", "--root", str(runc_root), "delete", "--force", cid])
        release_leftover_pods(base / "run" / "ns", network)
        unmount_under(base, "brig")
        remove_new_cgroups(cgroups_before, "brig", "brig")


def containerd_config(base, sock, registry):
    cri_plugin = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{base}/root"
state = "{base}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
[{cri_plugin}]
  sandbox_image = "{pause_image(registry)}"
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
  [{cri_plugin}.registry.mirrors."{registry}"]
    endpoint = ["http://{registry}"]
"""


@contextlib.contextmanager
def containerd_daemon(base, registry=REGISTRY):
    """Debian's containerd with runc (cgroupfs), state in base, on its own
    copy of the shipped network, pulling over plain HTTP from registry, its
    sandbox image pause_image(registry) pulled (it must be there); yields a Daemon. On the way out: SIGTERM to
    containerd, then its leftover shims (and their children), mounts, the
    cgroups runc made and the node directories it made."""
    base.mkdir()
    bench_conflist(base / "net.d", base / "cni-ipam")
    sock = base / "containerd.sock"
    (base / "config.toml").write_text(containerd_config(base, sock, registry))
    log_path = base / "containerd.log"
    had_run_dir = Path("/run/containerd").exists()
    # libcni in containerd caches each ADD result in /var/lib/cni/results
    # (not configurable in 1.6) and deletes it on DEL.
    had_cni_cache = Path("/var/lib/cni").exists()
    # runc makes the pods' parent cgroup, k8s.io, in every hierarchy and
    # removes only the pods' own.
    cgroups_before = cgroup_dirs("k8s.io")
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([CONTAINERD, "--config", str(base / "config.toml")],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    d = Daemon("containerd", base, proc, log_path)
    d.sock = sock
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("containerd did not start")
            time.sleep(0.05)
        d.cri = Cri(f"unix://{sock}")
        grpc.channel_ready_future(d.cri.channel).result(timeout=START_TIMEOUT)
        wait_network_ready(d.cri, lambda: proc.poll() is None, "containerd")
        d.cri.image("PullImage", api.PullImageRequest(image=api.ImageSpec(image=pause_image(registry))),
                    timeout=120)
        yield d
    except Exception as e:
        raise RuntimeError(f"{e}{d.log_tail(10)}") from e
    finally:
        if d.cri is not None:
            d.cri.close()
        stop_process(proc, "containerd")
        for pid in shims_of(sock):
            # A shim left means a pod left: its pause process (the shim's
            # child) would outlive the shim and hold the pod's namespaces.
            log(f"killing containerd's leftover shim {pid} and its children")
            kill_pids(children_of(pid) + [pid])
        unmount_under(base, "containerd")
        if not had_run_dir:
            # The shims' sockets live in /run/containerd/s whatever the config says.
            for dir_ in ("/run/containerd/s", "/run/containerd"):
                with contextlib.suppress(OSError):
                    os.rmdir(dir_)
        if not had_cni_cache:
            for dir_ in ("/var/lib/cni/results", "/var/lib/cni"):
                with contextlib.suppress(OSError):
                    os.rmdir(dir_)
        remove_new_cgroups(cgroups_before, "k8s.io", "containerd")
