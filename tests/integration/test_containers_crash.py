"""Crash safety of brigd's containers: brigd killed at each step between a
container's records and its helper calls, and a burst of container work
while brigd, brig-helper, both, or a pod's brig-monitor are SIGKILLed at
random moments. Whatever the moment, after the restart every listed
container has its record (and every record a listed container), nothing is
left that no listed container owns (helper directory, runc container,
mount), running containers still run with the pid they had, exits report
the code the container exited with, and once everything is removed no
mount, cgroup, runc container or process is left.

brigd's kills come from the test-only crash points (daemon/crashpoint.h),
armed through brig.debug.v1, or from outside by pid.
"""
import glob
import json
import os
import random
import signal
import subprocess
import threading
import time

import grpc
import pytest

from conftest import alive, monitor_pid, wait_for
from test_containers import (CREATED, EXITED, RUNNING, SLEEP, Ctrs, brig, ctrs,  # noqa: F401
                             registry_image)
from test_pods import RESTART_TIMEOUT, expect_error, pods  # noqa: F401

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("BRIG_BUILD", "build"), "brig-unpack")),
    reason="brig-unpack is not built")

# How long brigd waits for an exit that a dead monitor can no longer record
# (LOST_GRACE_MS in daemon/containers.c), plus room for a loaded machine.
LOST_WAIT = 15
STATES = {"created", "starting", "running", "exited"}


# --- looking at what brig keeps ----------------------------------------------------

def ctr_records(brig):
    """Container ids with a record; no record may have been set aside."""
    names = os.listdir(brig.root / "pods")
    assert not [n for n in names if n.endswith(".corrupt")], names
    return sorted(n[:-4] for n in names if n.endswith(".ctr"))


def record(brig, ctr_id):
    with open(brig.root / "pods" / f"{ctr_id}.ctr") as f:
        return json.load(f)


def helper_dirs(brig):
    d = brig.root / "containers"
    return sorted(n for n in os.listdir(d) if not n.startswith(".")) if d.is_dir() else []


def runc_ids(brig):
    root = brig.run_root / "runtimes" / "runc"
    if not root.is_dir():
        return []
    r = subprocess.run(["runc", "--root", str(root), "list", "-q"], capture_output=True,
                       text=True, check=True)
    return sorted(r.stdout.split())


def mounts_below(path):
    prefix = str(path) + "/"
    with open("/proc/self/mountinfo") as f:
        return sorted(line.split()[4] for line in f if line.split()[4].startswith(prefix))


def cgroups_of(ctr_id):
    return (glob.glob(f"/sys/fs/cgroup/*/brig/*{ctr_id}*") +
            glob.glob(f"/sys/fs/cgroup/*/brig/*/*{ctr_id}*"))


def processes_in(ctr_ids):
    """Live (not zombie) pids whose cgroup names one of ctr_ids."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup") as f:
                text = f.read()
        except OSError:
            continue
        if any(i in text for i in ctr_ids) and alive(int(entry)):
            found.append(int(entry))
    return found


def assert_consistent(brig, ctrs):
    """What a restarted brigd lists is what its records, the helper and runc
    hold: no half container listed or left behind."""
    listed = {c.id: c for c in ctrs.list()}
    assert ctr_records(brig) == sorted(listed)
    for ctr_id in listed:
        assert record(brig, ctr_id)["state"] in STATES
    dirs, runc = helper_dirs(brig), runc_ids(brig)
    assert set(dirs) <= set(listed) and set(runc) <= set(listed)
    # One that is not exited is the helper's and the runtime's too.
    for c in listed.values():
        if c.state != EXITED:
            assert c.id in dirs and c.id in runc, (c.id, c.state)
    pins = str(brig.run_root / "ns") + "/"
    for m in mounts_below(brig.base):
        if not m.startswith(pins):
            rel = os.path.relpath(m, brig.root / "containers")
            assert rel.split("/")[0] in listed, f"mount {m} belongs to no listed container"
    return listed


def assert_nothing_left(brig, ctr_ids, pids):
    assert ctr_records(brig) == []
    assert helper_dirs(brig) == []
    assert runc_ids(brig) == []
    assert mounts_below(brig.base) == []
    for ctr_id in ctr_ids:
        assert cgroups_of(ctr_id) == [], ctr_id
    assert processes_in(ctr_ids) == []
    assert [p for p in pids if alive(p)] == []


def wait_for_new_brigd(brig, ctrs, old):
    wait_for(lambda: (p := brig.brigd_pid()) and p != old and p, RESTART_TIMEOUT, "a new brigd")
    wait_for(brig.version_ok, RESTART_TIMEOUT, "brigd answering after the crash")
    ctrs.reconnect()


def crash(brig, ctrs, point, fn, *args, **kw):
    """Arms point, runs fn (whose call brigd dies in), waits for the new brigd."""
    ctrs.cri.crash_at(point)
    old = brig.brigd_pid()
    expect_error(grpc.StatusCode.UNAVAILABLE, fn, *args, **kw)
    wait_for_new_brigd(brig, ctrs, old)
    assert f"point={point}" in brig.log_text()


def pid_of(ctrs, ctr_id):
    return json.loads(ctrs.status(ctr_id, verbose=True).info["info"])["pid"]


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()


def remove_all(ctrs):
    for c in ctrs.list():
        ctrs.remove(c.id)
    for p in ctrs.pods.list():
        ctrs.pods.remove(p.id)


# --- brigd killed at each step --------------------------------------------------------

@pytest.mark.parametrize("point", ["container-recorded", "container-created"])
def test_create_cut_short_leaves_nothing(brig, ctrs, point):
    pod_id, cfg = ctrs.run_pod()
    crash(brig, ctrs, point, ctrs.create, pod_id, cfg, name="half", command=SLEEP)
    # The record still said "creating": kubelet never got the id, so the
    # new brigd deleted the container (after the helper finished it).
    assert assert_consistent(brig, ctrs) == {}
    assert helper_dirs(brig) == [] and runc_ids(brig) == []
    assert "removed a container left half-created by a crash" in brig.log_text()
    # kubelet's retry of the same name works.
    ctr_id = ctrs.create(pod_id, cfg, name="half", command=SLEEP)
    ctrs.start(ctr_id)
    assert ctrs.status(ctr_id).status.state == RUNNING
    remove_all(ctrs)
    assert_nothing_left(brig, [ctr_id], [])


def test_create_recorded_but_unanswered_keeps_the_container(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    crash(brig, ctrs, "container-created-recorded", ctrs.create, pod_id, cfg, name="kept",
          command=SLEEP)
    [c] = assert_consistent(brig, ctrs).values()
    assert c.state == CREATED and c.metadata.name == "kept"
    # kubelet, which never learnt the id, is told the name is taken.
    err = expect_error(grpc.StatusCode.ALREADY_EXISTS, ctrs.create, pod_id, cfg, name="kept",
                       command=SLEEP)
    assert c.id in err.details()
    ctrs.start(c.id)
    assert ctrs.status(c.id).status.state == RUNNING
    remove_all(ctrs)
    assert_nothing_left(brig, [c.id], [])


@pytest.mark.parametrize("point", ["container-starting", "container-started"])
def test_start_cut_short_is_finished_at_restart(brig, ctrs, point):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    crash(brig, ctrs, point, ctrs.start, ctr_id)
    assert list(assert_consistent(brig, ctrs)) == [ctr_id]
    # Whether or not the runtime had the start, it has it now: the process
    # is the container's command, not the runtime's init waiting for it.
    st = ctrs.status(ctr_id).status
    assert st.state == RUNNING and st.started_at >= st.created_at > 0
    assert record(brig, ctr_id)["state"] == "running"
    pid = pid_of(ctrs, ctr_id)
    assert b"sleep" in cmdline(pid)
    repeated = "a start cut short by a crash was not repeated" in brig.log_text()
    assert repeated == (point == "container-started")
    ctrs.stop(ctr_id)
    assert ctrs.status(ctr_id).status.exit_code == 137
    remove_all(ctrs)
    assert_nothing_left(brig, [ctr_id], [pid])


def test_stop_cut_short_records_the_exit_at_restart(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    pid = pid_of(ctrs, ctr_id)
    crash(brig, ctrs, "container-killed", ctrs.stop, ctr_id)
    st = ctrs.wait_state(ctr_id, EXITED)
    assert st.exit_code == 137 and st.reason == "Error"
    assert st.finished_at >= st.started_at
    assert record(brig, ctr_id)["state"] == "exited"
    remove_all(ctrs)
    assert_nothing_left(brig, [ctr_id], [pid])


@pytest.mark.parametrize("started", [False, True])
def test_remove_cut_short_reads_exited_and_removes_again(brig, ctrs, started):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    if started:
        ctrs.start(ctr_id)
    crash(brig, ctrs, "container-removing", ctrs.remove, ctr_id)
    # The helper deleted it, the record stayed: whatever it said, created
    # or running, the container is gone. A running one's SIGKILL may have
    # been recorded from its exit event before the crash; else the exit is
    # one nobody saw.
    assert list(assert_consistent(brig, ctrs)) == [ctr_id]
    st = ctrs.status(ctr_id).status
    assert st.state == EXITED
    if not (started and (st.exit_code, st.reason) == (137, "Error")):
        assert st.exit_code == 255 and st.reason == "Unknown"
        assert "no longer knows" in st.message
    ctrs.remove(ctr_id)
    remove_all(ctrs)
    assert_nothing_left(brig, [ctr_id], [])


def test_killed_monitor_leaves_containers_running(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    sleeper = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(sleeper)
    ender = ctrs.create(pod_id, cfg, command=["sh", "-c", "busybox sleep 1; exit 42"])
    ctrs.start(ender)
    pid = pid_of(ctrs, sleeper)
    mon = monitor_pid(brig.run_root / "mon" / pod_id)
    os.kill(mon, signal.SIGKILL)
    wait_for(lambda: not alive(mon), 10, "the monitor to die")
    # Nobody can see the ender's exit any more: brigd says so rather than
    # calling it running forever.
    st = ctrs.wait_state(ender, EXITED, LOST_WAIT)
    assert st.exit_code == 255 and st.reason == "Unknown" and "monitor" in st.message
    assert st.finished_at >= st.started_at + 1_000_000_000
    old = brig.brigd_pid()
    os.kill(old, signal.SIGKILL)
    wait_for_new_brigd(brig, ctrs, old)
    assert ctrs.status(sleeper).status.state == RUNNING
    assert pid_of(ctrs, sleeper) == pid and b"sleep" in cmdline(pid)
    # The pod goes on: a new container gets a new monitor.
    again = ctrs.create(pod_id, cfg, command=["sh", "-c", "exit 7"])
    ctrs.start(again)
    assert ctrs.wait_state(again, EXITED).exit_code == 7
    more = [ctrs.create(pod_id, cfg, command=SLEEP) for _ in range(2)]
    for ctr_id in more:
        ctrs.start(ctr_id)
    assert_consistent(brig, ctrs)
    # Stopping the pod kills the orphaned sleeper, whose exit nobody sees:
    # brigd gives up on it after one grace, while the others' exits come.
    t0 = time.monotonic()
    ctrs.pods.stop(pod_id)
    assert time.monotonic() - t0 < LOST_WAIT
    st = ctrs.status(sleeper).status
    assert st.state == EXITED and st.exit_code == 255 and st.reason == "Unknown"
    assert [ctrs.status(i).status.exit_code for i in more] == [137, 137]
    remove_all(ctrs)
    assert_nothing_left(brig, [sleeper, ender, again, *more], [pid])


# --- a burst of work while processes are killed -----------------------------------

class Made:
    """What the test knows of one container it tried to make (by name: a
    create whose answer was lost can still have made it)."""

    def __init__(self, name, pod_id, code):
        self.name, self.pod_id = name, pod_id
        self.code = code  # the exit code of an ender; None: a sleeper
        self.id = None
        self.created_at = time.monotonic()  # before its create was sent
        self.started = self.start_tried = False
        self.stopped = self.stop_tried = False
        self.removed = self.remove_tried = False
        self.pid = None


def work(brig, pods_, image, made, lock, done, seed):
    """Creates, starts, stops and removes containers until done; a call
    that fails (brigd or the helper gone) is left undecided."""
    rng = random.Random(seed)
    client = Ctrs(brig, pods_[0][2], image)
    i = 0
    while not done.is_set():
        pod_id, cfg, _ = rng.choice(pods_)
        i += 1
        m = Made(f"w{seed}-{i}", pod_id, None if rng.random() < 0.5 else 10 + (seed * 31 + i) % 90)
        with lock:
            made.append(m)
        command = SLEEP if m.code is None else ["sh", "-c", f"busybox sleep 0.3; exit {m.code}"]
        try:
            m.id = client.create(pod_id, cfg, name=m.name, command=command)
            m.start_tried = True
            client.start(m.id)
            m.started = True
            if m.code is None:
                m.pid = pid_of(client, m.id)
            r = rng.random()
            if r < 0.2:
                m.stop_tried = True
                client.stop(m.id)
                m.stopped = True
            elif r < 0.4:
                m.remove_tried = True
                client.remove(m.id)
                m.removed = True
        except grpc.RpcError:
            time.sleep(0.2)
            client.cri.channel.close()
            client.cri = brig.cri()


def restart_helper(brig, kill_brigd):
    """SIGKILLs brig-helper (and brigd with it, or first) and starts brig
    again, as systemd would; monitors and containers stay."""
    brigd = brig.brigd_pid()
    if kill_brigd and brigd:
        os.kill(brigd, signal.SIGKILL)
    os.kill(brig.proc.pid, signal.SIGKILL)
    brig.proc.wait(timeout=30)
    if brigd:
        wait_for(lambda: not alive(brigd), 10, "brigd to die with the helper")
    brig.log.close()
    brig.start()


def test_burst_with_kills_loses_nothing_and_leaks_nothing(brig, ctrs):
    rng = random.Random(os.getpid())
    pods_ = [(*ctrs.run_pod(), ctrs.pods) for _ in range(3)]
    made, lock, done = [], threading.Lock(), threading.Event()
    workers = [threading.Thread(target=work, args=(brig, pods_, ctrs.image, made, lock, done, n))
               for n in range(3)]
    for t in workers:
        t.start()
    monitors = {p[0]: monitor_pid(brig.run_root / "mon" / p[0]) for p in pods_}
    killed_monitor = None  # (pod id, when)
    try:
        for kind in ["brigd", "monitor", "helper", "both"]:
            time.sleep(rng.uniform(0.5, 2.0))
            if kind == "brigd":
                old = brig.brigd_pid()
                os.kill(old, signal.SIGKILL)
                wait_for(lambda: (p := brig.brigd_pid()) and p != old, RESTART_TIMEOUT,
                         "a new brigd")
            elif kind == "monitor":
                pod_id = pods_[0][0]
                killed_monitor = (pod_id, time.monotonic())
                os.kill(monitors[pod_id], signal.SIGKILL)
            else:
                restart_helper(brig, kind == "both")
        time.sleep(1)
    finally:
        done.set()
        for t in workers:
            t.join(timeout=120)
    wait_for(brig.version_ok, RESTART_TIMEOUT, "brigd answering")
    ctrs.reconnect()
    assert sum(m.started for m in made) >= 10, "too little work was done to judge"

    listed = assert_consistent(brig, ctrs)
    by_name = {m.name: m for m in made}
    for c in listed.values():
        m = by_name[c.metadata.name]  # nothing the test never asked for
        assert m.id in (None, c.id)
        m.id = c.id  # a create whose answer was lost, kept as created
    for m in made:
        if m.id and not m.remove_tried:
            assert m.id in listed, f"{m.name} lost its record"
        if m.removed:
            assert m.id not in listed, f"{m.name} came back after its removal"

    def unseen(m):
        """Whether m's init was the killed monitor's child, whose exit nobody
        could see afterwards."""
        return killed_monitor and m.pod_id == killed_monitor[0] and \
            m.created_at < killed_monitor[1] + 1

    for m in made:
        if m.id not in listed:
            continue
        st = ctrs.status(m.id).status
        if m.stopped or (m.started and m.code is not None and not m.stop_tried):
            st = ctrs.wait_state(m.id, EXITED, LOST_WAIT)
        expected = {137}
        if m.code is not None:
            expected.add(m.code)
        if m.start_tried and not m.started:
            # the helper's `runc start` died with it halfway: runc's init,
            # whose exec fifo lost its reader, failed (exit 1)
            expected.add(1)
        if st.state == EXITED and (unseen(m) or st.exit_code == 255):
            # nobody saw the exit: the monitor was killed, or the helper
            # deleted the container for a removal that brigd did not live
            # to record
            assert unseen(m) or m.remove_tried or not (m.started or m.stopped), (m.name, st)
            if st.exit_code == 255:
                assert st.reason == "Unknown" and st.message, (m.name, st)
                continue
        if m.started and m.code is None and not (m.stop_tried or m.remove_tried):
            # a sleeper that was running runs still, the same process
            assert st.state == RUNNING, (m.name, st)
            pid = pid_of(ctrs, m.id)
            assert m.pid is None or pid == m.pid, m.name
            assert b"sleep" in cmdline(pid)
        elif st.state == EXITED:
            # its own exit: the code it exited with, when it exited
            assert st.exit_code in expected, (m.name, st)
            assert 0 < st.started_at <= st.finished_at <= time.time_ns(), (m.name, st)
            if st.exit_code == m.code:
                assert st.reason == "Error"
                assert st.finished_at - st.started_at >= 300_000_000, (m.name, st)
        else:
            # undecided: a start, stop or removal whose answer was lost (a
            # killed init whose monitor is dead reads running until brigd
            # gives up on its exit)
            assert not (m.stopped or m.removed), (m.name, st)
            assert st.state == RUNNING if m.started else st.state in (CREATED, RUNNING)

    # Everything goes, and nothing stays behind.
    monitors.update({p[0]: monitor_pid(brig.run_root / "mon" / p[0]) for p in pods_})
    pids = [m.pid for m in made if m.pid] + [p for p in monitors.values() if p]
    remove_all(ctrs)
    assert ctrs.list() == []
    assert_nothing_left(brig, [m.id for m in made if m.id], pids)
