"""CTR_CREATE, CTR_START, CTR_KILL, CTR_DELETE and CTR_STATUS through the
root-only debug socket, with real runc, a real overlay of a layer unpacked
by the helper from a busybox-static tar, and the pod's real brig-monitor.

Every refusal must come back with its documented errno before anything is
made (no container directory, no mount, no monitor) and keep the connection
serving.
"""
import errno
import io
import json
import os
import stat
import subprocess
import tarfile
import time

import pytest

from conftest import alive, children_of, monitor_pid, proc_status, wait_for
from helperproto import (NS_PID, TAG_CGROUP_PARENT, CTR_CREATE, CTR_DELETE, CTR_F_RUN_AS_NON_ROOT, CTR_F_STDIN,
                         CTR_F_STDIN_ONCE, CTR_KILL, CTR_M_READONLY, CTR_START, CTR_STATUS,
                         MOUNT_POD_HOSTS, MOUNT_POD_RESOLV, NS_IPC, NS_NET, NS_UTS, POD_CREATE,
                         POD_FILES, POD_REMOVE, TAG_CTR_ID, TAG_CTR_SPEC_FD, TAG_EXIT_TIME,
                         TAG_HOSTNAME, TAG_NS_FLAGS, TAG_PID, TAG_POD_ID, TAG_RUNNING,
                         TAG_RUNTIME_HANDLER, TAG_SIGNAL, TAG_WAIT_STATUS, UNPACK, ctr_spec,
                         fd_field, memfd_with, message, string, u32, u32_value, u64_value)
from test_helper_unpack import sha, unpack_payload

POD = "c0" * 32
CTR = "d1" * 32
CTR2 = "e2" * 32
BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "echo", "sleep", "cat", "id", "ls", "touch", "env", "pwd", "true", "tail"]
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n" \
         b"app:x:1000:1000::/home/app:/bin/sh\ntoor:x:0:0::/:/bin/sh\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n"


def busybox_tar(extra=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in ("bin", "etc", "tmp", "home", "home/app"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            t.addfile(info)
        with open(BUSYBOX, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        t.addfile(info, io.BytesIO(data))
        for a in APPLETS:
            info = tarfile.TarInfo("bin/" + a)
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            t.addfile(info)
        files = {"etc/passwd": PASSWD, "etc/group": GROUP}
        files.update(extra or {})
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):  # ("symlink", target)
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                t.addfile(info)
                continue
            info.size, info.mode = len(content), 0o644
            t.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def unpack(brig, conn, data):
    diff = sha(data)
    path = brig.base / ("layer-" + diff[7:19])
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        r = conn.request(UNPACK, unpack_payload(chain=diff, diff_id=diff), fds=[fd])
    finally:
        os.close(fd)
    assert r.status == 0, r.error_message
    return diff


def create_pod(conn, flags=NS_NET | NS_IPC | NS_UTS, extra=b""):
    r = conn.request(POD_CREATE, string(TAG_POD_ID, POD) + u32(TAG_NS_FLAGS, flags)
                     + string(TAG_HOSTNAME, "web-0") + extra)
    assert r.status == 0, r.error_message


@pytest.fixture
def ctr(brig, conn, request):
    """A created pod with its own namespaces and files, and a busybox layer.
    A test marked pod_extra(flags, payload) gets its pod made that way."""
    mark = request.node.get_closest_marker("pod_extra")
    create_pod(conn, *(mark.args if mark else ()))
    r = conn.request(POD_FILES, string(TAG_POD_ID, POD) + string(TAG_HOSTNAME, "web-0"))
    assert r.status == 0, r.error_message
    conn.layer = unpack(brig, conn, busybox_tar())
    conn.log_dir = brig.pod_log_root / "default_web-0_uid1"
    yield conn
    for cid in (CTR, CTR2):
        conn.request(CTR_DELETE, string(TAG_CTR_ID, cid))
    conn.request(POD_REMOVE, string(TAG_POD_ID, POD))


def spec(conn, args, **kw):
    kw.setdefault("log_directory", str(conn.log_dir))
    kw.setdefault("log_path", "app/0.log")
    return ctr_spec(args, [kw.pop("layer", conn.layer)], **kw)


def create(conn, cid, data, pod=POD, extra=b""):
    fd = memfd_with(data)
    try:
        return conn.request(CTR_CREATE, string(TAG_POD_ID, pod) + string(TAG_CTR_ID, cid)
                            + fd_field(TAG_CTR_SPEC_FD, 0) + extra, fds=[fd])
    finally:
        os.close(fd)


def status(conn, cid):
    r = conn.request(CTR_STATUS, string(TAG_CTR_ID, cid))
    assert r.status == 0, r.error_message
    out = {"running": u32_value(r.fields[TAG_RUNNING][0]) == 1}
    if TAG_PID in r.fields:
        out["pid"] = u32_value(r.fields[TAG_PID][0])
    if TAG_WAIT_STATUS in r.fields:
        out["wait_status"] = u32_value(r.fields[TAG_WAIT_STATUS][0])
        out["exit_time"] = u64_value(r.fields[TAG_EXIT_TIME][0])
    return out


def wait_exit(conn, cid, timeout=10):
    wait_for(lambda: "wait_status" in status(conn, cid), timeout, f"container {cid} to exit")
    return status(conn, cid)


def containers(brig):
    d = brig.root / "containers"
    return sorted(os.listdir(d)) if d.exists() else []


def mounts_below(brig):
    prefix = str(brig.root / "containers") + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


def run(conn, cid, data):
    r = create(conn, cid, data)
    assert r.status == 0, r.error_message
    r = conn.request(CTR_START, string(TAG_CTR_ID, cid))
    assert r.status == 0, r.error_message
    return wait_exit(conn, cid)


def log_lines(conn, name="app/0.log"):
    return (conn.log_dir / name).read_text().splitlines()


def test_create_start_exit_delete(brig, ctr):
    before = time.time_ns()
    r = create(ctr, CTR, spec(ctr, ["/bin/sh", "-c", "echo hello; echo err >&2; exit 3"]))
    assert r.status == 0, r.error_message
    pid = u32_value(r.fields[TAG_PID][0])
    st = status(ctr, CTR)
    assert st["pid"] == pid and st["running"] and "wait_status" not in st
    d = brig.root / "containers" / CTR
    assert (d / "pod").read_text() == POD
    cfg = d / "config.json"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600 and cfg.stat().st_uid == 0
    assert str(d / "rootfs") in mounts_below(brig)

    assert ctr.request(CTR_START, string(TAG_CTR_ID, CTR)).status == 0
    st = wait_exit(ctr, CTR)
    assert os.WIFEXITED(st["wait_status"]) and os.WEXITSTATUS(st["wait_status"]) == 3
    assert before <= st["exit_time"] <= time.time_ns()
    assert not st["running"]
    wait_for(lambda: len(log_lines(ctr)) == 2, 5, "both lines in the log")
    lines = sorted(log_lines(ctr), key=lambda l: l.split()[1])
    assert lines[0].split(" ", 3)[1:] == ["stderr", "F", "err"]
    assert lines[1].split(" ", 3)[1:] == ["stdout", "F", "hello"]

    assert ctr.request(CTR_DELETE, string(TAG_CTR_ID, CTR)).status == 0
    assert containers(brig) == [] and mounts_below(brig) == []
    runc = subprocess.run(["runc", "--root", str(brig.run_root / "runtimes" / "runc"), "list", "-q"],
                          capture_output=True, text=True)
    assert runc.stdout.split() == []
    # idempotent
    assert ctr.request(CTR_DELETE, string(TAG_CTR_ID, CTR)).status == 0
    r = ctr.request(CTR_STATUS, string(TAG_CTR_ID, CTR))
    assert r.status == -errno.ENOENT


def test_config_json_is_the_helpers(brig, ctr):
    r = create(ctr, CTR, spec(ctr, ["/bin/true"], env=["A=1", "B=two words"], cwd="/tmp",
                              mounts=[{"destination": "/etc/hosts", "kind": MOUNT_POD_HOSTS},
                                      {"destination": "/etc/resolv.conf",
                                       "kind": MOUNT_POD_RESOLV},
                                      {"destination": "/data", "source": str(brig.base),
                                       "flags": CTR_M_READONLY}]))
    assert r.status == 0, r.error_message
    cfg = json.loads((brig.root / "containers" / CTR / "config.json").read_text())
    assert cfg["process"]["args"] == ["/bin/true"]
    assert "A=1" in cfg["process"]["env"] and "B=two words" in cfg["process"]["env"]
    assert cfg["process"]["cwd"] == "/tmp"
    assert cfg["process"]["user"]["uid"] == 0
    assert cfg["process"]["noNewPrivileges"] is True
    caps = set(cfg["process"]["capabilities"]["bounding"])
    assert "CAP_CHOWN" in caps and "CAP_SYS_ADMIN" not in caps
    ns = {n["type"]: n.get("path") for n in cfg["linux"]["namespaces"]}
    assert ns["network"] == str(brig.run_root / "ns" / POD / "net")
    assert ns["ipc"] == str(brig.run_root / "ns" / POD / "ipc")
    assert ns["uts"] == str(brig.run_root / "ns" / POD / "uts")
    assert ns["pid"] is None and ns["mount"] is None
    binds = {m["destination"]: m for m in cfg["mounts"] if m["type"] == "bind"}
    assert binds["/etc/hosts"]["source"] == str(brig.run_root / "ns" / POD / "hosts")
    assert "ro" in binds["/data"]["options"]
    assert cfg["linux"]["cgroupsPath"].endswith("brig-" + CTR)


def test_user_resolved_in_the_image(brig, ctr):
    st = run(ctr, CTR, spec(ctr, ["/bin/sh", "-c", "id -u; id -g; id -G; pwd"],
                            image_user="app", cwd="/home/app"))
    assert os.WEXITSTATUS(st["wait_status"]) == 0
    wait_for(lambda: len(log_lines(ctr)) == 4, 5, "four lines in the log")
    out = [line.split(" ", 3)[3] for line in log_lines(ctr)]
    assert out[0] == "1000" and out[1] == "1000"
    assert set(out[2].split()) == {"1000", "2000"}
    assert out[3] == "/home/app"


@pytest.mark.parametrize("fields", [
    {"image_user": "root"},
    {"image_user": "toor"},
    {"run_as_user": 0},
    {"run_as_username": "toor"},
    {"run_as_user": 2**32},
    {"image_user": "4294967296"},
])
def test_non_root_refuses_uid_0_however_spelled(brig, ctr, fields):
    r = create(ctr, CTR, spec(ctr, ["/bin/true"], flags=CTR_F_RUN_AS_NON_ROOT, **fields))
    # uid 0 is refused; a value past 2^32 - 2 is out of range, never wrapped
    assert r.status in (-errno.EPERM, -errno.ERANGE), r.error_message
    assert containers(brig) == [] and mounts_below(brig) == []
    assert CTR in brig.log_text().split("container create failed")[-1]


def test_passwd_symlink_to_the_host_is_read_in_the_container(brig, ctr):
    layer = unpack(brig, ctr, busybox_tar({"etc/passwd": ("symlink", "/../../../../etc/shadow")}))
    r = create(ctr, CTR, spec(ctr, ["/bin/true"], layer=layer, image_user="root"))
    # no passwd in the container: "root" cannot be resolved there
    assert r.status != 0
    assert "root" in r.error_message
    assert containers(brig) == []


def test_kill(brig, ctr):
    r = create(ctr, CTR, spec(ctr, ["/bin/sleep", "1000"]))
    assert r.status == 0, r.error_message
    assert ctr.request(CTR_START, string(TAG_CTR_ID, CTR)).status == 0
    assert status(ctr, CTR)["running"]
    r = ctr.request(CTR_KILL, string(TAG_CTR_ID, CTR) + u32(TAG_SIGNAL, 9))
    assert r.status == 0, r.error_message
    st = wait_exit(ctr, CTR)
    assert os.WIFSIGNALED(st["wait_status"]) and os.WTERMSIG(st["wait_status"]) == 9


def test_helper_restart_keeps_the_container(brig, ctr):
    r = create(ctr, CTR, spec(ctr, ["/bin/sh", "-c", "sleep 1000"]))
    assert r.status == 0, r.error_message
    assert ctr.request(CTR_START, string(TAG_CTR_ID, CTR)).status == 0
    pid = status(ctr, CTR)["pid"]
    mon = monitor_pid(brig.run_root / "mon" / POD)
    assert mon
    ctr.close()
    assert brig.stop() == 0
    assert os.path.exists(f"/proc/{pid}") and os.path.exists(f"/proc/{mon}")
    brig.start()
    brig.wait_ready()
    from helperproto import Conn
    conn = Conn(brig.debug_socket)
    assert conn.hello().status == 0
    ctr.sock = conn.sock
    st = status(ctr, CTR)
    assert st["running"] and st["pid"] == pid
    assert ctr.request(CTR_KILL, string(TAG_CTR_ID, CTR) + u32(TAG_SIGNAL, 9)).status == 0
    st = wait_exit(ctr, CTR)
    assert os.WTERMSIG(st["wait_status"]) == 9
    assert monitor_pid(brig.run_root / "mon" / POD) == mon


def test_pod_remove_stops_the_monitor(brig, ctr):
    run(ctr, CTR, spec(ctr, ["/bin/true"]))
    mon = monitor_pid(brig.run_root / "mon" / POD)
    assert mon
    assert ctr.request(CTR_DELETE, string(TAG_CTR_ID, CTR)).status == 0
    assert ctr.request(POD_REMOVE, string(TAG_POD_ID, POD)).status == 0
    wait_for(lambda: not os.path.exists(f"/proc/{mon}") or
             open(f"/proc/{mon}/stat").read().split()[2] == "Z", 5, "the monitor to exit")
    assert not (brig.run_root / "mon" / POD).exists()


BAD = [
    ("relative cwd", dict(cwd="tmp"), errno.EINVAL),
    ("dotdot mount", dict(mounts=[{"destination": "/a/../b", "source": "/tmp"}]), errno.EINVAL),
    ("relative mount", dict(mounts=[{"destination": "data", "source": "/tmp"}]), errno.EINVAL),
    ("brig's root", dict(mounts=[{"destination": "/x", "source": "@ROOT"}]), errno.EINVAL),
    ("missing source", dict(mounts=[{"destination": "/x", "source": "/nonexistent/brig"}]),
     errno.ENOENT),
    ("device outside /dev", dict(devices=[("/dev/x", "/etc/passwd", "rw")]), errno.EINVAL),
    ("log outside the log root", dict(log_directory="/tmp/logs"), errno.EINVAL),
    ("log path escaping", dict(log_path="../../x.log"), errno.EINVAL),
    ("stdin_once without stdin", dict(flags=CTR_F_STDIN_ONCE), errno.EINVAL),
    ("env without a name", dict(env=["=x"]), errno.EINVAL),
    ("pid mode pod without a shared namespace", dict(pid_mode=1), errno.EINVAL),
    ("unknown user", dict(image_user="nosuchuser"), None),
]


@pytest.mark.parametrize("name,fields,err", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_leave_nothing(brig, ctr, name, fields, err):
    for m in fields.get("mounts", []):
        if m.get("source") == "@ROOT":
            m["source"] = str(brig.root)
    r = create(ctr, CTR, spec(ctr, ["/bin/true"], **fields))
    assert r.status < 0, name
    if err is not None:
        assert r.status == -err, r.error_message
    assert CTR in r.error_message or "container" in r.error_message
    assert containers(brig) == [] and mounts_below(brig) == []
    ctr.ping()


def test_refusals_before_anything(brig, ctr):
    good = spec(ctr, ["/bin/true"])
    r = create(ctr, "XY" * 32, good)
    assert r.status == -errno.EINVAL and "64 lowercase hex" in r.error_message
    r = create(ctr, CTR, good, pod="ab" * 32)
    assert r.status == -errno.ENOENT and "has not been created" in r.error_message
    r = create(ctr, CTR, spec(ctr, ["/bin/true"], layer="sha256:" + "9" * 64))
    assert r.status == -errno.ENOENT and "not unpacked" in r.error_message
    r = create(ctr, CTR, b"\x01\x00garbage")
    assert r.status == -errno.EBADMSG
    r = create(ctr, CTR, good, extra=string(TAG_RUNTIME_HANDLER, "kata"))
    assert r.status == -errno.EINVAL and "kata" in r.error_message
    r = create(ctr, CTR, ctr_spec([], [ctr.layer]))
    assert r.status == -errno.EINVAL
    assert containers(brig) == []
    assert create(ctr, CTR, good).status == 0
    r = create(ctr, CTR, good)
    assert r.status == -errno.EEXIST
    r = ctr.request(CTR_KILL, string(TAG_CTR_ID, CTR) + u32(TAG_SIGNAL, 65))
    assert r.status == -errno.EINVAL
    r = ctr.request(CTR_START, string(TAG_CTR_ID, CTR2))
    assert r.status == -errno.ENOENT


def test_stdin_keeps_the_container_reading(brig, ctr):
    r = create(ctr, CTR, spec(ctr, ["/bin/cat"], flags=CTR_F_STDIN))
    assert r.status == 0, r.error_message
    assert ctr.request(CTR_START, string(TAG_CTR_ID, CTR)).status == 0
    time.sleep(1)
    assert status(ctr, CTR)["running"]


def cgroup_of(pid, hierarchy="0::"):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith(hierarchy):
                return line.strip().split(":", 2)[2]
    return None


@pytest.mark.pod_extra(NS_NET | NS_IPC | NS_UTS, string(TAG_CGROUP_PARENT, "/brig-test-pods"))
def test_monitor_lives_outside_the_helpers_cgroup(brig, ctr):
    """The unit's KillMode=mixed: a stop SIGTERMs the helper, then SIGKILLs
    whatever is left in its cgroup. The monitor and the containers are not
    there, so they survive, and the next helper finds them."""
    unit = f"/sys/fs/cgroup/unified/brig-test-unit-{os.getpid()}"
    os.mkdir(unit)
    try:
        for pid in (brig.proc.pid, brig.brigd_pid()):
            with open(f"{unit}/cgroup.procs", "w") as f:
                f.write(str(pid))
        r = create(ctr, CTR, spec(ctr, ["/bin/sleep", "1000"], cgroup_parent="/brig-test-pods"))
        assert r.status == 0, r.error_message
        assert ctr.request(CTR_START, string(TAG_CTR_ID, CTR)).status == 0
        pid = status(ctr, CTR)["pid"]
        mon = monitor_pid(brig.run_root / "mon" / POD)
        assert cgroup_of(mon) == "/brig-test-pods/brig-monitor-" + POD
        assert cgroup_of(pid) == "/brig-test-pods/brig-" + CTR
        ctr.close()
        brig.proc.send_signal(15)
        brig.proc.wait(timeout=30)
        with open(f"{unit}/cgroup.procs") as f:
            for left in f.read().split():
                os.kill(int(left), 9)
        assert os.path.exists(f"/proc/{pid}") and os.path.exists(f"/proc/{mon}")
        brig.start()
        brig.wait_ready()
        from helperproto import Conn
        conn = Conn(brig.debug_socket)
        assert conn.hello().status == 0
        ctr.sock = conn.sock
        st = status(ctr, CTR)
        assert st["running"] and st["pid"] == pid
        assert ctr.request(CTR_DELETE, string(TAG_CTR_ID, CTR)).status == 0
        assert ctr.request(POD_REMOVE, string(TAG_POD_ID, POD)).status == 0
        wait_for(lambda: not os.path.exists(
            "/sys/fs/cgroup/unified/brig-test-pods/brig-monitor-" + POD),
                 5, "the monitor's cgroup to go")
    finally:
        with open(f"{unit}/cgroup.procs") as f:
            for left in f.read().split():
                try:
                    os.kill(int(left), 9)
                except ProcessLookupError:
                    pass
        wait_for(lambda: not open(f"{unit}/cgroup.procs").read().split(), 5, "the unit to empty")
        os.rmdir(unit)
        for h in os.listdir("/sys/fs/cgroup"):
            for d in ("/brig-test-pods/brig-monitor-" + POD, "/brig-test-pods"):
                try:
                    os.rmdir(f"/sys/fs/cgroup/{h}{d}")
                except OSError:
                    pass


@pytest.mark.pod_extra(NS_NET | NS_IPC | NS_UTS | NS_PID)
def test_pod_pid_namespace_is_shared_with_a_pause_init(brig, ctr):
    """NamespaceMode POD: the monitor's pause process is pid 1 of the pod's
    PID namespace, pinned with the pod; both containers see it and each
    other."""
    pin = brig.run_root / "ns" / POD / "pid"
    assert pin.exists()
    mon = monitor_pid(brig.run_root / "mon" / POD)
    assert mon
    for cid in (CTR, CTR2):
        r = create(ctr, cid, spec(ctr, ["/bin/sleep", "1000"], pid_mode=1,
                                  log_path=f"{cid[:4]}/0.log"))
        assert r.status == 0, r.error_message
        assert ctr.request(CTR_START, string(TAG_CTR_ID, cid)).status == 0
    pids = [status(ctr, cid)["pid"] for cid in (CTR, CTR2)]
    ns = {os.readlink(f"/proc/{p}/ns/pid") for p in pids}
    assert len(ns) == 1
    # NSpid: host pid, then the pid inside the pod's namespace
    for p in pids:
        nspid = [line for line in open(f"/proc/{p}/status") if line.startswith("NSpid")][0]
        assert int(nspid.split()[-1]) > 1
    assert os.stat(pin).st_ino == os.stat(f"/proc/{pids[0]}/ns/pid").st_ino
    # a container in PID mode POD in a pod without a shared namespace is refused
    # (checked in test_bad_requests_leave_nothing); a TARGET container joins CTR's
    r = ctr.request(CTR_DELETE, string(TAG_CTR_ID, CTR2))
    assert r.status == 0
    r = create(ctr, CTR2, spec(ctr, ["/bin/sleep", "1000"], pid_mode=3, pid_target=CTR,
                               log_path="t/0.log"))
    assert r.status == 0, r.error_message
    assert ctr.request(CTR_START, string(TAG_CTR_ID, CTR2)).status == 0
    assert os.readlink(f"/proc/{status(ctr, CTR2)['pid']}/ns/pid") == ns.pop()


def test_target_must_run_in_the_same_pod(brig, ctr):
    r = create(ctr, CTR2, spec(ctr, ["/bin/true"], pid_mode=3, pid_target=CTR))
    assert r.status == -errno.ENOENT and "target container" in r.error_message
    assert containers(brig) == []


@pytest.mark.pod_extra(NS_NET | NS_IPC | NS_UTS | NS_PID)
def test_pause_does_not_outlive_a_killed_monitor(brig, ctr):
    mon = monitor_pid(brig.run_root / "mon" / POD)
    pause = [p for p in children_of(mon) if proc_status(p).get("Name") == "brig-pause"]
    assert len(pause) == 1
    os.kill(mon, 9)
    wait_for(lambda: not alive(pause[0]), 5, "the pause process to die with its monitor")


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.005, 0.01])
def test_helper_killed_during_start_does_not_kill_the_container(brig, ctr, delay):
    """runc start is a lasting job: a helper killed while it runs (SIGKILL,
    no stop) leaves it to finish, so the container's init is not cut down
    half-started."""
    r = create(ctr, CTR, spec(ctr, ["/bin/sleep", "1000"]))
    assert r.status == 0, r.error_message
    pid = status(ctr, CTR)["pid"]
    brigd = brig.brigd_pid()
    ctr.send(message(CTR_START, 999, string(TAG_CTR_ID, CTR)))
    time.sleep(delay)
    brig.proc.kill()
    brig.proc.wait(timeout=30)
    if brigd and alive(brigd):
        os.kill(brigd, 9)
    wait_for(lambda: not brigd or not alive(brigd), 10, "brigd to go")
    time.sleep(0.3)
    assert alive(pid), "the container's init died with the helper"
    brig.start()
    brig.wait_ready()
    from helperproto import Conn
    conn = Conn(brig.debug_socket)
    assert conn.hello().status == 0
    ctr.sock = conn.sock
    # started by the lasting job, or not yet: a second start settles it
    ctr.request(CTR_START, string(TAG_CTR_ID, CTR))
    st = status(ctr, CTR)
    assert st["running"] and st["pid"] == pid
    assert alive(pid)
