"""Pod networking through real CNI plugins: brig-helper runs Debian's
bridge, host-local, portmap and loopback plugins (the shipped default
network, contrib/cni/10-brig.conflist, with host-local's state in the
test's directory) for every pod that has its own network namespace.

The tests look at the result from outside: addresses and links inside the
pinned namespace (nsenter), host-local's reservations, the state the helper
keeps in root/cni, NetworkReady in CRI Status. A plugin of the tests' own
(a shell script in a root-owned plugin directory) records what brig hands
each plugin: its stdin and environment.
"""
import ipaddress
import json
import os
import socket
import subprocess
import threading
import time

import grpc
import pytest

from conftest import alive, api_pb2, wait_for
from test_pods import (NODE, NOTREADY, READY, RESTART_TIMEOUT, expect_error, inside, ns_entries,
                       pins_mounted, pod_config, pods, unique_metadata)  # noqa: F401

POD_NET = ipaddress.ip_network("10.88.0.0/16")


def allocated_ips(brig):
    """The addresses host-local holds reserved for the default network."""
    d = brig.cni_ipam_dir / "brig"
    if not d.exists():
        return []
    out = []
    for name in os.listdir(d):
        try:
            out.append(ipaddress.ip_address(name))
        except ValueError:
            pass
    return sorted(out)


def cni_state(brig):
    try:
        return sorted(os.listdir(brig.root / "cni"))
    except FileNotFoundError:
        return []


def pod_ip(pods, pod_id):
    return pods.status(pod_id).status.network.ip


def host_veth(brig, pod_id):
    """The host end of the pod's eth0 (from its peer index), as
    `ip -o link` shows it, or None if that end is gone."""
    eth0 = inside(brig, pod_id, "net", "ip", "-o", "link", "show", "eth0")
    peer = eth0.split(":")[1].strip().split("@if")[1]
    r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    for line in r.stdout.splitlines():
        if line.split(":")[0] == peer:
            return line
    return None


def runtime_status(pods):
    r = pods.cri.runtime("Status", api_pb2.StatusRequest())
    return {c.type: c for c in r.status.conditions}


def assert_no_network_left(brig):
    assert allocated_ips(brig) == []
    assert cni_state(brig) == []


# --- attaching --------------------------------------------------------------

def test_a_pod_gets_an_address_eth0_and_lo(brig, pods):
    pod_id = pods.run(pod_config())
    status = pods.status(pod_id).status
    ip = ipaddress.ip_address(status.network.ip)
    assert ip in POD_NET and ip != ipaddress.ip_address("10.88.0.1")
    assert allocated_ips(brig) == [ip]
    assert cni_state(brig) == [pod_id]
    eth0 = inside(brig, pod_id, "net", "ip", "-o", "-4", "addr", "show", "dev", "eth0")
    assert f"inet {ip}/16 " in eth0, eth0
    lo = inside(brig, pod_id, "net", "ip", "-o", "link", "show", "lo")
    assert "UP" in lo.split("<")[1].split(">")[0].split(","), lo
    route = inside(brig, pod_id, "net", "ip", "route", "show", "default")
    assert "via 10.88.0.1 dev eth0" in route
    assert "master brig0" in host_veth(brig, pod_id)
    info = json.loads(pods.status(pod_id, verbose=True).info["info"])
    assert info["ips"] == [f"{ip}/16"]
    assert info["networkCheck"] == "ok"
    assert "CNI command done" in brig.log_text()


def test_two_pods_reach_each_other(brig, pods):
    a, b = pods.run(pod_config()), pods.run(pod_config())
    ip_a, ip_b = pod_ip(pods, a), pod_ip(pods, b)
    assert ip_a != ip_b
    for src, dst in ((a, ip_b), (b, ip_a)):
        inside(brig, src, "net", "busybox", "ping", "-c", "1", "-W", "2", dst)


def test_a_host_port_answers_on_localhost(brig, pods):
    port = free_port()
    pod_id = pods.run(pod_config(ports=[(8080, port)]))
    pin = brig.run_root / "ns" / pod_id / "net"
    server = subprocess.Popen(
        ["nsenter", f"--net={pin}", "python3", "-c",
         "import socket\n"
         "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         "s.bind(('0.0.0.0', 8080)); s.listen(1); print('ready', flush=True)\n"
         "c, _ = s.accept(); c.sendall(b'hello from the pod'); c.close()\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            assert c.recv(100) == b"hello from the pod"
    finally:
        server.kill()
        server.wait()
    # Stop takes the mapping away with the address.
    pods.stop(pod_id)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_host_network_pod_runs_no_cni(brig, pods):
    pod_id = pods.run(pod_config(network=NODE))
    assert pod_ip(pods, pod_id) == ""
    assert cni_state(brig) == [] and allocated_ips(brig) == []
    assert "CNI command started" not in brig.log_text()
    info = json.loads(pods.status(pod_id, verbose=True).info["info"])
    assert info["namespaces"]["network"] == "node" and "networkCheck" not in info


def test_stop_gives_the_address_back_and_remove_leaves_nothing(brig, pods):
    pod_id = pods.run(pod_config())
    ip = ipaddress.ip_address(pod_ip(pods, pod_id))
    assert host_veth(brig, pod_id) is not None
    pods.stop(pod_id)
    assert allocated_ips(brig) == [] and cni_state(brig) == []
    status = pods.status(pod_id).status
    assert status.state == NOTREADY and status.network.ip == ""
    # DEL took eth0 and its host end away; the namespace stays until removal
    assert "eth0" not in inside(brig, pod_id, "net", "ip", "-o", "link", "show")
    pods.stop(pod_id)  # idempotent, runs nothing
    pods.remove(pod_id)
    assert ns_entries(brig) == [] and pins_mounted(brig) == []
    assert_no_network_left(brig)
    assert ip not in allocated_ips(brig)


def test_remove_of_a_ready_pod_detaches_it(brig, pods):
    pod_id = pods.run(pod_config())
    pods.remove(pod_id)
    assert_no_network_left(brig)
    assert ns_entries(brig) == []


def test_ten_pods_at_once_take_about_the_slowest(brig, pods):
    """Ten RunPodSandbox calls at once run side by side: the helper runs
    their CNI chains in children at the same time, so they take far less
    than ten in a row. The plugins are CPU-bound Go programs and this
    machine has two CPUs, so the gain is bounded by those, not by brig."""
    serial = []
    for _ in range(5):
        t0 = time.monotonic()
        pods.run(pod_config())
        serial.append(time.monotonic() - t0)
    one = sorted(serial)[len(serial) // 2]
    ids, errors = [], []

    def run():
        try:
            ids.append(pods.run(pod_config()))
        except grpc.RpcError as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(10)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    wall = time.monotonic() - t0
    assert not errors and len(ids) == 10
    ips = {pod_ip(pods, i) for i in ids}
    assert len(ips) == 10
    running = [int(line.split("running=")[1].split()[0])
               for line in brig.log_text().splitlines()
               if 'msg="job started" job=cni' in line]
    assert max(running) >= 5, running
    assert wall < 10 * one * 0.85, (wall, one)


# --- NetworkReady and configuration problems ---------------------------------

def test_network_ready_follows_the_configuration_directory(brig, pods):
    conf = brig.cni_conf_dir / "10-brig.conflist"
    assert runtime_status(pods)["NetworkReady"].status is True
    saved = conf.read_text()
    conf.unlink()
    cond = runtime_status(pods)["NetworkReady"]
    assert cond.status is False and cond.reason == "NetworkPluginNotReady"
    assert "no CNI configuration in" in cond.message and str(brig.cni_conf_dir) in cond.message
    e = expect_error(grpc.StatusCode.UNAVAILABLE, pods.run, pod_config())
    assert "no CNI configuration" in e.details()
    assert pods.list() == [] and ns_entries(brig) == []
    # a host-network pod needs no network configuration
    pods.remove(pods.run(pod_config(network=NODE)))
    conf.write_text(saved)
    assert runtime_status(pods)["NetworkReady"].status is True
    pods.run(pod_config())


def test_a_configuration_writable_by_others_is_not_used(brig, pods):
    conf = brig.cni_conf_dir / "10-brig.conflist"
    conf.chmod(0o666)
    cond = runtime_status(pods)["NetworkReady"]
    assert cond.status is False and "is writable by group or others" in cond.message
    expect_error(grpc.StatusCode.UNAVAILABLE, pods.run, pod_config())
    conf.chmod(0o644)
    os.chmod(brig.cni_conf_dir, 0o777)
    try:
        cond = runtime_status(pods)["NetworkReady"]
        assert cond.status is False and "directory" in cond.message
    finally:
        os.chmod(brig.cni_conf_dir, 0o755)
    assert runtime_status(pods)["NetworkReady"].status is True


def test_the_first_file_in_name_order_is_the_network(brig, pods):
    # A later name is ignored, even when broken; an earlier one wins.
    brig.write_conflist("99-broken.conflist", {"cniVersion": "1.0.0"})
    pods.run(pod_config())
    conf = json.loads((brig.cni_conf_dir / "10-brig.conflist").read_text())
    conf["plugins"] = [{"type": "no-such-plugin"}]
    brig.write_conflist("05-first.conflist", conf)
    e = expect_error(grpc.StatusCode.INTERNAL, pods.run, pod_config())
    assert "no-such-plugin" in e.details()


def test_a_missing_plugin_fails_the_run_and_leaves_nothing(brig, pods):
    conf = json.loads((brig.cni_conf_dir / "10-brig.conflist").read_text())
    conf["plugins"].insert(1, {"type": "no-such-plugin"})
    brig.write_conflist("10-brig.conflist", conf)
    e = expect_error(grpc.StatusCode.INTERNAL, pods.run, pod_config())
    assert 'no CNI plugin "no-such-plugin"' in e.details(), e.details()
    # DEL ran over what ADD had done: the bridge's address is back.
    assert pods.list() == [] and ns_entries(brig) == [] and pins_mounted(brig) == []
    assert_no_network_left(brig)
    assert pods.version_ok()


def test_a_broken_configuration_is_refused_naming_the_field(brig, pods):
    brig.write_conflist("10-brig.conflist", {"cniVersion": "1.0.0", "name": "brig",
                                             "plugins": [{"bridge": "x"}]})
    e = expect_error(grpc.StatusCode.INTERNAL, pods.run, pod_config())
    assert "10-brig.conflist" in e.details() and "type" in e.details(), e.details()
    assert pods.list() == [] and ns_entries(brig) == [] and cni_state(brig) == []


# --- what each plugin is given ------------------------------------------------

RECORDER = """#!/bin/sh
# Records what brig hands a plugin, then passes the previous result on.
out={out}
cat > "$out/stdin.$CNI_COMMAND"
env | grep '^CNI_' | sort > "$out/env.$CNI_COMMAND"
if [ "$CNI_COMMAND" = ADD ] || [ "$CNI_COMMAND" = CHECK ]; then
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])).get("prevResult") or {{"cniVersion": "1.0.0"}}))' "$out/stdin.$CNI_COMMAND"
fi
"""


@pytest.fixture
def recorder(brig):
    """A plugin named `record` in a root-owned plugin directory of the
    test's own, searched before Debian's."""
    plugins = brig.base / "plugins"
    out = brig.base / "recorded"
    plugins.mkdir()
    out.mkdir()
    script = plugins / "record"
    script.write_text(RECORDER.format(out=out))
    script.chmod(0o755)
    with open(brig.config, "a") as f:
        f.write(f'cni_plugin_dirs = ["{plugins}", "/usr/lib/cni"]\ncni_plugin_timeout = 5\n')
    conf = json.loads((brig.cni_conf_dir / "10-brig.conflist").read_text())
    conf["plugins"].append({"type": "record", "capabilities": {
        "portMappings": True, "bandwidth": True, "dns": True}})
    brig.write_conflist("10-brig.conflist", conf)
    brig.stop()
    brig.log.close()
    brig.start()
    return out


def read_env(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_plugins_get_their_arguments_and_capabilities(brig, recorder):
    from test_pods import Pods
    p = Pods(brig)
    try:
        meta = unique_metadata(namespace="team-a")
        config = pod_config(metadata=meta, dns_servers=["10.96.0.10"], ports=[(80, 18080)])
        config.dns_config.searches.extend(["team-a.svc.cluster.local", "svc.cluster.local"])
        config.dns_config.options.extend(["ndots:5"])
        config.port_mappings.add(protocol=api_pb2.UDP, container_port=53, host_port=18053,
                                 host_ip="127.0.0.1")
        config.annotations["kubernetes.io/ingress-bandwidth"] = "10M"
        config.annotations["kubernetes.io/egress-bandwidth"] = "1Gi"
        pod_id = p.run(config)
        stdin = json.loads((recorder / "stdin.ADD").read_text())
        assert stdin["name"] == "brig" and stdin["cniVersion"] == "1.0.0"
        assert stdin["type"] == "record"
        # the chain's result so far: the bridge's address
        assert stdin["prevResult"]["ips"][0]["address"].startswith("10.88.")
        rc = stdin["runtimeConfig"]
        assert sorted(rc["portMappings"], key=lambda m: m["hostPort"]) == [
            {"hostPort": 18053, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"},
            {"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]
        assert rc["bandwidth"]["ingressRate"] == 10_000_000
        assert rc["bandwidth"]["egressRate"] == 1 << 30
        assert rc["dns"] == {"servers": ["10.96.0.10"],
                             "searches": ["team-a.svc.cluster.local", "svc.cluster.local"],
                             "options": ["ndots:5"]}
        env = read_env(recorder / "env.ADD")
        assert env["CNI_COMMAND"] == "ADD" and env["CNI_CONTAINERID"] == pod_id
        assert env["CNI_IFNAME"] == "eth0"
        assert env["CNI_NETNS"] == str(brig.run_root / "ns" / pod_id / "net")
        assert env["CNI_ARGS"] == (f"IgnoreUnknown=1;K8S_POD_NAMESPACE=team-a;"
                                   f"K8S_POD_NAME={meta.name};"
                                   f"K8S_POD_INFRA_CONTAINER_ID={pod_id};K8S_POD_UID={meta.uid}")
        assert env["CNI_PATH"] == f"{brig.base / 'plugins'}:/usr/lib/cni"
        # CHECK runs the chain with the kept result. (Debian's portmap 1.1.1
        # fails CHECK for an IPv4-only pod with host ports, looking for its
        # chain in ip6tables too: that pod's networkCheck says so.)
        info = json.loads(p.status(pod_id, verbose=True).info["info"])
        assert info["networkCheck"] == "ok" or "portmap (CHECK)" in info["networkCheck"]
        checked = p.run(pod_config())
        info = json.loads(p.status(checked, verbose=True).info["info"])
        assert info["networkCheck"] == "ok"
        env = read_env(recorder / "env.CHECK")
        assert env["CNI_COMMAND"] == "CHECK" and env["CNI_CONTAINERID"] == checked
        assert json.loads((recorder / "stdin.CHECK").read_text())["prevResult"]["ips"]
        p.remove(checked)
        # DEL runs the chain backwards with what ADD used, even though the
        # directory changed meanwhile.
        conf = json.loads((brig.cni_conf_dir / "10-brig.conflist").read_text())
        conf["plugins"] = conf["plugins"][:1]
        brig.write_conflist("10-brig.conflist", conf)
        p.stop(pod_id)
        deleted = json.loads((recorder / "stdin.DEL").read_text())
        assert deleted["runtimeConfig"]["portMappings"] == rc["portMappings"]
        assert deleted["prevResult"]["ips"][0]["address"] == stdin["prevResult"]["ips"][0][
            "address"]
        assert_no_network_left(brig)
    finally:
        p.cleanup()


def test_a_plugin_that_hangs_is_killed_at_the_timeout(brig, recorder):
    from test_pods import Pods
    (brig.base / "plugins" / "hang").write_text("#!/bin/sh\nsleep 300 &\nsleep 300\n")
    (brig.base / "plugins" / "hang").chmod(0o755)
    conf = json.loads((brig.cni_conf_dir / "10-brig.conflist").read_text())
    conf["plugins"].insert(1, {"type": "hang"})
    brig.write_conflist("10-brig.conflist", conf)
    p = Pods(brig)
    try:
        t0 = time.monotonic()
        e = expect_error(grpc.StatusCode.INTERNAL, p.run, pod_config())
        assert 4 <= time.monotonic() - t0 < 30
        assert "hang" in e.details() and "timed out" in e.details(), e.details()
        assert p.list() == [] and ns_entries(brig) == []
        assert_no_network_left(brig)
        # The plugin and what it started are gone.
        out = subprocess.run(["pgrep", "-f", str(brig.base / "plugins" / "hang")],
                             capture_output=True, text=True).stdout.split()
        assert out == []
        assert p.version_ok()
    finally:
        p.cleanup()


# --- restarts and crashes -------------------------------------------------------

def test_a_brigd_restart_keeps_ready_pods_and_their_addresses(brig, pods):
    pod_id = pods.run(pod_config())
    ip = pod_ip(pods, pod_id)
    old = brig.brigd_pid()
    os.kill(old, 9)
    wait_for(lambda: (n := brig.brigd_pid()) and n != old and n, RESTART_TIMEOUT, "a new brigd")
    wait_for(brig.version_ok, RESTART_TIMEOUT, "brigd answering")
    pods.reconnect()
    status = pods.status(pod_id).status
    assert status.state == READY and status.network.ip == ip
    pods.stop(pod_id)
    assert_no_network_left(brig)


def test_brigd_killed_after_the_network_is_attached_leaks_no_address(brig, pods):
    meta = unique_metadata()
    pods.cri.crash_at("pod-networked")
    old = brig.brigd_pid()
    expect_error(grpc.StatusCode.UNAVAILABLE, pods.run, pod_config(metadata=meta))
    wait_for(lambda: (n := brig.brigd_pid()) and n != old and n, RESTART_TIMEOUT, "a new brigd")
    wait_for(brig.version_ok, RESTART_TIMEOUT, "brigd answering")
    pods.reconnect()
    assert pods.list() == [] and ns_entries(brig) == []
    assert_no_network_left(brig)
    pod_id = pods.run(pod_config(metadata=meta))
    assert ipaddress.ip_address(pod_ip(pods, pod_id)) in POD_NET


def test_a_helper_killed_mid_add_leaks_no_address(brig, pods):
    """The helper (and with it the plugins) dies while a chain runs; the
    restarted brigd undoes the half-made pod, DEL included."""
    (brig.base / "plugins").mkdir()
    (brig.base / "plugins" / "slow").write_text(
        "#!/bin/sh\nsleep 2\npython3 -c 'import json,sys; "
        "print(json.dumps(json.load(sys.stdin).get(\"prevResult\")))'\n")
    (brig.base / "plugins" / "slow").chmod(0o755)
    with open(brig.config, "a") as f:
        f.write(f'cni_plugin_dirs = ["{brig.base / "plugins"}", "/usr/lib/cni"]\n')
    conf = json.loads((brig.cni_conf_dir / "10-brig.conflist").read_text())
    conf["plugins"].insert(1, {"type": "slow"})
    brig.write_conflist("10-brig.conflist", conf)
    brig.stop()
    brig.log.close()
    brig.start()
    pods.reconnect()
    result = {}

    def run():
        try:
            result["id"] = pods.run(pod_config())
        except grpc.RpcError as e:
            result["error"] = e.code()

    t = threading.Thread(target=run)
    t.start()
    wait_for(lambda: allocated_ips(brig), 10, "the bridge plugin to take an address")
    brigd = brig.brigd_pid()
    os.kill(brig.proc.pid, 9)
    brig.proc.wait(timeout=30)
    t.join(timeout=30)
    wait_for(lambda: not alive(brigd), 2, "brigd to die with the helper")
    brig.log.close()
    brig.start()
    pods.reconnect()
    assert pods.list() == []
    assert ns_entries(brig) == [] and pins_mounted(brig) == []
    assert_no_network_left(brig)


# --- the pod's files ---------------------------------------------------------------

def pod_file(brig, pod_id, name):
    return (brig.run_root / "ns" / pod_id / name).read_text()


def test_the_pod_files_name_its_dns_hostname_and_address(brig, pods):
    config = pod_config(hostname="web-0", dns_servers=["10.96.0.10"])
    config.dns_config.searches.extend(["default.svc.cluster.local", "svc.cluster.local"])
    config.dns_config.options.extend(["ndots:5"])
    pod_id = pods.run(config)
    ip = pod_ip(pods, pod_id)
    assert pod_file(brig, pod_id, "resolv.conf") == (
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local\n"
        "options ndots:5\n")
    assert pod_file(brig, pod_id, "hostname") == "web-0\n"
    hosts = pod_file(brig, pod_id, "hosts")
    assert "127.0.0.1\tlocalhost\n" in hosts and hosts.endswith(f"{ip}\tweb-0\n")
    pods.remove(pod_id)
    assert ns_entries(brig) == []


def test_without_dns_config_the_node_resolvers_are_used_but_not_loopback(brig, pods):
    def resolvers(text):
        return [line.split()[1] for line in text.splitlines()
                if line.startswith("nameserver ")]

    pod_id = pods.run(pod_config(network=NODE, hostname="node-x"))
    with open("/etc/resolv.conf") as f:
        host = [a for a in resolvers(f.read())
                if not a.startswith("127.") and a != "::1"][:3]
    assert resolvers(pod_file(brig, pod_id, "resolv.conf")) == host
    # a host-network pod has no address of its own to name
    assert "node-x" not in pod_file(brig, pod_id, "hosts")
    assert pod_file(brig, pod_id, "hostname") == "node-x\n"
