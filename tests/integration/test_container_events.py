"""Container exits reach brigd as the helper's events (CTR_EVENTS), not by
asking: an exit is recorded with nobody calling CRI, an OOM kill shows as
reason OOMKilled; and ContainerStatus reports the user the helper resolved
and, verbose, the OCI spec the helper wrote.

The fixtures and the client are test_containers.py's.
"""
import json
import os
import signal
import threading

import grpc
import pytest

from conftest import api_pb2, monitor_pid, wait_for
from test_containers import (EXIT_TIMEOUT, EXITED, RUNNING, SLEEP, brig, ctrs,  # noqa: F401
                             registry_image)
from test_containers_more import extra, security_context  # noqa: F401
from test_pods import pods  # noqa: F401

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("BRIG_BUILD", "build"), "brig-unpack")),
    reason="brig-unpack is not built")


def record(brig, ctr_id):
    return json.loads((brig.root / "pods" / f"{ctr_id}.ctr").read_text())


def helper_status_requests(brig):
    """How many CTR_STATUS requests the helper has served so far (its debug log)."""
    return brig.log_text().count("cmd=CTR_STATUS")


def test_an_exit_is_recorded_without_anyone_asking(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    assert record(brig, ctr_id)["state"] == "running"
    pid = ctrs.status(ctr_id, verbose=True).info["info"]
    pid = json.loads(pid)["pid"]
    os.kill(pid, signal.SIGKILL)
    # no CRI call from here: only the event can change the record
    wait_for(lambda: record(brig, ctr_id)["state"] == "exited", EXIT_TIMEOUT,
             "the exit in the record")
    rec = record(brig, ctr_id)
    assert rec["exitCode"] == 128 + 9 and rec["reason"] == "Error"
    st = ctrs.status(ctr_id).status
    assert st.state == EXITED and st.exit_code == 137 and st.finished_at > st.started_at


def test_listing_running_containers_does_not_ask_the_helper(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    ids = [ctrs.create(pod_id, cfg, command=SLEEP) for _ in range(3)]
    for ctr_id in ids:
        ctrs.start(ctr_id)
    before = helper_status_requests(brig)
    for _ in range(5):
        assert sorted(c.id for c in ctrs.list(state=RUNNING)) == sorted(ids)
        for ctr_id in ids:
            assert ctrs.status(ctr_id).status.state == RUNNING
    assert helper_status_requests(brig) == before
    ctrs.stop(ids[0], timeout=5)
    assert ctrs.status(ids[0]).status.state == EXITED


def test_oom_killed_is_the_reason(ctrs):
    pod_id, cfg = ctrs.run_pod()
    req = ctrs.create_request(pod_id, cfg, command=["sh", "-c", "exec busybox tail /dev/zero"])
    req.config.linux.resources.memory_limit_in_bytes = 16 << 20
    req.config.linux.resources.memory_swap_limit_in_bytes = 16 << 20
    ctr_id = ctrs.create_raw(req)
    ctrs.start(ctr_id)
    st = ctrs.wait_state(ctr_id, EXITED)
    assert st.reason == "OOMKilled" and st.exit_code == 137
    # a kill that is not the OOM killer's is an Error
    other = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(other)
    ctrs.stop(other, timeout=0)
    st = ctrs.status(other).status
    assert st.reason == "Error" and st.exit_code == 137


def test_a_killed_monitor_makes_its_containers_asked_about(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    mon = monitor_pid(brig.run_root / "mon" / pod_id)
    pid = json.loads(ctrs.status(ctr_id, verbose=True).info["info"])["pid"]
    os.kill(mon, signal.SIGKILL)
    wait_for(lambda: "a pod's monitor went away" in brig.log_text(), EXIT_TIMEOUT,
             "brigd to hear of the monitor")
    # the container still runs; once it ends, asking finds its exit unknown
    assert ctrs.status(ctr_id).status.state == RUNNING
    os.kill(pid, signal.SIGKILL)
    st = ctrs.wait_state(ctr_id, EXITED)
    assert st.exit_code == 255 and st.reason == "Unknown"


def test_status_reports_the_user(ctrs, extra):  # noqa: F811
    image = extra.user()
    ctrs.pull(image)
    pod_id, cfg = ctrs.run_pod()
    as_image = ctrs.create(pod_id, cfg, image=image, command=SLEEP)
    user = ctrs.status(as_image).status.user.linux
    assert (user.uid, user.gid, list(user.supplemental_groups)) == (1000, 1000, [1000])

    req = ctrs.create_request(pod_id, cfg, image=image, command=SLEEP)
    security_context(req).run_as_user.value = 2000
    security_context(req).run_as_group.value = 3000
    security_context(req).supplemental_groups.extend([4000, 5000])
    ctr_id = ctrs.create_raw(req)
    user = ctrs.status(ctr_id).status.user.linux
    assert (user.uid, user.gid) == (2000, 3000)
    assert list(user.supplemental_groups) == [3000, 4000, 5000]


def test_verbose_status_carries_the_runtime_spec(ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg, command=["sh", "-c", "exit 0"], env={"GREETING": "hi"})
    info = json.loads(ctrs.status(ctr_id, verbose=True).info["info"])
    spec = info["runtimeSpec"]
    assert spec["ociVersion"].startswith("1.")
    assert spec["process"]["args"] == ["sh", "-c", "exit 0"]
    assert "GREETING=hi" in spec["process"]["env"]
    assert spec["linux"]["cgroupsPath"].endswith("brig-" + ctr_id)
    assert info["runtimeHandler"] == "" and info["sandboxId"] == pod_id


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_stop_waits_for_the_exit_without_spinning(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    ctr_id = ctrs.create(pod_id, cfg,
                         command=["sh", "-c", "trap '' TERM; exec busybox sleep 1000"])
    ctrs.start(ctr_id)
    brigd = brig.brigd_pid()
    before = cpu_seconds(brigd)
    ctrs.stop(ctr_id, timeout=3)  # SIGTERM is ignored: three seconds of waiting
    assert ctrs.status(ctr_id).status.exit_code == 137
    assert cpu_seconds(brigd) - before < 0.5


# --- GetContainerEvents ------------------------------------------------------------

CREATED_EV, STARTED_EV, STOPPED_EV, DELETED_EV = (
    api_pb2.CONTAINER_CREATED_EVENT, api_pb2.CONTAINER_STARTED_EVENT,
    api_pb2.CONTAINER_STOPPED_EVENT, api_pb2.CONTAINER_DELETED_EVENT)


class EventStream:
    """A GetContainerEvents stream read by a thread into a list."""

    def __init__(self, ctrs):
        fn = ctrs.cri.channel.unary_stream(
            "/runtime.v1.RuntimeService/GetContainerEvents",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=api_pb2.ContainerEventResponse.FromString)
        self.call = fn(api_pb2.GetEventsRequest(), timeout=120)
        self.events = []
        self.error = None
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        try:
            for ev in self.call:
                self.events.append(ev)
        except grpc.RpcError as e:
            self.error = e

    def of(self, ctr_id):
        return [e for e in self.events if e.container_id == ctr_id]

    def close(self):
        self.call.cancel()
        self.thread.join(10)


def wait_subscribed(brig, n=1):
    wait_for(lambda: brig.log_text().count("container events stream opened") >= n, 10,
             "the events stream to open")


def test_events_follow_a_container_through_its_life(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    streams = [EventStream(ctrs), EventStream(ctrs)]
    wait_subscribed(brig, 2)
    ctr_id = ctrs.create(pod_id, cfg, command=SLEEP)
    ctrs.start(ctr_id)
    ctrs.stop(ctr_id, timeout=0)
    ctrs.remove(ctr_id)
    for s in streams:
        wait_for(lambda: len(s.of(ctr_id)) == 4, EXIT_TIMEOUT, "four events")
        evs = s.of(ctr_id)
        assert [e.container_event_type for e in evs] == \
            [CREATED_EV, STARTED_EV, STOPPED_EV, DELETED_EV]
        assert all(e.pod_sandbox_status.id == pod_id for e in evs)
        created, started, stopped, deleted = evs
        assert created.created_at <= started.created_at <= stopped.created_at <= \
            deleted.created_at
        state = {e.container_event_type: {c.id: c.state for c in e.containers_statuses}
                 for e in evs}
        assert state[CREATED_EV][ctr_id] == api_pb2.CONTAINER_CREATED
        assert state[STARTED_EV][ctr_id] == RUNNING
        assert state[STOPPED_EV][ctr_id] == EXITED
        assert ctr_id not in state[DELETED_EV]
        [st] = [c for c in stopped.containers_statuses if c.id == ctr_id]
        assert st.exit_code == 137 and st.finished_at == stopped.created_at
        s.close()
        assert s.error is None or s.error.code() == grpc.StatusCode.CANCELLED


def test_an_exit_nobody_asked_about_is_an_event(brig, ctrs):
    pod_id, cfg = ctrs.run_pod()
    s = EventStream(ctrs)
    wait_subscribed(brig)
    ctr_id = ctrs.create(pod_id, cfg, command=["sh", "-c", "busybox sleep 0.2; exit 5"])
    ctrs.start(ctr_id)
    ev = wait_for(lambda: ([e for e in s.of(ctr_id) if e.container_event_type == STOPPED_EV]
                           or [None])[0], EXIT_TIMEOUT, "the stopped event")
    [st] = [c for c in ev.containers_statuses if c.id == ctr_id]
    assert st.state == EXITED and st.exit_code == 5 and st.reason == "Error"
    s.close()


def test_a_closed_stream_is_forgotten(brig, ctrs):
    for _ in range(3):
        s = EventStream(ctrs)
        wait_subscribed(brig)
        s.close()
        wait_for(lambda: brig.log_text().count("container events stream closed") >=
                 brig.log_text().count("container events stream opened"), 10,
                 "the stream to close")
    # eight at once are served (each holds a worker thread); the ninth is refused
    streams = [EventStream(ctrs) for _ in range(8)]
    wait_for(lambda: brig.log_text().count("container events stream opened") >= 11, 10,
             "eight streams")
    extra = EventStream(ctrs)
    extra.thread.join(10)
    assert extra.error is not None
    assert extra.error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    for st in streams:
        st.close()
