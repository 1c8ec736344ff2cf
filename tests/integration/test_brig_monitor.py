"""brig-monitor against a helper played by the test (docs/brig-monitor.md).

Each test starts the built brig-monitor as root exactly as brig-helper
does: fd 3 a listening SOCK_SEQPACKET socket, fd 4 one end of a socketpair,
its own session. It then plays the helper on the channel
(privhelper/monitor/channel.h) and drives real runc on real bundles: a
read-only rootfs holding a static busybox, and a config.json made from
`runc spec`. The test runs `runc start` itself, as the helper would.

Cleanup, on every path: each container is `runc delete --force`d in the
test's private runc root, its cgroup directories are removed, and the
monitor and its pause process are killed by their pids (only the ones the
test started) and reaped.
"""
import array
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid

import pytest

from conftest import BUILD, alive, children_of, proc_status, wait_for
from helperproto import BYTES, FD, STRING, U32, U64, parse_tlvs, tlv

MONITOR = BUILD / "brig-monitor"
RUNC = "/usr/sbin/runc"
BUSYBOX = "/bin/busybox"
TIMEOUT = 10
MAX_PAYLOAD = 65536
LINE_MAX = 16 * 1024

# channel.h
READY, CREATE, REOPEN_LOG, FORGET, STATE, SUBSCRIBE, SHUTDOWN, EXITED, REPLY, EXEC_SYNC = \
    range(1, 11)
(T_KIND, T_SEQ, T_STATUS, T_ERROR, T_CTR_ID, T_BUNDLE, T_RUNTIME, T_RUNTIME_ROOT, T_FLAGS,
 T_LOG_FD, T_PID, T_PAUSE_PID, T_WAIT_STATUS, T_EXIT_TIME, T_CTR_STATE, T_ARG, T_TIMEOUT_MS,
 T_TIMED_OUT, T_STDOUT_FD, T_STDERR_FD) = range(1, 21)
EXEC_OUTPUT_MAX = 16 * 1024 * 1024
MAX_EXECS = 32
MAX_EXEC_ARGS = 48
EXEC_DRAIN_MS = 200
# linux/fcntl.h
F_GET_SEALS = 1034
ALL_SEALS = 0x1 | 0x2 | 0x4 | 0x8  # SEAL, SHRINK, GROW, WRITE
# common/ctrspec.h
F_TTY, F_STDIN = 0x01, 0x02

POD = "6d0f" * 16
CRI_LINE = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([PF]) (.*)$",
                      re.S)
CGROUP_ROOT = "/sys/fs/cgroup"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(RUNC),
                                reason="needs root and runc")


def u32(tag, v):
    return tlv(tag, U32, struct.pack("<I", v))


def string(tag, s):
    return tlv(tag, STRING, s.encode() + b"\0")


def val32(raw):
    return struct.unpack("<I", raw)[0]


def val64(raw):
    return struct.unpack("<Q", raw)[0]


def text(raw):
    return raw.rstrip(b"\0").decode()


def ctr_id():
    return uuid.uuid4().hex + uuid.uuid4().hex


class Chan:
    """One connection to the monitor. EXITED events that arrive while a
    reply is awaited are kept for wait_exited(), replies to other requests
    for wait_reply(). Received fds are in a message's "fds"."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(TIMEOUT)
        self.seq = 0
        self.events = []
        self.replies = {}

    def send(self, payload, fds=()):
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.sock.sendmsg([payload], anc)

    def recv(self):
        data, fds, _, _ = socket.recv_fds(self.sock, MAX_PAYLOAD + 1, 2)
        if not data:
            return None
        msg = parse_tlvs(data)
        msg["fds"] = fds
        return msg

    def ready(self):
        msg = self.recv()
        assert msg and val32(msg[T_KIND][0]) == READY
        return msg

    def send_request(self, kind, fields=b"", fds=()):
        self.seq += 1
        self.send(u32(T_KIND, kind) + u32(T_SEQ, self.seq) + fields, fds)
        return self.seq

    def wait_reply(self, seq, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while seq not in self.replies:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            msg = self.recv()
            self.sock.settimeout(TIMEOUT)
            assert msg is not None, "monitor closed the connection"
            if val32(msg[T_KIND][0]) == EXITED:
                self.events.append(msg)
                continue
            assert val32(msg[T_KIND][0]) == REPLY
            self.replies[val32(msg[T_SEQ][0])] = msg
        return self.replies.pop(seq)

    def request(self, kind, fields=b"", fds=()):
        return self.wait_reply(self.send_request(kind, fields, fds))

    def wait_exited(self, cid, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if text(ev[T_CTR_ID][0]) == cid:
                    self.events.remove(ev)
                    return ev
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            msg = self.recv()
            self.sock.settimeout(TIMEOUT)
            assert msg is not None, "monitor closed the connection"
            assert val32(msg[T_KIND][0]) == EXITED
            self.events.append(msg)

    def state(self):
        r = self.request(STATE)
        assert val32(r[T_STATUS][0]) == 0
        out = {}
        for rec in r.get(T_CTR_STATE, []):
            f = parse_tlvs(rec)
            out[text(f[T_CTR_ID][0])] = {
                "pid": val32(f[T_PID][0]),
                "wait_status": val32(f[T_WAIT_STATUS][0]) if T_WAIT_STATUS in f else None,
                "exit_time": val64(f[T_EXIT_TIME][0]) if T_EXIT_TIME in f else None,
            }
        return out


def status_of(reply):
    return val32(reply[T_STATUS][0])


def error_of(reply):
    return text(reply[T_ERROR][0])


def high_dup(fd):
    """A duplicate above 4, so dup2 onto 3 and 4 never clobbers a source."""
    dups = []
    new = os.dup(fd)
    while new <= 4:
        dups.append(new)
        new = os.dup(fd)
    for d in dups:
        os.close(d)
    return new


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    if not os.path.exists(BUSYBOX):
        subprocess.run(["apt-get", "install", "-y", "busybox-static"], check=True,
                       stdout=subprocess.DEVNULL)
    root = tmp_path_factory.mktemp("monrootfs") / "rootfs"
    for d in ("bin", "proc", "dev", "sys", "tmp", "etc"):
        (root / d).mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for applet in ("sh", "echo", "sleep", "cat", "head", "tr", "printf", "ls", "true"):
        os.symlink("busybox", root / "bin" / applet)
    return root


@pytest.fixture(scope="module")
def base_spec(tmp_path_factory):
    d = tmp_path_factory.mktemp("monspec")
    subprocess.run([RUNC, "spec"], cwd=d, check=True)
    with open(d / "config.json") as f:
        return json.load(f)


class World:
    """The test's monitor, runc root, bundles and everything to clean up."""

    def __init__(self, tmp, rootfs, spec):
        self.tmp = tmp
        self.rootfs = rootfs
        self.spec = spec
        self.runc_root = tmp / "runc"
        self.runc_root.mkdir()
        self.tag = f"brigmontest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.ctrs = []
        self.pids = []
        self.monitor_pid = None
        self.pause_pid = None
        self.sock_path = tmp / "mon.sock"
        self.log_path = tmp / "monitor.log"
        self.chan = None
        self.keep = []

    # --- the monitor -----------------------------------------------------

    def start(self, pause=False):
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        lsock.bind(str(self.sock_path))
        lsock.listen(8)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        lfd, tfd = high_dup(lsock.fileno()), high_dup(theirs.fileno())
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        argv = [str(MONITOR)] + (["--pause"] if pause else []) + [POD]
        try:
            self.monitor_pid = os.posix_spawn(
                argv[0], argv, {"PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items()
                                                           if k.startswith(("ASAN", "UBSAN"))}},
                file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                              (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2),
                              (os.POSIX_SPAWN_DUP2, lfd, 3), (os.POSIX_SPAWN_DUP2, tfd, 4)],
                setsid=True)
        finally:
            for fd in (lfd, tfd, log):
                os.close(fd)
            lsock.close()
            theirs.close()
        self.chan = Chan(ours)
        ready = self.chan.ready()
        assert val32(ready[T_PID][0]) == self.monitor_pid
        if T_PAUSE_PID in ready:
            self.pause_pid = val32(ready[T_PAUSE_PID][0])
        return ready

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(str(self.sock_path))
        c = Chan(s)
        self.keep.append(c)
        return c

    def monitor_log(self):
        return self.log_path.read_text(errors="replace")

    def monitor_exited(self):
        """None while the monitor runs, else its exit code (reaped)."""
        pid, status = os.waitpid(self.monitor_pid, os.WNOHANG)
        if pid == 0:
            return None
        self.monitor_pid = None
        return os.waitstatus_to_exitcode(status)

    # --- bundles and containers ------------------------------------------

    def bundle(self, args, terminal=False, pid_ns=None, no_pid_ns=False, cid=None):
        cid = cid or ctr_id()
        b = self.tmp / f"b-{cid[:12]}"
        b.mkdir()
        spec = json.loads(json.dumps(self.spec))
        spec["process"]["args"] = args
        spec["process"]["terminal"] = terminal
        spec["root"] = {"path": str(self.rootfs), "readonly": True}
        spec["linux"]["cgroupsPath"] = f"/{self.tag}-{cid[:12]}"
        nss = [ns for ns in spec["linux"]["namespaces"] if ns["type"] != "pid"]
        if pid_ns:
            nss.append({"type": "pid", "path": pid_ns})
        elif not no_pid_ns:
            nss.append({"type": "pid"})
        spec["linux"]["namespaces"] = nss
        with open(b / "config.json", "w") as f:
            json.dump(spec, f)
        self.ctrs.append(cid)
        return cid, b

    def create(self, cid, bundle, flags=0, with_log=True):
        fields = (string(T_CTR_ID, cid) + string(T_BUNDLE, str(bundle)) + string(T_RUNTIME, RUNC)
                  + string(T_RUNTIME_ROOT, str(self.runc_root)) + u32(T_FLAGS, flags))
        if not with_log:
            return self.chan.request(CREATE, fields)
        path = bundle / "ctr.log" if bundle.is_dir() else os.devnull
        log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            return self.chan.request(CREATE, fields + tlv(T_LOG_FD, FD, struct.pack("<I", 0)),
                                     fds=[log])
        finally:
            os.close(log)

    def exec_fields(self, cid, bundle, args, timeout_ms=None, runtime=RUNC):
        return (string(T_CTR_ID, cid) + string(T_BUNDLE, str(bundle)) + string(T_RUNTIME, runtime)
                + string(T_RUNTIME_ROOT, str(self.runc_root))
                + b"".join(string(T_ARG, a) for a in args)
                + (u32(T_TIMEOUT_MS, timeout_ms) if timeout_ms is not None else b""))

    def exec_sync(self, cid, bundle, args, timeout_ms=None, chan=None, **kw):
        """EXEC_SYNC; returns the reply, with "out" and "err" read from its
        memfds when it succeeded."""
        chan = chan or self.chan
        r = chan.request(EXEC_SYNC, self.exec_fields(cid, bundle, args, timeout_ms, **kw))
        return read_exec_reply(r)

    def runc(self, *args, check=True):
        return subprocess.run([RUNC, "--root", str(self.runc_root), *args], check=check,
                              capture_output=True, text=True, timeout=TIMEOUT)

    def run(self, args, flags=0, **kw):
        """CREATE and start a container; returns its id, bundle and pid."""
        cid, b = self.bundle(args, **kw)
        r = self.create(cid, b, flags)
        assert status_of(r) == 0, error_of(r)
        pid = val32(r[T_PID][0])
        assert int((b / "pid").read_text()) == pid
        self.runc("start", cid)
        return cid, b, pid

    def cleanup(self):
        for c in self.keep:
            c.sock.close()
        if self.chan:
            self.chan.sock.close()
        for cid in self.ctrs:
            self.runc("delete", "--force", cid, check=False)
        for pid in (self.monitor_pid, self.pause_pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.monitor_pid:
            os.waitpid(self.monitor_pid, 0)
        for cid in self.ctrs:
            for d in os.listdir(CGROUP_ROOT):
                p = os.path.join(CGROUP_ROOT, d, f"{self.tag}-{cid[:12]}")
                if os.path.isdir(p):
                    try:
                        os.rmdir(p)
                    except OSError:
                        pass


@pytest.fixture
def world(tmp_path, rootfs, base_spec):
    w = World(tmp_path, rootfs, base_spec)
    try:
        yield w
    finally:
        w.cleanup()


def read_exec_reply(r):
    """Checks an EXEC_SYNC reply's fds (sealed memfds at offset 0) and
    reads them into r["out"] and r["err"], closing them."""
    if status_of(r) != 0:
        assert r["fds"] == []
        return r
    assert len(r["fds"]) == 2
    assert val32(r[T_STDOUT_FD][0]) == 0 and val32(r[T_STDERR_FD][0]) == 1
    try:
        for fd, key in zip(r["fds"], ("out", "err")):
            assert os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:")
            assert fcntl.fcntl(fd, F_GET_SEALS) == ALL_SEALS
            assert os.lseek(fd, 0, os.SEEK_CUR) == 0
            with pytest.raises(PermissionError):
                os.write(fd, b"x")
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            r[key] = b"".join(chunks)
    finally:
        for fd in r["fds"]:
            os.close(fd)
    return r


def exit_code(r):
    ws = val32(r[T_WAIT_STATUS][0])
    return os.waitstatus_to_exitcode(ws)


def zombies_of(pid):
    return [k for k in children_of(pid) if not alive(k)]


def processes_in_ns_of(pid):
    """The pids that share pid's PID namespace, pid itself left out."""
    ns = os.readlink(f"/proc/{pid}/ns/pid")
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == pid:
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") == ns:
                out.append(int(entry))
        except OSError:
            pass
    return out


def log_records(path):
    out = []
    for line in path.read_bytes().split(b"\n")[:-1]:
        m = CRI_LINE.match(line)
        assert m, line
        out.append((m.group(2).decode(), m.group(3).decode(), m.group(4)))
    return out


def wait_log(path, predicate, what):
    wait_for(lambda: path.exists() and predicate(log_records(path)), TIMEOUT, what)
    return log_records(path)


# --- tests ------------------------------------------------------------------


def test_ready_on_fd4_and_on_each_connection(world):
    world.start()
    c = world.connect()
    ready = c.ready()
    assert val32(ready[T_PID][0]) == world.monitor_pid
    assert T_PAUSE_PID not in ready
    assert c.state() == {}
    assert os.getsid(world.monitor_pid) == world.monitor_pid


def test_run_log_exit_record_state_forget(world):
    world.start()
    cid, b, pid = world.run(["sh", "-c", "echo hello; echo err >&2; exit 3"])
    ev = world.chan.wait_exited(cid)
    assert val32(ev[T_PID][0]) == pid
    assert val32(ev[T_WAIT_STATUS][0]) == 3 << 8
    exit_time = val64(ev[T_EXIT_TIME][0])
    assert abs(exit_time / 1e9 - time.time()) < 30
    assert (b / "exit").read_text() == f"{pid} {3 << 8} {exit_time}\n"
    assert not (b / ".exit.tmp").exists()
    wait_log(b / "ctr.log", lambda r: len(r) == 2, "two log lines")
    recs = log_records(b / "ctr.log")
    assert ("stdout", "F", b"hello") in recs
    assert ("stderr", "F", b"err") in recs
    # reaped at once: no zombie left under the monitor
    assert not os.path.exists(f"/proc/{pid}")
    assert not [k for k in children_of(world.monitor_pid) if not alive(k)]
    st = world.chan.state()
    assert st == {cid: {"pid": pid, "wait_status": 3 << 8, "exit_time": exit_time}}
    assert status_of(world.chan.request(FORGET, string(T_CTR_ID, cid))) == 0
    assert world.chan.state() == {}
    r = world.chan.request(FORGET, string(T_CTR_ID, cid))
    assert status_of(r) == 2  # ENOENT


def test_create_without_a_log(world):
    world.start()
    cid, b = world.bundle(["sh", "-c", "echo dropped; exit 4"])
    r = world.create(cid, b, with_log=False)
    assert status_of(r) == 0
    world.runc("start", cid)
    assert val32(world.chan.wait_exited(cid)[T_WAIT_STATUS][0]) == 4 << 8
    assert not (b / "ctr.log").exists()


def test_long_line_split_and_final_partial_line(world):
    world.start()
    script = ("head -c 40000 /dev/zero | tr '\\0' a; echo; printf 'x%.0s' 1 2 3 4 5 6 7 8 9 10;"
              " echo; head -c 16384 /dev/zero | tr '\\0' b; echo; printf 'no newline'")
    cid, b, _ = world.run(["sh", "-c", script])
    world.chan.wait_exited(cid)
    wait_log(b / "ctr.log", lambda r: r and r[-1][2] == b"no newline", "the final partial line")
    recs = log_records(b / "ctr.log")
    assert recs == [
        ("stdout", "P", b"a" * LINE_MAX),
        ("stdout", "P", b"a" * LINE_MAX),
        ("stdout", "F", b"a" * (40000 - 2 * LINE_MAX)),
        ("stdout", "F", b"x" * 10),
        ("stdout", "F", b"b" * LINE_MAX),
        ("stdout", "F", b"no newline"),
    ]


def test_reopen_log(world):
    world.start()
    cid, b, _ = world.run(["sh", "-c", "echo one; sleep 2; echo two"])
    wait_log(b / "ctr.log", lambda r: r == [("stdout", "F", b"one")], "the first line")
    os.rename(b / "ctr.log", b / "ctr.log.1")
    new = os.open(b / "ctr.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        r = world.chan.request(REOPEN_LOG, string(T_CTR_ID, cid)
                               + tlv(T_LOG_FD, FD, struct.pack("<I", 0)), fds=[new])
    finally:
        os.close(new)
    assert status_of(r) == 0
    world.chan.wait_exited(cid)
    wait_log(b / "ctr.log", lambda r: r == [("stdout", "F", b"two")], "the second line")
    assert log_records(b / "ctr.log.1") == [("stdout", "F", b"one")]
    # unknown container
    new = os.open(os.devnull, os.O_WRONLY)
    try:
        r = world.chan.request(REOPEN_LOG, string(T_CTR_ID, ctr_id())
                               + tlv(T_LOG_FD, FD, struct.pack("<I", 0)), fds=[new])
    finally:
        os.close(new)
    assert status_of(r) == 2


def test_orphans_reaped_exit_not_held_by_pipes(world):
    world.start()
    # The host's PID namespace: an orphan is reparented to the monitor.
    cid, b, pid = world.run(["sh", "-c", "sleep 2 & echo $!"], no_pid_ns=True)
    t0 = time.monotonic()
    ev = world.chan.wait_exited(cid)
    # the sleep still holds stdout, but the exit is reported at once
    assert time.monotonic() - t0 < 1.5
    assert val32(ev[T_WAIT_STATUS][0]) == 0
    recs = wait_log(b / "ctr.log", lambda r: r, "the orphan's pid")
    orphan = int(recs[0][2])
    wait_for(lambda: orphan in children_of(world.monitor_pid) or not os.path.exists(
        f"/proc/{orphan}"), TIMEOUT, "the orphan under the monitor")
    wait_for(lambda: not os.path.exists(f"/proc/{orphan}"), TIMEOUT, "the orphan reaped")
    assert not [k for k in children_of(world.monitor_pid) if not alive(k)]
    assert world.chan.state()[cid]["wait_status"] == 0


def test_create_failure_reports_runtime_error(world):
    world.start()
    cid, b = world.bundle(["/no/such/binary"])
    r = world.create(cid, b)
    assert status_of(r) != 0
    err = error_of(r)
    assert "/no/such/binary" in err, err
    assert all(" " <= ch <= "~" for ch in err)
    assert len(err) < 512
    assert world.chan.state() == {}
    assert f"ctr={cid}" in world.monitor_log()
    # a bundle that is no directory
    r = world.create(ctr_id(), world.tmp / "missing")
    assert status_of(r) == 2 and "bundle" in error_of(r)
    # values checked: not an id, not a clean path
    r = world.create("ABC", b)
    assert status_of(r) == 22
    r = world.create(ctr_id(), world.tmp / ".." / "x")
    assert status_of(r) == 22
    # the same id twice while the first exists
    cid2, b2, _ = world.run(["sleep", "30"])
    r = world.create(cid2, b2)
    assert status_of(r) == 17  # EEXIST


def test_subscribe_gets_exited_and_closes_on_request(world):
    world.start()
    sub = world.connect()
    sub.ready()
    assert status_of(sub.request(SUBSCRIBE)) == 0
    cid, _, pid = world.run(["true"])
    ev = sub.wait_exited(cid)
    assert val32(ev[T_PID][0]) == pid
    world.chan.wait_exited(cid)  # the control connection gets it too
    sub.send(u32(T_KIND, STATE) + u32(T_SEQ, 99))
    assert sub.recv() is None
    assert world.chan.state()[cid]["wait_status"] == 0


def test_shutdown_refused_while_running(world):
    world.start(pause=True)
    pause = world.pause_pid
    cid, _, pid = world.run(["sleep", "30"])
    r = world.chan.request(SHUTDOWN)
    assert status_of(r) == 16  # EBUSY
    r = world.chan.request(FORGET, string(T_CTR_ID, cid))
    assert status_of(r) == 16
    world.runc("kill", cid, "KILL")
    ev = world.chan.wait_exited(cid)
    assert val32(ev[T_WAIT_STATUS][0]) == signal.SIGKILL
    assert status_of(world.chan.request(SHUTDOWN)) == 0
    code = wait_for(lambda: (c,) if (c := world.monitor_exited()) is not None else None,
                    TIMEOUT, "the monitor to exit")
    assert code == (0,)
    assert not os.path.exists(f"/proc/{pause}")
    world.pause_pid = None


EXEC_BASE = (string(T_CTR_ID, "a" * 64) + string(T_BUNDLE, "/b") + string(T_RUNTIME, "/r")
             + string(T_RUNTIME_ROOT, "/rr"))


@pytest.mark.parametrize("payload, fds", [
    (b"\x01\x00", 0),                                           # cut-short element
    (u32(T_KIND, 42) + u32(T_SEQ, 1), 0),                       # unknown kind
    (u32(T_KIND, EXITED) + u32(T_SEQ, 1), 0),                   # not a request
    (u32(T_SEQ, 1) + u32(T_KIND, STATE), 0),                    # KIND not first
    (u32(T_KIND, STATE), 0),                                    # SEQ missing
    (u32(T_KIND, STATE) + u32(T_SEQ, 1) + u32(T_SEQ, 2), 0),    # SEQ twice
    (u32(T_KIND, STATE) + u32(T_SEQ, 1), 1),                    # an fd it does not take
    (u32(T_KIND, FORGET) + u32(T_SEQ, 1) + tlv(T_CTR_ID, BYTES, b"x"), 0),  # wrong type
    (u32(T_KIND, REOPEN_LOG) + u32(T_SEQ, 1) + string(T_CTR_ID, "a" * 64), 0),  # no fd
    (u32(T_KIND, FORGET) + u32(T_SEQ, 1) + tlv(T_CTR_ID, STRING, b"ab\0cd\0"), 0),  # NUL
    (u32(T_KIND, EXEC_SYNC) + u32(T_SEQ, 1) + EXEC_BASE, 0),                   # no ARG
    (u32(T_KIND, EXEC_SYNC) + u32(T_SEQ, 1) + EXEC_BASE
     + string(T_ARG, "x") * (MAX_EXEC_ARGS + 1), 0),                           # too many ARGs
    (u32(T_KIND, EXEC_SYNC) + u32(T_SEQ, 1) + EXEC_BASE + string(T_ARG, "x")
     + u32(T_TIMEOUT_MS, 1) + u32(T_TIMEOUT_MS, 1), 0),                        # TIMEOUT_MS twice
    (u32(T_KIND, EXEC_SYNC) + u32(T_SEQ, 1) + EXEC_BASE + string(T_ARG, "x"), 1),  # an fd
    (u32(T_KIND, STATE) + u32(T_SEQ, 1) + string(T_ARG, "x"), 0),              # ARG elsewhere
])
def test_malformed_datagram_closes_only_its_connection(world, payload, fds):
    world.start()
    bad = world.connect()
    bad.ready()
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        bad.send(payload, [devnull] * fds)
    finally:
        os.close(devnull)
    assert bad.recv() is None
    assert world.chan.state() == {}
    assert "malformed datagram" in world.monitor_log()
    assert world.monitor_exited() is None


def test_survives_the_parent_closing_fd4(world):
    world.start()
    cid, _, _ = world.run(["sleep", "30"])
    world.chan.sock.close()
    world.chan = None
    time.sleep(0.2)
    assert world.monitor_exited() is None
    c = world.connect()
    c.ready()
    assert cid in c.state()
    world.runc("kill", cid, "KILL")
    assert val32(c.wait_exited(cid)[T_WAIT_STATUS][0]) == signal.SIGKILL


def test_connection_limit(world):
    world.start()
    conns = [world.connect() for _ in range(15)]
    for c in conns:
        c.ready()
    extra = world.connect()
    assert extra.recv() is None
    conns[0].sock.close()
    world.keep.remove(conns[0])
    time.sleep(0.2)
    again = world.connect()
    again.ready()


def test_pause_process_is_pid1_of_the_pod(world):
    ready = world.start(pause=True)
    pause = val32(ready[T_PAUSE_PID][0])
    nspid = proc_status(pause)["NSpid"].split()
    assert len(nspid) == 2 and nspid[0] == str(pause) and nspid[1] == "1"
    assert pause in children_of(world.monitor_pid)
    cid, b, pid = world.run(["sh", "-c", "cat /proc/1/comm; echo $$"],
                            pid_ns=f"/proc/{pause}/ns/pid")
    assert val32(world.chan.wait_exited(cid)[T_WAIT_STATUS][0]) == 0
    recs = wait_log(b / "ctr.log", lambda r: len(r) == 2, "two lines")
    assert recs[0] == ("stdout", "F", b"brig-pause")
    assert recs[1][2] != b"1"
    assert os.path.exists(f"/proc/{pause}")


def test_tty_output_goes_to_stdout(world):
    world.start()
    cid, b, _ = world.run(["sh", "-c", "echo on tty; echo also >&2; [ -t 1 ] && echo is a tty"],
                          flags=F_TTY, terminal=True)
    assert val32(world.chan.wait_exited(cid)[T_WAIT_STATUS][0]) == 0
    recs = wait_log(b / "ctr.log", lambda r: len(r) == 3, "three lines")
    assert [(s, t) for s, t, _ in recs] == [("stdout", "F")] * 3
    assert [x.rstrip(b"\r") for _, _, x in recs] == [b"on tty", b"also", b"is a tty"]
    assert not (b / "console.sock").exists()


def test_stdin_kept_open_and_idle_rss(world):
    world.start()
    cid, b, pid = world.run(["sh", "-c", "echo started; cat; echo eof"], flags=F_STDIN)
    wait_log(b / "ctr.log", lambda r: r == [("stdout", "F", b"started")], "started")
    time.sleep(1)
    # cat sees no EOF: the monitor holds the write end of its stdin
    assert alive(pid)
    assert world.chan.state()[cid]["wait_status"] is None
    st = proc_status(world.monitor_pid)
    with open(f"/proc/{world.monitor_pid}/smaps_rollup") as f:
        pss = [line.split()[1] for line in f if line.startswith("Pss:")][0]
    print(f"\nidle brig-monitor with one container: VmRSS {st['VmRSS']} (RssAnon "
          f"{st['RssAnon']}, RssFile {st['RssFile']}), Pss {pss} kB")
    world.runc("kill", cid, "KILL")
    assert val32(world.chan.wait_exited(cid)[T_WAIT_STATUS][0]) == signal.SIGKILL


# --- EXEC_SYNC ----------------------------------------------------------------


def test_exec_sync_output_status_and_args(world):
    world.start()
    cid, b, pid = world.run(["sleep", "30"])
    r = world.exec_sync(cid, b, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert status_of(r) == 0
    assert val32(r[T_WAIT_STATUS][0]) == 7 << 8
    assert val32(r[T_TIMED_OUT][0]) == 0
    assert (r["out"], r["err"]) == (b"out\n", b"err\n")
    # args after the command are passed as they are, '-' or not
    r = world.exec_sync(cid, b, ["sh", "-c", 'echo "$0" "$1"', "-x", "--help"])
    assert (exit_code(r), r["out"], r["err"]) == (0, b"-x --help\n", b"")
    r = world.exec_sync(cid, b, ["echo", "-n", "no newline"])
    assert r["out"] == b"no newline"
    # the container's own process settings: its environment, not the monitor's
    r = world.exec_sync(cid, b, ["sh", "-c", "echo $TERM"])
    assert r["out"] == b"xterm\n"
    # killed by a signal: the process's own wait status
    r = world.exec_sync(cid, b, ["sh", "-c", "kill -9 $$"])
    assert val32(r[T_WAIT_STATUS][0]) == signal.SIGKILL and val32(r[T_TIMED_OUT][0]) == 0
    # the pid and log files are gone, nothing is left to reap, the container runs on
    assert not list(b.glob("exec-*"))
    assert not zombies_of(world.monitor_pid)
    assert alive(pid) and world.chan.state()[cid]["wait_status"] is None


def test_exec_sync_timeout_kills_the_process(world):
    world.start()
    cid, b, pid = world.run(["sleep", "30"])
    t0 = time.monotonic()
    r = world.exec_sync(cid, b, ["sleep", "100"], timeout_ms=500)
    took = time.monotonic() - t0
    assert status_of(r) == 0
    # the process's own wait status: killed by SIGKILL
    assert (val32(r[T_TIMED_OUT][0]), val32(r[T_WAIT_STATUS][0])) == (1, signal.SIGKILL)
    assert 0.5 <= took < 5, took
    # only the container's init is left in its PID namespace
    wait_for(lambda: not processes_in_ns_of(pid), TIMEOUT, "the exec'd sleep to go")
    assert not list(b.glob("exec-*"))
    wait_for(lambda: not zombies_of(world.monitor_pid), TIMEOUT, "no zombie")
    # a timeout that does not pass changes nothing
    r = world.exec_sync(cid, b, ["true"], timeout_ms=5000)
    assert (exit_code(r), val32(r[T_TIMED_OUT][0])) == (0, 0)


def test_exec_sync_output_capped(world):
    world.start()
    cid, b, _ = world.run(["sleep", "30"])
    r = world.exec_sync(cid, b, ["sh", "-c", "head -c 20000000 /dev/zero; echo done >&2"])
    assert exit_code(r) == 0
    assert len(r["out"]) == EXEC_OUTPUT_MAX
    assert r["out"].count(0) == EXEC_OUTPUT_MAX
    assert r["err"] == b"done\n"


def test_exec_sync_background_child_holding_stdout(world):
    world.start()
    cid, b, _ = world.run(["sleep", "30"])
    # A background child that holds stdout holds the reply only for the
    # drain after its parent, the process, was reaped.
    t0 = time.monotonic()
    r = world.exec_sync(cid, b, ["sh", "-c", "sleep 5 & echo hi"])
    took = time.monotonic() - t0
    assert (exit_code(r), val32(r[T_TIMED_OUT][0]), r["out"]) == (0, 0, b"hi\n")
    assert EXEC_DRAIN_MS / 1000 <= took < 2, took
    # One with its own stdio does not hold it at all.
    t0 = time.monotonic()
    r = world.exec_sync(cid, b, ["sh", "-c", "sleep 5 >/dev/null 2>&1 & echo hi"])
    assert (exit_code(r), r["out"]) == (0, b"hi\n")
    assert time.monotonic() - t0 < 1.5
    # At a timeout the process is killed; its child holding stdout does not
    # keep the reply past the drain.
    t0 = time.monotonic()
    r = world.exec_sync(cid, b, ["sh", "-c", "sleep 30 & echo hi; wait"], timeout_ms=1000)
    took = time.monotonic() - t0
    assert (val32(r[T_TIMED_OUT][0]), val32(r[T_WAIT_STATUS][0])) == (1, signal.SIGKILL)
    assert r["out"] == b"hi\n"
    assert 1 <= took < 1 + EXEC_DRAIN_MS / 1000 + 1.5, took
    wait_for(lambda: not zombies_of(world.monitor_pid), TIMEOUT, "no zombie")


def write_runtime(path, body):
    """A stand-in for the runtime: a shell script that the monitor runs
    with runc's command line."""
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_exec_sync_process_reaped_before_its_runtime_ended(world):
    world.start()
    cid, b, _ = world.run(["sleep", "30"])
    # runc exits once the process started; its exit status then waits for a
    # runtime that lingers, so the monitor reaps the process first, as an
    # unknown pid, and matches it when it reads the pid file.
    slow = write_runtime(world.tmp / "slow-runc", f'{RUNC} "$@"; rc=$?; sleep 0.5; exit $rc\n')
    r = world.exec_sync(cid, b, ["sh", "-c", "echo early; exit 3"], runtime=slow)
    assert (exit_code(r), val32(r[T_TIMED_OUT][0]), r["out"]) == (3, 0, b"early\n")
    # and many at once, whichever of the process and runc is reaped first
    seqs = [world.chan.send_request(EXEC_SYNC, world.exec_fields(cid, b, ["sh", "-c", f"exit {i}"]))
            for i in range(MAX_EXECS)]
    for i, seq in enumerate(seqs):
        assert exit_code(read_exec_reply(world.chan.wait_reply(seq, timeout=30))) == i
    assert not list(b.glob("exec-*"))
    assert not zombies_of(world.monitor_pid)


def test_exec_sync_never_takes_an_exit_reaped_before_it(world):
    world.start()
    cid, b, _ = world.run(["sleep", "30"], no_pid_ns=True)
    r = world.exec_sync(cid, b, ["sh", "-c", "sleep 0.5 >/dev/null 2>&1 & echo $!"])
    orphan = int(r["out"])
    # An exec whose runtime runs across the orphan's end keeps that exit.
    slow = write_runtime(world.tmp / "slow-runc", f'{RUNC} "$@"; rc=$?; sleep 2; exit $rc\n')
    seq = world.chan.send_request(EXEC_SYNC, world.exec_fields(cid, b, ["true"], runtime=slow))
    wait_for(lambda: not os.path.exists(f"/proc/{orphan}"), TIMEOUT, "the orphan reaped")
    # A runtime started after it that names the orphan's pid gets no exit.
    liar = write_runtime(world.tmp / "liar-runc",
                         'while [ $# -gt 0 ]; do [ "$1" = --pid-file ] && '
                         f'printf {orphan} >"$2"; shift; done\n')
    r = world.exec_sync(cid, b, ["true"], runtime=liar)
    assert status_of(r) == 5 and "ended unseen" in error_of(r)  # EIO
    assert exit_code(read_exec_reply(world.chan.wait_reply(seq))) == 0
    assert not list(b.glob("exec-*"))


def test_exec_sync_runtime_failures(world):
    world.start()
    cid, b, _ = world.run(["sleep", "30"])
    # runc's error line from its log
    r = world.exec_sync(cid, b, ["no-such-command"])
    assert status_of(r) == 5, r  # EIO
    assert "no-such-command" in error_of(r) and "not found" in error_of(r), error_of(r)
    # exited 0 without a pid file
    r = world.exec_sync(cid, b, ["true"], runtime=write_runtime(world.tmp / "mute", "exit 0\n"))
    assert status_of(r) == 5 and "pid file" in error_of(r), error_of(r)
    # failed with no error line
    r = world.exec_sync(cid, b, ["true"], runtime=write_runtime(world.tmp / "fail", "exit 4\n"))
    assert status_of(r) == 5 and error_of(r) == "runtime exec exited with status 4"
    assert not list(b.glob("exec-*"))
    assert world.monitor_exited() is None
    assert exit_code(world.exec_sync(cid, b, ["true"])) == 0


def test_exec_sync_orphans_reaped_by_the_monitor(world):
    world.start()
    # The host's PID namespace: the exec's orphan ends up under the monitor.
    cid, b, _ = world.run(["sleep", "30"], no_pid_ns=True)
    r = world.exec_sync(cid, b, ["sh", "-c", "sleep 1 >/dev/null 2>&1 & echo $!"])
    assert exit_code(r) == 0
    orphan = int(r["out"])
    wait_for(lambda: not os.path.exists(f"/proc/{orphan}"), TIMEOUT, "the orphan reaped")
    assert not zombies_of(world.monitor_pid)


def test_exec_sync_refusals(world):
    world.start()
    cid, b, _ = world.run(["sleep", "30"])
    r = world.exec_sync(ctr_id(), b, ["true"])
    assert status_of(r) == 2 and error_of(r) == "no such container"  # ENOENT
    r = world.exec_sync("ABC", b, ["true"])
    assert status_of(r) == 22  # EINVAL
    r = world.exec_sync(cid, world.tmp / "x" / ".." / "y", ["true"])
    assert status_of(r) == 22
    r = world.exec_sync(cid, world.tmp / "missing", ["true"])
    assert status_of(r) == 2 and "bundle" in error_of(r)
    r = world.exec_sync(cid, b, ["true"], runtime="/no/such/runc")
    assert status_of(r) == 5 and "starting the runtime failed" in error_of(r)  # EIO
    # a container whose create still runs or whose init has exited
    cid2, b2, _ = world.run(["true"])
    world.chan.wait_exited(cid2)
    r = world.exec_sync(cid2, b2, ["true"])
    assert status_of(r) == 2 and "not running" in error_of(r)
    # the most arguments there may be
    r = world.exec_sync(cid, b, ["sh", "-c", 'echo "$#"'] + ["-a"] * (MAX_EXEC_ARGS - 3))
    assert r["out"] == f"{MAX_EXEC_ARGS - 4}\n".encode()
    assert world.monitor_exited() is None


def test_exec_sync_limit_shutdown_and_forget(world):
    world.start()
    cid, b, _ = world.run(["sleep", "30"])
    fields = world.exec_fields(cid, b, ["sleep", "30"], timeout_ms=3000)
    seqs = [world.chan.send_request(EXEC_SYNC, fields) for _ in range(MAX_EXECS)]
    r = world.chan.request(EXEC_SYNC, fields)
    assert status_of(r) == 16 and "most execs" in error_of(r)  # EBUSY
    r = world.chan.request(SHUTDOWN)
    assert status_of(r) == 16 and error_of(r) == "an exec still runs"
    for seq in seqs:
        r = read_exec_reply(world.chan.wait_reply(seq, timeout=30))
        assert status_of(r) == 0 and val32(r[T_TIMED_OUT][0]) == 1
        assert val32(r[T_WAIT_STATUS][0]) == signal.SIGKILL
    wait_for(lambda: not zombies_of(world.monitor_pid), TIMEOUT, "no zombie")
    assert not list(b.glob("exec-*"))
    # an exec that outlives the container's init keeps FORGET away
    cid2, b2, _ = world.run(["sleep", "1"], no_pid_ns=True)
    seq = world.chan.send_request(EXEC_SYNC, world.exec_fields(cid2, b2, ["sleep", "3"]))
    world.chan.wait_exited(cid2)
    r = world.chan.request(FORGET, string(T_CTR_ID, cid2))
    assert status_of(r) == 16 and "exec" in error_of(r)
    assert exit_code(read_exec_reply(world.chan.wait_reply(seq))) == 0
    assert status_of(world.chan.request(FORGET, string(T_CTR_ID, cid2))) == 0


def test_exec_sync_requester_gone(world):
    world.start()
    cid, b, _ = world.run(["sleep", "30"])
    c = world.connect()
    c.ready()
    c.send_request(EXEC_SYNC, world.exec_fields(cid, b, ["sh", "-c", "sleep 0.5; echo late"]))
    time.sleep(0.1)
    c.sock.close()
    world.keep.remove(c)
    wait_for(lambda: "exec finished" in world.monitor_log(), TIMEOUT, "the exec to finish")
    assert world.monitor_exited() is None
    assert not list(b.glob("exec-*"))
    # no fd of the dropped reply is left in the monitor
    fds = os.listdir(f"/proc/{world.monitor_pid}/fd")
    assert not [f for f in fds
                if os.readlink(f"/proc/{world.monitor_pid}/fd/{f}").startswith("/memfd:")]
    assert exit_code(world.exec_sync(cid, b, ["true"])) == 0
