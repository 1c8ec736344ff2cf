"""The registry client (daemon/registry.c) against real and misbehaving registries.

Through tests/tools/registry_fetch (built by `make test-tools`), against
Debian's docker-registry in each flavour (HTTP, HTTPS with its own CA, Basic,
Bearer tokens) with images built from busybox-static, and against scripted
servers (registry.FakeServer) for redirects, retries, broken transfers,
hangs and garbage. The tool exits with the errno the client returned.
"""
import errno
import io
import json
import os
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from registry import (FakeServer, Images, make_ca, make_cert, send, sha256_digest,
                      start_registry)

BUILD = Path(os.environ.get("BRIG_BUILD", Path(__file__).resolve().parents[2] / "build"))
TOOL = BUILD / "tools" / "registry_fetch"
# Fast failure settings for scripted servers: a test never waits long.
FAST = ["--attempts", "3", "--backoff-ms", "50", "--low-speed-time", "2",
        "--connect-timeout-ms", "2000"]


def run_tool(*args, timeout=120):
    if not TOOL.exists():
        pytest.fail(f"{TOOL} is missing: run `make SANITIZE=1 test-tools` first")
    return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def fetch_ok(*args, **kw):
    r = run_tool(*args, **kw)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    return json.loads(r.stdout)


def fetch_fails(code, *args, **kw):
    r = run_tool(*args, **kw)
    assert r.returncode == code, f"expected exit {code}, got {r.returncode}: {r.stderr}"
    return r.stderr.strip().splitlines()[-1]


def client_args(reg, creds=True):
    args = ["--certs-dir", reg.certs_dir] if reg.certs_dir else ["--insecure"]
    if creds and reg.creds:
        args += ["--user", reg.creds[0], "--password", reg.creds[1]]
    return args


# --- real registries ----------------------------------------------------------

FLAVOURS = {
    "http": {},
    "https": {"tls": True},
    "basic": {"basic": ("alice", "wonder land")},
    "token": {"token": True, "token_creds": ("bob", "b0b-pw"), "refresh_token": "rt-123"},
}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return Images(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def built(images):
    return {"single": images.single_layer(), "multi": images.multi_layer(3),
            "index": images.multi_arch()}


@pytest.fixture(scope="module", params=list(FLAVOURS))
def flavour(request, tmp_path_factory, built):
    """A running registry of one flavour with four images pushed."""
    kind = request.param
    with start_registry(tmp_path_factory.mktemp(f"reg-{kind}"), **FLAVOURS[kind]) as reg:
        pushed = {
            "single": reg.push(built["single"], "test/single:1"),
            "multi": reg.push(built["multi"], "test/multi:1"),
            "index": reg.push(built["index"], "test/index:1"),
            "v2s2": reg.push(built["single"], "test/v2s2:1", docker_v2s2=True),
        }
        yield kind, reg, pushed


def check_pull(out, pushed):
    top = out["manifests"][0]
    assert top["sha256"] == pushed.digest
    assert top["digest"] == pushed.digest
    assert top["media_type"] == pushed.media_type
    got = {(b["digest"], b["size"]) for b in out["blobs"]}
    assert got == set(pushed.blobs)
    for blob in out["blobs"]:
        assert blob["ok"], blob
        assert blob["sha256"] == blob["digest"] and blob["got"] == blob["size"]


@pytest.mark.parametrize("image", ["single", "multi", "index", "v2s2"])
def test_pull_every_flavour(flavour, image, tmp_path):
    kind, reg, pushed = flavour
    p = pushed[image]
    name, tag = p.reference.split(":")
    out = fetch_ok(*client_args(reg), "pull", reg.host, name, tag, tmp_path)
    check_pull(out, p)
    if image == "index":
        assert p.media_type == "application/vnd.oci.image.index.v1+json"
        assert len(p.children) == 2
        assert [m["sha256"] for m in out["manifests"][1:]] == [c.digest for c in p.children]
    if image == "v2s2":
        assert p.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    if image == "multi":
        assert len(p.layers) == 3
    # By digest too: the registry serves the same bytes.
    out = fetch_ok(*client_args(reg), "manifest", reg.host, name, p.digest)
    assert out["sha256"] == p.digest


def test_blob_from_offset(flavour, tmp_path):
    """A caller that holds part of a blob asks for the rest only (Range)."""
    kind, reg, pushed = flavour
    digest, size = pushed["single"].layers[0]
    full = tmp_path / "full"
    fetch_ok(*client_args(reg), "blob", reg.host, "test/single", digest, size, full)
    part = tmp_path / "part"
    part.write_bytes(full.read_bytes()[:size // 3])
    out = fetch_ok(*client_args(reg), "blob", reg.host, "test/single", digest, size, part,
                   size // 3)
    assert out == {"size": size, "sha256": digest}


def test_not_found(flavour, tmp_path):
    kind, reg, pushed = flavour
    msg = fetch_fails(errno.ENOENT, *client_args(reg), "manifest", reg.host, "test/single",
                      "nope")
    assert f"registry {reg.host}, repository test/single: manifest nope not found" in msg
    assert "HTTP 404" in msg and "MANIFEST_UNKNOWN" in msg
    missing = sha256_digest(b"not there")
    msg = fetch_fails(errno.ENOENT, *client_args(reg), "blob", reg.host, "test/single", missing,
                      9, tmp_path / "b")
    assert f"blob {missing} not found" in msg


def test_https_needs_the_ca(tmp_path, built):
    with start_registry(tmp_path / "reg", tls=True) as reg:
        reg.push(built["single"], "test/single:1")
        # Neither the CA nor insecure: the certificate cannot be verified.
        msg = fetch_fails(errno.EPROTO, "--certs-dir", tmp_path / "empty", "manifest", reg.host,
                          "test/single", "1")
        assert reg.host in msg and "certificate" in msg.lower()
        # insecure: HTTPS without verification, not plain HTTP.
        out = fetch_ok("--insecure", "--certs-dir", tmp_path / "empty", "manifest", reg.host,
                       "test/single", "1")
        assert out["size"] > 0


def test_basic_wrong_password(tmp_path, built):
    with start_registry(tmp_path / "reg", basic=("alice", "right")) as reg:
        reg.push(built["single"], "test/single:1")
        msg = fetch_fails(errno.EACCES, "--insecure", "--user", "alice", "--password", "wrong",
                          "manifest", reg.host, "test/single", "1")
        assert f"registry {reg.host}, repository test/single" in msg
        assert "refused the credentials (HTTP 401" in msg
        msg = fetch_fails(errno.EACCES, "--insecure", "manifest", reg.host, "test/single", "1")
        assert "requires a username and password" in msg
        # The CRI `auth` form of the same credentials works.
        fetch_ok("--insecure", "--auth", "YWxpY2U6cmlnaHQ=", "manifest", reg.host,
                 "test/single", "1")


@pytest.fixture
def token_registry(tmp_path, built):
    with start_registry(tmp_path / "reg", token=True, token_creds=("bob", "pw"),
                        refresh_token="rt-123") as reg:
        reg.push(built["multi"], "test/multi:1")
        reg.token_server.hits = 0
        reg.token_server.requests.clear()
        yield reg


def test_bearer_token_is_cached(token_registry, tmp_path):
    reg = token_registry
    out = fetch_ok("--insecure", "--user", "bob", "--password", "pw", "--repeat", "3", "pull",
                   reg.host, "test/multi", "1", tmp_path)
    assert all(b["ok"] for b in out["blobs"]) and len(out["blobs"]) == 4
    # One token for three pulls of a manifest and four blobs each.
    assert reg.token_server.hits == 1
    method, path, headers, query = reg.token_server.requests[0]
    assert method == "GET"
    assert query["scope"] == ["repository:test/multi:pull"]
    assert query["service"] == ["brig-test-registry"]
    assert headers["Authorization"].startswith("Basic ")


def test_bearer_token_expiry(tmp_path, built):
    with start_registry(tmp_path / "reg", token=True, token_creds=("bob", "pw"),
                        expires_in=0) as reg:
        reg.push(built["single"], "test/single:1")
        reg.token_server.hits = 0
        fetch_ok("--insecure", "--user", "bob", "--password", "pw", "--repeat", "2", "pull",
                 reg.host, "test/single", "1", tmp_path)
        # Expired at once: never cached, one token per request.
        assert reg.token_server.hits >= 6


def test_bearer_rejections(token_registry):
    reg = token_registry
    msg = fetch_fails(errno.EACCES, "--insecure", "--user", "bob", "--password", "bad",
                      "manifest", reg.host, "test/multi", "1")
    assert f"token server {reg.token_server.realm} refused the credentials (HTTP 401" in msg
    msg = fetch_fails(errno.EACCES, "--insecure", "manifest", reg.host, "test/multi", "1")
    assert "refused anonymous access" in msg


def test_identity_token(token_registry):
    reg = token_registry
    fetch_ok("--insecure", "--identity-token", "rt-123", "manifest", reg.host, "test/multi", "1")
    method, path, headers, form = reg.token_server.requests[-1]
    assert method == "POST"
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["rt-123"]
    assert form["scope"] == ["repository:test/multi:pull"]
    assert "Authorization" not in headers
    fetch_fails(errno.EACCES, "--insecure", "--identity-token", "rt-bad", "manifest", reg.host,
                "test/multi", "1")


def test_registry_token(token_registry):
    reg = token_registry
    token = reg.token_server.make_token(["repository:test/multi:pull"])
    reg.token_server.hits = 0
    fetch_ok("--insecure", "--registry-token", token, "manifest", reg.host, "test/multi", "1")
    assert reg.token_server.hits == 0
    fetch_fails(errno.EACCES, "--insecure", "--registry-token", "not-a-jwt", "manifest",
                reg.host, "test/multi", "1")


# --- scripted servers -----------------------------------------------------------

BLOB = os.urandom(300 * 1024)
BLOB_DIGEST = sha256_digest(BLOB)
BLOB_PATH = f"/v2/test/fake/blobs/{BLOB_DIGEST}"


def fetch_blob_args(server, out, size=len(BLOB), *extra):
    return [*FAST, "--insecure", *extra, "blob", server.host, "test/fake", BLOB_DIGEST, size,
            out]


def blob_requests(server):
    return [r for r in server.requests if r.path == BLOB_PATH]


def reset(req):
    """Closes the connection with a TCP reset."""
    req.wfile.flush()
    req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    req.connection.close()
    req.close_connection = True
    req.wfile = io.BytesIO()  # the handler's own flush must not hit the closed socket


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_redirect_does_not_leak_authorization(tmp_path, scheme):
    tokens = FakeServer(lambda req, seen: send(req, 200, b'{"token": "tok-1"}'))
    challenge = ('Basic realm="fake"' if scheme == "basic"
                 else f'Bearer realm="{tokens.url}/token",service="fake"')
    expected = "Basic dTpw" if scheme == "basic" else "Bearer tok-1"

    with tokens, FakeServer(lambda req, seen: send(req, 200, BLOB)) as storage:
        def registry(req, seen):
            if req.headers.get("Authorization") != expected:
                return send(req, 401, headers={"WWW-Authenticate": challenge})
            if req.path.startswith("/v2/test/fake/blobs/"):
                return send(req, 307, headers={"Location": f"{storage.url}/storage/blob?sig=1"})
            send(req, 404)

        with FakeServer(registry) as reg:
            out = fetch_ok(*fetch_blob_args(reg, tmp_path / "b", len(BLOB), "--user", "u",
                                            "--password", "p"))
            assert out == {"size": len(BLOB), "sha256": BLOB_DIGEST}
            assert [r.path for r in storage.requests] == ["/storage/blob?sig=1"]
            assert "Authorization" not in storage.requests[0].headers
            assert reg.requests[-1].headers["Authorization"] == expected


def test_redirect_on_same_origin_keeps_authorization(tmp_path):
    def registry(req, seen):
        if "Authorization" not in req.headers:
            return send(req, 401, headers={"WWW-Authenticate": 'Basic realm="fake"'})
        if req.path == BLOB_PATH:
            return send(req, 302, headers={"Location": "/elsewhere"})
        send(req, 200, BLOB)

    with FakeServer(registry) as reg:
        fetch_ok(*fetch_blob_args(reg, tmp_path / "b", len(BLOB), "--user", "u", "--password",
                                  "p"))
        assert reg.requests[-1].path == "/elsewhere"
        assert reg.requests[-1].headers["Authorization"].startswith("Basic ")


def test_redirect_to_plain_http_refused(tmp_path):
    ca_key, ca_cert = make_ca(tmp_path)
    tls = make_cert(tmp_path, "server", ca_key, ca_cert)[::-1]
    with FakeServer(lambda req, seen: send(req, 200, BLOB)) as storage:
        def registry(req, seen):
            send(req, 307, headers={"Location": f"{storage.url}/blob"})

        with FakeServer(registry, tls=tls) as reg:
            certs = tmp_path / "certs.d"
            (certs / reg.host).mkdir(parents=True)
            (certs / reg.host / "ca.crt").write_bytes((tmp_path / "ca.crt").read_bytes())
            msg = fetch_fails(errno.EPROTO, *FAST, "--certs-dir", certs, "blob", reg.host,
                              "test/fake", BLOB_DIGEST, len(BLOB), tmp_path / "b")
            assert f"redirect from HTTPS to plain HTTP ({storage.url}/blob) refused" in msg
            assert storage.requests == []
            # An insecure registry may redirect to HTTP.
            fetch_ok(*FAST, "--insecure", "blob", reg.host, "test/fake", BLOB_DIGEST,
                     len(BLOB), tmp_path / "b")
            assert len(storage.requests) == 1


def test_redirect_loop_and_too_many(tmp_path):
    def loop(req, seen):
        send(req, 302, headers={"Location": "/b" if req.path == "/a" else "/a"})

    with FakeServer(loop) as reg:
        msg = fetch_fails(errno.EPROTO, *fetch_blob_args(reg, tmp_path / "b"))
        assert f"redirect loop at {reg.url}/a" in msg
        assert len(reg.requests) == 3

    def chain(req, seen):
        send(req, 302, headers={"Location": f"/hop{len(seen)}"})

    with FakeServer(chain) as reg:
        msg = fetch_fails(errno.EPROTO, *fetch_blob_args(reg, tmp_path / "b"))
        assert "more than 5 redirects" in msg
        assert len(reg.requests) == 6


def test_retry_after_500(tmp_path):
    def flaky(req, seen):
        if len(seen) <= 2:
            return send(req, 500, b'{"errors":[{"code":"UNKNOWN","message":"boom"}]}')
        send(req, 200, BLOB)

    with FakeServer(flaky) as reg:
        out = fetch_ok(*fetch_blob_args(reg, tmp_path / "b"))
        assert out["sha256"] == BLOB_DIGEST
        assert len(reg.requests) == 3


def test_always_500_gives_up(tmp_path):
    with FakeServer(lambda req, seen: send(req, 503)) as reg:
        start = time.monotonic()
        msg = fetch_fails(errno.EIO, *fetch_blob_args(reg, tmp_path / "b"))
        assert time.monotonic() - start < 10
        assert len(reg.requests) == 3
        assert f"registry {reg.host}, repository test/fake: blob {BLOB_DIGEST}: HTTP 503" in msg
        assert "gave up after 3 attempts" in msg


def test_429_honours_retry_after(tmp_path):
    def limited(req, seen):
        if len(seen) == 1:
            return send(req, 429, headers={"Retry-After": "1"})
        send(req, 200, BLOB)

    with FakeServer(limited) as reg:
        start = time.monotonic()
        fetch_ok(*fetch_blob_args(reg, tmp_path / "b"))
        assert time.monotonic() - start >= 1.0
        assert len(reg.requests) == 2


def test_no_retry_on_other_4xx(tmp_path):
    with FakeServer(lambda req, seen: send(req, 400)) as reg:
        msg = fetch_fails(errno.EPROTO, *fetch_blob_args(reg, tmp_path / "b"))
        assert "unexpected HTTP 400" in msg
        assert len(reg.requests) == 1
    with FakeServer(lambda req, seen: send(req, 403)) as reg:
        fetch_fails(errno.EACCES, *fetch_blob_args(reg, tmp_path / "b"))
        assert len(reg.requests) == 1


@pytest.mark.parametrize("honour_range", [True, False])
def test_resume_after_dropped_connection(tmp_path, honour_range):
    half = len(BLOB) // 2

    def dropping(req, seen):
        rng = req.headers.get("Range")
        if len(seen) == 1:
            req.send_response(200)
            req.send_header("Content-Length", str(len(BLOB)))
            req.end_headers()
            req.wfile.write(BLOB[:half])
            return reset(req)
        if rng and honour_range:
            start = int(rng.split("=")[1].rstrip("-"))
            return send(req, 206, BLOB[start:], headers={
                "Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"})
        send(req, 200, BLOB)

    with FakeServer(dropping) as reg:
        out = fetch_ok(*fetch_blob_args(reg, tmp_path / "b"))
        assert out == {"size": len(BLOB), "sha256": BLOB_DIGEST}
        assert len(reg.requests) == 2
        resumed_from = int(reg.requests[1].headers["Range"].split("=")[1].rstrip("-"))
        assert 0 < resumed_from <= half


def test_short_answer_is_resumed(tmp_path):
    """A server that ends a 200 early (no Content-Length, connection closed)."""
    def short(req, seen):
        rng = req.headers.get("Range")
        if not rng:
            req.send_response(200)
            req.send_header("Connection", "close")
            req.end_headers()
            req.wfile.write(BLOB[:1000])
            req.close_connection = True
            return
        start = int(rng.split("=")[1].rstrip("-"))
        send(req, 206, BLOB[start:], headers={
            "Content-Range": f"bytes {start}-{len(BLOB) - 1}/*"})

    with FakeServer(short) as reg:
        out = fetch_ok(*fetch_blob_args(reg, tmp_path / "b"))
        assert out["sha256"] == BLOB_DIGEST
        assert reg.requests[1].headers["Range"] == "bytes=1000-"


def test_bad_content_range(tmp_path):
    def wrong(req, seen):
        send(req, 206, BLOB, headers={"Content-Range": f"bytes 5000-{len(BLOB) - 1}/*"})

    with FakeServer(wrong) as reg:
        path = tmp_path / "b"
        path.write_bytes(BLOB[:100])
        msg = fetch_fails(errno.EPROTO, *fetch_blob_args(reg, path), 100)
        assert 'bad Content-Range "bytes 5000-' in msg


def test_more_than_expected(tmp_path):
    with FakeServer(lambda req, seen: send(req, 200, BLOB + b"extra")) as reg:
        msg = fetch_fails(errno.EFBIG, *fetch_blob_args(reg, tmp_path / "b"))
        assert f"more than the expected {len(BLOB)} bytes" in msg


def test_hanging_server_times_out(tmp_path):
    release = threading.Event()

    def hang(req, seen):
        release.wait(60)

    with FakeServer(hang) as reg:
        try:
            start = time.monotonic()
            msg = fetch_fails(errno.ETIMEDOUT, "--attempts", "2", "--backoff-ms", "10",
                              "--low-speed-time", "1", "--insecure", "manifest", reg.host,
                              "test/fake", "1")
            assert time.monotonic() - start < 15
            assert "gave up after 2 attempts" in msg
        finally:
            release.set()


def test_stall_mid_blob_is_resumed(tmp_path):
    """A transfer that stops moving (low-speed limit) is resumed with Range."""
    release = threading.Event()
    half = len(BLOB) // 2

    def stalling(req, seen):
        rng = req.headers.get("Range")
        if not rng:
            req.send_response(200)
            req.send_header("Content-Length", str(len(BLOB)))
            req.end_headers()
            req.wfile.write(BLOB[:half])
            req.wfile.flush()
            release.wait(60)
            req.close_connection = True
            return
        start = int(rng.split("=")[1].rstrip("-"))
        send(req, 206, BLOB[start:], headers={
            "Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"})

    with FakeServer(stalling) as reg:
        try:
            start = time.monotonic()
            out = fetch_ok("--low-speed-time", "1", "--insecure", "blob", reg.host, "test/fake",
                           BLOB_DIGEST, len(BLOB), tmp_path / "b")
            assert out == {"size": len(BLOB), "sha256": BLOB_DIGEST}
            assert time.monotonic() - start < 15
            assert reg.requests[1].headers["Range"] == f"bytes={half}-"
        finally:
            release.set()


def test_connection_refused(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    msg = fetch_fails(errno.ECONNREFUSED, *FAST, "--insecure", "manifest", f"127.0.0.1:{port}",
                      "test/fake", "1")
    assert f"registry 127.0.0.1:{port}, repository test/fake: manifest 1:" in msg


def raw_answer(data):
    def handler(req, seen):
        req.wfile.write(data)
        req.wfile.flush()
        req.close_connection = True
    return handler


@pytest.mark.parametrize("answer", [
    b"garbage\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: zzz\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nDocker-Content-Digest: a\r\nDocker-Content-Digest: b\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nDocker-Content-Digest: not-a-digest\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"x\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer service=x\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/x\r\nContent-Length: 0\r\n\r\n",
])
def test_garbage_answers(answer):
    with FakeServer(raw_answer(answer)) as reg:
        fetch_fails(errno.EPROTO, *FAST, "--insecure", "manifest", reg.host, "test/fake", "1")


def test_manifest_size_limit():
    big = b"{" + b" " * (4 * 1024 * 1024) + b"}"

    def with_length(req, seen):
        send(req, 200, big, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})

    def chunked(req, seen):
        req.send_response(200)
        req.send_header("Transfer-Encoding", "chunked")
        req.end_headers()
        for i in range(0, len(big), 65536):
            chunk = big[i:i + 65536]
            req.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        req.wfile.write(b"0\r\n\r\n")

    for handler in (with_length, chunked):
        with FakeServer(handler) as reg:
            msg = fetch_fails(errno.EFBIG, *FAST, "--insecure", "manifest", reg.host,
                              "test/fake", "1")
            assert "manifest 1 is larger than 4194304 bytes" in msg


def test_manifest_headers():
    body = b'{"schemaVersion":2}'

    def handler(req, seen):
        assert "application/vnd.oci.image.index.v1+json" in req.headers["Accept"]
        assert "application/vnd.docker.distribution.manifest.v2+json" in req.headers["Accept"]
        send(req, 200, body, headers={
            "Content-Type": "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
            "Docker-Content-Digest": sha256_digest(body)})

    with FakeServer(handler) as reg:
        out = fetch_ok(*FAST, "--insecure", "manifest", reg.host, "test/fake", "v1.0")
        assert out["media_type"] == "application/vnd.oci.image.manifest.v1+json"
        assert out["digest"] == sha256_digest(body) == out["sha256"]
        assert reg.requests[0].path == "/v2/test/fake/manifests/v1.0"


@pytest.mark.parametrize("token_answer,why", [
    (b"not json", "is not JSON"),
    (b'{"expires_in": 60}', 'has no "token" or "access_token" string'),
    (b'{"token": "a b"}', "has a token with characters not allowed in a header"),
    (b'{"token": "t", "expires_in": "soon"}',
     "has an expires_in that is not a whole number of seconds"),
    (b'{"token": "t", "issued_at": "yesterday"}', "has an issued_at that is not an RFC 3339 time"),
    (b'{"token": "t", "token": "u"}', "is not JSON"),
])
def test_bad_token_answers(token_answer, why):
    with FakeServer(lambda req, seen: send(req, 200, token_answer)) as tokens:
        def registry(req, seen):
            send(req, 401, headers={
                "WWW-Authenticate": f'Bearer realm="{tokens.url}/token",service="fake"'})

        with FakeServer(registry) as reg:
            msg = fetch_fails(errno.EPROTO, *FAST, "--insecure", "manifest", reg.host,
                              "test/fake", "1")
            assert f"answer of token server {tokens.url}/token {why}" in msg


def test_invalid_arguments(tmp_path):
    fetch_fails(errno.EINVAL, "--insecure", "manifest", "127.0.0.1:1", "Bad/Repo", "1")
    fetch_fails(errno.EINVAL, "--insecure", "manifest", "127.0.0.1:1", "test/x", "bad tag")
    fetch_fails(errno.EINVAL, "--insecure", "manifest", "host/with/slash", "test/x", "1")
    fetch_fails(errno.EINVAL, "--insecure", "blob", "127.0.0.1:1", "test/x", "sha256:", 1,
                tmp_path / "b")
    fetch_fails(errno.EINVAL, "--user", "a:b", "manifest", "127.0.0.1:1", "test/x", "1")


def test_client_certificate(tmp_path, built):
    with start_registry(tmp_path / "reg", tls=True, client_cert=True) as reg:
        # skopeo pushes with the same certs.d material.
        reg.skopeo("copy", "-q", "--dest-cert-dir", str(reg.certs_dir / reg.host),
                   f"oci:{built['single'].layout}:{built['single'].tag}",
                   f"docker://{reg.host}/test/single:1")
        out = fetch_ok("--certs-dir", reg.certs_dir, "manifest", reg.host, "test/single", "1")
        assert out["size"] > 0
        # The CA alone is not enough: the registry demands the certificate.
        no_client = tmp_path / "no-client"
        (no_client / reg.host).mkdir(parents=True)
        (no_client / reg.host / "ca.crt").write_bytes(reg.ca_cert.read_bytes())
        r = run_tool(*FAST, "--certs-dir", no_client, "manifest", reg.host, "test/single", "1")
        assert r.returncode in (errno.EPROTO, errno.ECONNRESET), r.stderr
        assert reg.host in r.stderr


def test_client_certificate_without_key(tmp_path):
    certs = tmp_path / "certs.d"
    (certs / "127.0.0.1:1").mkdir(parents=True)
    (certs / "127.0.0.1:1" / "client.cert").write_text("x")
    msg = fetch_fails(errno.ENOENT, "--certs-dir", certs, "manifest", "127.0.0.1:1", "test/x",
                      "1")
    assert f"client certificate {certs}/127.0.0.1:1/client.cert has no readable key" in msg


def test_bad_extra_ca_file(tmp_path):
    with FakeServer(lambda req, seen: send(req, 200, b"{}")) as reg:
        certs = tmp_path / "certs.d"
        (certs / reg.host).mkdir(parents=True)
        (certs / reg.host / "broken.crt").write_text("not a certificate")
        # Plain HTTP after the failed handshake would be wrong for a secure
        # registry: the bad CA file is an error.
        fetch_fails(errno.EPROTO, *FAST, "--certs-dir", certs, "manifest", reg.host, "test/x",
                    "1")
