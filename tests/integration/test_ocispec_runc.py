"""The config.json brig-helper writes (privhelper/ocispec.c), with the user
resolved from the container's own files (privhelper/userdb.c), run by the
real runc.

Through tests/tools/ocispec_write (built by `make test-tools`): each test
makes a bundle whose rootfs is Debian's busybox-static with its applet
links and its own etc/passwd and etc/group, writes the config with the tool
and runs it with `runc run` under a private --root and a unique cgroups
path. The container's output shows what runc made of the config: the user
and groups, env, cwd and hostname, the read-only root, masked and read-only
paths, capabilities and no_new_privs, the device cgroup, the pids limit,
and a recursively read-only bind mount. Whatever happens, the container is
deleted with `runc delete --force` and every directory and mount is
removed.
"""
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("BRIG_BUILD", Path(__file__).resolve().parents[2] / "build"))
TOOL = BUILD / "tools" / "ocispec_write"
RUNC = "/usr/sbin/runc"
BUSYBOX = "/bin/busybox"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="runc run needs root"),
    pytest.mark.skipif(not os.path.exists(RUNC), reason="runc is not installed"),
    pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="busybox-static is not installed"),
]

PASSWD = """root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/sh
"""
GROUP = """root:x:0:
wheel:x:10:alice
media:x:1000:
audio:x:29:bob,alice
"""

# containerd's default set, as the tool grants it; bits from linux/capability.h
DEFAULT_CAPS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4,
                "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
                "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18,
                "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29, "CAP_SETFCAP": 31}


@pytest.fixture
def bundle():
    if not TOOL.exists():
        pytest.fail(f"{TOOL} is missing: run `make SANITIZE=1 test-tools` first")
    top = Path(tempfile.mkdtemp(prefix="brig-ocispec-"))
    rootfs = top / "bundle" / "rootfs"
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "work", "data", "home/alice"):
        (rootfs / d).mkdir(parents=True)
    shutil.copy(BUSYBOX, rootfs / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            (rootfs / "bin" / a).symlink_to("busybox")
    (rootfs / "etc" / "passwd").write_text(PASSWD)
    (rootfs / "etc" / "group").write_text(GROUP)
    (rootfs / "tmp").chmod(0o1777)
    state = {"top": top, "bundle": top / "bundle", "runc_root": top / "runc", "ids": [],
             "mounts": []}
    try:
        yield state
    finally:
        for cid in state["ids"]:
            subprocess.run([RUNC, "--root", str(state["runc_root"]), "delete", "--force", cid],
                           capture_output=True, timeout=60)
        for m in reversed(state["mounts"]):
            subprocess.run(["umount", "-l", str(m)], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


def run(bundle, opts, script, expect_rc=0):
    """Writes the config with opts, runs `sh -c script`, returns its stdout."""
    cid = "brig-ocispec-" + uuid.uuid4().hex[:12]
    cmd = [str(TOOL), "--bundle", str(bundle["bundle"]), "--cgroups-path", "/" + cid, *opts,
           "--", "/bin/sh", "-c", script]
    w = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert w.returncode == 0, w.stderr
    bundle["ids"].append(cid)
    r = subprocess.run([RUNC, "--root", str(bundle["runc_root"]), "run", "--bundle",
                        str(bundle["bundle"]), cid], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == expect_rc, f"runc exit {r.returncode}\nout: {r.stdout}\nerr: {r.stderr}"
    return r.stdout


def status_field(out, name):
    for line in out.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in {out!r}")


def test_user_env_cwd_hostname(bundle):
    out = run(bundle, ["--image-user", "alice", "--group", "4000", "--env", "FOO=b a\"r",
                       "--env", "PATH=/bin", "--cwd", "/work", "--hostname", "ocitest"],
              'id -u; id -g; id -G; pwd; echo "$FOO"; hostname; echo "$HOME"')
    assert out.splitlines() == ["1000", "1000", "1000 10 29 4000", "/work", 'b a"r', "ocitest",
                                "/home/alice"]


def test_cri_user_overrides_image(bundle):
    out = run(bundle, ["--image-user", "alice:wheel", "--run-as-user", "4242",
                       "--run-as-group", "77", "--env", "PATH=/bin"], "id -u; id -g; id -G")
    assert out.splitlines() == ["4242", "77", "77"]


def test_readonly_rootfs(bundle):
    out = run(bundle, ["--readonly", "--env", "PATH=/bin"],
              "touch /newfile 2>&1; echo rc=$?; touch /dev/shm/ok && echo shm-ok")
    assert "Read-only file system" in out
    assert "rc=1" in out
    assert "shm-ok" in out
    assert not (bundle["bundle"] / "rootfs" / "newfile").exists()


def test_writable_rootfs(bundle):
    out = run(bundle, ["--env", "PATH=/bin"], "touch /newfile && echo ok")
    assert out.strip() == "ok"


def has_cap_sys_resource():
    with open("/proc/self/status") as f:
        eff = int(status_field(f.read(), "CapEff"), 16)
    return bool(eff & (1 << 24))


def test_rlimits(bundle):
    hard = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True,
                          check=True).stdout.strip()
    out = run(bundle, ["--env", "PATH=/bin"], "ulimit -Sn; ulimit -Hn")
    assert out.splitlines() == [hard, hard]
    if not has_cap_sys_resource():
        pytest.skip("without CAP_SYS_RESOURCE runc cannot raise RLIMIT_NOFILE to the default")
    out = run(bundle, ["--env", "PATH=/bin", "--default-rlimits"], "ulimit -Sn; ulimit -Hn")
    assert out.splitlines() == ["1048576", "1048576"]


MASKED_FILES = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
                "/proc/latency_stats", "/proc/timer_stats"]
MASKED_DIRS = ["/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware",
               "/sys/devices/virtual/powercap"]


def test_masked_and_readonly_paths(bundle):
    # what this kernel has is masked: files read empty, directories list empty
    files = [p for p in MASKED_FILES if os.path.exists(p)]
    dirs = [p for p in MASKED_DIRS if os.path.isdir(p) and os.listdir(p)]
    assert files, "no masked file exists on this kernel"
    script = "".join(f"echo {p} $(wc -c < {p}); " for p in files)
    script += "".join(f"echo {p} $(ls -A {p} | wc -l); " for p in dirs)
    script += ("echo 1 > /proc/sysrq-trigger 2>/dev/null; echo sysrq=$?; "
               "grep -E ' /proc/(sys|bus|fs|irq) ' /proc/mounts; grep -E ' /sys ' /proc/mounts")
    out = run(bundle, ["--env", "PATH=/bin"], script)
    lines = out.splitlines()
    n = len(files) + len(dirs)
    assert lines[:n] == [f"{p} 0" for p in files + dirs]
    assert lines[n] == "sysrq=1"
    mounted = lines[n + 1:]
    assert {line.split()[1] for line in mounted} >= {"/proc/sys", "/sys"}
    for line in mounted:
        assert line.split()[3].split(",")[0] == "ro", line


def test_privileged(bundle):
    out = run(bundle, ["--privileged", "--allow-priv-esc", "--env", "PATH=/bin"],
              "grep -E ' /sys ' /proc/mounts; grep -c -E ' /proc/(kcore|keys) ' /proc/mounts; true")
    lines = out.splitlines()
    assert lines[0].split()[3].startswith("rw"), lines[0]
    assert lines[1] == "0"


def test_caps_and_no_new_privs(bundle):
    out = run(bundle, ["--image-user", "alice", "--env", "PATH=/bin"],
              "cat /proc/self/status")
    want = sum(1 << bit for bit in DEFAULT_CAPS.values())
    assert int(status_field(out, "CapBnd"), 16) == want
    assert int(status_field(out, "CapInh"), 16) == 0
    assert int(status_field(out, "CapAmb"), 16) == 0
    assert status_field(out, "NoNewPrivs") == "1"
    # root gets the set effective; alice (uid 1000) has it only in bounding
    assert int(status_field(out, "CapEff"), 16) == 0
    out = run(bundle, ["--env", "PATH=/bin", "--allow-priv-esc"], "cat /proc/self/status")
    assert int(status_field(out, "CapEff"), 16) == want
    assert status_field(out, "NoNewPrivs") == "0"
    out = run(bundle, ["--env", "PATH=/bin", "--cap", "CAP_KILL"], "cat /proc/self/status")
    assert int(status_field(out, "CapBnd"), 16) == 1 << 5


def test_device_cgroup(bundle):
    # mknod is allowed (c *:* m), opening a device outside the list is not
    out = run(bundle, ["--env", "PATH=/bin"],
              "head -c 4 /dev/zero | wc -c; mknod /tmp/mem c 1 1 && echo made; "
              "head -c 1 /tmp/mem 2>&1; echo rc=$?")
    lines = out.splitlines()
    assert lines[0] == "4"
    assert lines[1] == "made"
    assert "Operation not permitted" in out
    assert lines[-1] == "rc=1"


def test_pids_limit(bundle):
    out = run(bundle, ["--env", "PATH=/bin", "--pids-limit", "123"],
              "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
    assert out.strip() == "123"


def test_rro_bind_mount(bundle):
    # a host directory with a submount: "ro" leaves the submount writable,
    # "rro" (mount_setattr, runc 1.1 on Linux 5.12+) does not
    src = bundle["top"] / "vol"
    (src / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(src / "sub")], check=True)
    bundle["mounts"].append(src / "sub")
    script = ("touch /data/top 2>/dev/null; echo top=$?; "
              "touch /data/sub/inner 2>/dev/null; echo sub=$?")
    out = run(bundle, ["--env", "PATH=/bin", "--bind", f"/data:{src}:rbind,ro,rprivate"],
              script)
    assert out.splitlines() == ["top=1", "sub=0"]
    out = run(bundle, ["--env", "PATH=/bin", "--bind", f"/data:{src}:rbind,rro,rprivate"],
              script)
    assert out.splitlines() == ["top=1", "sub=1"]


def test_refused_config_is_not_written(bundle):
    cmd = [str(TOOL), "--bundle", str(bundle["bundle"]), "--cgroups-path", "/x",
           "--bind", "/data:/tmp:rbind,r0", "--", "/bin/true"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "option 1 is not one runc applies" in r.stderr
    assert not (bundle["bundle"] / "config.json").exists()
    cmd = [str(TOOL), "--bundle", str(bundle["bundle"]), "--cgroups-path", "/x",
           "--image-user", "nobody", "--", "/bin/true"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert 'image user "nobody": no such user' in r.stderr
