"""The streaming server (docs/streaming.md): Exec, Attach and PortForward
check their request and answer a one-time URL on brigd's HTTP server; a
token serves once, any other token or path is a plain 404. The session
protocols themselves (SPDY/3.1, WebSocket) are not served yet: a good URL
answers 501 and is used up.

The fixtures and the client are test_containers.py's.
"""
import http.client
import json
import os
import re
import urllib.parse

import grpc
import pytest

from test_containers import EXITED, SLEEP, brig, ctrs, registry_image  # noqa: F401
from test_pods import expect_error, pods  # noqa: F401
from conftest import api_pb2

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("BRIG_BUILD", "build"), "brig-unpack")),
    reason="brig-unpack is not built")

URL_RE = re.compile(r"http://127\.0\.0\.1:(\d+)/(exec|attach|portforward)/([0-9a-f]{32})")


def endpoint(ctrs):
    info = ctrs.cri.runtime("Status", api_pb2.StatusRequest(verbose=True)).info
    return info["streamingServer"]


def get(url, method="POST"):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request(method, u.path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def exec_url(ctrs, ctr_id, cmd=("true",), **streams):
    streams.setdefault("stdout", True)
    return ctrs.cri.runtime("Exec", api_pb2.ExecRequest(container_id=ctr_id, cmd=list(cmd),
                                                        **streams)).url


@pytest.fixture
def running(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    return pod_id, cfg, ctr_id


def test_status_names_the_listening_endpoint(ctrs):
    host, port = endpoint(ctrs).rsplit(":", 1)
    assert host == "127.0.0.1" and 0 < int(port) < 65536
    status, _ = get(f"http://{host}:{port}/nothing", "GET")
    assert status == 404


def test_a_url_serves_once(ctrs, running):
    _, _, ctr_id = running
    url = exec_url(ctrs, ctr_id, ["sh", "-c", "echo hi"], stdin=True)
    m = URL_RE.fullmatch(url)
    assert m and m.group(2) == "exec" and endpoint(ctrs).endswith(":" + m.group(1))
    status, text = get(url)
    assert status == 501 and "exec sessions" in text
    assert get(url) == (404, "404 page not found\n")
    # each RPC makes a new token
    assert exec_url(ctrs, ctr_id) != exec_url(ctrs, ctr_id)


def test_unknown_tokens_and_paths_are_404_with_no_detail(ctrs, running):
    _, _, ctr_id = running
    url = exec_url(ctrs, ctr_id)
    base, token = url.rsplit("/", 1)
    origin = base.rsplit("/", 1)[0]
    for path in (f"/exec/{'0' * 32}", f"/exec/{token[:-1]}", f"/exec/{token.upper()}",
                 f"/exec/{token}/x", f"/shell/{token}", "/", f"/exec/../attach/{token}"):
        assert get(origin + path) == (404, "404 page not found\n"), path
    # an exec token on the attach path is not found, and is spent
    assert get(f"{origin}/attach/{token}")[0] == 404
    assert get(url)[0] == 404
    status, _ = get(exec_url(ctrs, ctr_id), "DELETE")
    assert status == 405


def test_attach_and_port_forward_urls(ctrs, running):
    pod_id, _, ctr_id = running
    url = ctrs.cri.runtime("Attach", api_pb2.AttachRequest(container_id=ctr_id, stdout=True)).url
    assert URL_RE.fullmatch(url).group(2) == "attach"
    url = ctrs.cri.runtime("PortForward", api_pb2.PortForwardRequest(
        pod_sandbox_id=pod_id, port=[80, 8080])).url
    assert URL_RE.fullmatch(url).group(2) == "portforward"
    assert get(url)[0] == 501


def test_bad_requests(ctrs, running):
    pod_id, cfg, ctr_id = running
    bad = [
        (grpc.StatusCode.INVALID_ARGUMENT, "Exec", api_pb2.ExecRequest(container_id=ctr_id,
                                                                       stdout=True)),
        (grpc.StatusCode.INVALID_ARGUMENT, "Exec", api_pb2.ExecRequest(container_id=ctr_id,
                                                                       cmd=["true"])),
        (grpc.StatusCode.INVALID_ARGUMENT, "Exec", api_pb2.ExecRequest(
            container_id=ctr_id, cmd=["true"], tty=True, stdout=True, stderr=True)),
        (grpc.StatusCode.INVALID_ARGUMENT, "Exec", api_pb2.ExecRequest(cmd=["true"],
                                                                       stdout=True)),
        (grpc.StatusCode.NOT_FOUND, "Exec", api_pb2.ExecRequest(
            container_id="f" * 64, cmd=["true"], stdout=True)),
        (grpc.StatusCode.NOT_FOUND, "Attach", api_pb2.AttachRequest(container_id="f" * 64,
                                                                    stdout=True)),
        (grpc.StatusCode.INVALID_ARGUMENT, "PortForward", api_pb2.PortForwardRequest(
            pod_sandbox_id=pod_id, port=[0])),
        (grpc.StatusCode.INVALID_ARGUMENT, "PortForward", api_pb2.PortForwardRequest(
            pod_sandbox_id=pod_id, port=[65536])),
        (grpc.StatusCode.NOT_FOUND, "PortForward", api_pb2.PortForwardRequest(
            pod_sandbox_id="f" * 64, port=[80])),
    ]
    for code, method, req in bad:
        expect_error(code, ctrs.cri.runtime, method, req)
    # a container that does not run takes no session
    ended = ctrs.create(pod_id, cfg, command=["busybox", "true"])
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.cri.runtime, "Exec",
                 api_pb2.ExecRequest(container_id=ended, cmd=["true"], stdout=True))
    ctrs.start(ended)
    ctrs.wait_state(ended, EXITED)
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.cri.runtime, "Attach",
                 api_pb2.AttachRequest(container_id=ended, stdout=True))
    # a stopped pod takes no port-forward
    ctrs.pods.stop(pod_id)
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, ctrs.cri.runtime, "PortForward",
                 api_pb2.PortForwardRequest(pod_sandbox_id=pod_id, port=[80]))
