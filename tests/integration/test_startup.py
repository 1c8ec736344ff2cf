"""brig-helper's start-up checks, its start limit and what it tells systemd."""
import os

import grpc
import pytest
import pwd
import signal
import socket
import subprocess
import time

from conftest import HELPER, Brig, api_pb2, wait_for
from test_pods import Pods, pod_config


def _helper(base, *args, env=None, timeout=60):
    config = base / "brig.conf"
    config.write_text("")
    return subprocess.run([str(HELPER), "--config", str(config), "--root", str(base / "root"),
                           "--run-root", str(base / "run"), "--listen",
                           f"unix://{base}/run/brig.sock", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_unreachable_run_root_is_named_before_brigd_starts(brig_dir):
    private = brig_dir / "private"
    private.mkdir(mode=0o700)
    (brig_dir / "brig.conf").write_text("")
    r = subprocess.run([str(HELPER), "--config", str(brig_dir / "brig.conf"), "--root",
                        str(brig_dir / "root"),
                        "--run-root", str(private / "run"), "--listen",
                        f"unix://{private}/run/brig.sock"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "brigd's user cannot reach a directory it needs" in r.stderr
    assert f"blocked_at={private}" in r.stderr
    assert "brigd started" not in r.stderr


def test_foreign_image_store_is_refused(brig_dir):
    images = brig_dir / "root" / "images"
    images.mkdir(parents=True)
    (brig_dir / "root").chmod(0o711)
    r = _helper(brig_dir)
    assert r.returncode == 1
    assert "a directory of brigd's state exists but is not the brig user's alone" in r.stderr
    assert os.stat(images).st_uid == 0, "an existing store is never re-owned"


@pytest.mark.parametrize("parent,name", [("root", "layers"), ("run", "ns")])
def test_writable_root_state_directory_is_refused(brig_dir, parent, name):
    state = brig_dir / parent / name
    state.mkdir(parents=True)
    state.chmod(0o777)
    (brig_dir / parent).chmod(0o711 if parent == "root" else 0o755)
    r = _helper(brig_dir)
    assert r.returncode == 1
    assert "a state directory is not root's alone" in r.stderr
    assert f"dir={state} " in r.stderr


def test_gives_up_after_five_quick_brigd_exits(brig_dir):
    """Another server holds the socket, so every brigd exits at start; the
    helper must stop retrying, as systemd's start limit would."""
    run = brig_dir / "run"
    run.mkdir(mode=0o755)
    squatter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    squatter.bind(str(run / "brig.sock"))
    squatter.listen(64)
    try:
        t0 = time.monotonic()
        r = _helper(brig_dir, timeout=60)
        took = time.monotonic() - t0
    finally:
        squatter.close()
    assert r.returncode == 1, r.stderr
    assert "brigd exited too often; giving up" in r.stderr
    assert r.stderr.count("brigd started") == 5
    assert took < 30


class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(30)

    def next(self):
        return self.sock.recv(4096).decode()

    def until(self, needle):
        seen = []
        while True:
            msg = self.next()
            seen.append(msg)
            if needle in msg:
                return seen


def test_systemd_is_told_ready_restarts_and_stopping(brig_dir, monkeypatch):
    notify = NotifySocket(brig_dir / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    b = Brig(brig_dir)
    try:
        b.start()
        first = notify.next()
        assert "READY=1" in first and "STATUS=brigd serves CRI" in first
        # No child of the helper inherits the variable.
        brigd = b.brigd_pid()
        with open(f"/proc/{brigd}/environ", "rb") as f:
            assert b"NOTIFY_SOCKET" not in f.read()

        os.kill(brigd, signal.SIGKILL)
        seen = notify.until("READY=1")
        assert any("STATUS=brigd exited; restarting it" in m for m in seen)
        assert "again after a restart" in seen[-1]
        wait_for(b.version_ok, 30, "brigd back after the restart")

        assert b.stop() == 0
        assert "STOPPING=1" in notify.until("STOPPING=1")[-1]
    finally:
        b.kill_everything()
        b.log.close()
        notify.sock.close()


def test_image_store_belongs_to_brigd(brig):
    st = os.stat(brig.root / "images")
    assert st.st_uid == pwd.getpwnam("brig").pw_uid
    assert st.st_mode & 0o777 == 0o700


@pytest.mark.skipif(os.path.exists("/run/systemd/system"), reason="systemd is init here")
def test_systemd_cgroup_driver_without_systemd_is_refused(brig_dir):
    r = _helper(brig_dir, "--cgroup-manager", "systemd")
    assert r.returncode == 1
    assert "systemd is not this node's init" in r.stderr
    assert "cgroupfs" in r.stderr
    assert not (brig_dir / "run" / "brig.sock").exists()


def test_a_cni_plugin_dir_with_a_colon_stops_the_start(brig_dir):
    """CNI_PATH is ':'-separated: such a directory could not be passed on."""
    r = _helper(brig_dir, "--cni-plugin-dirs", "/usr/lib/cni,/opt/a:b")
    assert r.returncode == 1
    assert "a cni_plugin_dirs entry holds ':'" in r.stderr and "dir=/opt/a:b" in r.stderr
    assert "brigd started" not in r.stderr


def test_configured_runtimes_are_the_handlers(brig):
    """A file's [runtimes.NAME] adds a handler and default_runtime picks
    the one "" means; brigd takes exactly those."""
    assert brig.stop() == 0
    brig.log.close()
    with open(brig.config, "a") as f:
        f.write('default_runtime = "kata"\n'
                '[runtimes.kata]\npath = "/opt/kata/bin/kata-runtime"\n'
                '[runtimes.runc]\nroot = "/run/brig-test-runc"\n')
    brig.start()
    cri = brig.cri()
    r = cri.runtime("Status", api_pb2.StatusRequest(verbose=True))
    assert [h.name for h in r.runtime_handlers] == ["", "runc", "crun", "kata"]
    assert '[runtimes.kata]\npath = "/opt/kata/bin/kata-runtime"\nroot = ""\ntype = "oci"\n' \
        in r.info["config"]
    assert 'default_runtime = "kata"' in r.info["config"]
    pods = Pods(brig)
    try:
        for handler in ("kata", "", "crun"):
            pod_id = pods.run(pod_config(), handler=handler)
            assert pods.status(pod_id).status.runtime_handler == handler
        with pytest.raises(grpc.RpcError) as e:
            pods.run(pod_config(), handler="youki")
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "(brig runs: runc, crun, kata; \"\" is kata)" in e.value.details()
    finally:
        pods.cleanup()


def test_a_default_runtime_no_table_defines_stops_the_start(brig_dir):
    r = _helper(brig_dir, "--default-runtime", "kata")
    assert r.returncode == 1
    assert 'default_runtime "kata" is not one of [runtimes.*]: runc, crun' in r.stderr
    assert "brigd started" not in r.stderr
