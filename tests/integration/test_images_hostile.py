"""Hostile registries and images, pulled through the whole of brig.

A scripted registry (registry.FakeServer) serves images the tests build byte
by byte, then breaks one thing at a time: manifests that are too large, have
too many layers or the wrong media types, blobs whose bytes do not match
their digest, configs whose diff ids lie, tar layers that try to write
outside their directory, servers that fail, loop or send garbage. Each pull
must fail with the right gRPC status and a message naming the image, leave
no image, no layer and no stray file behind, and brig must go on serving.
"""
import gzip
import hashlib
import io
import json
import os
import signal
import tarfile
import threading
import time

import grpc
import pytest

from conftest import wait_for
from registry import FakeServer, send
from test_images import ImageBrig

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("BRIG_BUILD", "build"), "brig-unpack")),
    reason="brig-unpack is not built")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            if isinstance(data, tarfile.TarInfo):
                t.addfile(data)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class ScriptedImage:
    """An image as bytes: layers, config and manifest, each changeable."""

    def __init__(self, layer_tars):
        self.tars = layer_tars
        self.layers = [gzip.compress(t, mtime=0) for t in layer_tars]
        self.config = {"architecture": "amd64", "os": "linux",
                       "config": {"Cmd": ["sh"]},
                       "rootfs": {"type": "layers", "diff_ids": [sha(t) for t in layer_tars]}}
        self.layer_media_type = OCI_LAYER_GZIP

    def blobs(self):
        config = json.dumps(self.config).encode()
        out = {sha(config): config}
        for layer in self.layers:
            out[sha(layer)] = layer
        return out, config

    def manifest(self):
        config = json.dumps(self.config).encode()
        return {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)},
                "layers": [{"mediaType": self.layer_media_type, "digest": sha(b),
                            "size": len(b)} for b in self.layers]}


class ScriptedRegistry:
    """Serves repository "hostile/img" with tag "1" from a ScriptedImage;
    overrides (path -> handler) replace single answers."""

    def __init__(self, image, manifest_bytes=None, media_type=OCI_MANIFEST):
        self.image = image
        self.blobs, _ = image.blobs()
        self.manifest_bytes = manifest_bytes or json.dumps(image.manifest()).encode()
        self.media_type = media_type
        self.overrides = {}
        self.blob_delay = 0.0
        self.server = FakeServer(self.answer)
        self.host = self.server.host
        self.ref = f"{self.host}/hostile/img:1"

    def answer(self, req, seen):
        path = req.path
        for prefix, handler in self.overrides.items():
            if path.startswith(prefix):
                return handler(req, seen)
        if path == "/v2/":
            return send(req, 200, b"{}")
        if path == "/v2/hostile/img/manifests/1":
            return send(req, 200, self.manifest_bytes, {"Content-Type": self.media_type})
        if path.startswith("/v2/hostile/img/blobs/"):
            digest = path.rsplit("/", 1)[1]
            if digest in self.blobs:
                return self.send_blob(req, self.blobs[digest])
        send(req, 404, b'{"errors":[{"code":"NOT_FOUND"}]}')

    def send_blob(self, req, data):
        start = 0
        rng = req.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
        body = data[start:]
        req.send_response(206 if start else 200)
        if start:
            req.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        req.send_header("Content-Length", str(len(body)))
        req.send_header("Content-Type", "application/octet-stream")
        req.end_headers()
        step = 64 * 1024
        try:
            for off in range(0, len(body), step):
                req.wfile.write(body[off:off + step])
                req.wfile.flush()
                if self.blob_delay:
                    time.sleep(self.blob_delay)
        except OSError:
            pass

    def stop(self):
        self.server.stop()


@pytest.fixture
def brig_images(brig_dir, request):
    holder = {}

    def start(reg):
        b = ImageBrig(brig_dir, f'[[registry]]\nlocation = "{reg.host}"\ninsecure = true\n')
        holder["b"] = b
        return b

    yield start
    b = holder.get("b")
    if b:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print("--- brig log ---\n" + b.brig.log_text())
        b.stop()


def good_image():
    return ScriptedImage([tar_of({"bin/hello": b"hello\n"}), tar_of({"etc/x": b"x"})])


def assert_nothing_kept(b):
    assert b.list() == []
    assert b.layer_dirs() == []
    blobs = b.brig.root / "images" / "blobs" / "sha256"
    assert not blobs.exists() or all(
        os.path.getsize(blobs / n) < 4 * 1024 * 1024 for n in os.listdir(blobs))


def pull_fails(b, ref, code, *needles):
    with pytest.raises(grpc.RpcError) as e:
        b.pull(ref, timeout=120)
    assert e.value.code() == code, e.value.details()
    assert ref in e.value.details()
    for n in needles:
        assert n in e.value.details(), e.value.details()
    # brig keeps serving, helper included.
    assert b.brig.cri().runtime("Status", api_status()).status.conditions[0].status
    return e.value.details()


def api_status():
    from conftest import api_pb2
    return api_pb2.StatusRequest()


def test_a_good_scripted_image_pulls(brig_images):
    reg = ScriptedRegistry(good_image())
    try:
        b = brig_images(reg)
        image_id = b.pull(reg.ref)
        assert image_id == sha(json.dumps(reg.image.config).encode())
        assert len(b.layer_dirs()) == 2
    finally:
        reg.stop()


@pytest.mark.parametrize("case", ["too_many_layers", "huge_manifest", "schema1",
                                  "layer_media_type", "garbage", "config_media_type"])
def test_bad_manifests_are_refused(brig_images, case):
    image = good_image()
    manifest = image.manifest()
    media_type = OCI_MANIFEST
    needle = ""
    if case == "too_many_layers":
        layer = manifest["layers"][0]
        manifest["layers"] = [layer] * 10000
        needle = "layers"
    elif case == "huge_manifest":
        manifest["annotations"] = {"x": "y" * (100 * 1024 * 1024)}
        needle = "larger than"
    elif case == "schema1":
        manifest = {"schemaVersion": 1, "name": "hostile/img", "tag": "1", "fsLayers": []}
        media_type = "application/vnd.docker.distribution.manifest.v1+prettyjws"
        needle = "schema 1"
    elif case == "layer_media_type":
        manifest["layers"][0]["mediaType"] = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
        needle = "helm"
    elif case == "config_media_type":
        manifest["config"]["mediaType"] = "application/vnd.wasm.config.v1+json"
        needle = "wasm"
    body = b"{this is not json" if case == "garbage" else json.dumps(manifest).encode()
    reg = ScriptedRegistry(image, body, media_type)
    try:
        b = brig_images(reg)
        malformed = case in ("garbage", "too_many_layers")
        details = pull_fails(b, reg.ref, grpc.StatusCode.INVALID_ARGUMENT if malformed
                             else grpc.StatusCode.FAILED_PRECONDITION, needle)
        assert details
        assert_nothing_kept(b)
    finally:
        reg.stop()


def test_blob_bytes_that_do_not_match_their_digest(brig_images):
    image = good_image()
    reg = ScriptedRegistry(image)
    layer_digest = sha(image.layers[0])
    evil = bytearray(image.layers[0])
    evil[-12] ^= 0xFF  # same size, other bytes
    reg.blobs[layer_digest] = bytes(evil)
    try:
        b = brig_images(reg)
        pull_fails(b, reg.ref, grpc.StatusCode.DATA_LOSS, layer_digest)
        assert_nothing_kept(b)
        ingest = b.brig.root / "images" / "ingest"
        assert not ingest.exists() or os.listdir(ingest) == []
    finally:
        reg.stop()


def test_diff_ids_that_lie(brig_images):
    image = good_image()
    image.config["rootfs"]["diff_ids"][1] = sha(b"something else")
    reg = ScriptedRegistry(image)
    try:
        b = brig_images(reg)
        pull_fails(b, reg.ref, grpc.StatusCode.DATA_LOSS, "diff")
        assert b.list() == []
        # The honest first layer may stay (it is verified); the lying one never.
        wait_for(lambda: len(b.layer_dirs()) <= 1, 10, "the failed layer to go")
    finally:
        reg.stop()


def test_diff_id_count_mismatch(brig_images):
    image = good_image()
    image.config["rootfs"]["diff_ids"].append(sha(b"extra"))
    reg = ScriptedRegistry(image)
    try:
        b = brig_images(reg)
        pull_fails(b, reg.ref, grpc.StatusCode.INVALID_ARGUMENT, "diff")
        assert_nothing_kept(b)
    finally:
        reg.stop()


@pytest.mark.parametrize("entry", ["../escape", "/abs/escape", "link-then-file"])
def test_hostile_tar_layers_touch_nothing_outside(brig_images, brig_dir, entry):
    if entry == "link-then-file":
        link = tarfile.TarInfo("lnk")
        link.type = tarfile.SYMTYPE
        link.linkname = str(brig_dir)
        files = {"lnk": link, "lnk/planted": b"owned"}
    else:
        files = {entry: b"owned"}
    image = ScriptedImage([tar_of(files)])
    reg = ScriptedRegistry(image)
    try:
        b = brig_images(reg)
        before = sorted(os.listdir(brig_dir))
        with pytest.raises(grpc.RpcError) as e:
            b.pull(reg.ref)
        assert reg.ref in e.value.details()
        assert sorted(os.listdir(brig_dir)) == before
        assert not (brig_dir / "planted").exists()
        assert not os.path.exists("/abs/escape")
        wait_for(lambda: b.layer_dirs() == [], 10, "no layer kept")
        assert b.list() == []
    finally:
        reg.stop()


def test_server_errors_loops_and_garbage(brig_images):
    image = good_image()
    reg = ScriptedRegistry(image)
    layer = sha(image.layers[0])
    try:
        b = brig_images(reg)
        reg.overrides = {"/v2/hostile/img/manifests/": lambda req, seen: send(req, 500, b"boom")}
        pull_fails(b, reg.ref, grpc.StatusCode.UNAVAILABLE, "500")
        reg.overrides = {f"/v2/hostile/img/blobs/{layer}": lambda req, seen: send(
            req, 302, headers={"Location": f"/v2/hostile/img/blobs/{layer}"})}
        pull_fails(b, reg.ref, grpc.StatusCode.INTERNAL, "redirect")
        reg.overrides = {"/v2/hostile/img/blobs/": lambda req, seen: req.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: nonsense\r\n\r\n")}
        pull_fails(b, reg.ref, grpc.StatusCode.INTERNAL)
        assert_nothing_kept(b)
        # Once the registry behaves, the same pull works.
        reg.overrides = {}
        assert b.pull(reg.ref)
    finally:
        reg.stop()


def test_brigd_killed_during_a_pull_resumes_and_keeps_nothing_corrupt(brig_images):
    big = os.urandom(6 * 1024 * 1024)
    image = ScriptedImage([tar_of({"big": big}), tar_of({"small": b"s"})])
    reg = ScriptedRegistry(image)
    reg.blob_delay = 0.05  # about 1.3 MB/s: several seconds for the big layer
    big_digest = sha(image.layers[0])
    ingest = None
    try:
        b = brig_images(reg)
        ingest = b.brig.root / "images" / "ingest"
        errors = []

        def pull():
            try:
                b.pull(reg.ref)
            except grpc.RpcError as e:
                errors.append(e)

        t = threading.Thread(target=pull)
        t.start()
        partial = ingest / ("sha256-" + big_digest[7:])
        wait_for(lambda: partial.exists() and partial.stat().st_size > 512 * 1024, 60,
                 "a partial download")
        os.kill(b.brig.brigd_pid(), signal.SIGKILL)
        t.join(timeout=60)
        assert errors and errors[0].code() == grpc.StatusCode.UNAVAILABLE
        wait_for(b.brig.version_ok, 30, "brigd restarted")
        assert b.list() == []
        kept = partial.stat().st_size
        assert 0 < kept < len(image.layers[0])

        reg.blob_delay = 0.0
        b.cri = b.brig.cri()
        image_id = b.pull(reg.ref)
        assert image_id == sha(json.dumps(image.config).encode())
        assert "resuming blob" in b.brig.log_text()
        ranges = [s.headers.get("Range") for s in reg.server.requests
                  if s.path.endswith(big_digest[7:])]
        assert f"bytes={kept}-" in ranges
        layer = b.brig.root / "layers"
        assert any((layer / d / "diff" / "big").exists() and
                   (layer / d / "diff" / "big").read_bytes() == big for d in b.layer_dirs())
    finally:
        reg.stop()


def test_a_blob_two_pulls_want_is_fetched_once(brig_images):
    image = ScriptedImage([tar_of({"big": os.urandom(2 * 1024 * 1024)})])
    reg = ScriptedRegistry(image)
    reg.blob_delay = 0.02  # slow enough that both pulls want it at once
    try:
        b = brig_images(reg)
        results, errors = [], []

        def pull():
            try:
                results.append(b.pull(reg.ref))
            except grpc.RpcError as e:
                errors.append(e)

        threads = [threading.Thread(target=pull) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == [] and len(set(results)) == 1 and len(results) == 2
        layer = sha(image.layers[0])
        gets = [s for s in reg.server.requests if s.path.endswith(layer[7:])]
        assert len(gets) == 1, gets
    finally:
        reg.stop()
