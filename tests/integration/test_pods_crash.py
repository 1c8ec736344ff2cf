"""Crash safety of RunPodSandbox: brigd killed at each step, and the helper
killed while a pod is being made. Whatever the moment, no Ready pod is lost
and no namespace, pin or record is left over that no listed pod owns.

brigd's kills come from the test-only crash points (daemon/crashpoint.h),
armed through brig.debug.v1; the helper is killed from outside.
"""
import os
import signal
import threading
import time

import grpc
import pytest

from conftest import alive, wait_for
from test_pods import (NOTREADY, READY, RESTART_TIMEOUT, ns_entries, pins_mounted, pins_of,
                       pod_config, pods, unique_metadata)  # noqa: F401 (pods: the fixture)


def records(brig):
    return sorted(os.listdir(brig.root / "pods"))


def wait_for_new_brigd(brig, pods, old):
    wait_for(lambda: (p := brig.brigd_pid()) and p != old and p, RESTART_TIMEOUT, "a new brigd")
    wait_for(brig.version_ok, RESTART_TIMEOUT, "brigd answering after the crash")
    pods.reconnect()


def assert_consistent(brig, pods):
    """Every pin belongs to a listed pod, every listed pod that is ready has
    its pins, and every record is a listed pod's."""
    listed = {p.id: p for p in pods.list()}
    assert sorted(ns_entries(brig)) == sorted(listed)
    assert records(brig) == sorted(f"{i}.json" for i in listed)
    for pod_id, p in listed.items():
        if p.state == READY:
            assert pins_of(brig, pod_id) == ["ipc", "net", "shm", "uts"]
    mounted = {path.split("/")[-2] for path in pins_mounted(brig)}
    assert mounted <= set(listed)


@pytest.mark.parametrize("point", ["pod-recorded", "pod-pinned"])
def test_brigd_killed_before_the_pod_is_ready_leaves_nothing(brig, pods, point):
    meta = unique_metadata()
    pods.cri.crash_at(point)
    old = brig.brigd_pid()
    with pytest.raises(grpc.RpcError) as e:
        pods.run(pod_config(metadata=meta))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    wait_for_new_brigd(brig, pods, old)
    # The new brigd found the record still "creating" and undid the pod.
    assert pods.list() == []
    assert ns_entries(brig) == [] and pins_mounted(brig) == [] and records(brig) == []
    assert f"point={point}" in brig.log_text()
    assert "removed a pod left half-created by a crash" in brig.log_text()
    # kubelet's retry of the same pod succeeds.
    pod_id = pods.run(pod_config(metadata=meta))
    assert pods.status(pod_id).status.state == READY
    assert_consistent(brig, pods)


def test_brigd_killed_after_the_pod_is_ready_keeps_it(brig, pods):
    meta = unique_metadata()
    pods.cri.crash_at("pod-ready")
    old = brig.brigd_pid()
    with pytest.raises(grpc.RpcError) as e:
        pods.run(pod_config(metadata=meta))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    wait_for_new_brigd(brig, pods, old)
    # The pod was recorded ready: it stays, with its namespaces; kubelet,
    # which never learnt its id, is told the name is taken, and removes the
    # pod it does not know.
    [pod] = pods.list()
    assert pod.state == READY and pod.metadata.name == meta.name
    assert_consistent(brig, pods)
    with pytest.raises(grpc.RpcError) as e:
        pods.run(pod_config(metadata=meta))
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert pod.id in e.value.details()
    pods.remove(pod.id)
    assert ns_entries(brig) == [] and records(brig) == []


def test_unknown_crash_point_is_refused(brig, pods):
    with pytest.raises(grpc.RpcError) as e:
        pods.cri.crash_at("nowhere")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert pods.run(pod_config())


@pytest.mark.parametrize("delay_ms", [0, 2, 10])
def test_helper_killed_during_a_run_leaks_nothing(brig, pods, delay_ms):
    ready = pods.run(pod_config(hostname="survivor"))
    result = {}

    def run():
        try:
            result["id"] = pods.run(pod_config())
        except grpc.RpcError as e:
            result["error"] = e.code()

    t = threading.Thread(target=run)
    t.start()
    brigd = brig.brigd_pid()
    time.sleep(delay_ms / 1000)
    os.kill(brig.proc.pid, signal.SIGKILL)
    brig.proc.wait(timeout=30)
    t.join(timeout=30)
    # brigd and the namespace child die with the helper (PR_SET_PDEATHSIG),
    # at once: a lingering brigd would keep the new one from the store.
    wait_for(lambda: not alive(brigd), 2, "brigd to die with the helper")
    if brig.log:
        brig.log.close()
    brig.start()
    pods.reconnect()
    listed = {p.id: p.state for p in pods.list()}
    assert listed.get(ready) == READY, "a ready pod was lost"
    assert set(listed) <= {ready, result.get("id")}
    assert all(state in (READY, NOTREADY) for state in listed.values())
    assert_consistent(brig, pods)
