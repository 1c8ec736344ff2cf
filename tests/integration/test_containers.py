"""The CRI container RPCs of brigd: CreateContainer, StartContainer,
StopContainer, RemoveContainer, ListContainers, StreamContainers and
ContainerStatus, against a real brig-helper running runc.

The image is busybox-static (registry.py's Images), pushed once per module to
a local docker-registry and pulled by each test's brig. Pods run on the
node's network (no CNI needed); their log_directory is under the fixture's
pod_log_root, as kubelet's /var/log/pods/<ns>_<name>_<uid> is under
/var/log/pods. The tests look at what CRI reports, at the CRI log files the
monitor writes, and at brigd's container records (root/pods/*.ctr).

PID 1 of a container gets no default signal dispositions: busybox `sleep`
as PID 1 ignores SIGTERM, so it is the container that StopContainer must
SIGKILL after the timeout, and a shell with a TERM trap is the one that
stops gracefully.
"""
import json
import os
import re
import subprocess
import threading
import time
import uuid

import grpc
import pytest

from conftest import Brig, api_pb2, wait_for
from registry import Images, start_registry
from test_pods import NODE, expect_error, pod_config, pods, unique_metadata  # noqa: F401

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("BRIG_BUILD", "build"), "brig-unpack")),
    reason="brig-unpack is not built")

CREATED, RUNNING, EXITED = (api_pb2.CONTAINER_CREATED, api_pb2.CONTAINER_RUNNING,
                            api_pb2.CONTAINER_EXITED)
ID_RE = re.compile(r"[0-9a-f]{64}")
LOG_LINE_RE = re.compile(r"^(\S+) (stdout|stderr) ([PF]) (.*)$")
EXIT_TIMEOUT = 30
# The image holds busybox and its sh only: applets are run through busybox.
SLEEP = ["busybox", "sleep", "1000"]
TRUE = ["busybox", "true"]
PULL_TIMEOUT = 120
CALL_TIMEOUT = 60


# --- the image, once per module ----------------------------------------------

@pytest.fixture(scope="module")
def registry_image(tmp_path_factory):
    """A registry serving busybox as test/busybox:1; yields (registry, ref)."""
    base = tmp_path_factory.mktemp("ctr-registry")
    base.chmod(0o755)
    images = Images(base / "images-src")
    with start_registry(base / "registry") as reg:
        reg.push(images.single_layer(), "test/busybox:1")
        yield reg, f"{reg.host}/test/busybox:1"


@pytest.fixture
def brig(brig_dir, registry_image, request):
    """conftest's brig, with a registries.conf that lets it pull over plain
    HTTP from the module's registry."""
    if os.geteuid() != 0:
        pytest.skip("integration tests run brig-helper, which needs root")
    reg, _ = registry_image
    conf = brig_dir / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{reg.host}"\ninsecure = true\n')
    (brig_dir / "registries.conf.d").mkdir(exist_ok=True)
    b = Brig(brig_dir)
    try:
        b.start("--registries-conf", str(conf), "--registries-conf-dir",
                str(brig_dir / "registries.conf.d"))
        yield b
        if b.proc.poll() is None:
            assert b.stop() == 0, b.log_text()
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print("--- brig log ---\n" + b.log_text())
        b.kill_everything()
        b.remove_containers()
        if b.log is not None:
            b.log.close()
        # Whatever a failed test left mounted (rootfs overlays) must not
        # keep the test's directory from going.
        with open("/proc/self/mountinfo") as f:
            left = [line.split()[4] for line in f
                    if line.split()[4].startswith(str(brig_dir) + "/")]
        for path in sorted(left, reverse=True):
            subprocess.run(["umount", "-l", path], check=False)


# --- the client ----------------------------------------------------------------

class Ctrs:
    """The container RPCs (and the pod and image calls they need) over one
    channel."""

    def __init__(self, brig, pods, image):
        self.brig = brig
        self.pods = pods
        self.image = image
        self.cri = brig.cri()

    def reconnect(self):
        self.cri = self.brig.cri()
        self.pods.reconnect()

    def image_call(self, method, request, timeout=PULL_TIMEOUT):
        response = getattr(api_pb2, method + "Response")
        return self.cri.call("ImageService", method, request, response, timeout)

    def pull(self, image=None):
        return self.image_call("PullImage", api_pb2.PullImageRequest(
            image=api_pb2.ImageSpec(image=image or self.image))).image_ref

    def remove_image(self, image=None):
        return self.image_call("RemoveImage", api_pb2.RemoveImageRequest(
            image=api_pb2.ImageSpec(image=image or self.image)))

    def run_pod(self, **kw):
        """A ready pod on the node's network with a log directory under the
        fixture's pod_log_root; returns (pod id, its config)."""
        meta = unique_metadata()
        config = pod_config(metadata=meta, network=NODE, **kw)
        log_dir = self.brig.pod_log_root / f"{meta.namespace}_{meta.name}_{meta.uid}"
        log_dir.mkdir(parents=True, exist_ok=True)
        config.log_directory = str(log_dir)
        return self.pods.run(config), config

    def create_request(self, pod_id, pod_config_, name=None, command=None, args=None, env=None,
                       workdir="", labels=None, annotations=None, attempt=0, log_path=None,
                       image=None):
        name = name or f"c-{uuid.uuid4().hex[:8]}"
        config = api_pb2.ContainerConfig(
            metadata=api_pb2.ContainerMetadata(name=name, attempt=attempt),
            image=api_pb2.ImageSpec(image=image or self.image),
            command=command or [], args=args or [], working_dir=workdir,
            labels=labels or {}, annotations=annotations or {},
            log_path=log_path if log_path is not None else f"{name}/{attempt}.log")
        for k, v in (env or {}).items():
            config.envs.add(key=k, value=v.encode())
        return api_pb2.CreateContainerRequest(pod_sandbox_id=pod_id, config=config,
                                              sandbox_config=pod_config_)

    def create_raw(self, request):
        return self.cri.runtime("CreateContainer", request, CALL_TIMEOUT).container_id

    def create(self, pod_id, pod_config_, **kw):
        return self.create_raw(self.create_request(pod_id, pod_config_, **kw))

    def start(self, ctr_id):
        self.cri.runtime("StartContainer", api_pb2.StartContainerRequest(container_id=ctr_id),
                         CALL_TIMEOUT)

    def stop(self, ctr_id, timeout=0):
        self.cri.runtime("StopContainer", api_pb2.StopContainerRequest(
            container_id=ctr_id, timeout=timeout), timeout + CALL_TIMEOUT)

    def remove(self, ctr_id):
        self.cri.runtime("RemoveContainer",
                         api_pb2.RemoveContainerRequest(container_id=ctr_id), CALL_TIMEOUT)

    def status(self, ctr_id, verbose=False):
        return self.cri.runtime("ContainerStatus", api_pb2.ContainerStatusRequest(
            container_id=ctr_id, verbose=verbose))

    def list(self, id=None, state=None, pod=None, labels=None):
        req = api_pb2.ListContainersRequest()
        if id is not None:
            req.filter.id = id
        if state is not None:
            req.filter.state.SetInParent()  # present even for CONTAINER_CREATED (0)
            req.filter.state.state = state
        if pod is not None:
            req.filter.pod_sandbox_id = pod
        for k, v in (labels or {}).items():
            req.filter.label_selector[k] = v
        return list(self.cri.runtime("ListContainers", req).containers)

    def ids(self, **filt):
        return sorted(c.id for c in self.list(**filt))

    def wait_state(self, ctr_id, state, timeout=EXIT_TIMEOUT):
        return wait_for(lambda: (s := self.status(ctr_id).status).state == state and s,
                        timeout, f"container {ctr_id[:12]} in state {state}")

    def exec_sync(self, ctr_id, cmd, timeout=0):
        return self.cri.runtime("ExecSync", api_pb2.ExecSyncRequest(
            container_id=ctr_id, cmd=cmd, timeout=timeout), timeout + CALL_TIMEOUT)

    def records(self):
        return sorted(n for n in os.listdir(self.brig.root / "pods") if n.endswith(".ctr"))


@pytest.fixture
def ctrs(brig, pods, registry_image):  # noqa: F811 (pods is test_pods' fixture)
    c = Ctrs(brig, pods, registry_image[1])
    c.pull()
    return c


def log_lines(brig, pod_config_, rel):
    """The CRI log file's lines, split into (stream, tag, text)."""
    path = os.path.join(pod_config_.log_directory, rel)
    with open(path) as f:
        out = []
        for line in f.read().splitlines():
            m = LOG_LINE_RE.match(line)
            assert m, f"not a CRI log line: {line!r}"
            out.append((m.group(2), m.group(3), m.group(4)))
        return out


def run_to_exit(ctrs, pod_id, pod_cfg, **kw):
    ctr_id = ctrs.create(pod_id, pod_cfg, **kw)
    ctrs.start(ctr_id)
    return ctr_id, ctrs.wait_state(ctr_id, EXITED)


# --- running ---------------------------------------------------------------------

def test_echo_lands_in_the_log_in_cri_format(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id, st = run_to_exit(ctrs, pod_id, cfg, name="echo", log_path="echo/0.log",
                             command=["sh", "-c", "echo hello; echo oops >&2"])
    assert ID_RE.fullmatch(ctr_id)
    assert st.exit_code == 0 and st.reason == "Completed"
    assert 0 < st.created_at <= st.started_at <= st.finished_at
    lines = log_lines(brig, cfg, "echo/0.log")
    assert ("stdout", "F", "hello") in lines
    assert ("stderr", "F", "oops") in lines
    assert st.log_path == os.path.join(cfg.log_directory, "echo/0.log")


@pytest.mark.parametrize("code,reason", [(0, "Completed"), (3, "Error")])
def test_exit_code_and_reason(ctrs, code, reason):
    pod_id, cfg = ctrs.run_pod()
    _, st = run_to_exit(ctrs, pod_id, cfg, command=["sh", "-c", f"exit {code}"])
    assert st.exit_code == code
    assert st.reason == reason


def test_env_and_working_dir(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    run_to_exit(ctrs, pod_id, cfg, name="env", log_path="env.log", workdir="/tmp",
                env={"FOO": "bar baz"},
                command=["sh", "-c", 'echo "foo=$FOO cwd=$(pwd)"; echo "path=$PATH"'])
    texts = [t for _, _, t in log_lines(brig, cfg, "env.log")]
    assert "foo=bar baz cwd=/tmp" in texts
    assert any(t.startswith("path=") and "/bin" in t for t in texts), texts


def test_start_twice_and_start_unknown(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id, _ = run_to_exit(ctrs, pod_id, cfg, command=TRUE)
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.start, ctr_id)
    expect_error(grpc.StatusCode.NOT_FOUND, ctrs.start, "0" * 64)


# --- ExecSync ----------------------------------------------------------------------

def test_exec_sync_returns_output_and_exit_code(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP, env={"WHO": "container"}, workdir="/tmp")
    ctrs.start(ctr_id)
    r = ctrs.exec_sync(ctr_id, ["sh", "-c", 'echo "out $WHO $(pwd)"; echo err >&2; exit 5'])
    assert r.stdout == b"out container /tmp\n" and r.stderr == b"err\n"
    assert r.exit_code == 5
    # an argument that looks like an option reaches the process as it is
    r = ctrs.exec_sync(ctr_id, ["sh", "-c", 'echo "$0"', "--help"])
    assert r.stdout == b"--help\n" and r.exit_code == 0
    ctrs.remove(ctr_id)


def test_exec_sync_timeout_kills_the_command(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    t0 = time.monotonic()
    expect_error(grpc.StatusCode.DEADLINE_EXCEEDED, ctrs.exec_sync, ctr_id,
                 ["busybox", "sleep", "100"], 1)
    assert time.monotonic() - t0 < 10
    # the container itself is untouched
    assert ctrs.status(ctr_id).status.state == RUNNING
    r = ctrs.exec_sync(ctr_id, TRUE)
    assert r.exit_code == 0
    ctrs.remove(ctr_id)


def test_exec_sync_refusals(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id, _ = run_to_exit(ctrs, pod_id, cfg, command=TRUE)
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.exec_sync, ctr_id, TRUE)
    expect_error(grpc.StatusCode.NOT_FOUND, ctrs.exec_sync, "0" * 64, TRUE)
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, ctrs.exec_sync, ctr_id, [])
    running = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(running)
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, ctrs.exec_sync, running, ["x"] * 49)
    ctrs.remove(running)


# --- resources ---------------------------------------------------------------------------

def memory_cgroup_limit(ctr_id):
    for path in (f"/sys/fs/cgroup/memory/brig/brig-{ctr_id}/memory.limit_in_bytes",
                 f"/sys/fs/cgroup/brig/brig-{ctr_id}/memory.max"):
        if os.path.exists(path):
            return int(open(path).read())
    raise AssertionError(f"no memory cgroup for container {ctr_id}")


def test_memory_limit_shows_in_the_cgroup_and_updates(ctrs):
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, command=SLEEP)
    req.config.linux.resources.memory_limit_in_bytes = 64 << 20
    ctr_id = ctrs.create_raw(req)
    ctrs.start(ctr_id)
    assert memory_cgroup_limit(ctr_id) == 64 << 20
    st = ctrs.status(ctr_id).status
    assert st.resources.linux.memory_limit_in_bytes == 64 << 20
    ctrs.cri.runtime("UpdateContainerResources", api_pb2.UpdateContainerResourcesRequest(
        container_id=ctr_id, linux=api_pb2.LinuxContainerResources(
            memory_limit_in_bytes=128 << 20, cpu_shares=512)), CALL_TIMEOUT)
    assert memory_cgroup_limit(ctr_id) == 128 << 20
    st = ctrs.status(ctr_id).status
    assert st.resources.linux.memory_limit_in_bytes == 128 << 20
    assert st.resources.linux.cpu_shares == 512
    # a value the helper refuses changes nothing
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, ctrs.cri.runtime, "UpdateContainerResources",
                 api_pb2.UpdateContainerResourcesRequest(
                     container_id=ctr_id,
                     linux=api_pb2.LinuxContainerResources(cpu_shares=1)), CALL_TIMEOUT)
    assert ctrs.status(ctr_id).status.resources.linux.cpu_shares == 512
    ctrs.remove(ctr_id)
    expect_error(grpc.StatusCode.NOT_FOUND, ctrs.cri.runtime, "UpdateContainerResources",
                 api_pb2.UpdateContainerResourcesRequest(container_id=ctr_id), CALL_TIMEOUT)


# --- logs ------------------------------------------------------------------------------

def test_reopen_container_log_after_a_rename(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    script = "i=0; while true; do echo line$i; i=$((i+1)); busybox sleep 0.1; done"
    ctr_id = ctrs.create(pod_id, cfg, name="rot", log_path="rot/0.log",
                         command=["sh", "-c", script])
    ctrs.start(ctr_id)
    log = os.path.join(cfg.log_directory, "rot/0.log")
    wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0, 10, "the first lines")
    os.rename(log, log + ".1")
    ctrs.cri.runtime("ReopenContainerLog",
                     api_pb2.ReopenContainerLogRequest(container_id=ctr_id))
    wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0, 10, "lines in the new file")
    old = [t for _, _, t in log_lines(brig, cfg, "rot/0.log.1")]
    new = [t for _, _, t in log_lines(brig, cfg, "rot/0.log")]
    # the new file continues where the old one stopped, nothing lost or repeated
    assert int(new[0][4:]) == int(old[-1][4:]) + 1
    ctrs.stop(ctr_id)
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.cri.runtime, "ReopenContainerLog",
                 api_pb2.ReopenContainerLogRequest(container_id=ctr_id))
    expect_error(grpc.StatusCode.NOT_FOUND, ctrs.cri.runtime, "ReopenContainerLog",
                 api_pb2.ReopenContainerLogRequest(container_id="0" * 64))


# --- stopping ----------------------------------------------------------------------

def test_stop_with_a_term_handler_is_graceful(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=["sh", "-c", "trap 'exit 0' TERM; busybox sleep 1000 & wait"])
    ctrs.start(ctr_id)
    ctrs.wait_state(ctr_id, RUNNING)
    time.sleep(0.5)  # the trap is set
    t0 = time.monotonic()
    ctrs.stop(ctr_id, timeout=20)
    assert time.monotonic() - t0 < 10
    st = ctrs.status(ctr_id).status
    assert st.state == EXITED
    assert st.exit_code == 0 and st.reason == "Completed"


def test_stop_kills_a_container_that_ignores_term_after_the_timeout(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    ctrs.wait_state(ctr_id, RUNNING)
    t0 = time.monotonic()
    ctrs.stop(ctr_id, timeout=2)
    took = time.monotonic() - t0
    assert 2 <= took < 15, took
    st = ctrs.status(ctr_id).status
    assert st.state == EXITED
    assert st.exit_code == 128 + 9 and st.reason == "Error"
    # Stopping an exited container is no error; an unknown one is NOT_FOUND.
    ctrs.stop(ctr_id, timeout=2)
    expect_error(grpc.StatusCode.NOT_FOUND, ctrs.stop, "f" * 64)


def test_stop_with_timeout_zero_kills_at_once(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=["sh", "-c", "trap '' TERM; exec busybox sleep 1000"])
    ctrs.start(ctr_id)
    ctrs.wait_state(ctr_id, RUNNING)
    t0 = time.monotonic()
    ctrs.stop(ctr_id, timeout=0)
    assert time.monotonic() - t0 < 10
    assert ctrs.status(ctr_id).status.exit_code == 137


def test_remove_kills_a_running_container_and_is_idempotent(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    ctrs.wait_state(ctr_id, RUNNING)
    ctrs.remove(ctr_id)
    assert ctrs.list() == []
    assert ctrs.records() == []
    ctrs.remove(ctr_id)
    ctrs.remove("0" * 64)
    expect_error(grpc.StatusCode.NOT_FOUND, ctrs.status, ctr_id)


# --- listing and status ---------------------------------------------------------------

def test_list_filters(ctrs):
    pod_a, cfg_a = ctrs.run_pod()
    pod_b, cfg_b = ctrs.run_pod()
    done = ctrs.create(pod_a, cfg_a, command=TRUE, labels={"app": "x", "tier": "db"})
    ctrs.start(done)
    ctrs.wait_state(done, EXITED)
    running = ctrs.create(pod_a, cfg_a, command=SLEEP, labels={"app": "x"})
    ctrs.start(running)
    created = ctrs.create(pod_b, cfg_b, command=TRUE, labels={"app": "y"})

    assert ctrs.ids() == sorted([done, running, created])
    assert ctrs.ids(id=running) == [running]
    assert ctrs.ids(id=created[:16]) == [created]
    assert ctrs.ids(id="z") == []
    assert ctrs.ids(state=EXITED) == [done]
    assert ctrs.ids(state=RUNNING) == [running]
    assert ctrs.ids(state=CREATED) == [created]
    assert ctrs.ids(pod=pod_a) == sorted([done, running])
    assert ctrs.ids(pod=pod_b[:20]) == [created]
    assert ctrs.ids(labels={"app": "x"}) == sorted([done, running])
    assert ctrs.ids(labels={"app": "x", "tier": "db"}) == [done]
    assert ctrs.ids(pod=pod_b, labels={"app": "x"}) == []

    [item] = ctrs.list(id=running)
    assert item.pod_sandbox_id == pod_a
    assert item.state == RUNNING
    assert item.image.image == ctrs.image
    assert item.image_id.startswith("sha256:")
    assert item.labels == {"app": "x"}

    fn = ctrs.cri.channel.unary_stream(
        "/runtime.v1.RuntimeService/StreamContainers",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=api_pb2.StreamContainersResponse.FromString)
    streamed = [c.id for msg in fn(api_pb2.StreamContainersRequest(), timeout=10)
                for c in msg.containers]
    assert sorted(streamed) == sorted([done, running, created])


def test_container_status_fields(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    host_dir = brig.base / "shared"
    host_dir.mkdir()
    (host_dir / "hello").write_text("from the host\n")
    req = ctrs.create_request(pod_id, cfg, name="web", attempt=2, log_path="web/2.log",
                              command=["sh", "-c", "busybox cat /data/hello; exec busybox sleep 1000"],
                              labels={"app": "web"}, annotations={"note": "yes"})
    req.config.mounts.add(container_path="/data", host_path=str(host_dir), readonly=True)
    image_ref = ctrs.pull()
    ctr_id = ctrs.create_raw(req)

    resp = ctrs.status(ctr_id)
    st = resp.status
    assert st.id == ctr_id
    assert st.state == CREATED
    assert st.metadata.name == "web" and st.metadata.attempt == 2
    assert st.created_at > 0 and st.started_at == 0 and st.finished_at == 0
    assert st.image.image == ctrs.image
    assert st.image_id == image_ref
    assert st.image_ref
    assert st.labels == {"app": "web"}
    assert st.annotations == {"note": "yes"}
    [m] = st.mounts
    assert m.container_path == "/data" and m.host_path == str(host_dir) and m.readonly
    assert st.log_path == os.path.join(cfg.log_directory, "web/2.log")
    assert st.stop_signal == api_pb2.SIGTERM

    ctrs.start(ctr_id)
    wait_for(lambda: os.path.exists(st.log_path) and
             ("stdout", "F", "from the host") in log_lines(brig, cfg, "web/2.log"),
             EXIT_TIMEOUT, "the mounted file in the log")
    resp = ctrs.status(ctr_id, verbose=True)
    assert resp.status.state == RUNNING and resp.status.started_at >= st.created_at
    info = json.loads(resp.info["info"])
    assert info["pid"] > 0 and info["runtimeType"] == "oci"
    assert info["sandboxId"] == pod_id
    with open(f"/proc/{info['pid']}/cmdline", "rb") as f:
        assert b"sleep" in f.read()


def test_status_of_unknown_or_ambiguous_ids(ctrs):
    expect_error(grpc.StatusCode.NOT_FOUND, ctrs.status, "a" * 64)
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, ctrs.status, "")


# --- refused requests -----------------------------------------------------------------

def assert_no_new_container(ctrs, before):
    assert sorted(c.id for c in ctrs.list()) == before
    assert len(ctrs.records()) == len(before)


def test_name_already_used_is_already_exists_naming_the_id(ctrs):
    pod_id, cfg = ctrs.run_pod()
    first = ctrs.create(pod_id, cfg, name="dup", command=TRUE)
    err = expect_error(grpc.StatusCode.ALREADY_EXISTS, ctrs.create, pod_id, cfg, name="dup",
                       command=TRUE)
    assert first in err.details()
    # Another attempt, or the same name in another pod, is fine.
    ctrs.create(pod_id, cfg, name="dup", attempt=1, command=TRUE)
    other, other_cfg = ctrs.run_pod()
    ctrs.create(other, other_cfg, name="dup", command=TRUE)


def test_concurrent_creates_of_one_name_make_one_container(ctrs):
    pod_id, cfg = ctrs.run_pod()
    results = []

    def one():
        try:
            results.append(ctrs.create(pod_id, cfg, name="race", command=TRUE))
        except grpc.RpcError as e:
            results.append(e.code())

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r for r in results if isinstance(r, str)]
    assert len(ids) == 1, results
    assert results.count(grpc.StatusCode.ALREADY_EXISTS) == 3, results


def test_image_not_present_is_not_found(ctrs):
    pod_id, cfg = ctrs.run_pod()
    before = ctrs.ids()
    err = expect_error(grpc.StatusCode.NOT_FOUND, ctrs.create, pod_id, cfg,
                       image="127.0.0.1:1/no/such:image", command=TRUE)
    assert "no/such" in err.details()
    assert_no_new_container(ctrs, before)


def test_pod_not_found_and_not_ready(ctrs):
    pod_id, cfg = ctrs.run_pod()
    err = expect_error(grpc.StatusCode.NOT_FOUND, ctrs.create, "0" * 64, cfg, command=TRUE)
    assert "0" * 16 in err.details()
    ctrs.pods.stop(pod_id)
    err = expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.create, pod_id, cfg,
                       command=TRUE)
    assert pod_id in err.details()
    assert ctrs.list() == [] and ctrs.records() == []


def bad_mount(req):
    req.config.mounts.add(container_path="relative/path", host_path="/tmp")


def bad_stdin_once(req):
    req.config.stdin_once = True


def bad_env(req):
    req.config.envs.add(key="BAD", value=b"a\0b")


def bad_log_path(req):
    req.config.log_path = "../../escape.log"


def absolute_log_path(req):
    req.config.log_path = "/etc/escape.log"


@pytest.mark.parametrize("spoil", [bad_mount, bad_stdin_once, bad_env, bad_log_path,
                                   absolute_log_path])
def test_bad_config_is_invalid_argument(ctrs, spoil):
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, command=TRUE)
    spoil(req)
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, ctrs.create_raw, req)
    assert ctrs.list() == [] and ctrs.records() == []
    # The name was not taken.
    ctrs.create_raw(ctrs.create_request(pod_id, cfg, name=req.config.metadata.name,
                                        command=TRUE))


def test_missing_fields_are_invalid_argument(ctrs):
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, command=TRUE)
    no_meta = api_pb2.CreateContainerRequest()
    no_meta.CopyFrom(req)
    no_meta.config.ClearField("metadata")
    no_image = api_pb2.CreateContainerRequest()
    no_image.CopyFrom(req)
    no_image.config.image.image = ""
    no_pod = api_pb2.CreateContainerRequest()
    no_pod.CopyFrom(req)
    no_pod.pod_sandbox_id = ""
    for bad in (no_meta, no_image, no_pod):
        expect_error(grpc.StatusCode.INVALID_ARGUMENT, ctrs.create_raw, bad)
    assert ctrs.list() == []


# --- pods and images -------------------------------------------------------------------

def test_remove_image_is_refused_while_a_container_uses_it(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=TRUE)
    err = expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.remove_image)
    assert ctr_id in err.details()
    ctrs.remove(ctr_id)
    ctrs.remove_image()


def test_stop_pod_kills_its_containers_and_remove_pod_removes_them(ctrs):
    pod_id, cfg = ctrs.run_pod()
    other, other_cfg = ctrs.run_pod()
    running = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(running)
    created = ctrs.create(pod_id, cfg, command=TRUE)
    keep = ctrs.create(other, other_cfg, command=SLEEP)
    ctrs.start(keep)
    ctrs.wait_state(running, RUNNING)

    ctrs.pods.stop(pod_id)
    st = ctrs.status(running).status
    assert st.state == EXITED and st.exit_code == 137
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.start, created)
    assert ctrs.status(keep).status.state == RUNNING

    ctrs.pods.remove(pod_id)
    assert ctrs.ids() == [keep]
    assert len(ctrs.records()) == 1


def test_containers_survive_a_restart_of_brigd(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    running = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(running)
    ctrs.wait_state(running, RUNNING)
    ends = ctrs.create(pod_id, cfg, command=["sh", "-c", "busybox sleep 3; exit 7"])
    ctrs.start(ends)
    created = ctrs.create(pod_id, cfg, command=TRUE)
    before = {c.id: c for c in ctrs.list()}

    old = brig.brigd_pid()
    os.kill(old, 9)
    wait_for(lambda: (p := brig.brigd_pid()) and p != old and p, 30, "a new brigd")
    wait_for(brig.version_ok, 30, "brigd answering after the restart")
    ctrs.reconnect()

    assert sorted(c.id for c in ctrs.list()) == sorted(before)
    assert ctrs.status(running).status.state == RUNNING
    assert ctrs.status(created).status.state == CREATED
    st = ctrs.wait_state(ends, EXITED)
    assert st.exit_code == 7
    ctrs.stop(running, timeout=0)
    assert ctrs.status(running).status.exit_code == 137


def test_twenty_containers_leave_no_records(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    ids = []
    for i in range(20):
        cmd = SLEEP if i % 2 else ["sh", "-c", "trap 'exit 0' TERM; busybox sleep 1000 & wait"]
        ctr_id = ctrs.create(pod_id, cfg, name=f"n{i}", command=cmd)
        ctrs.start(ctr_id)
        ids.append(ctr_id)
    for ctr_id in ids:
        ctrs.wait_state(ctr_id, RUNNING)
    threads = [threading.Thread(target=ctrs.stop, args=(ctr_id, 1)) for ctr_id in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ctrs.ids(state=EXITED) == sorted(ids)
    for ctr_id in ids:
        ctrs.remove(ctr_id)
    assert ctrs.list() == []
    assert ctrs.records() == []
    helper_dir = brig.root / "containers"
    if helper_dir.exists():
        assert [n for n in os.listdir(helper_dir) if not n.startswith(".")] == []
