"""UNPACK and the helper's concurrency, through the root-only debug socket.

The refusals are checked against a live helper: each must come back with its
documented errno, leave nothing in the layer store and keep the connection
serving. The concurrency tests need the real brig-unpack: unpacks whose blob
is a pipe the test holds open stay running until the test closes it.
"""
import errno
import hashlib
import io
import os
import stat
import tarfile
import time

import pytest

from conftest import children_of, proc_status, wait_for

from helperproto import (BYTES, PING, REMOVE_LAYER, TAG_BLOB_FD, TAG_CHAIN_ID, TAG_DIFF_ID, TAG_LAYER_BYTES,
                         TAG_LAYER_ENTRIES, TAG_LAYER_EXISTED, TAG_MEDIA_TYPE,
                         TAG_PARENT_CHAIN_ID, TAG_PING_DATA, UNPACK, Conn, fd_field, message,
                         string, tlv, u32_value, u64_value)

TAR = "application/vnd.oci.image.layer.v1.tar"
TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def chain_of(parent, diff_id):
    return diff_id if parent is None else sha(f"{parent} {diff_id}".encode())


def unpack_payload(chain, diff_id, media_type=TAR, parent=None):
    p = string(TAG_CHAIN_ID, chain)
    if parent is not None:
        p += string(TAG_PARENT_CHAIN_ID, parent)
    return p + string(TAG_DIFF_ID, diff_id) + string(TAG_MEDIA_TYPE, media_type) \
        + fd_field(TAG_BLOB_FD, 0)


def make_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def blob_file(tmp_path, data, name="blob"):
    path = tmp_path / name
    path.write_bytes(data)
    return os.open(path, os.O_RDONLY)


def layers_dir(brig):
    return brig.root / "layers"


def layer_names(brig):
    return sorted(os.listdir(layers_dir(brig)))


def send_unpack(conn, fd, **kw):
    try:
        return conn.request(UNPACK, unpack_payload(**kw), fds=[fd])
    finally:
        os.close(fd)


def test_store_directories(brig):
    layers = os.stat(layers_dir(brig))
    assert stat.S_ISDIR(layers.st_mode)
    assert (layers.st_uid, layers.st_mode & 0o777) == (0, 0o700)
    images = os.stat(brig.root / "images")
    assert images.st_uid != 0 and images.st_mode & 0o777 == 0o700


@pytest.mark.parametrize("chain,diff_id,parent", [
    ("sha256:" + "A" * 64, "sha256:" + "A" * 64, None),         # uppercase hex
    ("sha256:" + "a" * 63, "sha256:" + "a" * 63, None),         # short
    ("sha512:" + "a" * 64, "sha512:" + "a" * 64, None),         # other algorithm
    ("sha256:../" + "a" * 61, "sha256:../" + "a" * 61, None),   # path trickery
    ("sha256:" + "a" * 64, "sha256:" + "b" * 64, None),         # first layer: chain != diff
    ("sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "C" * 64),  # bad parent
])
def test_bad_ids_refused(brig, conn, tmp_path, chain, diff_id, parent):
    r = send_unpack(conn, blob_file(tmp_path, b"x"), chain=chain, diff_id=diff_id, parent=parent)
    assert r.status == -errno.EINVAL, r.error_message
    assert "sha256" in r.error_message or "chain id" in r.error_message
    assert layer_names(brig) == []
    conn.ping()


def test_unknown_media_type_refused(brig, conn, tmp_path):
    d = "sha256:" + "1" * 64
    r = send_unpack(conn, blob_file(tmp_path, b"x"), chain=d, diff_id=d,
                    media_type="application/vnd.oci.image.layer.v1.tar+lz4")
    assert r.status == -errno.EMEDIUMTYPE, r.error_message
    assert "media type" in r.error_message
    conn.ping()


def test_directory_blob_refused(brig, conn, tmp_path):
    d = "sha256:" + "2" * 64
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    r = send_unpack(conn, fd, chain=d, diff_id=d)
    assert r.status == -errno.EINVAL, r.error_message
    assert "regular file or pipe" in r.error_message
    conn.ping()


def test_write_only_and_path_blob_refused(brig, conn, tmp_path):
    d = "sha256:" + "3" * 64
    (tmp_path / "w").write_bytes(b"x")
    for flags in (os.O_WRONLY, os.O_PATH):
        r = send_unpack(conn, os.open(tmp_path / "w", flags), chain=d, diff_id=d)
        assert r.status == -errno.EBADF, r.error_message
    conn.ping()


def test_missing_fd_refused_by_schema(brig, conn):
    d = "sha256:" + "4" * 64
    payload = string(TAG_CHAIN_ID, d) + string(TAG_DIFF_ID, d) + string(TAG_MEDIA_TYPE, TAR)
    r = conn.request(UNPACK, payload)
    assert r.status == -errno.EINVAL
    conn.ping()


def test_missing_parent_refused(brig, conn, tmp_path):
    parent = "sha256:" + "5" * 64
    diff_id = "sha256:" + "6" * 64
    r = send_unpack(conn, blob_file(tmp_path, b"x"), chain=chain_of(parent, diff_id),
                    diff_id=diff_id, parent=parent)
    assert r.status == -errno.ENOENT, r.error_message
    assert parent in r.error_message
    assert layer_names(brig) == []


def test_present_layer_is_not_unpacked_again(brig, conn, tmp_path):
    d = "sha256:" + "7" * 64
    (layers_dir(brig) / d[7:] / "diff").mkdir(parents=True)
    r = send_unpack(conn, blob_file(tmp_path, b"not a tar"), chain=d, diff_id=d)
    assert r.status == 0, r.error_message
    assert u32_value(r.fields[TAG_LAYER_EXISTED][0]) == 1
    assert layer_names(brig) == [d[7:]]


def test_remove_layer(brig, conn):
    d = "sha256:" + "a" * 64
    layer = layers_dir(brig) / d[7:]
    (layer / "diff" / "deep" / "er").mkdir(parents=True)
    (layer / "diff" / "deep" / "file").write_text("x")
    os.symlink("/etc", layer / "diff" / "escape")
    r = conn.request(REMOVE_LAYER, string(TAG_CHAIN_ID, d))
    assert r.status == 0, r.error_message
    assert not layer.exists(), "the layer is out of sight when the reply comes"
    deadline = time.monotonic() + 10
    while layer_names(brig) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert layer_names(brig) == []
    assert os.path.isdir("/etc"), "a symlink in a layer is removed, never followed"
    # Absent: no error. Malformed: refused.
    assert conn.request(REMOVE_LAYER, string(TAG_CHAIN_ID, d)).status == 0
    r = conn.request(REMOVE_LAYER, string(TAG_CHAIN_ID, "sha256:../" + "a" * 61))
    assert r.status == -errno.EINVAL


def test_slow_reader_loses_no_reply(brig, conn):
    """More replies than the socket holds (about 90 of these fit): the helper
    queues the rest and keeps serving others meanwhile; every reply arrives,
    in order."""
    n = 160
    for i in range(n):
        conn.send(message(PING, 1000 + i, tlv(TAG_PING_DATA, BYTES, b"%04d" % i * 256)))
    # The helper is not stuck on the full socket: another connection is served.
    other = Conn(brig.debug_socket)
    try:
        assert other.hello().status == 0
        other.ping()
    finally:
        other.close()
    for i in range(n):
        r = conn.recv()
        assert r.request_id == 1000 + i
        assert r.fields[TAG_PING_DATA] == [b"%04d" % i * 256]
    assert "reply queued" in brig.log_text()
    conn.ping()


# ---- with the real brig-unpack ----------------------------------------------

needs_unpack = pytest.mark.skipif(
    not (os.environ.get("BRIG_BUILD") and
         os.path.exists(os.path.join(os.environ["BRIG_BUILD"], "brig-unpack"))),
    reason="brig-unpack is not built")


@needs_unpack
def test_unpack_publishes_a_verified_layer(brig, conn, tmp_path):
    data = make_tar({"etc/hello": b"hello\n", "bin/tool": b"#!/bin/sh\n"})
    d = sha(data)
    r = send_unpack(conn, blob_file(tmp_path, data), chain=d, diff_id=d)
    assert r.status == 0, r.error_message
    assert u64_value(r.fields[TAG_LAYER_BYTES][0]) == len(data)
    assert u64_value(r.fields[TAG_LAYER_ENTRIES][0]) >= 2
    assert u32_value(r.fields[TAG_LAYER_EXISTED][0]) == 0
    diff = layers_dir(brig) / d[7:] / "diff"
    assert (diff / "etc" / "hello").read_bytes() == b"hello\n"
    assert layer_names(brig) == [d[7:]]

    # A child layer on top of it.
    data2 = make_tar({"etc/second": b"2\n"})
    d2 = sha(data2)
    c2 = chain_of(d, d2)
    r = send_unpack(conn, blob_file(tmp_path, data2, "blob2"), chain=c2, diff_id=d2, parent=d)
    assert r.status == 0, r.error_message
    assert (layers_dir(brig) / c2[7:] / "diff" / "etc" / "second").read_bytes() == b"2\n"


@needs_unpack
def test_unpack_marks_opaque_directories_and_whiteouts(brig, conn, tmp_path):
    """brig-unpack may not set trusted.* xattrs; the helper marks the opaque
    directories it lists, the layer root included."""
    data = make_tar({"etc/.wh..wh..opq": b"", "etc/new": b"n", ".wh..wh..opq": b"",
                     "usr/.wh.gone": b""})
    d = sha(data)
    r = send_unpack(conn, blob_file(tmp_path, data), chain=d, diff_id=d)
    assert r.status == 0, r.error_message
    diff = layers_dir(brig) / d[7:] / "diff"
    assert os.getxattr(diff / "etc", "trusted.overlay.opaque") == b"y"
    assert os.getxattr(diff, "trusted.overlay.opaque") == b"y"
    with pytest.raises(OSError):
        os.getxattr(diff / "usr", "trusted.overlay.opaque")
    gone = os.lstat(diff / "usr" / "gone")
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0
    assert not (diff / "etc" / ".wh..wh..opq").exists()
    usage = (layers_dir(brig) / d[7:] / "usage").read_text().split()
    assert int(usage[0]) == len(data)


@needs_unpack
def test_failed_unpack_leaves_nothing(brig, conn, tmp_path):
    data = make_tar({"a": b"a"})
    wrong = "sha256:" + "8" * 64
    r = send_unpack(conn, blob_file(tmp_path, data), chain=wrong, diff_id=wrong)
    assert r.status < 0
    assert r.error_message
    # The temporary directory is removed by a job; wait for it.
    deadline = time.monotonic() + 10
    while layer_names(brig) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert layer_names(brig) == []
    conn.ping()


def _blocked_unpackers(brig):
    """brig-unpack children that are confined (seccomp on) and asleep: they
    wait on their blob pipe."""
    n = 0
    for pid in children_of(brig.proc.pid):
        try:
            st = proc_status(pid)
        except OSError:
            continue
        if st.get("Name") == "brig-unpack" and st.get("Seccomp") == "2" \
                and st.get("State", "").startswith("S"):
            n += 1
    return n


def _start_blocked_unpacks(conn, count, first):
    writers, ids = [], []
    for i in range(count):
        r, w = os.pipe()
        writers.append(w)
        d = "sha256:%064x" % (first + i)
        conn.next_id += 1
        ids.append(conn.next_id)
        conn.send(message(UNPACK, conn.next_id, unpack_payload(chain=d, diff_id=d)), [r])
        os.close(r)
    return writers, ids


def _end_unpacks(conn, writers, ids):
    for w in writers:
        os.close(w)
    replies = [conn.recv() for _ in ids]
    assert sorted(x.request_id for x in replies) == sorted(ids)
    # An empty stream is no tar: each fails, with brig-unpack's reason.
    assert all(x.status < 0 and x.error_message for x in replies)


@needs_unpack
def test_ping_is_prompt_while_four_unpacks_run(brig, conn):
    writers, ids = _start_blocked_unpacks(conn, 4, 0x1000)
    wait_for(lambda: _blocked_unpackers(brig) == 4, 30, "four brig-unpack children waiting")
    worst = 0.0
    for _ in range(50):
        t0 = time.monotonic()
        conn.ping()
        worst = max(worst, time.monotonic() - t0)
    assert worst < 0.010, f"PING took {worst * 1000:.1f} ms while unpacks ran"
    _end_unpacks(conn, writers, ids)
    conn.ping()


@needs_unpack
def test_the_65th_unpack_in_flight_is_busy(brig, conn):
    writers, ids = _start_blocked_unpacks(conn, 64, 0x2000)
    r, w = os.pipe()
    busy = send_unpack(conn, r, chain="sha256:" + "9" * 64, diff_id="sha256:" + "9" * 64)
    os.close(w)
    assert busy.status == -errno.EBUSY, busy.error_message
    assert "already in flight" in busy.error_message
    # Another connection has its own limit.
    other = Conn(brig.debug_socket)
    try:
        assert other.hello().status == 0
        r, w = os.pipe()
        os.close(w)
        reply = send_unpack(other, r, chain="sha256:" + "9" * 64, diff_id="sha256:" + "9" * 64)
        assert reply.status != -errno.EBUSY
    finally:
        other.close()
    _end_unpacks(conn, writers, ids)
    conn.ping()
