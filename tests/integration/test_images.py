"""The CRI ImageService against real registries on 127.0.0.1.

Images are built by the tests from busybox-static (umoci) and pushed with
skopeo to Debian's docker-registry (fixtures in registry.py); brig pulls
them through brigd (registries.conf, registry client, verified store) and
brig-helper (brig-unpack), and the results are checked on disk and over CRI.
"""
import base64
import json
import os
import subprocess
import threading
import time

import grpc
import pytest

from conftest import Brig, api_pb2, seccomp_log_lines, wait_for
from registry import Images, start_registry

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("BRIG_BUILD", "build"), "brig-unpack")),
    reason="brig-unpack is not built")


def registries_conf(path, text):
    path.write_text(text)
    return path


class ImageBrig:
    """A brig whose registries.conf and certs.d are the test's own."""

    def __init__(self, base, conf_text="", certs_dir=None, extra=()):
        self.base = base
        conf = registries_conf(base / "registries.conf", conf_text)
        (base / "registries.conf.d").mkdir(exist_ok=True)
        args = ["--registries-conf", str(conf), "--registries-conf-dir",
                str(base / "registries.conf.d")]
        if certs_dir:
            args += ["--registry-certs-dir", str(certs_dir)]
        self.brig = Brig(base)
        self.brig.start(*args, *extra)
        self.cri = self.brig.cri()

    def image_call(self, method, request, timeout=120):
        response = getattr(api_pb2, method + "Response")
        return self.cri.call("ImageService", method, request, response, timeout)

    def pull(self, image, auth=None, timeout=120):
        req = api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image))
        if auth is not None:
            req.auth.CopyFrom(auth)
        return self.image_call("PullImage", req, timeout).image_ref

    def status(self, image, verbose=False):
        return self.image_call("ImageStatus", api_pb2.ImageStatusRequest(
            image=api_pb2.ImageSpec(image=image), verbose=verbose))

    def list(self, image=None):
        req = api_pb2.ListImagesRequest()
        if image:
            req.filter.image.image = image
        return list(self.image_call("ListImages", req).images)

    def remove(self, image):
        self.image_call("RemoveImage", api_pb2.RemoveImageRequest(
            image=api_pb2.ImageSpec(image=image)))

    def layer_dirs(self):
        return sorted(n for n in os.listdir(self.brig.root / "layers") if not n.startswith("."))

    def stop(self):
        try:
            if self.brig.proc.poll() is None:
                assert self.brig.stop() == 0, self.brig.log_text()
        finally:
            self.brig.kill_everything()
            if self.brig.log:
                self.brig.log.close()


def insecure(host):
    return f'[[registry]]\nlocation = "{host}"\ninsecure = true\n'


@pytest.fixture
def plain(brig_dir, request):
    """A plain HTTP registry with test images, and a brig that may use it."""
    with start_registry(brig_dir / "registry") as reg:
        b = ImageBrig(brig_dir, insecure(reg.host))
        try:
            yield reg, b
        finally:
            rep = getattr(request.node, "rep_call", None)
            if rep is not None and rep.failed:
                print("--- brig log ---\n" + b.brig.log_text())
            b.stop()


@pytest.fixture
def images(brig_dir):
    return Images(brig_dir / "images-src")


def chain_ids(diff_ids):
    import hashlib
    out = []
    for d in diff_ids:
        out.append(d if not out else
                   "sha256:" + hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest())
    return out


def test_pull_list_status_remove(plain, images):
    reg, b = plain
    seccomp_before = seccomp_log_lines()
    pushed = reg.push(images.single_layer(), "test/busybox:1")
    name = f"{reg.host}/test/busybox"
    image_id = b.pull(f"{name}:1")
    assert image_id == pushed.config[0]

    [img] = b.list()
    assert img.id == image_id
    assert list(img.repo_tags) == [f"{name}:1"]
    assert list(img.repo_digests) == [f"{name}@{pushed.digest}"]
    assert img.size >= sum(size for _, size in pushed.layers)
    assert img.uid.value == 0 and not img.username
    assert not img.pinned

    for ref in (f"{name}:1", image_id, image_id[7:19], f"{name}@{pushed.digest}"):
        assert b.status(ref).image.id == image_id, ref
    assert [i.id for i in b.list(f"{name}:1")] == [image_id]
    assert b.list(f"{name}:other") == []

    info = json.loads(b.status(image_id, verbose=True).info["info"])
    assert info["configDigest"] == image_id
    assert [layer["digest"] for layer in info["layers"]] == [d for d, _ in pushed.layers]
    assert info["imageSpec"]["architecture"] == "amd64"

    # The layer is on disk, under its chain id, with busybox in it.
    diff_ids = info["imageSpec"]["rootfs"]["diff_ids"]
    [chain] = chain_ids(diff_ids)
    assert b.layer_dirs() == [chain[7:]]
    busybox = b.brig.root / "layers" / chain[7:] / "diff" / "bin" / "busybox"
    assert busybox.stat().st_size == os.stat("/bin/busybox").st_size
    assert os.readlink(busybox.parent / "sh") == "busybox"

    fs = b.image_call("ImageFsInfo", api_pb2.ImageFsInfoRequest())
    [usage] = fs.image_filesystems
    assert usage.fs_id.mountpoint and usage.inodes_used.value > 0
    # The unpacked layer counts besides the compressed blob.
    assert usage.used_bytes.value > busybox.stat().st_size + img.size
    assert list(fs.container_filesystems) == [usage]
    assert usage.timestamp > 0

    b.remove(f"{name}:1")
    assert not b.status(image_id).HasField("image")
    assert b.list() == []
    wait_for(lambda: b.layer_dirs() == [], 10, "the layer directory to go")
    b.remove(f"{name}:1")  # absent: no error
    if seccomp_before is not None:
        new = seccomp_log_lines()[len(seccomp_before):]
        assert new == [], "brigd made system calls its filter does not list:\n" + "\n".join(new)


def test_pull_by_digest_multi_layer_and_docker_schema2(plain, images):
    reg, b = plain
    pushed = reg.push(images.multi_layer(3), "test/multi:1")
    image_id = b.pull(f"{reg.host}/test/multi@{pushed.digest}")
    assert image_id == pushed.config[0]
    img = b.status(image_id).image
    assert list(img.repo_tags) == []
    assert list(img.repo_digests) == [f"{reg.host}/test/multi@{pushed.digest}"]
    assert len(b.layer_dirs()) == 3
    # The same image by tag only adds the tag.
    assert b.pull(f"{reg.host}/test/multi:1") == image_id
    assert list(b.status(image_id).image.repo_tags) == [f"{reg.host}/test/multi:1"]

    v2 = reg.push(images.single_layer(), "test/v2s2:1", docker_v2s2=True)
    assert v2.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert b.pull(f"{reg.host}/test/v2s2:1") == v2.config[0]


def test_multi_arch_index_selects_the_host_platform(plain, images):
    reg, b = plain
    pushed = reg.push(images.multi_arch(), "test/multiarch:1")
    amd64 = next(c for c in pushed.children
                 if c.manifest["config"]["digest"] and
                 json.loads(reg.skopeo("inspect", "--raw", "--config", "--tls-verify=false",
                                       f"docker://{reg.host}/test/multiarch@{c.digest}")
                            .stdout)["architecture"] == "amd64")
    image_id = b.pull(f"{reg.host}/test/multiarch:1")
    assert image_id == amd64.config[0]
    img = b.status(image_id).image
    assert list(img.repo_digests) == [f"{reg.host}/test/multiarch@{pushed.digest}"]


def test_layers_shared_between_images_are_kept_until_unused(plain, images):
    reg, b = plain
    base = images.multi_layer(2)
    pushed_a = reg.push(base, "test/a:1")
    # b = a plus one layer: the first two layers are shared.
    subprocess.run(["skopeo", "copy", f"oci:{base.layout}:{base.tag}",
                    f"oci:{base.layout}:{base.tag}-b"], check=True, capture_output=True)
    extra = images.directory / "extra"
    # umoci 0.4 writes an inserted file without tar padding or trailer: a
    # size that needs no padding keeps the layer a valid tar.
    extra.write_bytes(os.urandom(1024))
    subprocess.run(["umoci", "insert", "--image", f"{base.layout}:{base.tag}-b", str(extra),
                    "/extra"], check=True, capture_output=True)
    base.tag = base.tag + "-b"
    pushed_b = reg.push(base, "test/b:1")
    id_a = b.pull(f"{reg.host}/test/a:1")
    id_b = b.pull(f"{reg.host}/test/b:1")
    assert id_a != id_b
    assert len(b.layer_dirs()) == 3
    assert pushed_a.layers == pushed_b.layers[:2]
    b.remove(id_b)
    wait_for(lambda: len(b.layer_dirs()) == 2, 10, "b's own layer to go")
    assert b.status(id_a).image.id == id_a
    b.remove(id_a)
    wait_for(lambda: b.layer_dirs() == [], 10, "every layer to go")


def pull_at_once(b, names, timeout):
    """Pulls every name on a thread of its own; returns the image refs and
    the gRPC errors."""
    results, errors = [], []

    def pull(name):
        try:
            results.append(b.pull(name))
        except grpc.RpcError as e:
            errors.append(e)

    threads = [threading.Thread(target=pull, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results, errors


def test_eight_pulls_at_once(plain, images):
    reg, b = plain
    names = []
    for i in range(4):
        reg.push(images.multi_layer(2), f"test/par{i}:1")
        names.append(f"{reg.host}/test/par{i}:1")
    results, errors = pull_at_once(b, names * 2, timeout=300)
    assert errors == []
    assert len(results) == 8 and len(set(results)) == 4
    assert len(b.list()) == 4


def test_pulls_of_many_layers_at_once_stay_under_the_helper_limit(plain, images):
    """Twelve pulls of 12-layer images: 144 UNPACKs, more than the helper's
    64 requests in flight per connection. Downloads run ahead of unpacks,
    so brigd must bound its UNPACKs itself; every pull completes."""
    reg, b = plain
    names = []
    for i in range(6):
        reg.push(images.multi_layer(12), f"test/deep{i}:1")
        names.append(f"{reg.host}/test/deep{i}:1")
    results, errors = pull_at_once(b, names * 2, timeout=600)
    assert errors == []
    assert len(results) == 12 and len(set(results)) == 6
    for name in names:
        assert list(b.status(name).image.repo_tags) == [name]
    assert "already in flight" not in b.brig.log_text()
    assert len(b.layer_dirs()) >= 1 + 6 * 11


def test_bad_references_and_missing_images(plain, images):
    reg, b = plain
    reg.push(images.single_layer(), "test/busybox:1")
    for bad in (f"{reg.host}/Upper/case:1", "a//b", f"{reg.host}/x:" + "t" * 129,
                "a@sha256:12", "0" * 64):
        with pytest.raises(grpc.RpcError) as e:
            b.pull(bad)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
        assert bad[:20] in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        b.pull(f"{reg.host}/test/busybox:nope")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert f"{reg.host}/test/busybox:nope" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        b.pull(f"{reg.host}/test/absent:1")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        b.image_call("PullImage", api_pb2.PullImageRequest())
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not b.status("nothing:here").HasField("image")
    assert b.list() == []
    assert b.layer_dirs() == []


def test_basic_auth(brig_dir, images):
    with start_registry(brig_dir / "registry", basic=("alice", "s3cret")) as reg:
        reg.push(images.single_layer(), "test/busybox:1")
        b = ImageBrig(brig_dir, insecure(reg.host))
        try:
            ref = f"{reg.host}/test/busybox:1"
            with pytest.raises(grpc.RpcError) as e:
                b.pull(ref)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert reg.host in e.value.details()
            with pytest.raises(grpc.RpcError) as e:
                b.pull(ref, api_pb2.AuthConfig(username="alice", password="wrong"))
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert b.pull(ref, api_pb2.AuthConfig(username="alice", password="s3cret"))
            b.remove(ref)
            token = base64.b64encode(b"alice:s3cret").decode()
            assert b.pull(ref, api_pb2.AuthConfig(auth=token))
        finally:
            b.stop()


def test_bearer_tokens(brig_dir, images):
    with start_registry(brig_dir / "registry", token=True, token_creds=("bob", "pw")) as reg:
        reg.push(images.single_layer(), "test/busybox:1")
        b = ImageBrig(brig_dir, insecure(reg.host))
        try:
            ref = f"{reg.host}/test/busybox:1"
            with pytest.raises(grpc.RpcError) as e:
                b.pull(ref)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert b.pull(ref, api_pb2.AuthConfig(username="bob", password="pw"))
        finally:
            b.stop()


def test_verified_tls_with_certs_d(brig_dir, images):
    with start_registry(brig_dir / "registry", tls=True) as reg:
        reg.push(images.single_layer(), "test/busybox:1")
        ref = f"{reg.host}/test/busybox:1"
        # Without the CA the certificate is refused...
        b = ImageBrig(brig_dir, "")
        try:
            with pytest.raises(grpc.RpcError) as e:
                b.pull(ref)
            assert reg.host in e.value.details()
        finally:
            b.stop()
        # ...and with it from certs.d the pull is verified TLS, no insecure entry.
        b = ImageBrig(brig_dir, "", certs_dir=reg.certs_dir)
        try:
            assert b.pull(ref)
        finally:
            b.stop()


def test_registries_conf_rewrites_and_short_names(brig_dir, images):
    with start_registry(brig_dir / "registry") as reg:
        reg.push(images.single_layer(), "mirrored/busybox:1")
        conf = (f'unqualified-search-registries = ["example.invalid"]\n'
                f'[[registry]]\nprefix = "example.invalid"\n'
                f'location = "{reg.host}/mirrored"\ninsecure = true\n'
                f'[[registry]]\nprefix = "blocked.invalid"\nblocked = true\n')
        b = ImageBrig(brig_dir, conf)
        try:
            image_id = b.pull("busybox:1")
            img = b.status("busybox:1").image
            assert img.id == image_id
            assert list(img.repo_tags) == ["example.invalid/busybox:1"]
            with pytest.raises(grpc.RpcError) as e:
                b.pull("blocked.invalid/x:1")
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "blocked" in e.value.details()
        finally:
            b.stop()


def test_mirror_serves_another_name(brig_dir, images):
    """[[registry.mirror]]: the primary location is down, the mirror (another
    registry, under another path) has the image."""
    with start_registry(brig_dir / "registry") as reg:
        pushed = reg.push(images.single_layer(), "mirror/app:2")
        conf = (f'[[registry]]\nprefix = "registry.invalid/app"\n'
                f'location = "127.0.0.1:1/app"\n'
                f'[[registry.mirror]]\nlocation = "{reg.host}/mirror/app"\ninsecure = true\n')
        b = ImageBrig(brig_dir, conf)
        try:
            assert b.pull("registry.invalid/app:2") == pushed.config[0]
            img = b.status("registry.invalid/app:2").image
            assert list(img.repo_tags) == ["registry.invalid/app:2"]
            assert list(img.repo_digests) == [f"registry.invalid/app@{pushed.digest}"]
        finally:
            b.stop()


def test_pinned_images(brig_dir, images):
    with start_registry(brig_dir / "registry") as reg:
        reg.push(images.single_layer(), "test/pause:3")
        reg.push(images.single_layer(), "test/other:1")
        b = ImageBrig(brig_dir, insecure(reg.host), extra=("--pinned-images", "*pause*"))
        try:
            pause = b.pull(f"{reg.host}/test/pause:3")
            other = b.pull(f"{reg.host}/test/other:1")
            pinned = {i.id: i.pinned for i in b.list()}
            assert pinned == {pause: True, other: False}
            assert b.status(pause).image.pinned
        finally:
            b.stop()
