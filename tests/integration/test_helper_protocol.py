"""brig-helper's protocol from outside, through its root-only debug socket.

Each refusal listed in docs/helper-protocol.md is sent for real; the helper
must answer it with the documented errno and a reason, log it, close any fd
that came with it, and keep serving the connection.
"""
import array
import errno
import os
import pwd
import socket
import struct

import pytest

from helperproto import *  # noqa: F401,F403  (the protocol client and its constants)


def refused(brig, reply, err):
    assert reply.status == -err, f"status {reply.status}: {reply.error_message}"
    assert reply.error_message
    assert "request refused" in brig.log_text()


def test_hello_then_ping(conn):
    conn.ping(b"x" * 1024)


def test_debug_socket_is_root_only(brig):
    assert os.stat(brig.debug_socket).st_mode & 0o777 == 0o600
    brig_user = pwd.getpwnam("brig")
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(brig_user.pw_gid)
            os.setuid(brig_user.pw_uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(str(brig.debug_socket))
            os._exit(0)
        except PermissionError:
            os._exit(13)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 13


def test_ping_before_hello_is_not_permitted(brig):
    c = Conn(brig.debug_socket)
    refused(brig, c.request(PING), errno.EPERM)
    assert c.hello().status == 0
    c.ping()
    c.close()


def test_hello_twice_is_not_permitted(brig, conn):
    refused(brig, conn.hello(), errno.EPERM)
    conn.ping()


def test_hello_version_outside_range(brig):
    c = Conn(brig.debug_socket)
    refused(brig, c.hello(2, 5), errno.EPROTONOSUPPORT)
    refused(brig, c.hello(3, 2), errno.EINVAL)
    assert c.hello().status == 0
    c.close()


def test_truncated_header(brig, conn):
    conn.send(message(PING, 7)[:15])
    r = conn.recv()
    refused(brig, r, errno.EBADMSG)
    assert r.request_id == 0, "no readable header, so no id to answer"
    conn.ping()


def test_bad_magic(brig, conn):
    conn.send(message(PING, 8, magic=0x12345678))
    refused(brig, conn.recv(), errno.EBADMSG)
    conn.ping()


def test_wrong_version(brig, conn):
    conn.send(message(PING, 9, version=2))
    r = conn.recv()
    refused(brig, r, errno.EPROTONOSUPPORT)
    assert r.request_id == 9
    conn.ping()


def test_request_with_reply_flag(brig, conn):
    conn.send(message(PING | REPLY, 10))
    refused(brig, conn.recv(), errno.EBADMSG)
    conn.ping()


def test_unknown_command(brig, conn):
    conn.send(message(99, 11))
    r = conn.recv()
    refused(brig, r, errno.EOPNOTSUPP)
    assert r.request_id == 11
    conn.ping()


def test_oversize_length_field(brig, conn):
    conn.send(header(PING, 12, MAX_PAYLOAD + 1))
    refused(brig, conn.recv(), errno.EMSGSIZE)
    conn.ping()


def test_oversize_datagram(brig, conn):
    payload = tlv(TAG_PING_DATA, BYTES, b"y" * (MAX_PAYLOAD + 100))
    conn.send(message(PING, 13, payload))
    refused(brig, conn.recv(), errno.EMSGSIZE)
    conn.ping()


def test_length_field_disagrees_with_datagram(brig, conn):
    conn.send(header(PING, 14, 20) + tlv(TAG_PING_DATA, BYTES, b"ab"))
    refused(brig, conn.recv(), errno.EBADMSG)
    conn.ping()


def test_ping_data_too_long(brig, conn):
    conn.send(message(PING, 15, tlv(TAG_PING_DATA, BYTES, b"z" * 1025)))
    refused(brig, conn.recv(), errno.EMSGSIZE)
    conn.ping()


def test_wrong_tag(brig, conn):
    conn.send(message(PING, 16, u32(TAG_VERSION, 1)))
    refused(brig, conn.recv(), errno.EINVAL)
    conn.ping()


def test_wrong_type_for_tag(brig, conn):
    conn.send(message(PING, 17, u32(TAG_PING_DATA, 1)))
    refused(brig, conn.recv(), errno.EINVAL)
    conn.ping()


def test_element_cut_short(brig, conn):
    conn.send(message(PING, 18, tlv(TAG_PING_DATA, BYTES, b"abcdef")[:10]))
    refused(brig, conn.recv(), errno.EBADMSG)
    conn.ping()


def test_repeated_field(brig, conn):
    one = tlv(TAG_PING_DATA, BYTES, b"a")
    conn.send(message(PING, 19, one + one))
    refused(brig, conn.recv(), errno.EINVAL)
    conn.ping()


def test_fd_where_none_is_allowed_is_refused_and_closed(brig, conn):
    r_end, w_end = os.pipe()
    conn.send(message(PING, 20), fds=[w_end])
    os.close(w_end)
    refused(brig, conn.recv(), errno.EINVAL)
    # The helper closed its copy: with ours closed too, the pipe reads EOF.
    os.set_blocking(r_end, False)
    assert os.read(r_end, 1) == b""
    os.close(r_end)
    conn.ping()


def test_too_many_fds_are_refused_and_closed(brig, conn):
    pipes = [os.pipe() for _ in range(9)]
    conn.send(message(PING, 21), fds=[w for _, w in pipes])
    for _, w in pipes:
        os.close(w)
    refused(brig, conn.recv(), errno.EXFULL)
    for r, _ in pipes:
        os.set_blocking(r, False)
        assert os.read(r, 1) == b""
        os.close(r)
    conn.ping()


def test_refusals_are_logged_with_reason(brig, conn):
    conn.send(message(99, 4242))
    conn.recv()
    lines = [line for line in brig.log_text().splitlines() if "req=4242" in line]
    assert any("request refused" in line and "reason=" in line and "errno=95" in line
               for line in lines), lines
