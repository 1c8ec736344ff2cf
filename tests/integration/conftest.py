"""Fixtures that run the real brig-helper and brigd for the integration tests.

`brig` starts brig-helper as root with a temporary root, run root, CRI socket
and root-only debug socket, waits until brigd answers Version, and on the way
out stops it with SIGTERM and checks that nothing it started is left: no
process, no socket. Whatever happens in the test, teardown kills what is still
running (by PID, only the processes this fixture started) and removes the
temporary directory.

Python stubs for the CRI messages are generated at test time from proto/ with
Debian's protoc; calls go through grpc's generic unary/stream API with the
generated message classes, so no grpc-tools plugin is needed.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import pytest

from helperproto import TAG_VERSION, Conn, parse_tlvs

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BRIG_BUILD", REPO / "build"))
HELPER = BUILD / "brig-helper"
BRIGD = BUILD / "brigd"

DEFAULT_CONFLIST = REPO / "contrib" / "cni" / "10-brig.conflist"
# The default network's bridge, made on the host by the bridge plugin.
CNI_BRIDGE = "brig0"

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
MAX_MESSAGE = 16 << 20


def _generate_stubs():
    out = Path(tempfile.mkdtemp(prefix="brig-pb-"))
    subprocess.run(["protoc", f"-I{REPO / 'proto'}", f"--python_out={out}",
                    "api.proto", "debug.proto"], check=True, cwd=REPO / "proto")
    sys.path.insert(0, str(out))
    return out


_STUBS = _generate_stubs()
import api_pb2  # noqa: E402  (generated just above)
import debug_pb2  # noqa: E402


def children_of(pid):
    """PIDs whose parent is pid, from /proc (empty once pid is gone)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def proc_status(pid):
    """/proc/PID/status as a dict of field -> value string."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


BRIGD_EXE_RE = re.compile(r' exe="[^"]*/brigd" ')


def seccomp_log_lines(pid=None):
    """Kernel records of system calls brigd's filter refused, of the brigd
    with that pid or of any brigd (None: dmesg unreadable)."""
    r = subprocess.run(["dmesg"], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    # type=1326 is a seccomp record. brigd's filter runs the calls it lists
    # without a record and refuses every other one with a record (code
    # 0x50000, SECCOMP_RET_ERRNO). Matched on exe, not comm: the grpc core
    # renames its threads ("grpc_global_tim", "event_engine", ...).
    return [line for line in r.stdout.splitlines()
            if "type=1326" in line and BRIGD_EXE_RE.search(line)
            and (pid is None or f" pid={pid} " in line)]


class Cri:
    """CRI calls by method name with the generated message classes."""

    def __init__(self, channel):
        self.channel = channel

    def call(self, service, method, request, response_type, timeout=10):
        fn = self.channel.unary_unary(
            f"/runtime.v1.{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_type.FromString)
        return fn(request, timeout=timeout)

    def runtime(self, method, request, timeout=10):
        response = getattr(api_pb2, method + "Response")
        return self.call("RuntimeService", method, request, response, timeout)

    def raw(self, path, payload, timeout=10):
        return self.channel.unary_unary(path)(payload, timeout=timeout)

    def sleep(self, ms, timeout=30):
        fn = self.channel.unary_unary(
            "/brig.debug.v1.Debug/Sleep",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=debug_pb2.SleepResponse.FromString)
        return fn(debug_pb2.SleepRequest(ms=ms), timeout=timeout)

    def crash_at(self, point, timeout=10):
        fn = self.channel.unary_unary(
            "/brig.debug.v1.Debug/CrashAt",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=debug_pb2.CrashAtResponse.FromString)
        return fn(debug_pb2.CrashAtRequest(point=point), timeout=timeout)

    def ticks(self, count, interval_ms=0, timeout=30):
        fn = self.channel.unary_stream(
            "/brig.debug.v1.Debug/Ticks",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=debug_pb2.Tick.FromString)
        return fn(debug_pb2.TicksRequest(count=count, interval_ms=interval_ms), timeout=timeout)


class Brig:
    """One brig-helper (and its brigd) with its own directories."""

    def __init__(self, base):
        self.base = base
        self.root = base / "root"
        self.run_root = base / "run"
        self.socket = self.run_root / "brig.sock"
        self.debug_socket = base / "helper-debug.sock"
        self.config = base / "brig.conf"
        self.log_path = base / "brig.log"
        self.proc = None
        self.log = None
        self.channels = []
        # The shipped default network, with host-local's allocations kept in
        # this test's directory rather than the node's /var/lib/cni.
        self.cni_conf_dir = base / "net.d"
        self.cni_conf_dir.mkdir(exist_ok=True)
        self.cni_ipam_dir = base / "cni-ipam"
        conf = json.loads(DEFAULT_CONFLIST.read_text())
        conf["plugins"][0]["ipam"]["dataDir"] = str(self.cni_ipam_dir)
        self.write_conflist("10-brig.conflist", conf)
        self.pod_log_root = base / "logs"
        self.pod_log_root.mkdir(exist_ok=True)
        self.config.write_text(f'cni_conf_dir = "{self.cni_conf_dir}"\n'
                               f'pod_log_root = "{self.pod_log_root}"\n')

    def write_conflist(self, name, conf):
        """Writes a CNI network configuration file into the conf dir."""
        (self.cni_conf_dir / name).write_text(json.dumps(conf, indent=1))

    @property
    def listen(self):
        return f"unix://{self.socket}"

    def start(self, *extra):
        env = dict(os.environ)
        # LeakSanitizer stops the world with ptrace, which brigd's seccomp
        # filter denies, so it would fail brigd's exit; ASan and UBSan stay on.
        # Leaks are checked by the unit tests and fuzzers instead.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(HELPER), "--config", str(self.config), "--root", str(self.root),
             "--run-root", str(self.run_root), "--listen", self.listen,
             "--debug-socket", str(self.debug_socket), "--log-level", "debug", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.wait_ready()

    def brigd_pid(self):
        kids = [k for k in children_of(self.proc.pid) if alive(k)]
        return kids[0] if kids else None

    def channel(self):
        ch = grpc.insecure_channel(self.listen, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE)])
        self.channels.append(ch)
        return ch

    def cri(self):
        return Cri(self.channel())

    def version_ok(self):
        try:
            ch = grpc.insecure_channel(self.listen)
            try:
                Cri(ch).runtime("Version", api_pb2.VersionRequest(), timeout=2)
                return True
            finally:
                ch.close()
        except grpc.RpcError:
            return False

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"brig-helper exited with {self.proc.returncode}:\n"
                                     + self.log_text())
            if self.socket.exists() and self.version_ok():
                return
            time.sleep(0.1)
        raise AssertionError("brigd did not answer Version in time:\n" + self.log_text())

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM to the helper; returns its exit code."""
        for ch in self.channels:
            ch.close()
        self.channels = []
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill_everything(self):
        """Teardown of last resort: only the processes this fixture started."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for kid in children_of(self.proc.pid):
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)

    def remove_containers(self):
        """What containers leave when a test ends without removing them:
        the runtime's containers, the pods' monitors (which outlive the
        helper by design; each is found by the pid it announces on its own
        socket) and every mount below this instance's directory."""
        runc_root = self.run_root / "runtimes" / "runc"
        if runc_root.is_dir():
            ids = subprocess.run(["runc", "--root", str(runc_root), "list", "-q"],
                                 capture_output=True, text=True).stdout.split()
            for cid in ids:
                subprocess.run(["runc", "--root", str(runc_root), "delete", "--force", cid],
                               capture_output=True)
        mon = self.run_root / "mon"
        if mon.is_dir():
            for name in os.listdir(mon):
                pid = monitor_pid(mon / name)
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        unmount_below(self.base)


def monitor_pid(path):
    """The pid a brig-monitor announces in its READY message, or None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(2)
    try:
        s.connect(str(path))
        fields = parse_tlvs(s.recv(65536))
        return struct.unpack("<I", fields[11][0])[0] if 11 in fields else None
    except OSError:
        return None
    finally:
        s.close()


def unmount_below(base):
    prefix = str(base) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f if line.split()[4].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


@pytest.fixture(scope="session", autouse=True)
def cni_bridge_removed():
    """The default network's bridge goes when the session ends, as the
    tests' pods went before it."""
    yield
    subprocess.run(["ip", "link", "del", CNI_BRIDGE], capture_output=True)
    # the default parent of containers and monitors without a pod cgroup
    for h in os.listdir("/sys/fs/cgroup"):
        try:
            os.rmdir(f"/sys/fs/cgroup/{h}/brig")
        except OSError:
            pass


@pytest.fixture
def brig_dir():
    # brigd runs as the brig user: every directory on its paths must be
    # traversable by it, which mkdtemp's 0700 is not.
    base = Path(tempfile.mkdtemp(prefix="brig-it-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def brig(brig_dir, request):
    if os.geteuid() != 0:
        pytest.skip("integration tests run brig-helper, which needs root")
    b = Brig(brig_dir)
    try:
        b.start()
        yield b
        if b.proc.poll() is None:
            brigd = b.brigd_pid()
            assert b.stop() == 0, b.log_text()
            assert brigd is None or not alive(brigd), "brigd outlived brig-helper"
            assert not b.socket.exists(), "the CRI socket was left behind"
            assert not b.debug_socket.exists(), "the debug socket was left behind"
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            sys.stderr.write("--- brig log ---\n" + b.log_text())
        b.kill_everything()
        b.remove_containers()
        if b.log is not None:
            b.log.close()


@pytest.fixture
def conn(brig):
    """A HELLO'd connection to the helper's debug socket."""
    c = Conn(brig.debug_socket)
    r = c.hello()
    assert r.status == 0, r.error_message
    assert r.fields[TAG_VERSION] == [struct.pack("<I", 1)]
    yield c
    c.close()



@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "pod_extra(flags, payload): how test_helper_containers' pod is made")
