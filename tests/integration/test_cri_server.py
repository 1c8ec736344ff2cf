"""brigd's CRI server: the runtime RPCs that work now, errors, streaming."""
import os
import re
import socket
import stat
import time

import grpc
import pytest

from conftest import api_pb2


def test_version(brig):
    r = brig.cri().runtime("Version", api_pb2.VersionRequest(version="v1"))
    assert r.runtime_name == "brig"
    assert r.runtime_api_version == "v1"
    assert r.version == "0.1.0"
    assert r.runtime_version


def test_status_reports_conditions(brig):
    r = brig.cri().runtime("Status", api_pb2.StatusRequest())
    conditions = {c.type: c for c in r.status.conditions}
    assert set(conditions) == {"RuntimeReady", "NetworkReady"}
    assert conditions["RuntimeReady"].status is True
    # The fixture's default CNI network is there (test_pod_network.py has
    # the condition false while it is not).
    network = conditions["NetworkReady"]
    assert network.status is True
    assert network.reason == "" and network.message == ""
    assert len(r.info) == 0, "info is only for verbose requests"


def kernel_has_rro():
    """mount_setattr(2) with AT_RECURSIVE: Linux 5.12."""
    major, minor = re.match(r"(\d+)\.(\d+)", os.uname().release).groups()
    return (int(major), int(minor)) >= (5, 12)


def test_status_lists_runtime_handlers(brig):
    r = brig.cri().runtime("Status", api_pb2.StatusRequest())
    # "" is the default handler (default_runtime, runc), then every
    # configured runtime by name: the built-in runc and crun.
    assert [h.name for h in r.runtime_handlers] == ["", "runc", "crun"]
    for h in r.runtime_handlers:
        assert h.features.recursive_read_only_mounts is kernel_has_rro()
        assert h.features.user_namespaces is False


def test_status_verbose_has_info(brig):
    r = brig.cri().runtime("Status", api_pb2.StatusRequest(verbose=True))
    assert r.info["helperProtocolVersion"] == "1"
    assert int(r.info["uptimeSeconds"]) >= 0
    assert f'listen = "{brig.listen}"' in r.info["config"]


def test_runtime_config_reports_cgroup_driver(brig):
    r = brig.cri().runtime("RuntimeConfig", api_pb2.RuntimeConfigRequest())
    assert r.linux.cgroup_driver == api_pb2.CGROUPFS


def test_socket_mode(brig):
    st = os.stat(brig.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660


@pytest.mark.parametrize("method", ["ListMetricDescriptors", "PodSandboxStats"])
def test_unlanded_rpcs_are_unimplemented(brig, method):
    service = "ImageService" if method == "PullImage" else "RuntimeService"
    with pytest.raises(grpc.RpcError) as e:
        brig.cri().raw(f"/runtime.v1.{service}/{method}", b"")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert method in e.value.details()


def test_unknown_method_is_unimplemented(brig):
    with pytest.raises(grpc.RpcError) as e:
        brig.cri().raw("/runtime.v1.RuntimeService/NoSuchThing", b"")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "/runtime.v1.RuntimeService/NoSuchThing" in e.value.details()


@pytest.mark.parametrize("payload", [b"\xff\xff\xff", b"\x0a\x05ab", b"\x0f"])
def test_invalid_protobuf_is_invalid_argument(brig, payload):
    cri = brig.cri()
    with pytest.raises(grpc.RpcError) as e:
        cri.raw("/runtime.v1.RuntimeService/Version", payload)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "VersionRequest" in e.value.details()
    assert cri.runtime("Version", api_pb2.VersionRequest()).runtime_name == "brig"


def test_garbage_on_the_socket_leaves_brigd_serving(brig):
    for junk in [b"\x00" * 64, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 200]:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(str(brig.socket))
        s.sendall(junk)
        try:
            s.recv(4096)
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
    r = brig.cri().runtime("Version", api_pb2.VersionRequest())
    assert r.runtime_name == "brig"


def test_large_message_limit(brig):
    # Under the 16 MiB limit: decoded (an unknown field) and answered.
    cri = brig.cri()
    big = b"\x7a" + _varint(5 << 20) + b"x" * (5 << 20)  # field 15, bytes
    assert cri.raw("/runtime.v1.RuntimeService/Version", big)
    over = b"\x7a" + _varint(17 << 20) + b"x" * (17 << 20)
    with pytest.raises(grpc.RpcError) as e:
        cri.raw("/runtime.v1.RuntimeService/Version", over)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def test_server_streaming(brig):
    ticks = [t.seq for t in brig.cri().ticks(5)]
    assert ticks == [1, 2, 3, 4, 5]


def test_streaming_cancel_leaves_server_serving(brig):
    cri = brig.cri()
    it = cri.ticks(1000, interval_ms=50)
    assert next(it).seq == 1
    it.cancel()
    assert cri.runtime("Version", api_pb2.VersionRequest()).runtime_name == "brig"


def test_slow_call_does_not_block_others(brig):
    cri = brig.cri()
    # Slow streams hold worker threads (a call starts when it is made); a
    # unary call must still answer at once.
    streams = [cri.ticks(3, interval_ms=1000) for _ in range(4)]
    time.sleep(0.3)
    start = time.monotonic()
    cri.runtime("Version", api_pb2.VersionRequest())
    elapsed = time.monotonic() - start
    for s in streams:
        s.cancel()
    assert elapsed < 0.9, f"Version waited {elapsed:.2f}s behind slow streams"
