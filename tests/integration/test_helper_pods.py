"""POD_CREATE and POD_REMOVE through the root-only debug socket.

A pod's namespaces are made by a child of the helper and pinned under
run_root/ns/<pod id>; the tests look at them from outside with nsenter.
Each refusal must come back with its documented errno, leave nothing under
run_root/ns and keep the connection serving.
"""
import errno
import os
import subprocess
import time

import pytest

from helperproto import (NS_IPC, NS_NET, NS_UTS, POD_CREATE, POD_REMOVE, POD_STATUS, TAG_HOSTNAME,
                         TAG_NS_FLAGS, TAG_POD_ID, TAG_SYSCTL, message, string, u32,
                         u32_value)

ALL = NS_NET | NS_IPC | NS_UTS
POD_A = "a" * 64
POD_B = "b" * 63 + "c"


def ns_dir(brig):
    return brig.run_root / "ns"


def pins_mounted(brig):
    prefix = str(ns_dir(brig)) + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


@pytest.fixture
def pods(brig, conn):
    """The connection; afterwards whatever a failed test left pinned is
    unmounted, so the test's directory can be removed."""
    yield conn
    for path in pins_mounted(brig):
        subprocess.run(["umount", "-l", path], check=False)


def create_payload(pod_id, flags=ALL, hostname=None, sysctls=()):
    p = string(TAG_POD_ID, pod_id) + u32(TAG_NS_FLAGS, flags)
    if hostname is not None:
        p += string(TAG_HOSTNAME, hostname)
    for s in sysctls:
        p += string(TAG_SYSCTL, s)
    return p


def create(conn, pod_id, **kw):
    return conn.request(POD_CREATE, create_payload(pod_id, **kw))


def remove(conn, pod_id):
    return conn.request(POD_REMOVE, string(TAG_POD_ID, pod_id))


def inside(pin_args, *cmd):
    return subprocess.run(["nsenter", *pin_args, *cmd], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_pin_directory_is_roots_alone(brig):
    st = os.stat(ns_dir(brig))
    assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o700)


def test_create_pins_namespaces_and_remove_unpins(brig, pods):
    host_port_start = open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read()
    host_shmmni = open("/proc/sys/kernel/shmmni").read()
    host_name = os.uname().nodename
    r = create(pods, POD_A, hostname="pod-a.example", sysctls=[
        "net.ipv4.ip_unprivileged_port_start=80",
        "net/ipv4/ping_group_range=0 2147483647",
        "kernel.shmmni=1024",
    ])
    assert r.status == 0, r.error_message
    pod = ns_dir(brig) / POD_A
    # the pins, and the pod's /dev/shm tmpfs, which comes with its IPC namespace
    assert sorted(os.listdir(pod)) == ["ipc", "net", "shm", "uts"]
    assert sorted(pins_mounted(brig)) == sorted(str(pod / n) for n in ("ipc", "net", "shm", "uts"))
    for name in ("net", "ipc", "uts"):
        assert os.stat(pod / name).st_ino != os.stat(f"/proc/self/ns/{name}").st_ino
    net, ipc, uts = (f"--net={pod / 'net'}", f"--ipc={pod / 'ipc'}", f"--uts={pod / 'uts'}")
    assert inside([uts], "hostname") == "pod-a.example"
    assert os.uname().nodename == host_name
    assert "UP" in inside([net], "ip", "-o", "link", "show", "lo").split(">")[0]
    assert len(inside([net], "ip", "-o", "link").splitlines()) == 1  # lo only
    assert inside([net], "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start") == "80"
    assert inside([net], "cat", "/proc/sys/net/ipv4/ping_group_range").split() == \
        ["0", "2147483647"]
    assert inside([ipc], "cat", "/proc/sys/kernel/shmmni") == "1024"
    assert open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read() == host_port_start
    assert open("/proc/sys/kernel/shmmni").read() == host_shmmni

    r = remove(pods, POD_A)
    assert r.status == 0, r.error_message
    assert pins_mounted(brig) == []
    assert os.listdir(ns_dir(brig)) == []
    r = remove(pods, POD_A)
    assert r.status == 0, r.error_message
    pods.ping()


def test_node_namespaces_are_not_pinned(brig, pods):
    r = create(pods, POD_A, flags=0)
    assert r.status == 0, r.error_message
    assert os.listdir(ns_dir(brig) / POD_A) == []
    r = create(pods, POD_B, flags=NS_NET)
    assert r.status == 0, r.error_message
    assert os.listdir(ns_dir(brig) / POD_B) == ["net"]
    assert pins_mounted(brig) == [str(ns_dir(brig) / POD_B / "net")]
    for pod in (POD_A, POD_B):
        assert remove(pods, pod).status == 0
    assert os.listdir(ns_dir(brig)) == []


def test_second_create_of_a_pod_is_refused(brig, pods):
    assert create(pods, POD_A).status == 0
    r = create(pods, POD_A)
    assert r.status == -errno.EEXIST, r.error_message
    assert POD_A in r.error_message
    assert len(pins_mounted(brig)) == 4
    assert remove(pods, POD_A).status == 0


@pytest.mark.parametrize("pod_id", [
    "A" * 64,                 # uppercase
    "a" * 63,                 # short
    "a" * 65,                 # long
    "sha256:" + "a" * 64,     # a digest, not a pod id
    "../" + "a" * 61,         # path trickery
    "g" * 64,                 # not hex
])
def test_bad_pod_ids_refused(brig, pods, pod_id):
    for r in (create(pods, pod_id), remove(pods, pod_id)):
        if len(pod_id) > 64:  # the schema's length limit comes first
            assert r.status == -errno.EMSGSIZE, r.error_message
        else:
            assert r.status == -errno.EINVAL, r.error_message
            assert "64 lowercase hex" in r.error_message
    assert os.listdir(ns_dir(brig)) == []
    pods.ping()


@pytest.mark.parametrize("kw,code,needle", [
    (dict(flags=16), errno.EINVAL, "unknown namespace flags"),
    (dict(flags=NS_NET | NS_IPC, hostname="pod"), errno.EPERM, "node's UTS"),
    (dict(hostname=""), errno.EINVAL, "1 to 63"),
    (dict(hostname="a" * 64), errno.EINVAL, "1 to 63"),
    (dict(hostname="Pod"), errno.EINVAL, "lowercase"),
    (dict(hostname="-pod"), errno.EINVAL, "lowercase"),
    (dict(hostname="pod..a"), errno.EINVAL, "lowercase"),
    (dict(hostname="pod_a"), errno.EINVAL, "lowercase"),
    (dict(hostname="pod\nx"), errno.EINVAL, "lowercase"),
    (dict(sysctls=["kernel.core_pattern=|/tmp/x"]), errno.EPERM, "not namespaced"),
    (dict(sysctls=["kernel.hostname=x"]), errno.EPERM, "not namespaced"),
    (dict(sysctls=["vm.overcommit_memory=1"]), errno.EPERM, "not namespaced"),
    # CVE-2022-0811: a second assignment hidden in the value
    (dict(sysctls=["kernel.shm_rmid_forced=1+kernel.core_pattern=|/tmp/x"]), errno.EINVAL,
     "value has a character"),
    (dict(sysctls=["net.ipv4.ip_forward=1\nkernel.core_pattern=|/tmp/x"]), errno.EINVAL,
     "value has a character"),
    (dict(sysctls=["net.ipv4.ip_forward=1;x"]), errno.EINVAL, "value has a character"),
    (dict(sysctls=["net/../kernel/core_pattern=1"]), errno.EINVAL, "'..' component"),
    (dict(sysctls=["net.ipv4..ip_forward=1"]), errno.EINVAL, "empty component"),
    (dict(sysctls=["net.ipv4.ip_forward.=1"]), errno.EINVAL, "ends with"),
    (dict(sysctls=["net.ipv4.ip_forward"]), errno.EINVAL, "name=value"),
    (dict(sysctls=["net.ipv4.ip_forward="]), errno.EINVAL, "1 to 127 bytes"),
    (dict(sysctls=["net.ipv4.ip_forward=" + "1" * 128]), errno.EINVAL, "1 to 127 bytes"),
    (dict(sysctls=["net.ipv4.conf.all.forwarding/x=1"]), errno.EPERM, "not namespaced"),
    (dict(sysctls=["net.ipv4.ip_forward=1=2"]), errno.EINVAL, "value has a character"),
    (dict(sysctls=["net.ipv4.ip_*=1"]), errno.EINVAL, "a character other"),
    (dict(flags=NS_IPC | NS_UTS, sysctls=["net.ipv4.ip_forward=1"]), errno.EPERM,
     "node's network"),
    (dict(flags=NS_NET | NS_UTS, sysctls=["kernel.shmmax=1"]), errno.EPERM, "node's IPC"),
    (dict(flags=NS_NET | NS_UTS, sysctls=["fs.mqueue.msg_max=20"]), errno.EPERM, "node's IPC"),
])
def test_bad_requests_refused(brig, pods, kw, code, needle):
    r = create(pods, POD_A, **kw)
    assert r.status == -code, r.error_message
    assert needle in r.error_message
    assert os.listdir(ns_dir(brig)) == []
    pods.ping()


def test_failure_in_the_child_is_reported_and_cleaned_up(brig, pods):
    r = create(pods, POD_A, sysctls=["net.ipv4.no_such_sysctl=1"])
    assert r.status == -errno.ENOENT, r.error_message
    assert "no such sysctl" in r.error_message and POD_A in r.error_message
    assert pins_mounted(brig) == []
    assert os.listdir(ns_dir(brig)) == []
    pods.ping()


def test_too_many_sysctls_refused_by_schema(brig, pods):
    r = create(pods, POD_A, sysctls=["net.ipv4.ip_forward=1"] * 33)
    assert r.status == -errno.EINVAL
    assert os.listdir(ns_dir(brig)) == []
    pods.ping()


def test_creates_run_side_by_side(brig, pods):
    ids = [f"{i:064x}" for i in range(1, 11)]
    start = time.monotonic()
    for n, pod_id in enumerate(ids):
        pods.send(message(POD_CREATE, 1000 + n, create_payload(pod_id, hostname=f"pod{n}")))
    replies = [pods.recv() for _ in ids]
    assert sorted(r.request_id for r in replies) == list(range(1000, 1010))
    assert all(r.status == 0 for r in replies), [r.error_message for r in replies if r.status]
    assert time.monotonic() - start < 10
    assert len(pins_mounted(brig)) == 40  # 3 pins and the shm each
    for n, pod_id in enumerate(ids):
        assert inside([f"--uts={ns_dir(brig) / pod_id / 'uts'}"], "hostname") == f"pod{n}"
    for pod_id in ids:
        assert remove(pods, pod_id).status == 0
    assert pins_mounted(brig) == [] and os.listdir(ns_dir(brig)) == []


def pinned(conn, pod_id):
    r = conn.request(POD_STATUS, string(TAG_POD_ID, pod_id))
    assert r.status == 0, r.error_message
    return u32_value(r.fields[TAG_NS_FLAGS][0])


def test_status_reports_what_is_pinned(brig, pods):
    assert pinned(pods, POD_A) == 0
    assert create(pods, POD_A).status == 0
    assert pinned(pods, POD_A) == ALL
    assert create(pods, POD_B, flags=NS_NET).status == 0
    assert pinned(pods, POD_B) == NS_NET
    # as after a reboot: the pin files are there, the mounts are not
    subprocess.run(["umount", "-l", str(ns_dir(brig) / POD_A / "net")], check=True)
    assert pinned(pods, POD_A) == NS_IPC | NS_UTS
    for pod in (POD_A, POD_B):
        assert remove(pods, pod).status == 0
        assert pinned(pods, pod) == 0
    r = pods.request(POD_STATUS, string(TAG_POD_ID, "A" * 64))
    assert r.status == -errno.EINVAL
    pods.ping()
