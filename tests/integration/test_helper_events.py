"""CTR_EVENTS at the protocol level: the helper passes each container exit
on to every subscribed connection, with whether the OOM killer struck, and
says when a pod's monitor went away (docs/helper-protocol.md). Also what
CTR_CREATE, CTR_STATUS and CTR_SPEC report for ContainerStatus."""
import array
import errno
import fcntl
import os
import signal
import socket
import time

import pytest

from conftest import monitor_pid, wait_for
from helperproto import (CTR_EVENTS, CTR_KILL, CTR_SPEC, CTR_START, CTR_STATUS, TAG_MONITOR,
                         TAG_PID, TAG_SPEC_FD, EVENT_EXITED, EVENT_F_OOM_KILLED,
                         EVENT_MONITOR_GONE, REPLY, TAG_CTR_ID, TAG_GID, TAG_GROUPS,
                         TAG_OOM_KILLED, TAG_SIGNAL, TAG_UID, Conn, Reply, events_of, message,
                         string, u32, u32_value)
from test_helper_containers import CTR, CTR2, POD, create, ctr, spec, wait_exit  # noqa: F401


def subscriber(brig):
    c = Conn(brig.debug_socket)
    assert c.hello().status == 0
    return c


def ask(c):
    """Sends a CTR_EVENTS and returns its request id; the answer may come later."""
    c.next_id += 1
    c.send(message(CTR_EVENTS, c.next_id))
    return c.next_id


def answer(c, request_id, timeout=10):
    c.sock.settimeout(timeout)
    r = Reply(c.sock.recv(70000))
    assert r.command == CTR_EVENTS | REPLY and r.request_id == request_id
    assert r.status == 0, r.error_message
    return events_of(r)


def next_events(c, timeout=10):
    return answer(c, ask(c), timeout)


def start(conn, cid, args, **kw):
    r = create(conn, cid, spec(conn, args, **kw))
    assert r.status == 0, r.error_message
    assert conn.request(CTR_START, string(TAG_CTR_ID, cid)).status == 0
    return r


def test_an_exit_reaches_every_subscriber_at_once(brig, ctr):
    subs = [subscriber(brig), subscriber(brig)]
    waiting = [ask(s) for s in subs]
    before = time.time_ns()
    r = start(ctr, CTR, ["/bin/sh", "-c", "exit 3"])
    pid = u32_value(r.fields[TAG_PID][0])
    for s, rid in zip(subs, waiting):
        events, lost = answer(s, rid)
        assert not lost
        assert len(events) == 1
        ev = events[0]
        assert ev["kind"] == EVENT_EXITED and ev["flags"] == 0
        assert ev["pod"] == POD and ev["ctr"] == CTR and ev["pid"] == pid
        assert os.WIFEXITED(ev["wait_status"]) and os.WEXITSTATUS(ev["wait_status"]) == 3
        assert before <= ev["time"] <= time.time_ns()
        s.close()


def test_events_queue_until_asked_and_one_wait_per_connection(brig, ctr):
    s = subscriber(brig)
    s.request_id = ask(s)  # subscribes; nothing to say yet
    s.next_id += 1
    s.send(message(CTR_EVENTS, s.next_id))
    r = Reply(s.sock.recv(70000))
    assert r.request_id == s.next_id and r.status == -errno.EBUSY
    assert "already waits" in r.error_message
    start(ctr, CTR, ["/bin/true"])
    events, _ = answer(s, s.request_id)
    assert [e["ctr"] for e in events] == [CTR]
    # exits while nobody asks are kept for the next question
    start(ctr, CTR2, ["/bin/sh", "-c", "exit 7"])
    wait_exit(ctr, CTR2)
    events, lost = next_events(s)
    assert not lost and [(e["ctr"], os.WEXITSTATUS(e["wait_status"])) for e in events] == \
        [(CTR2, 7)]
    s.close()


def test_a_signalled_exit_and_the_oom_killer(brig, ctr):
    s = subscriber(brig)
    rid = ask(s)
    start(ctr, CTR, ["/bin/sleep", "100"])
    assert ctr.request(CTR_KILL, string(TAG_CTR_ID, CTR) + u32(TAG_SIGNAL, 9)).status == 0
    (ev,), _ = answer(s, rid)
    assert os.WTERMSIG(ev["wait_status"]) == 9 and not ev["flags"] & EVENT_F_OOM_KILLED
    st = ctr.request(CTR_STATUS, string(TAG_CTR_ID, CTR))
    assert u32_value(st.fields[TAG_OOM_KILLED][0]) == 0

    rid = ask(s)
    # tail keeps the whole of an endless line in memory
    start(ctr, CTR2, ["/bin/tail", "/dev/zero"], memory_limit=16 << 20, memory_swap=16 << 20)
    (ev,), _ = answer(s, rid, timeout=30)
    assert ev["ctr"] == CTR2
    assert os.WTERMSIG(ev["wait_status"]) == 9 and ev["flags"] & EVENT_F_OOM_KILLED
    st = ctr.request(CTR_STATUS, string(TAG_CTR_ID, CTR2))
    assert u32_value(st.fields[TAG_OOM_KILLED][0]) == 1
    s.close()


def test_create_reports_the_resolved_user(brig, ctr):
    r = create(ctr, CTR, spec(ctr, ["/bin/true"], image_user="app"))
    assert r.status == 0, r.error_message
    assert u32_value(r.fields[TAG_UID][0]) == 1000 and u32_value(r.fields[TAG_GID][0]) == 1000
    raw = r.fields[TAG_GROUPS][0]
    groups = [u32_value(raw[i:i + 4]) for i in range(0, len(raw), 4)]
    assert groups == [1000, 2000]
    r = create(ctr, CTR2, spec(ctr, ["/bin/true"], run_as_user=1234, run_as_group=99,
                               supplemental_group=[7, 8]))
    assert r.status == 0, r.error_message
    assert u32_value(r.fields[TAG_UID][0]) == 1234 and u32_value(r.fields[TAG_GID][0]) == 99
    raw = r.fields[TAG_GROUPS][0]
    assert [u32_value(raw[i:i + 4]) for i in range(0, len(raw), 4)] == [99, 7, 8]


def test_a_monitor_killed_is_reported_and_a_shut_down_one_is_not(brig, ctr):
    s = subscriber(brig)
    rid = ask(s)
    start(ctr, CTR, ["/bin/sleep", "100"])
    mon = monitor_pid(brig.run_root / "mon" / POD)
    assert mon
    os.kill(mon, signal.SIGKILL)
    events, _ = answer(s, rid)
    assert [(e["kind"], e["pod"], e["ctr"]) for e in events] == [(EVENT_MONITOR_GONE, POD, "")]
    s.close()


def test_a_restarted_helper_hears_exits_without_being_asked(brig, ctr):
    start(ctr, CTR, ["/bin/sleep", "100"])
    ctr.close()
    assert brig.stop() == 0
    brig.start()
    brig.wait_ready()
    conn = subscriber(brig)
    rid = ask(conn)
    pid = int((brig.root / "containers" / CTR / "pid").read_text())
    os.kill(pid, signal.SIGKILL)
    (ev,), _ = answer(conn, rid)
    assert ev["ctr"] == CTR and os.WTERMSIG(ev["wait_status"]) == 9
    ctr.sock = conn.sock
    ctr.next_id = conn.next_id


def test_events_for_a_gone_connection_are_dropped(brig, ctr):
    s = subscriber(brig)
    ask(s)
    s.close()
    s2 = subscriber(brig)
    rid = ask(s2)
    start(ctr, CTR, ["/bin/true"])
    events, lost = answer(s2, rid)
    assert [e["ctr"] for e in events] == [CTR] and not lost
    s2.close()
    wait_for(lambda: ctr.ping() is not None, 5, "the helper still serves")


def test_spec_is_a_sealed_copy_of_config_json(brig, ctr):
    r = create(ctr, CTR, spec(ctr, ["/bin/true"], env=["A=1"]))
    assert r.status == 0, r.error_message
    c = Conn(brig.debug_socket)
    assert c.hello().status == 0
    c.next_id += 1
    c.send(message(CTR_SPEC, c.next_id, string(TAG_CTR_ID, CTR)))
    data, fds, _, _ = c.sock.recvmsg(70000, socket.CMSG_SPACE(4 * 8))
    reply = Reply(data)
    assert reply.status == 0, reply.error_message
    [(level, kind, raw)] = fds
    fd = array.array("i", raw[:4])[0]
    try:
        seals = fcntl.fcntl(fd, 1034)  # F_GET_SEALS
        assert seals & 0x8  # F_SEAL_WRITE
        text = os.pread(fd, 1 << 20, 0)
        assert text == (brig.root / "containers" / CTR / "config.json").read_bytes()
        with pytest.raises(OSError):
            os.pwrite(fd, b"x", 0)
    finally:
        os.close(fd)
    c.next_id += 1
    c.send(message(CTR_SPEC, c.next_id, string(TAG_CTR_ID, CTR2)))
    r = Reply(c.sock.recv(70000))
    assert r.status == -errno.ENOENT and "no config.json" in r.error_message
    c.close()


def test_status_says_whether_the_monitor_is_heard(brig, ctr):
    start(ctr, CTR, ["/bin/sleep", "100"])
    st = ctr.request(CTR_STATUS, string(TAG_CTR_ID, CTR))
    assert u32_value(st.fields[TAG_MONITOR][0]) == 1
    mon = monitor_pid(brig.run_root / "mon" / POD)
    os.kill(mon, signal.SIGKILL)
    wait_for(lambda: u32_value(ctr.request(CTR_STATUS, string(TAG_CTR_ID, CTR))
                               .fields[TAG_MONITOR][0]) == 0, 10, "the monitor to be gone")
