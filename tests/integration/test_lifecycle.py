"""brigd's privileges, restart by the helper, and a clean stop."""
import errno
import os
import pwd
import shutil
import signal
import subprocess
import threading
import time

import grpc
import pytest

from conftest import (BRIGD, HELPER, Brig, Cri, alive, api_pb2, children_of, proc_status,
                      seccomp_log_lines, wait_for)


def test_brigd_holds_no_privilege(brig):
    helper = proc_status(brig.proc.pid)
    assert helper["Uid"].split()[0] == "0"
    brigd = proc_status(brig.brigd_pid())
    uids = brigd["Uid"].split()
    assert len(set(uids)) == 1 and uids[0] != "0", uids
    assert set(brigd["Gid"].split()) != {"0"}
    assert brigd["Groups"] == ""
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert brigd[cap] == "0000000000000000", (cap, brigd[cap])
    assert brigd["NoNewPrivs"] == "1"
    assert brigd["Seccomp"] == "2"


def test_brigd_environment_is_minimal(brig):
    with open(f"/proc/{brig.brigd_pid()}/environ", "rb") as f:
        names = {e.split(b"=", 1)[0] for e in f.read().split(b"\0") if e}
    assert names <= {b"PATH", b"ASAN_OPTIONS", b"UBSAN_OPTIONS", b"LSAN_OPTIONS"}, names


def test_kill_9_of_brigd_is_followed_by_a_restart(brig):
    old = brig.brigd_pid()
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: (p := brig.brigd_pid()) and p != old and p, 20, "a new brigd")
    brig.wait_ready()
    r = brig.cri().runtime("Version", api_pb2.VersionRequest())
    assert r.runtime_name == "brig"
    assert not alive(old)
    assert new != old
    assert "restarting brigd after backoff" in brig.log_text()
    assert brig.proc.poll() is None


def test_sigterm_leaves_nothing_behind(brig):
    brigd = brig.brigd_pid()
    assert brig.stop() == 0
    assert not alive(brigd)
    assert children_of(brig.proc.pid) == []
    assert not brig.socket.exists()
    assert not brig.debug_socket.exists()
    with open("/proc/self/mountinfo") as f:
        assert str(brig.base) not in f.read()
    assert "brig-helper stopped" in brig.log_text()


def test_sigterm_ends_streams_with_a_status(brig):
    it = brig.cri().ticks(100, interval_ms=200)
    assert next(it).seq == 1
    start = time.monotonic()
    brig.proc.send_signal(signal.SIGTERM)
    with pytest.raises(grpc.RpcError) as e:
        for _ in it:
            pass
    assert e.value.code() == grpc.StatusCode.CANCELLED, e.value.details()
    assert brig.proc.wait(timeout=30) == 0
    assert time.monotonic() - start < 10


def test_sigterm_lets_in_flight_calls_finish_and_refuses_new_ones(brig):
    slow = brig.cri()
    result = {}
    t = threading.Thread(target=lambda: result.update(r=slow.sleep(2000)))
    t.start()
    time.sleep(0.5)
    brig.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: any("prog=brigd" in line and 'msg="stopping"' in line
                         for line in brig.log_text().splitlines()), 10, "brigd to begin its stop")
    late = grpc.insecure_channel(brig.listen)
    with pytest.raises(grpc.RpcError) as e:
        Cri(late).runtime("Version", api_pb2.VersionRequest(), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    late.close()
    t.join(timeout=30)
    assert result["r"].slept_ms == 2000, "the in-flight call did not finish"
    assert brig.proc.wait(timeout=30) == 0


def _brigd_as(user, base, *args):
    """brigd started by hand (no helper) as user, from a copy user can run."""
    pw = pwd.getpwnam(user)
    config = base / "empty.conf"
    config.write_text("")
    brigd = base / "brigd-copy"
    shutil.copy2(BRIGD, brigd)
    cmd = [str(brigd), "--config", str(config), *args]
    if pw.pw_uid != 0:
        cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
               *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _own_store(base):
    """A root with an image store and pod records of the brig user's, for a
    brigd run by hand."""
    pw = pwd.getpwnam("brig")
    root = base / "hand-root"
    for name in ("images", "pods"):
        (root / name).mkdir(parents=True)
        os.chown(root / name, pw.pw_uid, pw.pw_gid)
        (root / name).chmod(0o700)
    return root


def test_second_brigd_refuses_a_live_socket(brig):
    r = _brigd_as("brig", brig.base, "--listen", brig.listen, "--root",
                  str(_own_store(brig.base)))
    assert r.returncode == 1
    assert "another server already answers on the socket" in r.stderr
    assert brig.cri().runtime("Version", api_pb2.VersionRequest()).runtime_name == "brig"


def test_second_brigd_refuses_a_store_in_use(brig):
    r = _brigd_as("brig", brig.base, "--listen", f"unix://{brig.base}/other.sock", "--root",
                  str(brig.root))
    assert r.returncode == 1
    assert "another brigd uses the image store" in r.stderr
    assert brig.cri().runtime("Version", api_pb2.VersionRequest()).runtime_name == "brig"


def test_brigd_refuses_to_run_as_root(brig_dir):
    r = _brigd_as("root", brig_dir, "--listen", f"unix://{brig_dir}/x.sock")
    assert r.returncode == 1
    assert "brigd must not run as root" in r.stderr
    assert not (brig_dir / "x.sock").exists()


def test_brigd_refuses_config_and_config_fd_together(brig_dir):
    r = _brigd_as("brig", brig_dir, "--config-fd", "0")
    assert r.returncode == 1
    assert "--config and --config-fd exclude each other" in r.stderr


def _helper(base, *args):
    config = base / "brig.conf"
    config.write_text("")
    return subprocess.run([str(HELPER), "--config", str(config), "--root", str(base / "root"),
                           "--run-root", str(base / "run"), "--listen",
                           f"unix://{base}/run/brig.sock", *args],
                          capture_output=True, text=True, timeout=30)


def test_helper_refuses_a_root_user(brig_dir):
    r = _helper(brig_dir, "--user", "root")
    assert r.returncode == 1
    assert "refusing to run brigd as uid or gid 0" in r.stderr
    assert not (brig_dir / "run").exists(), "nothing may be prepared for a refused start"


def test_helper_refuses_a_state_directory_others_can_write(brig_dir):
    shared = brig_dir / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    r = _helper(brig_dir, "--root", str(shared))
    assert r.returncode == 1
    assert "is writable by group or others" in r.stderr
    assert shared.stat().st_mode & 0o777 == 0o777, "an existing directory is never re-moded"


def test_helper_refuses_a_debug_socket_path_that_is_a_file(brig_dir):
    victim = brig_dir / "precious"
    victim.write_text("keep me")
    r = _helper(brig_dir, "--debug-socket", str(victim))
    assert r.returncode == 1
    assert "debug socket path exists and is not a socket" in r.stderr
    assert victim.read_text() == "keep me"


def test_brigd_runs_from_a_directory_brig_cannot_read(brig_dir):
    # The helper opens brigd as root and executes it by descriptor.
    private = brig_dir / "private"
    private.mkdir(mode=0o700)
    shutil.copy2(HELPER, private / "brig-helper")
    shutil.copy2(BRIGD, private / "brigd")
    b = Brig(brig_dir)
    try:
        b.start("--brigd", str(private / "brigd"))
        assert b.cri().runtime("Version", api_pb2.VersionRequest()).runtime_name == "brig"
        assert b.stop() == 0
    finally:
        b.kill_everything()
        b.log.close()


def test_bad_configuration_is_refused_before_starting(brig_dir):
    config = brig_dir / "brig.conf"
    config.write_text('root = "/var/lib/brig"\nlisten = "tcp://0.0.0.0:1"\n')
    r = subprocess.run([str(HELPER), "--config", str(config)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert f"{config}:2: key 'listen': invalid value" in r.stderr


def test_non_root_helper_refuses_to_run(brig_dir):
    nobody = pwd.getpwnam("nobody")
    config = brig_dir / "brig.conf"
    config.write_text("")
    # A copy nobody can execute wherever the build tree is.
    helper = brig_dir / "brig-helper"
    shutil.copy2(HELPER, helper)
    r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                        "--clear-groups", str(helper), "--config", str(config)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "brig-helper must run as root" in r.stderr


def new_records(before, pid):
    """brigd pid's seccomp records that were not in before. By content, not
    by count: the kernel's ring buffer drops old lines as new ones come,
    and each record carries its own audit serial."""
    seen = set(before)
    return [line for line in seccomp_log_lines(pid) if line not in seen]


def test_brigd_stays_inside_its_seccomp_allow_list(brig):
    """Every call off the allow list fails with EPERM and leaves a kernel
    record: none may appear while brigd serves (the container and image
    tests check the same over their own work, see docs/operations.md)."""
    before = seccomp_log_lines()
    if before is None:
        pytest.skip("dmesg is not readable here")
    pid = brig.brigd_pid()
    cri = brig.cri()
    cri.runtime("Version", api_pb2.VersionRequest())
    cri.runtime("Status", api_pb2.StatusRequest(verbose=True))
    cri.runtime("RuntimeConfig", api_pb2.RuntimeConfigRequest())
    assert [t.seq for t in cri.ticks(3, interval_ms=10)] == [1, 2, 3]
    with pytest.raises(grpc.RpcError):
        cri.raw("/runtime.v1.RuntimeService/Version", b"\xff")
    brig.stop()
    new = new_records(before, pid)
    assert new == [], "brigd made system calls its filter does not list:\n" + "\n".join(new)


# x86_64 numbers: getpid is allowed, unshare denied, getcpu on neither list
# (harmless if it ran: it only reads the CPU and node numbers).
X86_64_PROBES = {"getpid": 39, "unshare": 272, "getcpu": 309}


def syscall_in(pid, nr):
    """Makes brigd's main thread call syscall(nr, 0, 0, 0) under gdb (the
    debug service has no probe for it); returns (result, errno)."""
    r = subprocess.run(
        ["gdb", "-p", str(pid), "-batch", "-nx", "-q",
         "-ex", f"print ((long (*)(long, long, long, long))syscall)({nr}, 0, 0, 0)",
         "-ex", "print *((int *(*)(void))__errno_location)()"],
        capture_output=True, text=True, timeout=60)
    values = [line.split(" = ", 1)[1] for line in r.stdout.splitlines()
              if line.startswith("$") and " = " in line]
    assert r.returncode == 0 and len(values) == 2, r.stdout + r.stderr
    return int(values[0]), int(values[1])


def test_brigd_seccomp_refuses_calls_off_the_allow_list_with_eperm(brig):
    if os.uname().machine != "x86_64":
        pytest.skip("the probes use x86_64 system call numbers")
    if shutil.which("gdb") is None:
        pytest.skip("gdb makes the probe calls inside brigd")
    before = seccomp_log_lines()
    pid = brig.brigd_pid()
    assert 'msg="seccomp filter installed"' in brig.log_text()
    assert "default=eperm" in brig.log_text()
    assert syscall_in(pid, X86_64_PROBES["getpid"])[0] == pid
    # on the denied list: unshare(0) would change nothing, yet fails
    assert syscall_in(pid, X86_64_PROBES["unshare"]) == (-1, errno.EPERM)
    # on neither list: refused the same way, not run and logged
    assert syscall_in(pid, X86_64_PROBES["getcpu"]) == (-1, errno.EPERM)
    # brigd carries on, and the refusals are on record for an operator
    assert brig.version_ok()
    if before is not None:
        new = new_records(before, pid)
        for nr in (X86_64_PROBES["unshare"], X86_64_PROBES["getcpu"]):
            assert any(f" syscall={nr} " in line and "code=0x50000" in line for line in new), new
