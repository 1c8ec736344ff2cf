"""brig-unpack, the confined layer unpacker, run directly as brig-helper
runs it: fds for the layer directory, the blob and a SOCK_SEQPACKET result
socket, then one result message decoded here (24-byte header + TLV).

Every test builds its tar stream with Python's tarfile (GNU tar for the
sparse file, the zstd CLI for zstd), unpacks it into
<tmp>/layers/.tmp-x/diff with a sentinel directory beside <tmp>/layers, and
checks the layer and, for hostile streams, the exact error status and that
nothing outside the layer directory changed. Needs root (namespaces,
pivot_root, chown, mknod).
"""
import errno
import gzip
import hashlib
import io
import os
import random
import shutil
import socket
import stat
import struct
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BRIG_BUILD", "build/asan"))
if not BUILD.is_absolute():
    BUILD = REPO / BUILD
UNPACK = BUILD / "brig-unpack"

OCI_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

HDR = struct.Struct("<IHHIiII")
MAGIC, VERSION, REPLY, CMD_UNPACK = 0x47495242, 1, 0x8000, 3
U64, STRING, FD = 2, 3, 5
TAG_BYTES, TAG_ENTRIES, TAG_SKIPPED, TAG_OPAQUE_FD, TAG_ERROR = 12, 13, 14, 16, 0x7FFF
MTIME = 1_600_000_000
# vfs_cap_data revision 2, effective, permitted = CAP_NET_BIND_SERVICE
FILE_CAP = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="brig-unpack needs root")


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def chain(parent, diff_id):
    return digest(f"{parent} {diff_id}".encode())


class Result:
    def __init__(self, proc, data, fds, layer):
        self.rc = proc.returncode
        self.stderr = proc.stderr.decode(errors="replace")
        self.layer = layer
        assert len(data) >= HDR.size, f"no result message: rc={self.rc} stderr={self.stderr}"
        magic, version, self.command, _, self.status, length, _ = HDR.unpack_from(data)
        assert magic == MAGIC and version == VERSION
        assert self.command == CMD_UNPACK | REPLY
        assert length == len(data) - HDR.size
        self.fields = {}
        off = HDR.size
        while off < len(data):
            tag, typ, n = struct.unpack_from("<HHI", data, off)
            assert tag not in self.fields, "a tag repeats"
            self.fields[tag] = (typ, data[off + 8:off + 8 + n])
            off += 8 + n
        self.fds = fds

    def u64(self, tag):
        typ, v = self.fields[tag]
        assert typ == U64
        return struct.unpack("<Q", v)[0]

    @property
    def error(self):
        typ, v = self.fields[TAG_ERROR]
        assert typ == STRING and v.endswith(b"\0")
        return v[:-1].decode()

    def opaque_dirs(self):
        if TAG_OPAQUE_FD not in self.fields:
            assert not self.fds
            return []
        typ, v = self.fields[TAG_OPAQUE_FD]
        assert typ == FD and struct.unpack("<I", v)[0] == 0 and len(self.fds) == 1
        fd = self.fds[0]
        import fcntl
        seals = fcntl.fcntl(fd, 1034)  # F_GET_SEALS
        assert seals & 0x0F == 0x0F, "seal, shrink, grow and write seals are set"
        os.lseek(fd, 0, os.SEEK_SET)
        data = b""
        while chunk := os.read(fd, 65536):
            data += chunk
        assert data.endswith(b"\0")
        return [p.decode() for p in data[:-1].split(b"\0")]


class Env:
    """A temp dir holding layers/.tmp-x/diff and a sentinel beside it."""

    def __init__(self, root, blobs):
        self.root = root
        self.blobs = blobs
        self.layer = root / "layers" / ".tmp-x" / "diff"
        self.layer.mkdir(parents=True)
        self.sentinel = root / "sentinel"
        self.sentinel.mkdir()
        (self.sentinel / "keep").write_text("keep\n")
        self.before = self.snapshot_outside()

    def snapshot_outside(self):
        """Every path under root except the layer dir, with its metadata,
        and the names in root's parent that look like ours."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            if Path(dirpath) == self.layer.parent:
                dirnames[:] = [d for d in dirnames if d != "diff"]
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                st = os.lstat(p)
                out[str(p)] = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns, st.st_ino)
        for name in ("escape", "pwned", "abs", "outside"):
            out["parent:" + name] = (self.root.parent / name).exists()
        return out

    def assert_outside_untouched(self):
        assert self.snapshot_outside() == self.before
        assert (self.sentinel / "keep").read_text() == "keep\n"

    def run(self, blob, media_type=OCI_TAR, diff_id=None, chain_id=None, parent=None,
            extra=(), raw_blob_fd=None):
        """Runs brig-unpack on blob (bytes) and returns its Result."""
        if diff_id is None:
            diff_id = digest(self.uncompressed) if hasattr(self, "uncompressed") else None
        if chain_id is None:
            chain_id = chain(parent, diff_id) if parent else diff_id
        blob_path = self.blobs / "blob"
        if raw_blob_fd is None:
            blob_path.write_bytes(blob)
            blob_fd = os.open(blob_path, os.O_RDONLY)
        else:
            blob_fd = raw_blob_fd
        layer_fd = os.open(self.layer, os.O_RDONLY | os.O_DIRECTORY)
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        args = [str(UNPACK), "--layer-fd", str(layer_fd), "--blob-fd", str(blob_fd),
                "--result-fd", str(child_sock.fileno()), "--media-type", media_type,
                "--diff-id", diff_id, "--chain-id", chain_id]
        if parent:
            args += ["--parent-chain-id", parent]
        args += list(extra)
        try:
            proc = subprocess.run(args, pass_fds=(layer_fd, blob_fd, child_sock.fileno()),
                                  capture_output=True, timeout=120)
            child_sock.close()
            data, fds, _, _ = socket.recv_fds(parent_sock, HDR.size + 65537, 8)
            parent_sock.settimeout(5)
            assert parent_sock.recv(1) == b"", "exactly one message"
        finally:
            os.close(layer_fd)
            if raw_blob_fd is None:
                os.close(blob_fd)
            child_sock.close()
            parent_sock.close()
        return Result(proc, data, fds, self.layer)


@pytest.fixture
def env():
    root = Path(tempfile.mkdtemp(prefix="brig-unpack-"))
    blobs = Path(tempfile.mkdtemp(prefix="brig-unpack-blob-"))
    try:
        yield Env(root, blobs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(blobs, ignore_errors=True)


def make_tar(members, fmt=tarfile.PAX_FORMAT):
    """members: (TarInfo kwargs, data or None) pairs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for kw, data in members:
            ti = tarfile.TarInfo(kw.pop("name"))
            ti.mtime = MTIME
            for k, v in kw.items():
                setattr(ti, k, v)
            if data is not None:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)
    return buf.getvalue()


def f(name, data=b"", **kw):
    return ({"name": name, "type": tarfile.REGTYPE, "mode": 0o644, **kw}, data)


def d(name, **kw):
    return ({"name": name, "type": tarfile.DIRTYPE, "mode": 0o755, **kw}, None)


def link(name, target, typ=tarfile.SYMTYPE, **kw):
    return (dict(name=name, type=typ, linkname=target, **kw), None)


def ok(r):
    assert r.status == 0, (r.status, r.fields, r.stderr)
    assert r.rc == 0, r.stderr
    return r


def refused(r, err, env):
    assert r.rc == 1, r.stderr
    assert r.status == -err, (r.status, r.error if TAG_ERROR in r.fields else None, r.stderr)
    assert set(r.fields) == {TAG_ERROR} and not r.fds
    env.assert_outside_untouched()
    return r.error


def unpack_tar(env, tar, media_type=OCI_TAR, blob=None, **kw):
    env.uncompressed = tar
    return env.run(tar if blob is None else blob, media_type, **kw)


# --- what a layer keeps ------------------------------------------------------

def test_files_dirs_modes_owners_times(env):
    caps = {"SCHILY.xattr.security.capability": FILE_CAP.decode("latin-1"),
            "SCHILY.xattr.user.note": "hello"}
    big = os.urandom(3 << 20) * 2
    tar = make_tar([
        d("./", mode=0o755),
        d("./etc", mode=0o750, uid=10, gid=20),
        f("./etc/passwd", b"root:x:0:0\n", mode=0o600, uid=0, gid=42),
        f("./usr/bin/su", b"\x7fELF", mode=0o4755, uid=0, gid=0),
        f("./usr/bin/wall", b"wall", mode=0o2755, uid=1000, gid=5),
        d("./tmp", mode=0o1777),
        (dict(name="./usr/bin/ping", type=tarfile.REGTYPE, mode=0o755, uid=0, gid=0,
              pax_headers=caps), b"ping"),
        f("./big", big, mode=0o644, uid=7, gid=8),
    ])
    r = ok(unpack_tar(env, tar))
    L = env.layer
    assert r.u64(TAG_BYTES) == len(tar)
    assert r.u64(TAG_ENTRIES) == 8 and r.u64(TAG_SKIPPED) == 0
    assert r.opaque_dirs() == []
    assert (L / "etc/passwd").read_bytes() == b"root:x:0:0\n"
    st = os.lstat(L / "etc/passwd")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 0, 42)
    assert st.st_mtime == MTIME
    st = os.lstat(L / "etc")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (0o750, 10, 20, MTIME)
    assert stat.S_IMODE(os.lstat(L / "usr/bin/su").st_mode) == 0o4755
    st = os.lstat(L / "usr/bin/wall")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o2755, 1000, 5)
    assert stat.S_IMODE(os.lstat(L / "tmp").st_mode) == 0o1777
    assert os.getxattr(L / "usr/bin/ping", "security.capability") == FILE_CAP
    assert os.getxattr(L / "usr/bin/ping", "user.note") == b"hello"
    assert os.lstat(L / "usr/bin/ping").st_mtime == MTIME
    # parents missing from the tar are created 0755
    assert stat.S_IMODE(os.lstat(L / "usr").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(L / "usr/bin").st_mode) == 0o755
    assert (L / "big").read_bytes() == big
    st = os.lstat(L / "big")
    assert (st.st_uid, st.st_gid, st.st_mtime) == (7, 8, MTIME)
    env.assert_outside_untouched()


def test_big_file_content(env):
    data = os.urandom(1 << 20) * 20 + b"tail"
    tar = make_tar([f("blob.bin", data)])
    ok(unpack_tar(env, tar))
    assert (env.layer / "blob.bin").read_bytes() == data


def test_links_fifo_devices(env):
    tar = make_tar([
        f("a/target", b"data", mode=0o640),
        link("a/hard", "a/target", tarfile.LNKTYPE),
        link("a/sym", "../outside/anything"),
        link("a/abs", "/etc/shadow"),
        link("a/hardsym", "a/sym", tarfile.LNKTYPE),
        (dict(name="a/fifo", type=tarfile.FIFOTYPE, mode=0o620, uid=3, gid=4), None),
        (dict(name="a/null", type=tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3), None),
        (dict(name="a/sda", type=tarfile.BLKTYPE, mode=0o660, devmajor=8, devminor=0), None),
    ])
    r = ok(unpack_tar(env, tar))
    L = env.layer
    assert r.u64(TAG_ENTRIES) == 6 and r.u64(TAG_SKIPPED) == 2
    assert os.lstat(L / "a/hard").st_ino == os.lstat(L / "a/target").st_ino
    assert os.lstat(L / "a/target").st_nlink == 2
    assert os.readlink(L / "a/sym") == "../outside/anything"
    assert os.readlink(L / "a/abs") == "/etc/shadow"
    assert os.lstat(L / "a/sym").st_mtime == MTIME
    assert os.lstat(L / "a/hardsym").st_ino == os.lstat(L / "a/sym").st_ino
    st = os.lstat(L / "a/fifo")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o620
    assert (st.st_uid, st.st_gid) == (3, 4)
    assert not (L / "a/null").exists() and not (L / "a/sda").exists()
    env.assert_outside_untouched()


def test_whiteouts_and_opaque_dirs(env):
    tar = make_tar([
        d("etc"),
        f("etc/.wh.gone", uid=0),
        d("var/cache"),
        f("var/cache/.wh..wh..opq"),
        f(".wh..wh..opq"),
        f("usr/.wh..wh..plnk"),
    ])
    r = ok(unpack_tar(env, tar))
    st = os.lstat(env.layer / "etc/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert not (env.layer / "etc/.wh.gone").exists()
    assert not (env.layer / "var/cache/.wh..wh..opq").exists()
    assert sorted(r.opaque_dirs()) == [".", "var/cache"]
    assert r.u64(TAG_SKIPPED) == 1
    env.assert_outside_untouched()


def test_replaces_earlier_entries_and_symlinks(env):
    tar = make_tar([
        link("x", "/etc/passwd"),
        f("x", b"file now"),          # replaces the symlink, does not follow it
        f("y", b"old"),
        f("y", b"new"),
        d("z"),
        f("z/inner", b"1"),
        link("w", "y"),
        d("w"),                        # a dir replaces the symlink
        f("w/in", b"2"),
    ])
    ok(unpack_tar(env, tar))
    L = env.layer
    assert (L / "x").read_bytes() == b"file now" and not (L / "x").is_symlink()
    assert (L / "y").read_bytes() == b"new"
    assert (L / "w").is_dir() and not (L / "w").is_symlink()
    assert (L / "w/in").read_bytes() == b"2" and (L / "y").read_bytes() == b"new"
    env.assert_outside_untouched()


def test_sparse_file(env):
    src = env.root / "src"
    src.mkdir()
    with open(src / "sparse", "wb") as fh:
        fh.seek(10 << 20)
        fh.write(b"middle")
        fh.truncate(40 << 20)
    tar_path = env.root / "sparse.tar"
    subprocess.run(["tar", "--sparse", "--format=pax", "-cf", str(tar_path), "-C", str(src),
                    "sparse"], check=True)
    tar = tar_path.read_bytes()
    tar_path.unlink()
    shutil.rmtree(src)
    env.before = env.snapshot_outside()
    ok(unpack_tar(env, tar))
    p = env.layer / "sparse"
    st = os.lstat(p)
    assert st.st_size == 40 << 20
    assert st.st_blocks * 512 < 1 << 20, "holes are not written"
    with open(p, "rb") as fh:
        fh.seek((10 << 20) - 2)
        assert fh.read(10) == b"\0\0middle\0\0"
    env.assert_outside_untouched()


@pytest.mark.parametrize("media_type", [OCI_GZIP, DOCKER_GZIP,
                                        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"])
def test_gzip_multi_member(env, media_type):
    tar = make_tar([f("hello", b"hello world\n" * 1000), d("dir"), f("dir/x", b"x")])
    blob = gzip.compress(tar[:5000]) + gzip.compress(tar[5000:])
    r = ok(unpack_tar(env, tar, media_type, blob))
    assert r.u64(TAG_BYTES) == len(tar)
    assert (env.layer / "hello").read_bytes() == b"hello world\n" * 1000


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                          check=True).stdout


def test_zstd(env):
    tar = make_tar([f("hello", b"zstd\n" * 100000)])
    blob = zstd(tar[:3000]) + zstd(tar[3000:])
    ok(unpack_tar(env, tar, OCI_ZSTD, blob))
    assert (env.layer / "hello").read_bytes() == b"zstd\n" * 100000


def test_diff_id_covers_bytes_after_end_of_archive(env):
    tar = make_tar([f("a", b"a")]) + b"\0" * 10240 + b"trailing"
    r = ok(unpack_tar(env, tar, OCI_GZIP, gzip.compress(tar)))
    assert r.u64(TAG_BYTES) == len(tar)


def test_parent_chain_id(env):
    tar = make_tar([f("a", b"a")])
    parent = digest(b"parent layer")
    ok(unpack_tar(env, tar, parent=parent))


# --- hostile streams ----------------------------------------------------------

@pytest.mark.parametrize("members,err", [
    ([f("../escape", b"x")], errno.EINVAL),
    ([f("a/../../escape", b"x")], errno.EINVAL),
    ([f("/abs", b"x")], errno.EINVAL),
    ([f("ok"), f("x" * 256, b"x")], errno.ENAMETOOLONG),
    ([f(("d/" * 2100) + "x", b"x")], errno.ENAMETOOLONG),
    ([link("ln", "../../sentinel"), f("ln/pwned", b"x")], errno.ELOOP),
    ([link("ln", "/"), f("ln/tmp/pwned", b"x")], errno.ELOOP),
    ([link("a", "b"), link("b", "a"), f("a/x", b"x")], errno.ELOOP),
    ([d("dir"), link("dir/ln", ".."), d("dir/ln/sub")], errno.ELOOP),
    ([link("h", "../../sentinel/keep", tarfile.LNKTYPE)], errno.EINVAL),
    ([link("h", "/etc/passwd", tarfile.LNKTYPE)], errno.EINVAL),
    ([link("h", "later", tarfile.LNKTYPE), f("later", b"x")], errno.ENOENT),
    ([link("ln", "/etc"), link("h", "ln/passwd", tarfile.LNKTYPE)], errno.ELOOP),
    ([f("file", b"x"), f("file/under", b"x")], errno.ENOTDIR),
    ([f(".wh..", b"")], errno.EINVAL),
    ([f("d/.wh.", b"")], errno.EINVAL),
])
def test_hostile_entries(env, members, err):
    tar = make_tar(members)
    msg = refused(unpack_tar(env, tar), err, env)
    assert msg.startswith("entry '"), msg
    assert not (env.root.parent / "escape").exists()


def test_too_many_entries(env):
    tar = make_tar([f(f"f{i}", b"x") for i in range(5)])
    msg = refused(unpack_tar(env, tar, extra=["--max-entries", "4"]), errno.E2BIG, env)
    assert "more than 4 entries" in msg
    ok(unpack_tar(env, tar, extra=["--max-entries", "5"]))


def test_gzip_bomb_stops_at_max_bytes(env):
    tar = make_tar([f("zeros", b"\0" * (64 << 20))])
    blob = gzip.compress(tar, 9)
    assert len(blob) < 1 << 20
    msg = refused(unpack_tar(env, tar, OCI_GZIP, blob, extra=["--max-bytes", str(8 << 20)]),
                  errno.EFBIG, env)
    assert "limit of 8388608 bytes" in msg
    # the limit is checked on output as it is produced, not after
    assert os.lstat(env.layer / "zeros").st_size <= 8 << 20


@pytest.mark.parametrize("media_type,compress", [
    (OCI_TAR, lambda t: t), (OCI_GZIP, gzip.compress), (OCI_ZSTD, zstd)])
def test_truncated_stream(env, media_type, compress):
    tar = make_tar([f("a", os.urandom(200000))])
    blob = compress(tar)
    msg = refused(unpack_tar(env, tar, media_type, blob[:len(blob) // 2]), errno.EBADMSG, env)
    assert "truncated" in msg.lower(), msg


@pytest.mark.parametrize("media_type,compress", [(OCI_GZIP, gzip.compress), (OCI_ZSTD, zstd)])
def test_corrupt_compressed_stream(env, media_type, compress):
    tar = make_tar([f("a", b"hello" * 20000)])
    blob = bytearray(compress(tar))
    for i in range(20, min(len(blob) - 20, 200)):
        blob[i] ^= 0x5A
    msg = refused(unpack_tar(env, tar, media_type, bytes(blob)), errno.EBADMSG, env)
    assert ("gzip" if media_type == OCI_GZIP else "zstd") in msg


def test_gzip_trailing_garbage(env):
    tar = make_tar([f("a", b"a")])
    refused(unpack_tar(env, tar, OCI_GZIP, gzip.compress(tar) + b"garbage!"), errno.EBADMSG, env)


def test_not_a_tar(env):
    data = b"this is not a tar archive at all" * 100
    msg = refused(unpack_tar(env, data), errno.EBADMSG, env)
    assert "tar" in msg


def test_diff_id_mismatch(env):
    tar = make_tar([f("a", b"a")])
    wrong = digest(b"something else")
    msg = refused(env.run(tar, OCI_TAR, diff_id=wrong), errno.EILSEQ, env)
    assert digest(tar) in msg and wrong in msg


@pytest.mark.parametrize("media_type,make_blob", [
    (OCI_GZIP, lambda t: t),
    (OCI_TAR, gzip.compress),
    (OCI_ZSTD, gzip.compress),
    (OCI_GZIP, zstd),
])
def test_magic_must_match_media_type(env, media_type, make_blob):
    tar = make_tar([f("a", b"a")])
    msg = refused(unpack_tar(env, tar, media_type, make_blob(tar)), errno.EBADMSG, env)
    assert "magic" in msg
    assert not os.listdir(env.layer), "refused before anything was written"


@pytest.mark.parametrize("media_type", [
    "application/vnd.oci.image.layer.v1.tar+xz", "application/octet-stream", "",
    "application/vnd.docker.image.rootfs.diff.tar"])
def test_unknown_media_type(env, media_type):
    tar = make_tar([f("a", b"a")])
    refused(unpack_tar(env, tar, media_type), errno.EINVAL, env)
    assert not os.listdir(env.layer)


@pytest.mark.parametrize("kind", ["chain", "parent", "diff-form", "chain-form"])
def test_bad_ids(env, kind):
    tar = make_tar([f("a", b"a")])
    good = digest(tar)
    kw = {
        "chain": dict(diff_id=good, chain_id=digest(b"other")),
        "parent": dict(diff_id=good, parent=digest(b"p"), chain_id=good),
        "diff-form": dict(diff_id=good.upper(), chain_id=good.upper()),
        "chain-form": dict(diff_id=good, chain_id=good + "0"),
    }[kind]
    refused(env.run(tar, OCI_TAR, **kw), errno.EINVAL, env)
    assert not os.listdir(env.layer)


# --- confinement ----------------------------------------------------------------

def test_confinement_seen_from_outside(env):
    """Blocks brig-unpack on an empty blob pipe, then reads its /proc."""
    tar = make_tar([f("a", b"a")])
    diff_id = digest(tar)
    rfd, wfd = os.pipe()
    layer_fd = os.open(env.layer, os.O_RDONLY | os.O_DIRECTORY)
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    proc = subprocess.Popen(
        [str(UNPACK), "--layer-fd", str(layer_fd), "--blob-fd", str(rfd), "--result-fd",
         str(child_sock.fileno()), "--media-type", OCI_TAR, "--diff-id", diff_id,
         "--chain-id", diff_id],
        pass_fds=(layer_fd, rfd, child_sock.fileno()), stderr=subprocess.PIPE)
    try:
        os.close(rfd)
        child_sock.close()
        os.close(layer_fd)
        deadline = time.monotonic() + 30
        status = {}
        while time.monotonic() < deadline:
            with open(f"/proc/{proc.pid}/status") as fh:
                status = dict(line.rstrip("\n").split(":\t", 1) for line in fh)
            if status.get("Seccomp") == "2":
                break
            time.sleep(0.05)
        # CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, SETFCAP 31; no MKNOD (27)
        want = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 31)
        assert status["Seccomp"] == "2"
        assert int(status["CapEff"], 16) == want
        assert int(status["CapPrm"], 16) == want
        assert int(status["CapBnd"], 16) == want
        assert int(status["CapInh"], 16) == 0
        assert int(status["CapAmb"], 16) == 0
        assert status["NoNewPrivs"] == "1"
        with open(f"/proc/{proc.pid}/limits") as fh:
            limits = fh.read()
        assert any(line.startswith("Max core file size") and line.split()[4:6] == ["0", "0"]
                   for line in limits.splitlines())
        assert any(line.startswith("Max processes") and line.split()[2:4] == ["0", "0"]
                   for line in limits.splitlines())
        with open(f"/proc/{proc.pid}/mountinfo") as fh:
            mounts = fh.read().splitlines()
        assert len(mounts) == 1, mounts
        assert mounts[0].split()[4] == "/" and "nosuid" in mounts[0] and "noexec" in mounts[0]
        for ns in ("mnt", "net", "ipc", "uts"):
            assert os.readlink(f"/proc/{proc.pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")
        assert os.readlink(f"/proc/{proc.pid}/root") == "/"
        os.write(wfd, tar)
    finally:
        os.close(wfd)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    data, fds, _, _ = socket.recv_fds(parent_sock, HDR.size + 65537, 8)
    parent_sock.close()
    assert proc.returncode == 0, proc.stderr.read()
    proc.stderr.close()
    _, _, command, _, status_code, _, _ = HDR.unpack_from(data)
    assert (command, status_code) == (CMD_UNPACK | REPLY, 0)
    assert (env.layer / "a").read_bytes() == b"a"


def test_bad_arguments(env):
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with parent_sock, child_sock:
        proc = subprocess.run([str(UNPACK), "--result-fd", str(child_sock.fileno()),
                               "--bogus"], pass_fds=(child_sock.fileno(),),
                              capture_output=True, timeout=30)
        assert proc.returncode == 1
        data = parent_sock.recv(HDR.size + 65537)
    _, _, command, _, status_code, _, _ = HDR.unpack_from(data)
    assert (command, status_code) == (CMD_UNPACK | REPLY, -errno.EINVAL)
    assert b"--bogus" in data


def test_setgid_parent_and_readonly_dirs(env):
    tar = make_tar([
        d("mail", mode=0o2775, gid=8),
        f("mail/root", b"r", uid=0, gid=0),      # must not inherit the dir's group
        f("mail/user", b"u", uid=1000, gid=8),
        d("ro", mode=0o555),
        f("ro/inside", b"x", mode=0o444),         # written into a read-only dir
        d("ro/sub", mode=0o500),
    ])
    ok(unpack_tar(env, tar))
    L = env.layer
    st = os.lstat(L / "mail")
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o2775, 8)
    assert (os.lstat(L / "mail/root").st_gid, os.lstat(L / "mail/user").st_gid) == (0, 8)
    assert stat.S_IMODE(os.lstat(L / "ro").st_mode) == 0o555
    assert stat.S_IMODE(os.lstat(L / "ro/inside").st_mode) == 0o444
    assert (L / "ro/inside").read_bytes() == b"x"
    assert os.lstat(L / "ro").st_mtime == MTIME


def test_many_small_files(env):
    """More files than one write batch holds, across many directories."""
    members, want = [], {}
    for i in range(700):
        name = f"pkg{i % 37}/m{i // 37}/f{i}"
        data = os.urandom(i % 9000)
        members.append(f(name, data, mode=0o600 | (i % 0o100), uid=i % 3))
        want[name] = (data, 0o600 | (i % 0o100), i % 3)
    r = ok(unpack_tar(env, make_tar(members)))
    assert r.u64(TAG_ENTRIES) == 700
    for name, (data, mode, uid) in want.items():
        st = os.lstat(env.layer / name)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_mtime) == (mode, uid, MTIME)
        assert (env.layer / name).read_bytes() == data


# --- file workers: the same result as a serial unpack -----------------------

def snapshot_tree(root):
    """Every node under root: type, mode, owner, mtime, content or link
    target, and which paths share an inode."""
    out, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(root))
            if stat.S_ISREG(st.st_mode):
                body = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                body = os.readlink(p)
            else:
                body = (os.major(st.st_rdev), os.minor(st.st_rdev))
            # a whiteout's time is its creation's (not the tar's); dirs' come
            # from whichever entry set them last
            keep_time = not (stat.S_ISCHR(st.st_mode) or stat.S_ISDIR(st.st_mode))
            out[rel] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns if keep_time else 0, body)
            if not stat.S_ISDIR(st.st_mode):
                inodes.setdefault(st.st_ino, []).append(rel)
    links = sorted(sorted(v) for v in inodes.values() if len(v) > 1)
    return out, links


def random_layer(seed, n=400):
    """Entries over a small set of names, so that files replace files, dirs
    and symlinks, links and whiteouts name files still pending, and files
    land in directories whose mode changes later."""
    rnd = random.Random(seed)
    dirs = ["", "a", "a/b", "c", "c/d/e"]
    names = [f"n{i}" for i in range(6)]
    members, files = [], []
    for _ in range(n):
        parent = rnd.choice(dirs)
        path = (parent + "/" if parent else "") + rnd.choice(names)
        roll = rnd.random()
        if roll < 0.70:
            data = rnd.randbytes(rnd.choice([0, 1, 100, 4096, 70000]))
            members.append(f(path, data, mode=rnd.choice([0o644, 0o600, 0o755, 0o4755, 0o2711]),
                             uid=rnd.choice([0, 0, 1000]), gid=rnd.choice([0, 0, 50])))
            files.append(path)
        elif roll < 0.78:
            members.append(d(rnd.choice(dirs[1:]), mode=rnd.choice([0o755, 0o2775, 0o700])))
        elif roll < 0.84:
            members.append(link(path, rnd.choice(names)))
        elif roll < 0.90 and set(files) - {path}:
            members.append(link(path, rnd.choice(sorted(set(files) - {path})), tarfile.LNKTYPE))
        elif roll < 0.96:
            members.append(f((parent + "/" if parent else "") + ".wh." + rnd.choice(names)))
        else:
            members.append(({"name": path, "type": tarfile.FIFOTYPE, "mode": 0o600}, None))
    return make_tar(members)


@pytest.mark.parametrize("seed", range(12))
def test_workers_match_a_serial_unpack(env, seed):
    """Four file workers and none give the same tree, or the same error
    naming the same entry: the first failure in tar order."""
    tar = random_layer(seed)
    serial = unpack_tar(env, tar, extra=["--workers", "0"])
    want = (serial.status, serial.error if serial.status else snapshot_tree(env.layer))
    for _ in range(3):
        for child in env.layer.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        r = unpack_tar(env, tar, extra=["--workers", "4"])
        assert (r.status, r.error if r.status else snapshot_tree(env.layer)) == want
    env.assert_outside_untouched()


@pytest.mark.parametrize("members,err", [
    # a worker fails to replace a non-empty dir; a later entry fails on the
    # main thread first: the earlier entry's error is the one reported
    ([d("x"), f("x/in", b"1")] + [f(f"y/f{i}", b"z" * i) for i in range(200)] +
     [f("x", b"file")] + [f(f"y/g{i}", b"z") for i in range(50)] + [f("../escape", b"x")],
     errno.ENOTEMPTY),
    # a pending file, then an entry beneath it
    ([f(f"q/f{i}", b"z") for i in range(100)] + [f("a", b"file"), f("a/b", b"x")], errno.ENOTDIR),
    # a hardlink to, then a whiteout of, files still pending
    ([f(f"q/f{i}", b"z") for i in range(100)] + [f("h1", b"data"), link("h2", "h1", tarfile.LNKTYPE),
                                                 f(".wh.h1"), f("h1", b"new")], 0),
])
def test_workers_keep_tar_order(env, members, err):
    tar = make_tar(members)
    results = []
    for workers in ("0", "4"):
        for child in env.layer.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        r = unpack_tar(env, tar, extra=["--workers", workers])
        assert r.status == -err, (r.status, r.error if r.status else None)
        results.append(r.error if r.status else snapshot_tree(env.layer))
    assert results[0] == results[1]
    if not err:
        assert (env.layer / "h2").read_bytes() == b"data"
        assert (env.layer / "h1").read_bytes() == b"new"
    env.assert_outside_untouched()
