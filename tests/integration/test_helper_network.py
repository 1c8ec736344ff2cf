"""NET_ADD, NET_DEL, NET_CHECK, NET_STATUS and POD_FILES through the
root-only debug socket, with the real CNI plugins of the test fixture's
default network.

Each refusal must come back with its documented errno before anything runs
(no plugin started, nothing kept in root/cni, no address taken) and keep the
connection serving.
"""
import errno
import ipaddress
import os
import subprocess

import pytest

from helperproto import (NET_ADD, NET_CHECK, NET_DEL, NET_STATUS, NS_IPC, NS_NET, NS_UTS,
                         POD_CREATE, POD_FILES, POD_REMOVE, TAG_CNI_CONF_NAME, TAG_CNI_PROBLEM,
                         TAG_DNS_OPTIONS, TAG_DNS_SEARCHES, TAG_DNS_SERVERS, TAG_EGRESS_RATE,
                         TAG_HOSTNAME, TAG_K8S_NAME, TAG_K8S_NAMESPACE, TAG_K8S_UID, TAG_NS_FLAGS,
                         TAG_POD_ID, TAG_POD_IP, TAG_PORT_MAPPINGS, message, port_record, string,
                         tlv, u32, u64)

POD_A = "a" * 64
POD_B = "b" * 64
NAMES = {TAG_K8S_NAMESPACE: "default", TAG_K8S_NAME: "web", TAG_K8S_UID: "1234-abcd"}


def pins_mounted(brig):
    prefix = str(brig.run_root / "ns") + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


@pytest.fixture
def net(brig, conn):
    yield conn
    for pod_id in (POD_A, POD_B):
        conn.request(NET_DEL, string(TAG_POD_ID, pod_id))
        conn.request(POD_REMOVE, string(TAG_POD_ID, pod_id))
    for path in pins_mounted(brig):
        subprocess.run(["umount", "-l", path], check=False)


def create(conn, pod_id, flags=NS_NET | NS_IPC | NS_UTS):
    r = conn.request(POD_CREATE, string(TAG_POD_ID, pod_id) + u32(TAG_NS_FLAGS, flags))
    assert r.status == 0, r.error_message


def add_payload(pod_id, names=None, extra=b""):
    p = string(TAG_POD_ID, pod_id)
    for tag, v in (NAMES if names is None else names).items():
        p += string(tag, v)
    return p + extra


def cache(brig):
    return sorted(os.listdir(brig.root / "cni"))


def addresses(brig):
    d = brig.cni_ipam_dir / "brig"
    return sorted(n for n in os.listdir(d) if n[0].isdigit()) if d.exists() else []


def test_add_check_del(brig, net):
    create(net, POD_A)
    r = net.request(NET_ADD, add_payload(POD_A))
    assert r.status == 0, r.error_message
    [ip] = r.fields[TAG_POD_IP]
    ip = ip.rstrip(b"\0").decode()
    assert ipaddress.ip_interface(ip).network == ipaddress.ip_network("10.88.0.0/16")
    assert r.fields[TAG_CNI_CONF_NAME] == [b"10-brig.conflist\0"]
    assert cache(brig) == [POD_A]
    st = os.stat(brig.root / "cni" / POD_A)
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600)
    assert os.stat(brig.root / "cni").st_mode & 0o777 == 0o700
    # attached twice: refused, nothing run
    r = net.request(NET_ADD, add_payload(POD_A))
    assert r.status == -errno.EEXIST and "NET_DEL it first" in r.error_message
    assert net.request(NET_CHECK, string(TAG_POD_ID, POD_A)).status == 0
    assert net.request(NET_DEL, add_payload(POD_A)).status == 0
    assert cache(brig) == [] and addresses(brig) == []
    # idempotent, and answered without a child
    assert net.request(NET_DEL, string(TAG_POD_ID, POD_A)).status == 0
    r = net.request(NET_CHECK, string(TAG_POD_ID, POD_A))
    assert r.status == -errno.ENOENT and "not attached" in r.error_message


def test_add_needs_the_pods_own_network_namespace(brig, net):
    r = net.request(NET_ADD, add_payload(POD_B))
    assert r.status == -errno.ENOENT and "no network namespace" in r.error_message
    create(net, POD_B, flags=NS_IPC)
    r = net.request(NET_ADD, add_payload(POD_B))
    assert r.status == -errno.ENOENT
    assert cache(brig) == [] and addresses(brig) == []


@pytest.mark.parametrize("payload, reason", [
    (add_payload("A" * 64), "pod id is not 64 lowercase hex"),
    (add_payload(POD_A, {**NAMES, TAG_K8S_NAMESPACE: "ns;K8S_POD_UID=x"}),
     "K8S_NAMESPACE holds a byte (0x3b)"),
    (add_payload(POD_A, {**NAMES, TAG_K8S_NAME: "a=b"}), "K8S_NAME holds a byte (0x3d)"),
    (add_payload(POD_A, {**NAMES, TAG_K8S_UID: ""}), "K8S_UID must be 1 to 253 bytes"),
    (add_payload(POD_A, extra=tlv(TAG_PORT_MAPPINGS, 4, port_record(1, 80, 80))),
     "protocol 1"),
    (add_payload(POD_A, extra=tlv(TAG_PORT_MAPPINGS, 4, port_record(6, 0, 80))),
     "ports must be 1 to 65535"),
    (add_payload(POD_A, extra=tlv(TAG_PORT_MAPPINGS, 4, b"\0" * 23)), "not 23 bytes"),
    (add_payload(POD_A, extra=string(TAG_DNS_SERVERS, "8.8.8.8\nnameserver 6.6.6.6")),
     "DNS server"),
    (add_payload(POD_A, extra=string(TAG_DNS_SEARCHES, "a  b")), "DNS search domain"),
    (add_payload(POD_A, extra=string(TAG_DNS_OPTIONS, "ndots:5;x")), "DNS option"),
])
def test_add_refuses_bad_fields_before_running_anything(brig, net, payload, reason):
    create(net, POD_A)
    r = net.request(NET_ADD, payload)
    assert r.status == -errno.EINVAL, r.error_message
    assert reason in r.error_message, r.error_message
    assert "\n" not in r.error_message
    assert cache(brig) == [] and addresses(brig) == []
    assert "CNI command started" not in brig.log_text()
    assert net.ping(b"still serving").status == 0


def test_the_schema_refuses_missing_names_and_wrong_types(brig, net):
    create(net, POD_A)
    r = net.request(NET_ADD, string(TAG_POD_ID, POD_A))
    assert r.status == -errno.EINVAL  # K8S_* are required for ADD
    r = net.request(NET_ADD, add_payload(POD_A, extra=u32(TAG_EGRESS_RATE, 5)))
    assert r.status == -errno.EINVAL
    r = net.request(NET_ADD, add_payload(POD_A, extra=u64(TAG_EGRESS_RATE, 10**6)
                                         + u64(TAG_EGRESS_RATE, 10**6)))
    assert r.status == -errno.EINVAL
    assert cache(brig) == []


def test_status_names_the_file_or_the_problem(brig, net):
    r = net.request(NET_STATUS)
    assert r.status == 0 and r.fields[TAG_CNI_CONF_NAME] == [b"10-brig.conflist\0"]
    (brig.cni_conf_dir / "10-brig.conflist").rename(brig.cni_conf_dir / "10-brig.conflist.off")
    r = net.request(NET_STATUS)
    assert r.status == 0 and TAG_CNI_CONF_NAME not in r.fields
    assert b"no CNI configuration in" in r.fields[TAG_CNI_PROBLEM][0]
    (brig.cni_conf_dir / "10-brig.conflist.off").rename(brig.cni_conf_dir / "10-brig.conflist")


def test_remove_waits_for_a_running_net_command(brig, net):
    """POD_REMOVE while NET_ADD runs is EBUSY, so no pin goes from under a
    plugin; NET_ADD twice at once is EBUSY too."""
    create(net, POD_A)
    # All three are in the socket before the helper reads the first, and
    # the plugins take far longer than the two refusals.
    net.send(message(NET_ADD, 7, add_payload(POD_A)))
    net.send(message(POD_REMOVE, 8, string(TAG_POD_ID, POD_A)))
    net.send(message(NET_ADD, 9, add_payload(POD_A)))
    replies = {r.request_id: r for r in (net.recv(), net.recv(), net.recv())}
    assert replies[8].status == -errno.EBUSY and "NET command" in replies[8].error_message
    assert replies[9].status == -errno.EBUSY
    assert replies[7].status == 0, replies[7].error_message


# --- POD_FILES ---------------------------------------------------------------

def files_payload(pod_id, hostname="web-0", servers="10.96.0.10", searches="default.svc svc",
                  options="ndots:5", ips=("10.88.0.7/16",)):
    p = string(TAG_POD_ID, pod_id)
    if hostname is not None:
        p += string(TAG_HOSTNAME, hostname)
    for tag, v in ((TAG_DNS_SERVERS, servers), (TAG_DNS_SEARCHES, searches),
                   (TAG_DNS_OPTIONS, options)):
        if v is not None:
            p += string(tag, v)
    for ip in ips:
        p += string(TAG_POD_IP, ip)
    return p


def test_pod_files(brig, net):
    create(net, POD_A)
    r = net.request(POD_FILES, files_payload(POD_A, servers="10.96.0.10 fd00::a"))
    assert r.status == 0, r.error_message
    d = brig.run_root / "ns" / POD_A
    assert (d / "resolv.conf").read_text() == (
        "nameserver 10.96.0.10\nnameserver fd00::a\nsearch default.svc svc\noptions ndots:5\n")
    assert (d / "hostname").read_text() == "web-0\n"
    hosts = (d / "hosts").read_text()
    assert hosts.startswith("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    assert hosts.endswith("10.88.0.7\tweb-0\n")
    for name in ("resolv.conf", "hostname", "hosts"):
        st = os.stat(d / name)
        assert (st.st_uid, st.st_mode & 0o777) == (0, 0o644)
    # written again in place; removed with the pod
    assert net.request(POD_FILES, files_payload(POD_A, ips=())).status == 0
    assert "web-0" not in (d / "hosts").read_text()
    assert net.request(POD_REMOVE, string(TAG_POD_ID, POD_A)).status == 0
    assert not d.exists()


@pytest.mark.parametrize("kw, reason", [
    ({"hostname": "Web"}, "hostname"),
    ({"servers": "10.96.0.10\nnameserver 6.6.6.6"}, "DNS server"),
    ({"searches": "a\nnameserver 6.6.6.6"}, "DNS search domain"),
    ({"options": "ndots:5 x\ny"}, "DNS option"),
    ({"ips": ("10.88.0.7",)}, "POD_IP"),
    ({"ips": ("10.88.0.7/33",)}, "POD_IP"),
])
def test_pod_files_refuses_what_would_forge_a_line(brig, net, kw, reason):
    create(net, POD_A)
    r = net.request(POD_FILES, files_payload(POD_A, **kw))
    assert r.status == -errno.EINVAL and reason in r.error_message, r.error_message
    assert not (brig.run_root / "ns" / POD_A / "resolv.conf").exists()


def test_pod_files_of_an_unknown_pod(brig, net):
    r = net.request(POD_FILES, files_payload(POD_B))
    assert r.status == -errno.ENOENT and "POD_CREATE it first" in r.error_message
