"""brig-cni against a runner played by the test (docs/brig-cni.md).

Each test starts the built brig-cni as root with its end of a SOCK_SEQPACKET
socketpair as fd 3, exactly as brig-helper's CNI runner does, and plays the
runner: it sends the REQUEST, checks every EXEC (which plugin, the stdin
JSON), answers RESULTs with plugin output written here, and checks the CACHE
blobs and the DONE or FAIL. brig-cni never executes anything, so no plugin
and no network is involved. Every wait has a timeout, and teardown kills a
brig-cni that is still running (by its pid, only the one the test started).
"""
import fcntl
import json
import os
import socket
import struct
import subprocess
import tempfile

import pytest

from conftest import BUILD, proc_status
from helperproto import BYTES, STRING, U32, U64, parse_tlvs, tlv

BRIG_CNI = BUILD / "brig-cni"
TIMEOUT = 10
MAX_PAYLOAD = 65536

# channel.h
REQUEST, CACHE, EXEC, RESULT, DONE, FAIL = range(1, 7)
ADD, DEL, CHECK = 1, 2, 3
T_KIND, T_COMMAND, T_CONTAINER_ID, T_IFNAME, T_CONF_NAME, T_CONF, T_CACHE = range(1, 8)
T_PORTS, T_INGRESS, T_EGRESS, T_DNS_SERVERS, T_DNS_SEARCHES, T_DNS_OPTIONS = range(8, 14)
T_PLUGIN, T_STDIN, T_EXIT, T_STDOUT, T_IP, T_MESSAGE = range(20, 26)
EXIT_SIGNAL, EXIT_TIMEOUT, EXIT_NOT_FOUND, EXIT_NOT_RUN = 0x100, 0x10000, 0x10001, 0x10002
KIND_NAMES = {REQUEST: "REQUEST", CACHE: "CACHE", EXEC: "EXEC", RESULT: "RESULT", DONE: "DONE",
              FAIL: "FAIL"}

POD = "5f0e" * 16
NOBODY = 65534

CONFLIST = {
    "cniVersion": "1.0.0",
    "name": "brig",
    "plugins": [
        {"type": "bridge", "bridge": "brig0", "isGateway": True, "ipMasq": True,
         "hairpinMode": True,
         "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}],
                  "ranges": [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}],
                             [{"subnet": "fd00:88::/64"}]]}},
        {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        {"type": "bandwidth", "capabilities": {"bandwidth": True}},
    ],
}

# What bridge with host-local prints for the pod, and what portmap and
# bandwidth, which change nothing, pass on.
BRIDGE_RESULT = {
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "brig0", "mac": "9a:1c:3e:55:01:02"},
        {"name": "veth6c1f0a2b", "mac": "d2:44:0c:8e:7a:11"},
        {"name": "eth0", "mac": "4e:2f:91:03:bd:70", "sandbox": "/run/brig/ns/net/" + POD},
    ],
    "ips": [
        {"interface": 2, "address": "10.88.0.7/16", "gateway": "10.88.0.1"},
        {"interface": 2, "address": "fd00:88::7/64", "gateway": "fd00:88::1"},
    ],
    "routes": [{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}, {"dst": "::/0", "gw": "fd00:88::1"}],
    "dns": {},
}

# 8080/tcp on any host address, 5353/udp on 192.168.1.10 (IPv4-mapped on
# the wire), 9000/sctp on fd00::1.
PORTS = (struct.pack("<IHH16s", 6, 8080, 80, bytes(16))
         + struct.pack("<IHH16s", 17, 5353, 53, bytes(10) + b"\xff\xff" + bytes([192, 168, 1, 10]))
         + struct.pack("<IHH16s", 132, 9000, 9000, bytes([0xfd]) + bytes(14) + b"\x01"))
PORT_MAPPINGS = [
    {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
    {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "192.168.1.10"},
    {"hostPort": 9000, "containerPort": 9000, "protocol": "sctp", "hostIP": "fd00::1"},
]
BANDWIDTH = {"ingressRate": 10_000_000, "ingressBurst": 2147483647}


def u32(tag, v):
    return tlv(tag, U32, struct.pack("<I", v))


def u64(tag, v):
    return tlv(tag, U64, struct.pack("<Q", v))


def string(tag, s):
    return tlv(tag, STRING, s.encode() + b"\0")


def bytes_field(tag, b):
    return tlv(tag, BYTES, b)


def request(command, conf=None, conf_name="10-brig.conflist", cache=None, ports=None,
            ingress=None, egress=None, dns=None, pod=POD, ifname="eth0"):
    p = u32(T_KIND, REQUEST) + u32(T_COMMAND, command) + string(T_CONTAINER_ID, pod) \
        + string(T_IFNAME, ifname)
    if conf_name is not None:
        p += string(T_CONF_NAME, conf_name)
    if conf is not None:
        p += bytes_field(T_CONF, conf if isinstance(conf, bytes) else json.dumps(conf).encode())
    if cache is not None:
        p += bytes_field(T_CACHE, cache)
    if ports is not None:
        p += bytes_field(T_PORTS, ports)
    if ingress is not None:
        p += u64(T_INGRESS, ingress)
    if egress is not None:
        p += u64(T_EGRESS, egress)
    for tag, value in zip((T_DNS_SERVERS, T_DNS_SEARCHES, T_DNS_OPTIONS), dns or ()):
        p += string(tag, value)
    return p


def result(exit_code, stdout=b""):
    if isinstance(stdout, (dict, list)):
        stdout = json.dumps(stdout).encode()
    return u32(T_KIND, RESULT) + u32(T_EXIT, exit_code) + bytes_field(T_STDOUT, stdout)


class Message:
    def __init__(self, data):
        self.raw = data
        self.fields = parse_tlvs(data)
        assert list(self.fields)[0] == T_KIND, data[:32]
        self.kind = struct.unpack("<I", self.fields[T_KIND][0])[0]

    def one(self, tag):
        values = self.fields.get(tag, [])
        assert len(values) == 1, (tag, values)
        return values[0]

    def string(self, tag):
        raw = self.one(tag)
        assert raw.endswith(b"\0")
        return raw[:-1].decode()

    def u32(self, tag):
        return struct.unpack("<I", self.one(tag))[0]

    def json(self, tag):
        return json.loads(self.one(tag))

    @property
    def message(self):
        return self.string(T_MESSAGE)


class Runner:
    """The runner's side of one brig-cni run."""

    def __init__(self):
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Out of the way of 0-3, so dup2 onto 3 in the child always clears
        # close-on-exec.
        high = fcntl.fcntl(child.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)
        child.close()
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        try:
            self.proc = subprocess.Popen(
                [str(BRIG_CNI)], stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, close_fds=False, env=env,
                preexec_fn=lambda: os.dup2(high, 3))
        finally:
            os.close(high)
        self.sock.settimeout(TIMEOUT)

    def send(self, payload):
        self.sock.send(payload)

    def recv(self, kind=None):
        data = self.sock.recv(MAX_PAYLOAD + 1)
        assert data, "brig-cni closed the channel\n" + self.log_text()
        m = Message(data)
        if kind is not None and m.kind != kind:
            detail = m.message if m.kind == FAIL else ""
            raise AssertionError(f"expected {KIND_NAMES[kind]}, got "
                                 f"{KIND_NAMES.get(m.kind, m.kind)} {detail}\n" + self.log_text())
        return m

    def exec_(self, plugin, command):
        m = self.recv(EXEC)
        assert m.string(T_PLUGIN) == plugin
        assert m.u32(T_COMMAND) == command
        return m.json(T_STDIN)

    def wait(self):
        return self.proc.wait(timeout=TIMEOUT)

    def finish(self, code=0):
        """brig-cni exits with code and closes the channel."""
        assert self.wait() == code, self.log_text()
        self.sock.settimeout(TIMEOUT)
        assert self.sock.recv(MAX_PAYLOAD + 1) == b""

    def log_text(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        self.sock.close()
        self.log.close()


@pytest.fixture
def runner():
    if os.geteuid() != 0:
        pytest.skip("brig-cni is started as root, as the helper's runner starts it")
    if not BRIG_CNI.exists():
        pytest.skip(f"{BRIG_CNI} is not built")
    runners = []

    def start():
        r = Runner()
        runners.append(r)
        return r

    yield start
    for r in runners:
        r.close()


def expect_stdin(stdin, plugin, prev=None, runtime_config=None, conf=CONFLIST):
    """The stdin CNI 1.0.0 section 3 derives from the file's plugin object."""
    want = dict(plugin)
    want.pop("capabilities", None)
    want["cniVersion"] = conf["cniVersion"]
    want["name"] = conf["name"]
    if runtime_config:
        want["runtimeConfig"] = runtime_config
    if prev is not None:
        want["prevResult"] = prev
    assert stdin == want


def run_add(runner, conf=CONFLIST, **kw):
    """A whole successful ADD of CONFLIST; returns (first cache, last cache, ips)."""
    r = runner()
    r.send(request(ADD, conf=conf, ports=PORTS, ingress=10_000_000,
                   dns=("10.96.0.10", "default.svc.cluster.local svc.cluster.local", "ndots:5"),
                   **kw))
    first = r.recv(CACHE).one(T_CACHE)
    stdin = r.exec_("bridge", ADD)
    expect_stdin(stdin, conf["plugins"][0], conf=conf)
    r.send(result(0, BRIDGE_RESULT))
    stdin = r.exec_("portmap", ADD)
    expect_stdin(stdin, conf["plugins"][1], prev=BRIDGE_RESULT,
                 runtime_config={"portMappings": PORT_MAPPINGS}, conf=conf)
    r.send(result(0, BRIDGE_RESULT))
    stdin = r.exec_("bandwidth", ADD)
    expect_stdin(stdin, conf["plugins"][2], prev=BRIDGE_RESULT,
                 runtime_config={"bandwidth": BANDWIDTH}, conf=conf)
    r.send(result(0, BRIDGE_RESULT))
    last = r.recv(CACHE).one(T_CACHE)
    done = r.recv(DONE)
    r.finish()
    return first, last, [v[:-1].decode() for v in done.fields.get(T_IP, [])]


def test_add(runner):
    first, last, ips = run_add(runner)
    assert ips == ["10.88.0.7/16", "fd00:88::7/64"]
    first, last = json.loads(first), json.loads(last)
    capargs = {"portMappings": PORT_MAPPINGS, "bandwidth": BANDWIDTH,
               "dns": {"servers": ["10.96.0.10"],
                       "searches": ["default.svc.cluster.local", "svc.cluster.local"],
                       "options": ["ndots:5"]}}
    assert first == {"kind": "brig-cni-cache", "version": 1, "containerId": POD,
                     "ifName": "eth0", "confName": "10-brig.conflist", "config": CONFLIST,
                     "capabilityArgs": capargs}
    assert last == dict(first, result=BRIDGE_RESULT)


def test_confinement(runner):
    """While brig-cni waits for a RESULT it is nobody, with nothing."""
    r = runner()
    r.send(request(ADD, conf=CONFLIST))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    st = proc_status(r.proc.pid)
    assert st["Uid"].split() == [str(NOBODY)] * 4
    assert st["Gid"].split() == [str(NOBODY)] * 4
    assert st["Groups"] == ""
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[cap], 16) == 0, (cap, st[cap])
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"
    assert sorted(int(fd) for fd in os.listdir(f"/proc/{r.proc.pid}/fd")) == [0, 1, 2, 3]
    with open(f"/proc/{r.proc.pid}/limits") as f:
        limits = {line[:26].strip(): line[26:].split() for line in f.readlines()[1:]}
    assert limits["Max open files"][:2] == ["8", "8"]
    assert limits["Max processes"][:2] == ["0", "0"]
    assert limits["Max core file size"][:2] == ["0", "0"]
    # The sanitizer build leaves the address space alone (its shadow needs it).
    if b"__asan_init" not in BRIG_CNI.read_bytes():
        assert limits["Max address space"][:2] == [str(256 << 20)] * 2
    r.send(result(0, BRIDGE_RESULT))
    r.exec_("portmap", ADD)
    r.send(result(0, BRIDGE_RESULT))
    r.exec_("bandwidth", ADD)
    r.send(result(0, BRIDGE_RESULT))
    r.recv(CACHE)
    r.recv(DONE)
    r.finish()


def test_del_from_cache(runner):
    _, cache, _ = run_add(runner)
    r = runner()
    # DEL takes everything from the cache: CONF and capability tags are ignored.
    r.send(request(DEL, cache=cache, conf_name=None, conf=b"ignored", ingress=1))
    for plugin in reversed(CONFLIST["plugins"]):
        stdin = r.exec_(plugin["type"], DEL)
        rc = {"portMappings": PORT_MAPPINGS} if plugin["type"] == "portmap" else \
            {"bandwidth": BANDWIDTH} if plugin["type"] == "bandwidth" else None
        expect_stdin(stdin, plugin, prev=BRIDGE_RESULT, runtime_config=rc)
        r.send(result(0))
    r.recv(DONE)
    r.finish()


def test_del_after_crash_mid_add(runner):
    """The first cache has no result: DEL still runs every plugin, without prevResult."""
    first, _, _ = run_add(runner)
    r = runner()
    r.send(request(DEL, cache=first))
    for plugin in reversed(CONFLIST["plugins"]):
        stdin = r.exec_(plugin["type"], DEL)
        assert "prevResult" not in stdin
        r.send(result(0))
    r.recv(DONE)
    r.finish()


def test_del_runs_every_plugin_and_answers_the_first_failure(runner):
    """One broken plugin must not keep the others from releasing what they
    hold: DEL goes on, and the FAIL is the first failure."""
    _, cache, _ = run_add(runner)
    r = runner()
    r.send(request(DEL, cache=cache))
    r.exec_("bandwidth", DEL)
    r.send(result(0))
    r.exec_("portmap", DEL)
    r.send(result(1, {"cniVersion": "1.0.0", "code": 999, "msg": "could not delete chain",
                      "details": "iptables: No chain/target/match by that name."}))
    r.exec_("bridge", DEL)
    r.send(result(EXIT_TIMEOUT))
    assert r.recv(FAIL).message == (
        "CNI plugin portmap (DEL) for network brig: could not delete chain: iptables: No "
        "chain/target/match by that name. (code 999)")
    r.finish()


def test_del_skips_a_plugin_that_is_not_installed(runner):
    _, cache, _ = run_add(runner)
    r = runner()
    r.send(request(DEL, cache=cache))
    r.exec_("bandwidth", DEL)
    r.send(result(EXIT_NOT_FOUND, b'no CNI plugin "bandwidth" in /opt/cni/bin:/usr/lib/cni'))
    r.exec_("portmap", DEL)
    r.send(result(0))
    r.exec_("bridge", DEL)
    r.send(result(0))
    r.recv(DONE)
    r.finish()


def test_del_fails_when_the_runner_cannot_run_a_plugin(runner):
    _, cache, _ = run_add(runner)
    r = runner()
    r.send(request(DEL, cache=cache))
    r.exec_("bandwidth", DEL)
    r.send(result(EXIT_NOT_RUN, b"CNI plugin /usr/lib/cni/bandwidth is writable by group or "
                                b"others"))
    r.exec_("portmap", DEL)
    r.send(result(0))
    r.exec_("bridge", DEL)
    r.send(result(0))
    assert r.recv(FAIL).message == ("CNI plugin bandwidth (DEL) for network brig: CNI plugin "
                                    "/usr/lib/cni/bandwidth is writable by group or others")
    r.finish()


def test_del_needs_cache(runner):
    r = runner()
    r.send(request(DEL))
    assert r.recv(FAIL).message == \
        f"no cached CNI state for pod {POD[:12]}: the network was never added"
    r.finish()


def test_del_cache_of_another_pod(runner):
    _, cache, _ = run_add(runner)
    r = runner()
    other = "ab" * 32
    r.send(request(DEL, cache=cache, pod=other))
    assert r.recv(FAIL).message == (f"cache: it is for pod {POD[:12]} interface eth0, not pod "
                                    f"{other[:12]} interface eth0")
    r.finish()


def test_del_bad_cache(runner):
    r = runner()
    r.send(request(DEL, cache=b'{"kind":"something else"}'))
    assert r.recv(FAIL).message == 'cache: "kind" is not "brig-cni-cache"'
    r.finish()


def test_check(runner):
    _, cache, _ = run_add(runner)
    r = runner()
    r.send(request(CHECK, cache=cache))
    for plugin in CONFLIST["plugins"]:
        stdin = r.exec_(plugin["type"], CHECK)
        assert stdin["prevResult"] == BRIDGE_RESULT
        r.send(result(0))
    r.recv(DONE)
    r.finish()


def test_check_failure(runner):
    _, cache, _ = run_add(runner)
    r = runner()
    r.send(request(CHECK, cache=cache))
    r.exec_("bridge", CHECK)
    r.send(result(EXIT_SIGNAL + 9))
    assert r.recv(FAIL).message == "CNI plugin bridge (CHECK) for network brig: killed by signal 9"
    r.finish()


@pytest.mark.parametrize("version,disable", [("0.3.1", False), ("0.3.0", False),
                                             ("1.0.0", True), ("0.4.0", True)])
def test_check_skipped(runner, version, disable):
    conf = dict(CONFLIST, cniVersion=version, disableCheck=disable)
    _, cache, _ = run_add(runner, conf=conf)
    r = runner()
    r.send(request(CHECK, cache=cache))
    r.recv(DONE)
    r.finish()


def test_check_needs_result(runner):
    first, _, _ = run_add(runner)
    r = runner()
    r.send(request(CHECK, cache=first))
    assert r.recv(FAIL).message == \
        f"network brig of pod {POD[:12]}: no result to check (its ADD never finished)"
    r.finish()


def test_add_plugin_failure(runner):
    r = runner()
    r.send(request(ADD, conf=CONFLIST))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    r.send(result(1, {"cniVersion": "1.0.0", "code": 999,
                      "msg": "failed to allocate for range 0: no IP addresses available in range "
                             "set: 10.88.0.1-10.88.255.254"}))
    assert r.recv(FAIL).message == (
        "CNI plugin bridge (ADD) for network brig: failed to allocate for range 0: no IP "
        "addresses available in range set: 10.88.0.1-10.88.255.254 (code 999)")
    r.finish()


@pytest.mark.parametrize("exit_code,stdout,tail", [
    (2, b"panic: runtime error\n", "exited with status 2"),
    (EXIT_TIMEOUT, b"", "timed out"),
    (EXIT_NOT_FOUND, b'no plugin "portmap" in /opt/cni/bin', 'no plugin "portmap" in /opt/cni/bin'),
    (1, b'{"code":1,"msg":"forged\\nts=1 level=info msg=\\"x\\"\\u001b[2J"}',
     'forged?ts=1 level=info msg="x"?[2J (code 1)'),
])
def test_add_second_plugin_failure(runner, exit_code, stdout, tail):
    r = runner()
    r.send(request(ADD, conf=CONFLIST, ports=PORTS))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    r.send(result(0, BRIDGE_RESULT))
    r.exec_("portmap", ADD)
    r.send(result(exit_code, stdout))
    assert r.recv(FAIL).message == "CNI plugin portmap (ADD) for network brig: " + tail
    r.finish()


def test_add_result_not_json(runner):
    r = runner()
    r.send(request(ADD, conf=CONFLIST))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    r.send(result(0, b"OK"))
    assert r.recv(FAIL).message.startswith(
        "CNI plugin bridge (ADD) for network brig: its result is not valid JSON: ")
    r.finish()


def test_add_bad_address_in_result(runner):
    conf = dict(CONFLIST, plugins=CONFLIST["plugins"][:1])
    r = runner()
    r.send(request(ADD, conf=conf))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    bad = dict(BRIDGE_RESULT, ips=[{"address": "10.88.0.7/16"}, {"address": "10.88.0.300/16"}])
    r.send(result(0, bad))
    # The cache with the result comes first, so DEL can still undo the ADD.
    assert json.loads(r.recv(CACHE).one(T_CACHE))["result"] == bad
    assert r.recv(FAIL).message == ('CNI result for network brig: ips[1]: "10.88.0.300/16" is '
                                    'not an IP address with a prefix length')
    r.finish()


def test_add_single_conf(runner):
    conf = {"cniVersion": "0.4.0", "name": "loopnet", "type": "loopback"}
    r = runner()
    r.send(request(ADD, conf=conf, conf_name="99-loopback.conf", ports=PORTS))
    r.recv(CACHE)
    assert r.exec_("loopback", ADD) == conf
    r.send(result(0, {"cniVersion": "0.4.0", "interfaces": [{"name": "lo"}]}))
    r.recv(CACHE)
    assert T_IP not in r.recv(DONE).fields
    r.finish()


@pytest.mark.parametrize("conf_name,conf,message", [
    ("10-brig.conflist",
     dict(CONFLIST, plugins=[{"type": "bridge"}, {"capabilities": {"portMappings": True}}]),
     '10-brig.conflist: plugins[1]: "type" is missing'),
    ("10-brig.conflist", dict(CONFLIST, plugins=[{"type": "../../bin/sh"}]),
     '10-brig.conflist: plugins[0]: "type" "../../bin/sh" is not a plugin name '
     '([A-Za-z0-9._-], 1-64 bytes, not . or ..)'),
    ("10-brig.conflist", dict(CONFLIST, cniVersion="0.2.0"),
     '10-brig.conflist: "cniVersion" "0.2.0" is not supported (brig-cni speaks 1.0.0, 0.4.0, '
     '0.3.1 and 0.3.0)'),
    ("10-brig.conflist", {"cniVersion": "1.0.0", "name": "brig"},
     '10-brig.conflist: "plugins" is missing'),
    ("10-brig.conflist", b'{"cniVersion": "1.0.0",', None),
    ("10-brig.conf", CONFLIST, '10-brig.conf: "type" is missing'),
    ("brig.yaml", CONFLIST,
     'CNI configuration file name "brig.yaml" does not end in .conflist, .conf or .json'),
])
def test_add_malformed_config(runner, conf_name, conf, message):
    r = runner()
    r.send(request(ADD, conf=conf, conf_name=conf_name))
    m = r.recv(FAIL)
    if message is None:
        assert m.message.startswith("10-brig.conflist: not valid JSON: ")
    else:
        assert m.message == message
    r.finish()


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def test_add_config_too_large_for_cache(runner):
    """A file that fits a REQUEST but whose cache blob would not fit back into one."""
    base = len(compact(dict(CONFLIST, padding="")))
    conf = compact(dict(CONFLIST, padding="x" * (65000 - base)))
    r = runner()
    r.send(request(ADD, conf=conf))
    m = r.recv(FAIL)
    assert m.message.startswith("10-brig.conflist: the cached state of network brig is ")
    # 65143: what still fits back into a DEL REQUEST (docs/brig-cni.md)
    assert m.message.endswith("more than the 65143 a cache blob may hold")
    r.finish()


def test_add_stdin_too_large(runner):
    conf = dict(CONFLIST, plugins=[{"type": "bridge"}, {"type": "portmap", "x": "y" * 40000}])
    r = runner()
    r.send(request(ADD, conf=conf))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    r.send(result(0, dict(BRIDGE_RESULT, padding="z" * 30000)))
    m = r.recv(FAIL)
    assert m.message.startswith("10-brig.conflist: the configuration of plugin portmap with its "
                                "prevResult is ")
    assert m.message.endswith("more than the 65431 a plugin's stdin may carry")
    r.finish()


# --- a broken channel: brig-cni says why if it can and exits non-zero ------

def test_garbage_datagram(runner):
    r = runner()
    r.send(b"\x07garbage")
    m = r.recv(FAIL)
    assert m.message.startswith("brig-cni: bad REQUEST from the runner: ")
    r.finish(1)


def test_oversize_datagram(runner):
    r = runner()
    r.send(request(ADD, conf=b"x" * MAX_PAYLOAD))
    m = r.recv(FAIL)
    assert m.message.startswith("brig-cni: REQUEST: a datagram of ")
    assert "more than 65536" in m.message
    r.finish(1)


def test_unknown_tag_in_request(runner):
    r = runner()
    r.send(request(ADD, conf=CONFLIST) + u32(99, 0))
    assert r.recv(FAIL).message == \
        "brig-cni: bad REQUEST from the runner: REQUEST: tag 99 is not allowed"
    r.finish(1)


def test_bad_result(runner):
    r = runner()
    r.send(request(ADD, conf=CONFLIST))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    r.send(u32(T_KIND, RESULT) + u32(T_EXIT, 0x777))
    assert r.recv(FAIL).message == \
        "brig-cni: bad RESULT from the runner: RESULT: EXIT 0x777 is not a known status"
    r.finish(1)


def test_request_instead_of_result(runner):
    r = runner()
    r.send(request(ADD, conf=CONFLIST))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    r.send(request(ADD, conf=CONFLIST))
    assert r.recv(FAIL).message == \
        "brig-cni: bad RESULT from the runner: expected a RESULT (KIND 4 first)"
    r.finish(1)


def test_runner_goes_away(runner):
    r = runner()
    r.send(request(ADD, conf=CONFLIST))
    r.recv(CACHE)
    r.exec_("bridge", ADD)
    r.sock.shutdown(socket.SHUT_WR)
    assert r.wait() == 1, r.log_text()
    assert "the runner closed the channel before sending RESULT" in r.log_text()


def test_fds_with_request(runner):
    r = runner()
    rfd, wfd = os.pipe()
    try:
        r.sock.sendmsg([request(ADD, conf=CONFLIST)],
                       [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", rfd))])
    finally:
        os.close(rfd)
        os.close(wfd)
    assert r.recv(FAIL).message == "brig-cni: REQUEST came with ancillary data"
    r.finish(1)


def test_not_a_seqpacket_channel(runner):
    """brig-cni refuses to run on anything but the runner's socket."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    rfd, wfd = a.detach(), b.detach()
    high = fcntl.fcntl(rfd, fcntl.F_DUPFD_CLOEXEC, 10)
    with tempfile.TemporaryFile() as log:
        p = subprocess.Popen([str(BRIG_CNI)], stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, close_fds=False,
                             preexec_fn=lambda: os.dup2(high, 3))
        try:
            assert p.wait(timeout=TIMEOUT) == 1
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=TIMEOUT)
            for fd in (rfd, wfd, high):
                os.close(fd)
        log.seek(0)
        assert b"is not a SOCK_SEQPACKET socket" in log.read()
