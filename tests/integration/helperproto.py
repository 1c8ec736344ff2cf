"""A client of the helper protocol for the tests: framing, TLV and a
connection to brig-helper's root-only debug socket (docs/helper-protocol.md).
"""
import array
import os
import socket
import struct

MAGIC = 0x47495242
VERSION = 1
REPLY = 0x8000
HELLO, PING, UNPACK, READY, REMOVE_LAYER, POD_CREATE, POD_REMOVE, POD_STATUS = range(1, 9)
NET_ADD, NET_DEL, NET_CHECK, NET_STATUS, POD_FILES = range(9, 14)
CTR_CREATE, CTR_START, CTR_KILL, CTR_DELETE, CTR_STATUS = range(14, 19)
CTR_EXEC_SYNC, CTR_REOPEN_LOG, CTR_UPDATE, CTR_EVENTS, CTR_SPEC = range(19, 24)
U32, U64, STRING, BYTES, FD = 1, 2, 3, 4, 5
TAG_MIN_VERSION, TAG_MAX_VERSION, TAG_PEER_NAME = 1, 2, 3
TAG_VERSION, TAG_HELPER_VERSION, TAG_PING_DATA = 4, 5, 6
TAG_CHAIN_ID, TAG_PARENT_CHAIN_ID, TAG_DIFF_ID, TAG_MEDIA_TYPE, TAG_BLOB_FD = 7, 8, 9, 10, 11
TAG_LAYER_BYTES, TAG_LAYER_ENTRIES, TAG_LAYER_SKIPPED, TAG_LAYER_EXISTED = 12, 13, 14, 15
TAG_POD_ID, TAG_NS_FLAGS, TAG_HOSTNAME, TAG_SYSCTL = 17, 18, 19, 20
TAG_K8S_NAMESPACE, TAG_K8S_NAME, TAG_K8S_UID, TAG_PORT_MAPPINGS = 21, 22, 23, 24
TAG_INGRESS_RATE, TAG_EGRESS_RATE = 25, 26
TAG_DNS_SERVERS, TAG_DNS_SEARCHES, TAG_DNS_OPTIONS = 27, 28, 29
TAG_POD_IP, TAG_CNI_CONF_NAME, TAG_CNI_PROBLEM = 30, 31, 32
TAG_CTR_ID, TAG_CTR_SPEC_FD, TAG_RUNTIME_HANDLER, TAG_PID, TAG_SIGNAL = 33, 34, 35, 36, 37
TAG_WAIT_STATUS, TAG_EXIT_TIME, TAG_RUNNING = 38, 39, 40
TAG_EXEC_ARGS, TAG_TIMEOUT, TAG_TIMED_OUT, TAG_STDOUT_FD, TAG_STDERR_FD = 41, 42, 43, 44, 45
TAG_CGROUP_PARENT = 46
TAG_EVENTS, TAG_EVENTS_LOST, TAG_OOM_KILLED, TAG_UID, TAG_GID, TAG_GROUPS = range(47, 53)
TAG_MONITOR, TAG_SPEC_FD = 53, 54
EVENT_EXITED, EVENT_MONITOR_GONE, EVENT_F_OOM_KILLED = 1, 2, 1
EVENT = struct.Struct("<IIIIQ64s64s")
NS_NET, NS_IPC, NS_UTS, NS_PID = 1, 2, 4, 8
TAG_ERROR_MESSAGE = 0x7FFF
MAX_PAYLOAD = 65536
HDR = struct.Struct("<IHHIiII")


def tlv(tag, typ, value):
    return struct.pack("<HHI", tag, typ, len(value)) + value


def u32(tag, v):
    return tlv(tag, U32, struct.pack("<I", v))


def u64(tag, v):
    return tlv(tag, U64, struct.pack("<Q", v))


def string(tag, s):
    return tlv(tag, STRING, (s.encode() if isinstance(s, str) else s) + b"\0")


def port_record(protocol, host_port, container_port, host_ip=b"\0" * 16):
    """One PORT_MAPPINGS record (docs/helper-protocol.md, NET_ADD)."""
    return struct.pack("<IHH", protocol, host_port, container_port) + host_ip


def header(command, request_id, payload_len, magic=MAGIC, version=VERSION, status=0, reserved=0):
    return HDR.pack(magic, version, command, request_id, status, payload_len, reserved)


def message(command, request_id, payload=b"", **kw):
    return header(command, request_id, len(payload), **kw) + payload


def parse_tlvs(payload):
    fields = {}
    off = 0
    while off < len(payload):
        tag, typ, length = struct.unpack_from("<HHI", payload, off)
        fields.setdefault(tag, []).append(payload[off + 8:off + 8 + length])
        off += 8 + length
    return fields


class Reply:
    def __init__(self, data):
        magic, version, self.command, self.request_id, self.status, length, _ = \
            HDR.unpack_from(data)
        assert magic == MAGIC and version == VERSION
        assert length == len(data) - HDR.size
        self.fields = parse_tlvs(data[HDR.size:])

    @property
    def error_message(self):
        return self.fields[TAG_ERROR_MESSAGE][0].rstrip(b"\0").decode()


class Conn:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(10)
        self.sock.connect(str(path))
        self.next_id = 100

    def send(self, data, fds=()):
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.sock.sendmsg([data], anc)

    def recv(self):
        return Reply(self.sock.recv(MAX_PAYLOAD + 64))

    def request(self, command, payload=b"", fds=()):
        self.next_id += 1
        self.send(message(command, self.next_id, payload), fds)
        r = self.recv()
        assert r.request_id == self.next_id
        assert r.command == command | REPLY
        return r

    def hello(self, lo=1, hi=1):
        return self.request(HELLO, u32(TAG_MIN_VERSION, lo) + u32(TAG_MAX_VERSION, hi)
                            + tlv(TAG_PEER_NAME, STRING, b"pytest\0"))

    def ping(self, data=b"still here"):
        r = self.request(PING, tlv(TAG_PING_DATA, BYTES, data))
        assert r.status == 0, r.error_message
        assert r.fields[TAG_PING_DATA] == [data]
        return r

    def close(self):
        self.sock.close()


def fd_field(tag, index):
    return tlv(tag, FD, struct.pack("<I", index))


def u64_value(raw):
    return struct.unpack("<Q", raw)[0]


def u32_value(raw):
    return struct.unpack("<I", raw)[0]


def events_of(reply):
    """The records of a CTR_EVENTS reply as dicts, and whether events were lost."""
    out = []
    for raw in reply.fields.get(TAG_EVENTS, []):
        assert len(raw) % EVENT.size == 0
        for off in range(0, len(raw), EVENT.size):
            kind, flags, pid, ws, when, pod, ctr = EVENT.unpack_from(raw, off)
            out.append(dict(kind=kind, flags=flags, pid=pid, wait_status=ws, time=when,
                            pod=pod.decode(), ctr=ctr.rstrip(b"\0").decode()))
    lost = TAG_EVENTS_LOST in reply.fields and u32_value(reply.fields[TAG_EVENTS_LOST][0]) == 1
    return out, lost


# The container request of CTR_CREATE (common/ctrspec.h): its own tag numbers.
CTR = dict(ARG=1, ENV=2, CWD=3, FLAGS=4, RUN_AS_USER=5, RUN_AS_USERNAME=6, RUN_AS_GROUP=7,
           IMAGE_USER=8, SUPPLEMENTAL_GROUP=9, PID_MODE=10, PID_TARGET=11, LAYER=12, MOUNT=13,
           VOLUME=14, DEVICE=15, LOG_DIRECTORY=16, LOG_PATH=17, CGROUP_PARENT=18, CPU_PERIOD=19,
           CPU_QUOTA=20, CPU_SHARES=21, MEMORY_LIMIT=22, MEMORY_SWAP=23, OOM_SCORE_ADJ=24,
           CPUSET_CPUS=25, CPUSET_MEMS=26, PIDS_LIMIT=27, HUGEPAGE=28, UNIFIED=29, CAP_ADD=30,
           CAP_DROP=31, HOSTNAME=32, M_DESTINATION=64, M_SOURCE=65, M_FLAGS=66, M_KIND=67,
           D_CONTAINER_PATH=80, D_HOST_PATH=81, D_PERMISSIONS=82)
CTR_F_TTY, CTR_F_STDIN, CTR_F_STDIN_ONCE, CTR_F_READONLY_ROOTFS = 0x01, 0x02, 0x04, 0x08
CTR_F_RUN_AS_NON_ROOT, CTR_F_ALLOW_PRIV_ESC, CTR_F_PRIVILEGED = 0x10, 0x20, 0x40
CTR_M_READONLY = 0x01
MOUNT_BIND, MOUNT_POD_HOSTS, MOUNT_POD_RESOLV, MOUNT_POD_HOSTNAME, MOUNT_POD_SHM = range(5)
INT_FIELDS = {"FLAGS": U32, "PID_MODE": U32, "M_FLAGS": U32, "M_KIND": U32}


def ctr_spec(args, layers, env=(), mounts=(), devices=(), **fields):
    """Encodes a container request. mounts: dicts of destination, source,
    flags, kind; devices: (container path, host path, permissions); other
    fields by their CTR name in lower case: strings, or ints (U64 unless the
    header says U32; negative ones as two's complement)."""
    out = b"".join(string(CTR["ARG"], a) for a in args)
    out += b"".join(string(CTR["ENV"], e) for e in env)
    out += b"".join(string(CTR["LAYER"], l) for l in layers)
    for m in mounts:
        inner = string(CTR["M_DESTINATION"], m["destination"])
        if "source" in m:
            inner += string(CTR["M_SOURCE"], m["source"])
        if "flags" in m:
            inner += u32(CTR["M_FLAGS"], m["flags"])
        if "kind" in m:
            inner += u32(CTR["M_KIND"], m["kind"])
        out += tlv(CTR["MOUNT"], BYTES, inner)
    for cpath, hpath, perms in devices:
        out += tlv(CTR["DEVICE"], BYTES, string(CTR["D_CONTAINER_PATH"], cpath)
                   + string(CTR["D_HOST_PATH"], hpath) + string(CTR["D_PERMISSIONS"], perms))
    for name, value in fields.items():
        key = name.upper()
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, str):
                out += string(CTR[key], v)
            elif INT_FIELDS.get(key) == U32:
                out += u32(CTR[key], v)
            else:
                out += u64(CTR[key], v & (2**64 - 1))
    return out


def memfd_with(data):
    fd = os.memfd_create("ctr-spec", os.MFD_CLOEXEC)
    os.write(fd, data)
    return fd
