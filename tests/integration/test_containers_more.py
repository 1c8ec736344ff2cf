"""More CRI container tests: a read-only rootfs, the image's user and
run_as_user, refused requests (what code, what message, and that nothing is
left behind), two containers sharing their pod's network, and many
containers through their whole life.

The fixtures and the client are test_containers.py's; the images beyond its
busybox are built here with registry.py's Images (files, User and Cmd of
their own) and pushed to the same module registry.
"""
import glob
import json
import os
import subprocess
import threading
import time
import uuid

import grpc
import pytest

from conftest import wait_for
from registry import Images, Sparse, Symlink
from test_containers import (EXITED, RUNNING, SLEEP, TRUE, brig, ctrs,  # noqa: F401
                             log_lines, registry_image, run_to_exit)
from test_pods import NODE, expect_error, pod_config, pods, unique_metadata  # noqa: F401

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("BRIG_BUILD", "build"), "brig-unpack")),
    reason="brig-unpack is not built")

# The image's users: 1000 is the image's User, toor is root under another
# name (an old trick to get uid 0 past a check on the name).
PASSWD = (b"root:x:0:0:root:/root:/bin/sh\n"
          b"toor:x:0:0:another root:/root:/bin/sh\n"
          b"app:x:1000:1000:app:/home/app:/bin/sh\n")
GROUP = b"root:x:0:\napp:x:1000:\n"
USERDB_MAX_FILE = 4 << 20  # privhelper/userdb.h
# A path that exists on the host only: an image's /etc/passwd that points
# at it must not be read through to it.
HOST_ONLY_PASSWD = f"/tmp/brig-host-only-passwd-{uuid.uuid4().hex[:8]}"


class ExtraImages:
    """The images beyond busybox, each built and pushed on first use."""

    def __init__(self, reg, directory):
        self.reg = reg
        self.images = Images(directory)
        self.refs = {}
        self.lock = threading.Lock()

    def build(self, name, **kw):
        with self.lock:
            if name not in self.refs:
                self.reg.push(self.images.single_layer(**kw), f"test/{name}:1")
                self.refs[name] = f"{self.reg.host}/test/{name}:1"
            return self.refs[name]

    def user(self):
        return self.build("user", user="1000:1000",
                          files={"/etc/passwd": PASSWD, "/etc/group": GROUP})

    def no_cmd(self):
        return self.build("nocmd", cmd=None)

    def passwd_to_host(self):
        # absolute, and relative with more ".." than the rootfs is deep:
        # inside the container both stay in its root, where the file is not
        return self.build("passwd-host", user="root",
                          files={"/etc/passwd": Symlink(HOST_ONLY_PASSWD),
                                 "/etc/group": Symlink("../../../../../../.." + HOST_ONLY_PASSWD)})

    def passwd_to_shadow(self):
        return self.build("passwd-shadow", user="root",
                          files={"/etc/passwd": Symlink("/etc/shadow")})

    def huge_passwd(self):
        # 1 GiB of zeros gzips to about 1 MiB: cheap to push and pull
        return self.build("huge-passwd", user="root", files={"/etc/passwd": Sparse(1 << 30)})


@pytest.fixture(scope="module")
def extra(registry_image, tmp_path_factory):  # noqa: F811
    reg, _ = registry_image
    directory = tmp_path_factory.mktemp("ctr-more-images")
    with open(HOST_ONLY_PASSWD, "w") as f:
        f.write("root:x:0:0:the host's root:/root:/bin/sh\n")
    try:
        yield ExtraImages(reg, directory)
    finally:
        os.unlink(HOST_ONLY_PASSWD)


def security_context(req):
    return req.config.linux.security_context


def helper_dirs(brig):  # noqa: F811
    d = brig.root / "containers"
    return [n for n in os.listdir(d) if not n.startswith(".")] if d.exists() else []


def mounts_below(path):
    prefix = str(path) + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


def runc_ids(brig):  # noqa: F811
    runc_root = brig.run_root / "runtimes" / "runc"
    if not runc_root.is_dir():
        return []
    return subprocess.run(["runc", "--root", str(runc_root), "list", "-q"], check=True,
                          capture_output=True, text=True).stdout.split()


def container_cgroups(ctr_id):
    """The container's cgroups on any hierarchy (v1 per controller, v2)."""
    return (glob.glob(f"/sys/fs/cgroup/*/brig/brig-{ctr_id}") +
            glob.glob(f"/sys/fs/cgroup/brig/brig-{ctr_id}"))


def assert_nothing_left(brig, ctrs, ids=()):  # noqa: F811
    """No container in CRI, no record, no helper directory, no rootfs mount,
    no runtime state, no cgroup."""
    assert ctrs.list() == []
    assert ctrs.records() == []
    assert helper_dirs(brig) == []
    assert mounts_below(brig.root / "containers") == []
    assert runc_ids(brig) == []
    for ctr_id in ids:
        assert container_cgroups(ctr_id) == [], ctr_id


def refused(ctrs, code, req):  # noqa: F811
    """Sends req, expects code, checks nothing is left and the name is free;
    returns the error's details."""
    err = expect_error(code, ctrs.create_raw, req)
    assert_nothing_left(ctrs.brig, ctrs)
    return err.details()


# --- a read-only rootfs ----------------------------------------------------------

def test_readonly_rootfs_refuses_writes_but_dev_shm_is_writable(ctrs):  # noqa: F811
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, command=SLEEP)
    security_context(req).readonly_rootfs = True
    ctr_id = ctrs.create_raw(req)
    ctrs.start(ctr_id)
    r = ctrs.exec_sync(ctr_id, ["busybox", "touch", "/x"])
    assert r.exit_code != 0
    assert b"Read-only file system" in r.stderr, r.stderr
    # (the image has no /tmp: with a read-only rootfs only a mount could add one)
    r = ctrs.exec_sync(ctr_id, ["sh", "-c", "echo hi > /dev/shm/x && busybox cat /dev/shm/x"])
    assert (r.exit_code, r.stdout) == (0, b"hi\n"), r.stderr
    # the same image without the flag is writable: it is the flag that did it
    other = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(other)
    assert ctrs.exec_sync(other, ["busybox", "touch", "/x"]).exit_code == 0
    ctrs.remove(other)
    ctrs.remove(ctr_id)


# --- the image's user ------------------------------------------------------------

def ids_of(ctrs, ctr_id):  # noqa: F811
    r = ctrs.exec_sync(ctr_id, ["sh", "-c", "busybox id -u; busybox id -g"])
    assert r.exit_code == 0, r.stderr
    return r.stdout.decode().split()


def test_image_user_is_used_and_run_as_user_overrides_it(ctrs, extra):  # noqa: F811
    image = extra.user()
    ctrs.pull(image)
    pod_id, cfg = ctrs.run_pod()
    as_image = ctrs.create(pod_id, cfg, image=image, command=SLEEP)
    ctrs.start(as_image)
    assert ids_of(ctrs, as_image) == ["1000", "1000"]

    req = ctrs.create_request(pod_id, cfg, image=image, command=SLEEP)
    security_context(req).run_as_user.value = 2000
    as_2000 = ctrs.create_raw(req)
    ctrs.start(as_2000)
    uid, _ = ids_of(ctrs, as_2000)
    assert uid == "2000"

    # a run_as_username the image's /etc/passwd knows
    req = ctrs.create_request(pod_id, cfg, image=image, command=SLEEP)
    security_context(req).run_as_username = "app"
    by_name = ctrs.create_raw(req)
    ctrs.start(by_name)
    assert ids_of(ctrs, by_name) == ["1000", "1000"]
    for ctr_id in (as_image, as_2000, by_name):
        ctrs.remove(ctr_id)


# --- refused requests --------------------------------------------------------------

def test_device_outside_dev_is_invalid_argument(ctrs):  # noqa: F811
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, command=TRUE)
    req.config.devices.add(container_path="/dev/mine", host_path="/etc/passwd",
                           permissions="rwm")
    details = refused(ctrs, grpc.StatusCode.INVALID_ARGUMENT, req)
    assert "/etc/passwd" in details and "outside /dev" in details, details
    # a path that only starts in /dev and climbs out is no better
    req = ctrs.create_request(pod_id, cfg, command=TRUE)
    req.config.devices.add(container_path="/dev/mine", host_path="/dev/../etc/passwd",
                           permissions="rwm")
    details = refused(ctrs, grpc.StatusCode.INVALID_ARGUMENT, req)
    assert "/dev/../etc/passwd" in details, details


def test_missing_mount_source_is_refused_and_leaves_nothing(brig, ctrs):  # noqa: F811
    pod_id, cfg = ctrs.run_pod()
    missing = str(brig.base / "no-such-dir")
    req = ctrs.create_request(pod_id, cfg, command=TRUE)
    req.config.mounts.add(container_path="/data", host_path=missing)
    # The helper finds the source missing (ENOENT) after it has mounted the
    # rootfs; brigd maps ENOENT to NOT_FOUND. kubelet only needs an error
    # that names the path, and everything undone.
    details = refused(ctrs, grpc.StatusCode.NOT_FOUND, req)
    assert missing in details, details
    # the name is free again
    ctrs.create_raw(ctrs.create_request(pod_id, cfg, name=req.config.metadata.name,
                                        command=TRUE))


def test_no_command_and_no_image_cmd_is_invalid_argument(ctrs, extra):  # noqa: F811
    image = extra.no_cmd()
    ctrs.pull(image)
    pod_id, cfg = ctrs.run_pod()
    details = refused(ctrs, grpc.StatusCode.INVALID_ARGUMENT,
                      ctrs.create_request(pod_id, cfg, image=image))
    assert "no command" in details and "Entrypoint or Cmd" in details, details
    # args alone are a command: the image's Entrypoint (none) then the args
    ctr_id, st = run_to_exit(ctrs, pod_id, cfg, image=image, args=["sh", "-c", "exit 4"])
    assert st.exit_code == 4


def test_an_argument_with_a_nul_byte_is_cut_at_the_nul(brig, ctrs):  # noqa: F811
    """protobuf-c hands brigd repeated string fields as C strings: an
    argument "a\\0b" arrives as "a" and brigd cannot tell. (Env values are
    bytes in brig's api.proto, so a NUL there is seen and refused, see
    test_containers.py's bad_env.) This records what happens today: the
    container runs with the argument cut, nothing from after the NUL
    reaches it."""
    pod_id, cfg = ctrs.run_pod()
    ctr_id, st = run_to_exit(ctrs, pod_id, cfg, log_path="nul.log",
                             command=["sh", "-c", "echo before\0; echo after"])
    assert st.exit_code == 0
    texts = [t for _, _, t in log_lines(brig, cfg, "nul.log")]
    assert texts == ["before"], texts
    # ExecSync's cmd is cut the same way
    running = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(running)
    r = ctrs.exec_sync(running, ["sh", "-c", "echo one\0; echo two"])
    assert (r.exit_code, r.stdout) == (0, b"one\n")
    ctrs.remove(running)


def test_non_root_name_that_is_uid_0_is_refused(ctrs, extra):  # noqa: F811
    image = extra.user()
    ctrs.pull(image)
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, image=image, command=TRUE)
    security_context(req).run_as_username = "toor"
    details = refused(ctrs, grpc.StatusCode.INVALID_ARGUMENT, req)
    assert '"toor"' in details and "uid 0" in details, details


def test_passwd_symlinks_resolve_inside_the_container(ctrs, extra):  # noqa: F811
    """An image's /etc/passwd that is a symlink to a host path: the lookup
    follows it inside the container's root, where the target is absent, so
    the image's user "root" is not found (the host file, which has root,
    is never read) and the create is refused naming the missing file."""
    for image in (extra.passwd_to_host(), extra.passwd_to_shadow()):
        ctrs.pull(image)
        pod_id, cfg = ctrs.run_pod()
        details = refused(ctrs, grpc.StatusCode.NOT_FOUND,
                          ctrs.create_request(pod_id, cfg, image=image, command=TRUE))
        assert 'image user "root"' in details and "no /etc/passwd" in details, details


def test_huge_passwd_is_refused_quickly_naming_the_size(ctrs, extra):  # noqa: F811
    image = extra.huge_passwd()
    ctrs.pull(image)
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, image=image, command=TRUE)
    t0 = time.monotonic()
    err = expect_error(grpc.StatusCode.INVALID_ARGUMENT, ctrs.create_raw, req)
    assert time.monotonic() - t0 < 10
    details = err.details()
    assert "/etc/passwd" in details and str(USERDB_MAX_FILE) in details, details
    assert str(1 << 30) in details, details
    assert_nothing_left(ctrs.brig, ctrs)


# --- a pod's containers share its network --------------------------------------------

def test_two_containers_of_a_pod_share_its_network(brig, ctrs):  # noqa: F811
    # the pod's own network namespace, through the default CNI network
    meta = unique_metadata()
    cfg = pod_config(metadata=meta)
    cfg.log_directory = str(brig.pod_log_root / f"{meta.namespace}_{meta.name}_{meta.uid}")
    os.makedirs(cfg.log_directory)
    pod_id = ctrs.pods.run(cfg)
    assert ctrs.pods.status(pod_id).status.network.ip

    server = ctrs.create(pod_id, cfg, name="server",
                         command=["busybox", "httpd", "-f", "-p", "8080", "-h", "/"])
    ctrs.start(server)
    marker = uuid.uuid4().hex
    r = ctrs.exec_sync(server, ["sh", "-c", f"echo {marker} > /marker"])
    assert r.exit_code == 0, r.stderr
    client = ctrs.create(pod_id, cfg, name="client", command=SLEEP)
    ctrs.start(client)

    def fetch():
        r = ctrs.exec_sync(client, ["busybox", "wget", "-q", "-O-",
                                    "http://127.0.0.1:8080/marker"], 10)
        return r.exit_code == 0 and r.stdout

    # the marker is in the server's rootfs only: it came over the pod's lo
    assert wait_for(fetch, 20, "the server's answer") == f"{marker}\n".encode()
    assert ctrs.exec_sync(client, ["busybox", "test", "-e", "/marker"]).exit_code != 0
    ctrs.remove(client)
    ctrs.remove(server)


def test_termination_message_file_is_written_through(brig, ctrs):  # noqa: F811
    # kubelet makes the file on the node and sends it as an ordinary mount
    # at the container's terminationMessagePath
    host_file = brig.base / "termination-log"
    host_file.write_text("")
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, command=["sh", "-c",
                                                    "echo bye > /dev/termination-log; exit 2"])
    req.config.mounts.add(container_path="/dev/termination-log", host_path=str(host_file))
    ctr_id = ctrs.create_raw(req)
    ctrs.start(ctr_id)
    st = ctrs.wait_state(ctr_id, EXITED)
    assert st.exit_code == 2
    assert host_file.read_text() == "bye\n"


def shm_mounts(brig):
    prefix = str(brig.run_root / "ns") + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f
                if line.split()[4].startswith(prefix) and line.split()[4].endswith("/shm")]


def test_containers_of_a_pod_share_its_dev_shm(brig, ctrs):  # noqa: F811
    pod_id, cfg = ctrs.run_pod()
    assert shm_mounts(brig) == [str(brig.run_root / "ns" / pod_id / "shm")]
    writer = ctrs.create(pod_id, cfg, name="writer", command=SLEEP)
    reader = ctrs.create(pod_id, cfg, name="reader", command=SLEEP)
    ctrs.start(writer)
    ctrs.start(reader)
    marker = uuid.uuid4().hex
    r = ctrs.exec_sync(writer, ["sh", "-c", f"echo {marker} > /dev/shm/m"])
    assert r.exit_code == 0, r.stderr
    r = ctrs.exec_sync(reader, ["busybox", "cat", "/dev/shm/m"])
    assert r.exit_code == 0 and r.stdout == f"{marker}\n".encode()
    r = ctrs.exec_sync(reader, ["busybox", "df", "-k", "/dev/shm"])
    assert r.exit_code == 0 and " 65536 " in r.stdout.decode(), r.stdout
    # another pod's containers do not see it
    other_pod, other_cfg = ctrs.run_pod()
    other = ctrs.create(other_pod, other_cfg, command=SLEEP)
    ctrs.start(other)
    assert ctrs.exec_sync(other, ["busybox", "test", "-e", "/dev/shm/m"]).exit_code != 0
    for pid in (pod_id, other_pod):
        ctrs.pods.stop(pid)
        ctrs.pods.remove(pid)
    assert shm_mounts(brig) == []


def test_a_node_ipc_pod_uses_the_nodes_dev_shm(brig, ctrs):  # noqa: F811
    pod_id, cfg = ctrs.run_pod(ipc=NODE)
    assert shm_mounts(brig) == []
    name = f"brig-test-{uuid.uuid4().hex[:8]}"
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    try:
        r = ctrs.exec_sync(ctr_id, ["sh", "-c", f"echo node > /dev/shm/{name}"])
        assert r.exit_code == 0, r.stderr
        with open(f"/dev/shm/{name}") as f:
            assert f.read() == "node\n"
    finally:
        if os.path.exists(f"/dev/shm/{name}"):
            os.unlink(f"/dev/shm/{name}")
    ctrs.remove(ctr_id)


# --- many containers -------------------------------------------------------------------

def test_a_hundred_containers_leave_nothing_behind(brig, ctrs):  # noqa: F811
    pod_id, cfg = ctrs.run_pod()
    threads_n, per_thread = 4, 25
    ids, errors = [], []
    lock = threading.Lock()

    def worker(w):
        try:
            for i in range(per_thread):
                ctr_id = ctrs.create(pod_id, cfg, name=f"w{w}-{i}", command=SLEEP)
                with lock:
                    ids.append(ctr_id)
                ctrs.start(ctr_id)
                ctrs.wait_state(ctr_id, RUNNING)
                ctrs.stop(ctr_id, timeout=0)
                assert ctrs.status(ctr_id).status.state == EXITED
                ctrs.remove(ctr_id)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(threads_n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    assert errors == [], errors
    assert len(set(ids)) == threads_n * per_thread
    print(f"{len(ids)} containers created, started, stopped and removed in {took:.1f}s")
    assert_nothing_left(brig, ctrs, ids)
    # the pod is untouched and still takes containers
    ctr_id, st = run_to_exit(ctrs, pod_id, cfg, command=TRUE)
    assert st.exit_code == 0


def test_oom_score_below_what_the_node_allows_is_clamped(ctrs):  # noqa: F811
    """kubelet gives a Guaranteed pod's containers -997; where root lacks
    CAP_SYS_RESOURCE (this machine) the node refuses any score below the
    helper's own, and the container must still run, with the lowest score
    it may have."""
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, command=SLEEP)
    req.config.linux.resources.oom_score_adj = -997
    ctr_id = ctrs.create_raw(req)
    ctrs.start(ctr_id)
    st = ctrs.status(ctr_id, verbose=True)
    assert st.status.state == RUNNING
    pid = json.loads(st.info["info"])["pid"]
    with open(f"/proc/{pid}/oom_score_adj") as f:
        score = int(f.read())
    with open(f"/proc/{ctrs.brig.proc.pid}/oom_score_adj") as f:
        helper = int(f.read())
    assert score == -997 or score == helper, (score, helper)
    ctrs.remove(ctr_id)
