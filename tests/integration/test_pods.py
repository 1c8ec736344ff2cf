"""The CRI pod sandbox RPCs of brigd: RunPodSandbox, PodSandboxStatus,
ListPodSandbox, StreamPodSandboxes, StopPodSandbox and RemovePodSandbox.

A pod's own network, IPC and UTS namespaces are made and pinned by
brig-helper under run_root/ns/<pod id>; the tests look at them from outside
with nsenter. Each refused request must come back with its status code,
create nothing (no pod listed, nothing under run_root/ns, the name not
taken) and leave brigd serving. Pod records must survive a restart of brigd.

Every test makes pods with metadata of its own. The `pods` fixture removes,
after the test, every pod brigd still lists or the test made, and lazily
unmounts whatever is still mounted under run_root/ns, so the test's
directory can be removed even when a test fails halfway.
"""
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import grpc
import pytest

from conftest import api_pb2, children_of, wait_for

POD, CONTAINER, NODE = api_pb2.POD, api_pb2.CONTAINER, api_pb2.NODE
READY, NOTREADY = api_pb2.SANDBOX_READY, api_pb2.SANDBOX_NOTREADY
RUN_TIMEOUT = 30
RESTART_TIMEOUT = 30
ID_RE = re.compile(r"[0-9a-f]{64}")


# --- looking at run_root/ns from outside ------------------------------------

def ns_dir(brig):
    return brig.run_root / "ns"


def ns_entries(brig):
    """Names under run_root/ns (an absent directory counts as empty)."""
    try:
        return sorted(os.listdir(ns_dir(brig)))
    except FileNotFoundError:
        return []


def pins_mounted(brig):
    """Mount points under run_root/ns, from our (the helper's) mount table."""
    prefix = str(ns_dir(brig)) + "/"
    with open("/proc/self/mountinfo") as f:
        return sorted(line.split()[4] for line in f if line.split()[4].startswith(prefix))


def pins_of(brig, pod_id):
    """The kinds (net, ipc, uts, and shm: the pod's /dev/shm) pinned for one pod, as mounted."""
    prefix = str(ns_dir(brig) / pod_id) + "/"
    return sorted(p[len(prefix):] for p in pins_mounted(brig) if p.startswith(prefix))


def pin(brig, pod_id, kind):
    return ns_dir(brig) / pod_id / kind


def inside(brig, pod_id, kind, *cmd):
    """Run cmd in one of the pod's pinned namespaces."""
    return subprocess.run(["nsenter", f"--{kind}={pin(brig, pod_id, kind)}", *cmd],
                          check=True, capture_output=True, text=True).stdout.strip()


def host_sysctl(name):
    with open("/proc/sys/" + name.replace(".", "/")) as f:
        return f.read().strip()


# --- building requests -------------------------------------------------------

def unique_metadata(prefix="pod", namespace="default", attempt=0):
    tag = uuid.uuid4().hex[:12]
    return api_pb2.PodSandboxMetadata(name=f"{prefix}-{tag}", namespace=namespace,
                                      uid=str(uuid.uuid4()), attempt=attempt)


def pod_config(metadata=None, hostname="pod", labels=None, annotations=None, sysctls=None,
               network=POD, pid=CONTAINER, ipc=POD, dns_servers=None, ports=(),
               cgroup_parent=""):
    """A PodSandboxConfig with fresh metadata unless metadata is given.

    pid defaults to CONTAINER (kubelet's default) so that the namespace
    options are not all zero and an echo of them can be told from unset."""
    config = api_pb2.PodSandboxConfig(
        metadata=metadata if metadata is not None else unique_metadata(),
        hostname=hostname,
        labels=labels or {},
        annotations=annotations or {})
    linux = config.linux
    linux.cgroup_parent = cgroup_parent
    linux.security_context.namespace_options.CopyFrom(
        api_pb2.NamespaceOption(network=network, pid=pid, ipc=ipc))
    for name, value in (sysctls or {}).items():
        linux.sysctls[name] = value
    if dns_servers is not None:
        config.dns_config.servers.extend(dns_servers)
    for container_port, host_port in ports:
        config.port_mappings.add(protocol=api_pb2.TCP, container_port=container_port,
                                 host_port=host_port)
    return config


def pod_filter(id=None, state=None, labels=None):
    f = api_pb2.PodSandboxFilter()
    if id is not None:
        f.id = id
    if state is not None:
        f.state.SetInParent()  # present even for SANDBOX_READY (0)
        f.state.state = state
    for k, v in (labels or {}).items():
        f.label_selector[k] = v
    return f


# --- the client and the fixture ----------------------------------------------

class Pods:
    """The pod sandbox RPCs over one channel; remembers every pod it made."""

    def __init__(self, brig):
        self.brig = brig
        self.cri = brig.cri()
        self.made = []
        self.lock = threading.Lock()

    def reconnect(self):
        self.cri = self.brig.cri()

    def run_request(self, request, timeout=RUN_TIMEOUT):
        r = self.cri.runtime("RunPodSandbox", request, timeout)
        with self.lock:
            self.made.append(r.pod_sandbox_id)
        return r.pod_sandbox_id

    def run(self, config, handler="", timeout=RUN_TIMEOUT):
        return self.run_request(api_pb2.RunPodSandboxRequest(config=config,
                                                             runtime_handler=handler), timeout)

    def status(self, pod_id, verbose=False):
        return self.cri.runtime("PodSandboxStatus", api_pb2.PodSandboxStatusRequest(
            pod_sandbox_id=pod_id, verbose=verbose))

    def list(self, **filt):
        req = api_pb2.ListPodSandboxRequest()
        if filt:
            req.filter.CopyFrom(pod_filter(**filt))
        return list(self.cri.runtime("ListPodSandbox", req).items)

    def stream(self, **filt):
        req = api_pb2.StreamPodSandboxesRequest()
        if filt:
            req.filter.CopyFrom(pod_filter(**filt))
        fn = self.cri.channel.unary_stream(
            "/runtime.v1.RuntimeService/StreamPodSandboxes",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=api_pb2.StreamPodSandboxesResponse.FromString)
        return [p for msg in fn(req, timeout=10) for p in msg.pod_sandboxes]

    def ids(self, **filt):
        return sorted(p.id for p in self.list(**filt))

    def stop(self, pod_id):
        return self.cri.runtime("StopPodSandbox",
                                api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id), RUN_TIMEOUT)

    def remove(self, pod_id):
        return self.cri.runtime("RemovePodSandbox",
                                api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id),
                                RUN_TIMEOUT)

    def version_ok(self):
        r = self.cri.runtime("Version", api_pb2.VersionRequest())
        return r.runtime_name == "brig"

    def cleanup(self):
        """Best effort, never raising: remove every pod made or still listed."""
        if self.brig.proc is None or self.brig.proc.poll() is not None:
            return
        try:
            wait_for(self.brig.version_ok, RESTART_TIMEOUT, "brigd for the cleanup")
            self.reconnect()
        except AssertionError:
            return
        ids = set(self.made)
        try:
            ids |= {p.id for p in self.list()}
        except grpc.RpcError:
            pass
        for pod_id in ids:
            try:
                self.remove(pod_id)
            except grpc.RpcError:
                pass


@pytest.fixture
def pods(brig):
    p = Pods(brig)
    try:
        yield p
    finally:
        p.cleanup()
        for path in pins_mounted(brig):
            subprocess.run(["umount", "-l", path], check=False)


def expect_error(code, fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    assert e.value.code() == code, (e.value.code(), e.value.details())
    return e.value


def assert_nothing_created(brig, pods):
    assert pods.version_ok(), "brigd stopped serving"
    assert pods.list() == []
    assert ns_entries(brig) == []
    assert pins_mounted(brig) == []


# --- RunPodSandbox -----------------------------------------------------------

def test_run_makes_a_pod_with_its_own_namespaces(brig, pods):
    host_name = os.uname().nodename
    host_port_start = host_sysctl("net.ipv4.ip_unprivileged_port_start")
    host_shmmni = host_sysctl("kernel.shmmni")
    config = pod_config(hostname="web-1.example", sysctls={
        "net.ipv4.ip_unprivileged_port_start": "80",
        "kernel.shmmni": "1024",
    })
    pod_id = pods.run(config)
    assert ID_RE.fullmatch(pod_id), pod_id

    assert ns_entries(brig) == [pod_id]
    assert pins_of(brig, pod_id) == ["ipc", "net", "shm", "uts"]
    for kind in ("net", "ipc", "uts"):
        assert os.stat(pin(brig, pod_id, kind)).st_ino != \
            os.stat(f"/proc/self/ns/{kind}").st_ino, f"{kind} is the node's"
    assert inside(brig, pod_id, "uts", "hostname") == "web-1.example"
    assert os.uname().nodename == host_name
    lo = inside(brig, pod_id, "net", "ip", "-o", "link", "show", "lo")
    assert "UP" in lo.split(">")[0].split("<")[1].split(","), lo
    assert inside(brig, pod_id, "net", "cat",
                  "/proc/sys/net/ipv4/ip_unprivileged_port_start") == "80"
    assert inside(brig, pod_id, "ipc", "cat", "/proc/sys/kernel/shmmni") == "1024"
    assert host_sysctl("net.ipv4.ip_unprivileged_port_start") == host_port_start
    assert host_sysctl("kernel.shmmni") == host_shmmni


def test_each_run_gets_a_new_id(brig, pods):
    meta = unique_metadata()
    first = pods.run(pod_config(metadata=meta))
    second = pods.run(pod_config(metadata=unique_metadata()))
    assert ID_RE.fullmatch(first) and ID_RE.fullmatch(second)
    assert first != second
    pods.remove(first)
    again = pods.run(pod_config(metadata=meta))
    assert ID_RE.fullmatch(again)
    assert again not in (first, second), "an id was reused"


@pytest.mark.parametrize("handler", ["", "runc", "crun"])
def test_runtime_handler_accepted_and_echoed(brig, pods, handler):
    pod_id = pods.run(pod_config(), handler=handler)
    assert pods.status(pod_id).status.runtime_handler == handler
    [item] = pods.list(id=pod_id)
    assert item.runtime_handler == handler


def test_unknown_runtime_handler_names_the_known_ones(brig, pods):
    err = expect_error(grpc.StatusCode.INVALID_ARGUMENT, pods.run, pod_config(), "kata")
    assert err.details() == ('RunPodSandbox: unknown runtime handler "kata" (brig runs: runc, '
                             'crun; "" is runc)')
    assert_nothing_created(brig, pods)


def test_node_network_has_no_net_or_uts_pin(brig, pods):
    host_name = os.uname().nodename
    pod_id = pods.run(pod_config(network=NODE, hostname="not-applied"))
    assert pins_of(brig, pod_id) == ["ipc", "shm"]
    assert os.uname().nodename == host_name
    assert pods.status(pod_id).status.state == READY
    pods.remove(pod_id)
    assert pins_mounted(brig) == []
    assert ns_entries(brig) == []


def test_node_ipc_has_no_ipc_pin(brig, pods):
    pod_id = pods.run(pod_config(ipc=NODE, hostname="own-net"))
    assert pins_of(brig, pod_id) == ["net", "uts"]
    assert inside(brig, pod_id, "uts", "hostname") == "own-net"


def test_node_network_and_ipc_pin_nothing(brig, pods):
    pod_id = pods.run(pod_config(network=NODE, ipc=NODE))
    assert pins_of(brig, pod_id) == []
    assert pods.status(pod_id).status.state == READY
    pods.remove(pod_id)
    assert ns_entries(brig) == []


def test_limits_of_the_metadata_and_hostname_accepted(brig, pods):
    meta = api_pb2.PodSandboxMetadata(
        name="a" * 249 + ".b-c",
        namespace="kube-system." + "b" * (253 - 12),
        uid=("Az09_-" * 22)[:128],
        attempt=7)
    assert (len(meta.name), len(meta.namespace), len(meta.uid)) == (253, 253, 128)
    hostname = "h" * 63
    # critest's names carry capitals and underscores; kubelet's never do
    critest = pods.run(pod_config(metadata=api_pb2.PodSandboxMetadata(
        name="PodSandbox-for_test." + meta.name[:8], namespace="Cri-Test_ns",
        uid="a.b_C-" + "9" * 240, attempt=1)))
    assert pods.status(critest).status.state == READY
    pod_id = pods.run(pod_config(metadata=meta, hostname=hostname))
    assert pods.status(pod_id).status.metadata == meta
    assert inside(brig, pod_id, "uts", "hostname") == hostname


def test_cgroup_parent_follows_the_cgroupfs_driver(brig, pods):
    config = pod_config(cgroup_parent="/kubepods/burstable/pod1")
    pod_id = pods.run(config)
    info = json.loads(pods.status(pod_id, verbose=True).info["info"])
    assert info["cgroupParent"] == "/kubepods/burstable/pod1"
    default = pods.run(pod_config())
    assert json.loads(pods.status(default, verbose=True).info["info"])["cgroupParent"] == "/brig"
    # a systemd slice name under the cgroupfs driver: kubelet is set up wrong
    err = expect_error(grpc.StatusCode.INVALID_ARGUMENT, pods.run,
                       pod_config(cgroup_parent="kubepods-burstable.slice"))
    assert "cgroupDriver" in err.details()


def test_valid_dns_ports_and_cgroup_parent_accepted(brig, pods):
    config = pod_config(dns_servers=["10.96.0.10", "fd00::a"],
                        ports=[(80, 8080), (53, 0), (65535, 65535)],
                        cgroup_parent="/kubepods/besteffort/pod1234")
    pod_id = pods.run(config)
    assert pods.status(pod_id).status.state == READY


def _set(path, value):
    """A mutation of a RunPodSandboxRequest: set a dotted field path."""
    def mutate(req):
        *parents, last = path.split(".")
        msg = req
        for p in parents:
            msg = getattr(msg, p)
        setattr(msg, last, value)
    return mutate


def _clear(path):
    def mutate(req):
        *parents, last = path.split(".")
        msg = req
        for p in parents:
            msg = getattr(msg, p)
        msg.ClearField(last)
    return mutate


def _sysctl(name, value):
    def mutate(req):
        req.config.linux.sysctls[name] = value
    return mutate


def _dns(*servers):
    def mutate(req):
        req.config.dns_config.servers.extend(servers)
    return mutate


def _port(container_port, host_port):
    def mutate(req):
        req.config.port_mappings.add(container_port=container_port, host_port=host_port)
    return mutate


def _case(id, mutate, needles=None):
    return pytest.param(mutate, needles, id=id)


BAD_REQUESTS = [
    _case("no-config", _clear("config"), ("metadata", "config")),
    _case("no-metadata", _clear("config.metadata"), ("metadata",)),
    _case("name-empty", _set("config.metadata.name", ""), ("metadata.name",)),
    _case("name-slash", _set("config.metadata.name", "../web"), ("metadata.name",)),
    _case("name-newline", _set("config.metadata.name", "web\nx"), ("metadata.name",)),
    _case("name-254", _set("config.metadata.name", "a" * 254), ("metadata.name",)),
    _case("namespace-empty", _set("config.metadata.namespace", ""), ("metadata.namespace",)),
    _case("namespace-slash", _set("config.metadata.namespace", "kube/system"),
          ("metadata.namespace",)),
    _case("namespace-254", _set("config.metadata.namespace", "n" * 254),
          ("metadata.namespace",)),
    _case("uid-empty", _set("config.metadata.uid", ""), ("metadata.uid",)),
    _case("uid-slash", _set("config.metadata.uid", "../etc"), ("metadata.uid",)),
    _case("uid-254", _set("config.metadata.uid", "u" * 254), ("metadata.uid",)),
    _case("uid-space", _set("config.metadata.uid", "a b"), ("metadata.uid",)),
    _case("handler-kata", _set("runtime_handler", "kata"), ("runtime handler",)),
    _case("handler-upper", _set("runtime_handler", "RUNC"), ("runtime handler",)),
    _case("handler-space", _set("runtime_handler", "runc "), ("runtime handler",)),
    _case("handler-path", _set("runtime_handler", "../runc"), ("runtime handler",)),
    _case("hostname-64", _set("config.hostname", "h" * 64)),
    _case("hostname-upper", _set("config.hostname", "Web")),
    _case("dns-not-ip", _dns("not-an-ip")),
    _case("dns-bad-octet", _dns("10.0.0.256")),
    _case("dns-one-bad", _dns("10.96.0.10", "not-an-ip")),
    _case("dns-empty", _dns("")),
    _case("container-port-70000", _port(70000, 0)),
    _case("container-port-negative", _port(-1, 0)),
    _case("host-port-70000", _port(80, 70000)),
    _case("host-port-negative", _port(80, -1)),
    _case("cgroup-parent-dotdot", _set("config.linux.cgroup_parent", "/kubepods/../../etc")),
    _case("cgroup-parent-only-dotdot", _set("config.linux.cgroup_parent", "..")),
    _case("cgroup-parent-trailing-dotdot", _set("config.linux.cgroup_parent", "kubepods/..")),
    _case("sysctl-core-pattern", _sysctl("kernel.core_pattern", "|/tmp/x")),
    _case("sysctl-vm", _sysctl("vm.overcommit_memory", "1")),
    _case("sysctl-newline-value", _sysctl("net.ipv4.ip_forward", "1\nkernel.core_pattern=x")),
    _case("sysctl-plus-value", _sysctl("kernel.shm_rmid_forced", "1+kernel.core_pattern=x")),
]


@pytest.mark.parametrize("mutate,needles", BAD_REQUESTS)
def test_bad_run_requests_are_refused(brig, pods, mutate, needles):
    good = api_pb2.RunPodSandboxRequest(config=pod_config())
    bad = api_pb2.RunPodSandboxRequest()
    bad.CopyFrom(good)
    mutate(bad)
    assert bad != good
    err = expect_error(grpc.StatusCode.INVALID_ARGUMENT, pods.run_request, bad)
    if needles:
        assert any(n in err.details() for n in needles), err.details()
    assert_nothing_created(brig, pods)
    # The refused request took nothing: the untouched request runs now.
    pod_id = pods.run_request(good)
    assert pods.ids() == [pod_id]


def test_net_sysctl_with_the_node_network_is_refused(brig, pods):
    # It would change the node's network settings; the exact code is not in
    # the contract, but it must be refused and leave nothing.
    config = pod_config(network=NODE, sysctls={"net.ipv4.ip_forward": "1"})
    host_forward = host_sysctl("net.ipv4.ip_forward")
    with pytest.raises(grpc.RpcError) as e:
        pods.run(config)
    assert e.value.code() != grpc.StatusCode.UNIMPLEMENTED
    assert host_sysctl("net.ipv4.ip_forward") == host_forward
    assert_nothing_created(brig, pods)


def test_failure_while_making_the_namespaces_leaves_nothing(brig, pods):
    # Well formed and namespaced by name, but the kernel has no such sysctl:
    # the failure comes from the helper's child, after brigd accepted the
    # request. Its record and its name must be rolled back.
    meta = unique_metadata()
    with pytest.raises(grpc.RpcError) as e:
        pods.run(pod_config(metadata=meta, sysctls={"net.ipv4.no_such_sysctl": "1"}))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no such sysctl" in e.value.details()
    assert_nothing_created(brig, pods)
    pod_id = pods.run(pod_config(metadata=meta))
    assert pods.ids() == [pod_id]


def test_same_metadata_twice_already_exists(brig, pods):
    meta = unique_metadata(attempt=0)
    first = pods.run(pod_config(metadata=meta))
    err = expect_error(grpc.StatusCode.ALREADY_EXISTS, pods.run, pod_config(metadata=meta))
    assert first in err.details()
    assert pods.ids() == [first]
    assert ns_entries(brig) == [first]

    # A stopped pod still exists and still holds its name.
    pods.stop(first)
    err = expect_error(grpc.StatusCode.ALREADY_EXISTS, pods.run, pod_config(metadata=meta))
    assert first in err.details()

    retry = api_pb2.PodSandboxMetadata()
    retry.CopyFrom(meta)
    retry.attempt = 1
    second = pods.run(pod_config(metadata=retry))
    assert second != first
    assert sorted(pods.ids()) == sorted([first, second])

    pods.remove(first)
    third = pods.run(pod_config(metadata=meta))
    assert third not in (first, second)
    assert pods.status(third).status.metadata == meta


def test_concurrent_runs_of_one_name_make_one_pod(brig, pods):
    meta = unique_metadata()
    results, errors = [], []
    barrier = threading.Barrier(8)

    def run():
        barrier.wait()
        try:
            results.append(pods.run(pod_config(metadata=meta)))
        except grpc.RpcError as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=RUN_TIMEOUT * 2)
    assert len(results) == 1, (results, [(e.code(), e.details()) for e in errors])
    assert len(errors) == 7
    for e in errors:
        assert e.code() == grpc.StatusCode.ALREADY_EXISTS, (e.code(), e.details())
        assert results[0] in e.details()
    assert pods.ids() == results
    assert ns_entries(brig) == results


def test_ten_concurrent_runs(brig, pods):
    configs = [pod_config(hostname=f"pod{n}", labels={"batch": "ten", "n": str(n)})
               for n in range(10)]
    ids, errors = [None] * 10, []
    barrier = threading.Barrier(10)

    def run(n):
        barrier.wait()
        try:
            ids[n] = pods.run(configs[n])
        except grpc.RpcError as e:
            errors.append((n, e.code(), e.details()))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(10)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=RUN_TIMEOUT * 2)
    assert errors == []
    assert time.monotonic() - start < RUN_TIMEOUT
    assert all(i and ID_RE.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == 10
    assert pods.ids(labels={"batch": "ten"}) == sorted(ids)
    assert len(pins_mounted(brig)) == 40  # 3 pins and the shm each
    for n, pod_id in enumerate(ids):
        assert inside(brig, pod_id, "uts", "hostname") == f"pod{n}"
        assert dict(pods.status(pod_id).status.labels)["n"] == str(n)

    for pod_id in ids:
        pods.remove(pod_id)
    assert pods.list() == []
    assert pins_mounted(brig) == []
    assert ns_entries(brig) == []


# --- PodSandboxStatus --------------------------------------------------------

def test_status_of_unknown_pod_is_not_found(brig, pods):
    expect_error(grpc.StatusCode.NOT_FOUND, pods.status, "f" * 64)
    expect_error(grpc.StatusCode.NOT_FOUND, pods.status, "f" * 64, verbose=True)
    assert pods.version_ok()


def test_status_reports_the_config(brig, pods):
    labels = {"app": "web", "io.kubernetes.pod.name": "web-0"}
    annotations = {"kubernetes.io/config.seen": "2024-01-01T00:00:00Z",
                   "note": "{\"json\": [1, 2]}\nsecond line"}
    config = pod_config(labels=labels, annotations=annotations)
    before = time.time_ns()
    pod_id = pods.run(config, handler="runc")
    after = time.time_ns()

    r = pods.status(pod_id)
    s = r.status
    assert s.id == pod_id
    assert s.metadata == config.metadata
    assert s.state == READY
    assert before - 1_000_000_000 <= s.created_at <= after + 1_000_000_000, \
        (before, s.created_at, after)
    assert time.time_ns() - s.created_at < 60 * 1_000_000_000
    assert dict(s.labels) == labels
    assert dict(s.annotations) == annotations
    assert s.runtime_handler == "runc"
    assert s.linux.namespaces.options == config.linux.security_context.namespace_options


def test_status_echoes_node_namespace_options(brig, pods):
    config = pod_config(network=NODE, ipc=NODE, pid=NODE)
    pod_id = pods.run(config)
    options = pods.status(pod_id).status.linux.namespaces.options
    assert options == config.linux.security_context.namespace_options
    assert (options.network, options.pid, options.ipc) == (NODE, NODE, NODE)


def test_status_verbose_info_is_json(brig, pods):
    pod_id = pods.run(pod_config())
    r = pods.status(pod_id, verbose=True)
    assert r.status.id == pod_id
    assert "info" in r.info, dict(r.info)
    info = json.loads(r.info["info"])
    assert isinstance(info, dict)
    assert "state" in info, info
    assert info["id"] == pod_id, info


# --- ListPodSandbox and StreamPodSandboxes ----------------------------------

@pytest.fixture
def three_pods(pods):
    """web-a and web-b (app=web) and db (app=db); db is stopped."""
    web_a = pod_config(labels={"app": "web", "tier": "front"}, annotations={"k": "a"})
    web_b = pod_config(labels={"app": "web", "tier": "back"}, annotations={"k": "b"})
    db = pod_config(labels={"app": "db"})
    ids = {"web_a": pods.run(web_a), "web_b": pods.run(web_b, handler="runc"),
           "db": pods.run(db)}
    pods.stop(ids["db"])
    configs = {"web_a": web_a, "web_b": web_b, "db": db}
    return ids, configs


def unique_prefix(pod_id, others, length=8):
    prefix = pod_id[:length]
    assert not any(o.startswith(prefix) for o in others if o != pod_id), "prefix not unique"
    return prefix


def unused_prefix(ids):
    for n in range(1 << 16):
        prefix = f"{n:08x}"
        if not any(i.startswith(prefix) for i in ids):
            return prefix
    raise AssertionError("no unused prefix")


def test_list_without_filter_lists_every_pod(brig, pods, three_pods):
    ids, configs = three_pods
    items = {p.id: p for p in pods.list()}
    assert sorted(items) == sorted(ids.values())
    for key, pod_id in ids.items():
        item, status = items[pod_id], pods.status(pod_id).status
        assert item.metadata == configs[key].metadata
        assert dict(item.labels) == dict(configs[key].labels)
        assert dict(item.annotations) == dict(configs[key].annotations)
        assert item.state == (NOTREADY if key == "db" else READY)
        assert item.created_at == status.created_at
        assert item.runtime_handler == ("runc" if key == "web_b" else "")


def test_list_by_id_and_prefix(brig, pods, three_pods):
    ids, _ = three_pods
    all_ids = list(ids.values())
    for pod_id in all_ids:
        assert pods.ids(id=pod_id) == [pod_id]
        assert pods.ids(id=unique_prefix(pod_id, all_ids)) == [pod_id]
    assert pods.ids(id=unused_prefix(all_ids)) == []
    absent = next(c * 64 for c in "0123456789abcdef" if c * 64 not in all_ids)
    assert pods.ids(id=absent) == []


def test_list_by_state(brig, pods, three_pods):
    ids, _ = three_pods
    assert pods.ids(state=NOTREADY) == [ids["db"]]
    # SANDBOX_READY is 0: the filter is set by its presence, not its value.
    assert pods.ids(state=READY) == sorted([ids["web_a"], ids["web_b"]])


def test_list_by_labels(brig, pods, three_pods):
    ids, _ = three_pods
    assert pods.ids(labels={"app": "web"}) == sorted([ids["web_a"], ids["web_b"]])
    assert pods.ids(labels={"app": "web", "tier": "front"}) == [ids["web_a"]]
    assert pods.ids(labels={"app": "db"}) == [ids["db"]]
    assert pods.ids(labels={"app": "nope"}) == []
    assert pods.ids(labels={"tier": "front", "missing": "x"}) == []
    assert pods.ids(labels={"app": "Web"}) == []


def test_list_filters_combine(brig, pods, three_pods):
    ids, _ = three_pods
    assert pods.ids(id=ids["db"], state=READY) == []
    assert pods.ids(id=ids["db"], state=NOTREADY) == [ids["db"]]
    assert pods.ids(state=READY, labels={"tier": "back"}) == [ids["web_b"]]
    assert pods.ids(state=NOTREADY, labels={"app": "web"}) == []


@pytest.mark.parametrize("filt", [
    {},
    {"state": NOTREADY},
    {"state": READY},
    {"labels": {"app": "web"}},
    {"labels": {"app": "nope"}},
    {"id": "web_a"},
    {"id": "db8"},
], ids=["none", "notready", "ready", "label-web", "label-none", "id", "id-prefix"])
def test_stream_lists_the_same_pods(brig, pods, three_pods, filt):
    ids, _ = three_pods
    filt = dict(filt)
    if filt.get("id") == "web_a":
        filt["id"] = ids["web_a"]
    elif filt.get("id") == "db8":
        filt["id"] = ids["db"][:8]
    listed = sorted(pods.list(**filt), key=lambda p: p.id)
    streamed = sorted(pods.stream(**filt), key=lambda p: p.id)
    assert streamed == listed
    if filt.get("labels", {}).get("app") != "nope":
        assert listed, "the filter should have matched a pod"


# --- StopPodSandbox and RemovePodSandbox -------------------------------------

def test_stop_makes_not_ready_and_keeps_the_pins(brig, pods):
    pod_id = pods.run(pod_config(hostname="stopped"))
    pods.stop(pod_id)
    s = pods.status(pod_id).status
    assert s.state == NOTREADY
    assert s.id == pod_id
    assert pins_of(brig, pod_id) == ["ipc", "net", "shm", "uts"]
    assert inside(brig, pod_id, "uts", "hostname") == "stopped"
    pods.stop(pod_id)  # twice is fine
    assert pods.status(pod_id).status.state == NOTREADY
    assert [p.state for p in pods.list()] == [NOTREADY]


def test_stop_of_unknown_pod_is_ok(brig, pods):
    pods.stop("e" * 64)
    assert pods.list() == []
    assert pods.version_ok()


def test_remove_unpins_and_forgets(brig, pods):
    keep = pods.run(pod_config())
    pod_id = pods.run(pod_config())
    pods.stop(pod_id)
    pods.remove(pod_id)
    expect_error(grpc.StatusCode.NOT_FOUND, pods.status, pod_id)
    assert pods.ids() == [keep]
    assert pods.ids(id=pod_id) == []
    assert pins_of(brig, pod_id) == []
    assert not (ns_dir(brig) / pod_id).exists()
    assert pins_of(brig, keep) == ["ipc", "net", "shm", "uts"], "another pod's pins went too"
    pods.remove(pod_id)  # twice is fine
    assert pods.ids() == [keep]


def test_remove_of_a_ready_pod_stops_it_first(brig, pods):
    pod_id = pods.run(pod_config())
    pods.remove(pod_id)
    expect_error(grpc.StatusCode.NOT_FOUND, pods.status, pod_id)
    assert pods.list() == []
    assert pins_mounted(brig) == []
    assert ns_entries(brig) == []


def test_remove_of_unknown_pod_is_ok(brig, pods):
    pods.remove("d" * 64)
    assert pods.version_ok()
    assert pods.list() == []


# --- a restart of brigd ------------------------------------------------------

def restart_brigd(brig, pods):
    old = brig.brigd_pid()
    assert old is not None
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: (p := brig.brigd_pid()) and p != old and p, RESTART_TIMEOUT,
             "a new brigd")
    wait_for(brig.version_ok, RESTART_TIMEOUT, "brigd answering after the restart")
    pods.reconnect()


def test_pods_survive_a_restart_of_brigd(brig, pods):
    ready_config = pod_config(hostname="survivor", labels={"app": "web"},
                              annotations={"a": "1"})
    ready = pods.run(ready_config, handler="runc")
    stopped_config = pod_config()
    stopped = pods.run(stopped_config)
    pods.stop(stopped)
    before = {p.id: p for p in pods.list()}
    status_before = pods.status(ready).status

    restart_brigd(brig, pods)

    after = {p.id: p for p in pods.list()}
    assert sorted(after) == sorted([ready, stopped])
    for pod_id in after:
        assert after[pod_id] == before[pod_id]
    status_after = pods.status(ready).status
    assert status_after == status_before
    assert status_after.state == READY
    assert pods.status(stopped).status.state == NOTREADY
    assert pods.ids(state=NOTREADY) == [stopped]
    assert pins_of(brig, ready) == ["ipc", "net", "shm", "uts"]
    assert inside(brig, ready, "uts", "hostname") == "survivor"

    # The name is still taken after the restart.
    err = expect_error(grpc.StatusCode.ALREADY_EXISTS, pods.run,
                       pod_config(metadata=ready_config.metadata))
    assert ready in err.details()

    for pod_id in (stopped, ready):
        pods.remove(pod_id)
        expect_error(grpc.StatusCode.NOT_FOUND, pods.status, pod_id)
    assert pods.list() == []
    assert pins_mounted(brig) == []
    assert ns_entries(brig) == []


def test_a_ready_pod_whose_pins_are_gone_is_not_ready_after_a_restart(brig, pods):
    """After a reboot run_root (a tmpfs) is empty and the records are not:
    the pod must not claim to be ready, and must still be removable."""
    lost = pods.run(pod_config())
    kept = pods.run(pod_config())
    assert brig.stop() == 0
    for kind in ("net", "ipc", "uts"):
        subprocess.run(["umount", "-l", str(pin(brig, lost, kind))], check=True)
    if brig.log:
        brig.log.close()
    brig.start()
    pods.reconnect()
    assert pods.status(lost).status.state == NOTREADY
    assert pods.status(kept).status.state == READY
    assert "has lost its namespaces" in brig.log_text()
    pods.remove(lost)
    assert ns_entries(brig) == [kept]


def nsfs_mounts():
    with open("/proc/self/mountinfo") as f:
        return sum(1 for line in f if " - nsfs " in line)


def test_fifty_pods_made_and_removed_leave_nothing(brig, pods):
    mounts_before = nsfs_mounts()
    helper_kids_before = sorted(children_of(brig.proc.pid))
    ids = []

    def make(n):
        for _ in range(n):
            ids.append(pods.run(pod_config(sysctls={"net.ipv4.ip_unprivileged_port_start": "80"})))

    threads = [threading.Thread(target=make, args=(10,)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(set(ids)) == 50
    assert nsfs_mounts() == mounts_before + 150
    for pod_id in ids:
        pods.stop(pod_id)
        pods.remove(pod_id)
    assert pods.list() == []
    assert nsfs_mounts() == mounts_before
    assert ns_entries(brig) == [] and pins_mounted(brig) == []
    assert os.listdir(brig.root / "pods") == []
    # the helper's last short jobs (a pod monitor's cgroup removed once the
    # monitor has left it) end within moments
    wait_for(lambda: sorted(children_of(brig.proc.pid)) == helper_kids_before, 5,
             "the helper's jobs to end")
    # no pod monitor outlives its pod
    assert not (brig.run_root / "mon").exists() or os.listdir(brig.run_root / "mon") == []
    # CNI: no address reserved, no state kept, no veth left on the bridge.
    ipam = brig.cni_ipam_dir / "brig"
    assert not ipam.exists() or all(not n[0].isdigit() for n in os.listdir(ipam))
    assert os.listdir(brig.root / "cni") == []
    assert subprocess.run(["ip", "-o", "link", "show", "master", "brig0"], capture_output=True,
                          text=True).stdout == ""


def test_overhead_and_resources_are_kept_for_the_containers(brig, pods):
    config = pod_config(cgroup_parent="/kubepods/burstable/pod-x")
    config.linux.overhead.cpu_shares = 102
    config.linux.overhead.memory_limit_in_bytes = 64 << 20
    config.linux.resources.cpu_quota = 50000
    config.linux.resources.cpu_period = 100000
    config.linux.resources.cpuset_cpus = "0"
    pod_id = pods.run(config)

    def info():
        return json.loads(pods.status(pod_id, verbose=True).info["info"])

    i = info()
    assert i["cgroupParent"] == "/kubepods/burstable/pod-x"
    assert i["overhead"]["cpuShares"] == 102
    assert i["overhead"]["memoryLimitInBytes"] == 64 << 20
    assert i["resources"]["cpuQuota"] == 50000 and i["resources"]["cpusetCpus"] == "0"
    # from the record, after a restart of brigd
    old = brig.brigd_pid()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: (n := brig.brigd_pid()) and n != old and n, RESTART_TIMEOUT, "a new brigd")
    wait_for(brig.version_ok, RESTART_TIMEOUT, "brigd answering")
    pods.reconnect()
    assert info()["overhead"] == i["overhead"] and info()["resources"] == i["resources"]
