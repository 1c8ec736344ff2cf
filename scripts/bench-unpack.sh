#!/bin/sh
# Times brig-unpack against `tar -xzf` (plus `sync -f`, as brig-unpack ends
# with one) on the same gzip layer of many small files; prints the median
# and best of BENCH_RUNS (default 7) interleaved runs of each and the
# speed-up of the medians. Needs root (brig-unpack confines
# itself with namespaces). Usage: scripts/bench-unpack.sh [BUILD_DIR] [FILES]
# Each run unpacks into a freshly made ext4 filesystem (a loop device with
# its image under $BENCH_DIR, default /var/tmp), because a filesystem that
# has just seen many files deleted makes ext4's inode allocator dominate.
set -eu
build=${1:-build}
files=${2:-30000}
[ -x "$build/brig-unpack" ] || { echo "bench-unpack: $build/brig-unpack not built" >&2; exit 1; }
work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/brig-bench-unpack.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

/usr/bin/python3 - "$build/brig-unpack" "$work" "$files" <<'PY'
import gzip, hashlib, io, os, random, socket, statistics, subprocess, sys, tarfile, time

unpack, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(42)
buf = io.BytesIO()
# A layer like a language runtime's, in the order tar writes a tree: each
# directory, then its files (128 B to 8 KiB of text).
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
    words = [bytes(rnd.choice(b"abcdefghij \n") for _ in range(64)) for _ in range(256)]
    for i in range(n):
        if i % 20 == 0:
            ti = tarfile.TarInfo(f"usr/lib/pkg{i // 1000}/mod{i // 20}")
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1600000000
            tf.addfile(ti)
            parent = ti.name
        data = b"".join(rnd.choice(words) for _ in range(rnd.randint(2, 128)))
        ti = tarfile.TarInfo(f"{parent}/f{i}.py")
        ti.size, ti.mode, ti.mtime = len(data), 0o644, 1600000000
        tf.addfile(ti, io.BytesIO(data))
tar = buf.getvalue()
blob = os.path.join(work, "layer.tar.gz")
with open(blob, "wb") as f:
    f.write(gzip.compress(tar, 6))
diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()


runs = 0


def fresh(name):
    """A new, empty ext4 filesystem for each run: one that has just seen
    many files created and deleted allocates inodes far more slowly, which
    made the figures wander from run to run."""
    global runs
    runs += 1
    path = os.path.join(work, f"{name}{runs}")
    image = path + ".img"
    os.mkdir(path)
    with open(image, "wb") as f:
        f.truncate(2 << 30)
    subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
    subprocess.run(["mount", "-o", "loop", image, path], check=True)
    os.sync()
    return path


def discard(path):
    """Unmounts a run's filesystem and deletes its image, so no run sees
    the last one's data still being written back."""
    subprocess.run(["umount", path], check=False)
    os.unlink(path + ".img")
    os.rmdir(path)


def run_tar(dest):
    t0 = time.monotonic()
    subprocess.run(["tar", "-xzf", blob, "-C", dest], check=True)
    # brig-unpack ends with syncfs() so the helper can publish the layer;
    # the same for tar, or the comparison would leave its data in the cache
    subprocess.run(["sync", "-f", dest], check=True)
    return time.monotonic() - t0


def run_unpack(dest):
    layer = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    b = os.open(blob, os.O_RDONLY)
    a, c = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    t0 = time.monotonic()
    p = subprocess.run([unpack, "--layer-fd", str(layer), "--blob-fd", str(b), "--result-fd",
                        str(c.fileno()), "--media-type",
                        "application/vnd.oci.image.layer.v1.tar+gzip", "--diff-id", diff_id,
                        "--chain-id", diff_id], pass_fds=(layer, b, c.fileno()),
                       stderr=subprocess.DEVNULL)
    dt = time.monotonic() - t0
    status = int.from_bytes(a.recv(65600)[12:16], "little", signed=True)
    for x in (layer, b):
        os.close(x)
    a.close(); c.close()
    if p.returncode != 0 or status != 0:
        sys.exit(f"bench-unpack: brig-unpack failed (exit {p.returncode}, status {status})")
    return dt


times_tar, times_unpack = [], []
for i in range(int(os.environ.get("BENCH_RUNS", "7"))):
    # interleaved, so both see the same state of the machine
    t, u = fresh("t"), fresh("u")
    try:
        times_tar.append(run_tar(t))
        times_unpack.append(run_unpack(u))
        if i == 0 and subprocess.run(["diff", "-r", "-x", "lost+found", t, u],
                                     stdout=subprocess.DEVNULL).returncode != 0:
            sys.exit("bench-unpack: the two trees differ")
    finally:
        discard(t)
        discard(u)
med_tar, med_unpack = statistics.median(times_tar), statistics.median(times_unpack)
print(f"unpack {n} small files ({len(tar) >> 20} MiB tar), median (best) of {len(times_tar)}: "
      f"tar -xzf {med_tar:.3f}s ({min(times_tar):.3f}s), brig-unpack {med_unpack:.3f}s "
      f"({min(times_unpack):.3f}s), speed-up {med_tar / med_unpack:.2f}x")
PY
