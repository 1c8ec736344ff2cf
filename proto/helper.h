/* helper.h: wire constants of the brigd <-> brig-helper protocol.
 *
 * Both programs include this file; nothing here may change meaning without a
 * new protocol version. docs/helper-protocol.md is the auditors' copy.
 *
 * Transport: one SOCK_SEQPACKET datagram is one message, so the kernel keeps
 * message boundaries and no length prefix can desynchronise the stream. File
 * descriptors ride in SCM_RIGHTS ancillary data on the same datagram.
 *
 * Message: a 24-byte header followed by payload_len bytes of TLV elements.
 * Every integer is little-endian and is encoded and decoded field by field, so
 * the layout does not depend on a compiler's struct padding or the host's
 * byte order.
 *
 *   offset  size  field
 *        0     4  magic        BRIG_HELPER_MAGIC
 *        4     2  version      BRIG_HELPER_VERSION
 *        6     2  command      BRIG_CMD_*, | BRIG_HELPER_REPLY_FLAG in replies
 *        8     4  request_id   chosen by brigd, echoed in the reply
 *       12     4  status       i32: 0 in requests; 0 or -errno in replies
 *       16     4  payload_len  bytes after the header, <= BRIG_HELPER_MAX_PAYLOAD
 *       20     4  reserved     0
 *
 * TLV element (no padding between elements):
 *
 *   u16 tag | u16 type | u32 length | value[length]
 *
 * Numbers below are explicit and never reused: a retired command or tag stays
 * listed here as retired, so an old peer cannot be misunderstood by a new one.
 */
#pragma once

#include <stdint.h>

/* "BRIG" when the four bytes are read in order: rejects a peer speaking
 * something else (or a stray write) before any field is trusted. */
#define BRIG_HELPER_MAGIC 0x47495242u

/* Bumped on any incompatible change; both sides must agree exactly. */
#define BRIG_HELPER_VERSION 1

/* Fixed header size: the sum of the fields in the table above. */
#define BRIG_HELPER_HDR_SIZE 24

/* Byte offsets of the header fields, used by the encoder and decoder only. */
#define BRIG_HELPER_OFF_MAGIC       0
#define BRIG_HELPER_OFF_VERSION     4
#define BRIG_HELPER_OFF_COMMAND     6
#define BRIG_HELPER_OFF_REQUEST_ID  8
#define BRIG_HELPER_OFF_STATUS      12
#define BRIG_HELPER_OFF_PAYLOAD_LEN 16
#define BRIG_HELPER_OFF_RESERVED    20

/* Set in the command field of every reply, so a reply can never be mistaken
 * for a request (and a request claiming to be a reply is refused). */
#define BRIG_HELPER_REPLY_FLAG 0x8000u

/* Largest payload either side sends or accepts. The bound lets the receiver
 * use one fixed buffer and refuse anything larger before looking at it; the
 * schema test checks that every command's largest valid message fits. */
#define BRIG_HELPER_MAX_PAYLOAD 65536

/* Most descriptors one message may carry. The receiver's control buffer is
 * sized for exactly this many, so more arrive truncated and are refused. */
#define BRIG_HELPER_MAX_FDS 8

/* Most TLV elements one message may carry: bounds the decoder's field array
 * and the work spent on one message. */
#define BRIG_HELPER_MAX_FIELDS 64

/* Receive buffer size: one byte more than the largest valid message, so a
 * datagram that is too long by any amount is seen as too long (by the
 * length check or by MSG_TRUNC) rather than silently cut to a valid size. */
#define BRIG_HELPER_RECV_SIZE (BRIG_HELPER_HDR_SIZE + BRIG_HELPER_MAX_PAYLOAD + 1)

/* TLV element header: u16 tag, u16 type, u32 length. */
#define BRIG_TLV_HDR_SIZE 8

/* Largest errno a reply status may carry (Linux's MAX_ERRNO), so a status
 * is always something strerror() and callers' errno checks understand. */
#define BRIG_HELPER_MAX_ERRNO 4095

_Static_assert(BRIG_HELPER_HDR_SIZE == 4 + 2 + 2 + 4 + 4 + 4 + 4, "header fields must add up");
_Static_assert(BRIG_HELPER_OFF_RESERVED + 4 == BRIG_HELPER_HDR_SIZE, "reserved is the last field");
_Static_assert(BRIG_HELPER_MAX_PAYLOAD <= UINT32_MAX, "payload_len is a u32");
_Static_assert(BRIG_HELPER_RECV_SIZE < INT32_MAX, "a received length fits an ssize_t anywhere");
_Static_assert(BRIG_HELPER_MAX_FDS <= 32, "the validator tracks fd use in a u32 bitmask");
_Static_assert((BRIG_HELPER_MAX_FIELDS * BRIG_TLV_HDR_SIZE) <= BRIG_HELPER_MAX_PAYLOAD,
               "the field limit, not the payload limit, bounds the element count");

/* TLV value types. The type is on the wire so a decoder can check it against
 * the tag's one declared type instead of guessing. */
enum brig_tlv_type {
        /* length exactly 4, little-endian */
        BRIG_TLV_U32 = 1,
        /* length exactly 8, little-endian */
        BRIG_TLV_U64 = 2,
        /* length >= 1; the last byte is NUL and no other byte is, so the
         * value can be used as a C string in place */
        BRIG_TLV_STRING = 3,
        /* any bytes, length 0..max_len of the tag */
        BRIG_TLV_BYTES = 4,
        /* length exactly 4: u32 index into the message's SCM_RIGHTS array;
         * every received fd must be referenced exactly once */
        BRIG_TLV_FD = 5,
};

/* Commands. Only these exist; anything else is refused with -EOPNOTSUPP.
 * Each must stay below BRIG_HELPER_REPLY_FLAG. */
enum brig_cmd {
        /* Version handshake, the only command permitted before it succeeds.
         * Safe: it reads two integers and an optional name and changes
         * nothing but the connection's state. */
        BRIG_CMD_HELLO = 1,
        /* Liveness check that echoes up to 1 KiB. Safe: no effect at all;
         * the echo is bounded by the schema. */
        BRIG_CMD_PING = 2,
        /* Unpacks one image layer blob (an fd brigd opened in its verified
         * store) into <root>/layers/<chain id>/diff. The helper builds every
         * path from the chain id, refuses one whose parent layer is absent,
         * and runs brig-unpack as a confined child; its loop does not wait.
         * The reply is sent when the child ends; the layer is renamed into
         * place only when brig-unpack verified the diff id and chain id. */
        BRIG_CMD_UNPACK = 3,
        /* brigd serves CRI: the helper tells its service manager (sd_notify
         * READY=1). Once per connection. Safe: no fields, and its only
         * effect is a status line to systemd. */
        BRIG_CMD_READY = 4,
        /* Removes the layer <root>/layers/<chain id> that no image uses any
         * more: renamed out of sight at once, deleted by a child. A layer
         * being unpacked is refused (EBUSY); an absent one is no error. */
        BRIG_CMD_REMOVE_LAYER = 5,
        /* Creates the namespaces of pod <pod id> that NS_FLAGS asks for
         * (network, IPC, UTS; each one not asked for is the node's) and
         * pins them by bind mounts at <run_root>/ns/<pod id>/{net,ipc,uts},
         * then starts the pod's brig-monitor (in <CGROUP_PARENT>/brig-monitor)
         * and, with BRIG_POD_NS_PID, pins its pause process's PID namespace
         * at <run_root>/ns/<pod id>/pid.
         * A child does the work: it sets the hostname and the sysctls in the
         * new namespaces and brings up loopback in a new network namespace.
         * The helper builds every path from the pod id; it refuses a
         * hostname or sysctl that would reach a namespace of the node, a
         * sysctl outside the namespaced set, and any value that is not
         * plain text. A pod id in use is refused (EEXIST). */
        BRIG_CMD_POD_CREATE = 6,
        /* Unmounts the pins of pod <pod id> and removes its directory.
         * Idempotent: an absent pod, or one half created before a crash,
         * is no error. */
        BRIG_CMD_POD_REMOVE = 7,
        /* Which namespaces of pod <pod id> are pinned: the reply's NS_FLAGS
         * has the bit of each pin that is a mounted namespace. brigd asks
         * at start, since pins do not survive a reboot and records do.
         * Safe: it only looks, at paths built from a checked id. */
        BRIG_CMD_POD_STATUS = 8,
        /* Attaches pod <pod id>'s network namespace to the node's CNI
         * network: the helper reads the first configuration in cni_conf_dir
         * itself (root's, writable by root alone), and a child runs the
         * plugins from cni_plugin_dirs with CNI_ARGS built from the checked
         * K8S_* fields, while the confined brig-cni builds their input and
         * reads their output (the helper parses no JSON). The reply lists
         * the pod's addresses. What a DEL needs is kept in <root>/cni. A
         * pod without a pinned network namespace is refused (ENOENT); a
         * second NET_ADD before NET_DEL is refused (EEXIST). */
        BRIG_CMD_NET_ADD = 9,
        /* Detaches pod <pod id> from the network NET_ADD attached it to
         * (CNI DEL with the configuration kept at ADD, plugins in reverse
         * order), then forgets it. Idempotent: a pod never attached, or
         * already detached, is no error and runs nothing. */
        BRIG_CMD_NET_DEL = 10,
        /* CNI CHECK of pod <pod id>'s attachment. Safe: plugins only look.
         * A pod not attached is ENOENT. */
        BRIG_CMD_NET_CHECK = 11,
        /* Whether a CNI configuration is there: the reply names the file,
         * or says what is missing or wrong. Safe: it lists one directory. */
        BRIG_CMD_NET_STATUS = 12,
        /* Writes pod <pod id>'s resolv.conf, hostname and hosts files into
         * <run_root>/ns/<pod id>, for its containers to bind: each built by
         * the helper from checked typed fields (no file of brigd's is
         * copied), written to a temporary name and renamed into place. The
         * pod must have been created (ENOENT). */
        BRIG_CMD_POD_FILES = 13,
        /* Creates container <ctr id> in pod <pod id> from the typed request
         * in CTR_SPEC_FD (common/ctrspec.h, read once into the helper's
         * memory, then checked): mounts an overlay of the image's layers
         * (from <root>/layers, by chain id) with the container's own upper
         * dir under <root>/containers/<ctr id>, resolves the user against
         * the container's own /etc/passwd and /etc/group, refuses uid 0 when
         * the request says run as non-root, writes config.json there
         * itself, opens the log below pod_log_root, and has the pod's
         * brig-monitor (started now if the pod has none) run the runtime's
         * create. The reply carries the container's pid. A container id in
         * use is refused (EEXIST); a pod not created, ENOENT. */
        BRIG_CMD_CTR_CREATE = 14,
        /* The runtime's start of a created container. */
        BRIG_CMD_CTR_START = 15,
        /* The runtime's kill of the container's init with SIGNAL (1..64). */
        BRIG_CMD_CTR_KILL = 16,
        /* Deletes container <ctr id>: the runtime's delete --force (which
         * kills it if it still runs), the monitor forgets it, the rootfs is
         * unmounted and its directory removed. Idempotent. */
        BRIG_CMD_CTR_DELETE = 17,
        /* What the helper knows of container <ctr id>: its pid, whether that
         * process still runs in the container's root, and its exit (wait
         * status and time) once the monitor recorded one. Safe: it only
         * looks. An unknown container is ENOENT. */
        BRIG_CMD_CTR_STATUS = 18,
        /* Runs EXEC_ARGS in running container <ctr id> with the
         * container's own process settings (the runtime's exec, started
         * by the pod's monitor, which reaps whatever the process leaves)
         * and answers when it ended: its wait status, whether the TIMEOUT
         * killed it, and its output as two sealed memfds of at most
         * 16 MiB each. Unknown container: ENOENT. */
        BRIG_CMD_CTR_EXEC_SYNC = 19,
        /* Reopens container <ctr id>'s log at the place recorded at
         * CTR_CREATE (brigd names none) and hands the new fd to the pod's
         * monitor, after kubelet renamed the old file. */
        BRIG_CMD_CTR_REOPEN_LOG = 20,
        /* Changes a running container's resources: CTR_SPEC_FD holds only
         * resource fields (ctrspec_encode_resources()), checked as at
         * CTR_CREATE; the helper writes them as JSON itself and runs the
         * runtime's update. */
        BRIG_CMD_CTR_UPDATE = 21,
        /* Container events for this connection: the first CTR_EVENTS
         * subscribes it (events before are not kept for it). Answered at
         * once when events are queued, else as soon as one happens: EVENTS
         * holds up to BRIG_HELPER_MAX_EVENTS records (layout below), and
         * EVENTS_LOST is 1 when the connection's queue overflowed since
         * the last answer (its peer must ask CTR_STATUS about everything).
         * One may wait per connection (EBUSY). Safe: it only passes on
         * what the pods' monitors reported. */
        BRIG_CMD_CTR_EVENTS = 22,
        /* Container <ctr id>'s config.json as the helper wrote it, copied
         * into a sealed memfd (SPEC_FD), for ContainerStatus' verbose info.
         * Safe: it only reads a file the helper wrote. Unknown: ENOENT. */
        BRIG_CMD_CTR_SPEC = 23,
};

/* Tags: one global list for the whole protocol, each with exactly one type
 * (given in brackets), so a tag means the same thing in every command. The
 * schema table in common/hproto.c says which command allows which tag. */
enum brig_tag {
        /* [U32] lowest protocol version brigd speaks (HELLO request) */
        BRIG_TAG_MIN_VERSION = 1,
        /* [U32] highest protocol version brigd speaks (HELLO request) */
        BRIG_TAG_MAX_VERSION = 2,
        /* [STRING] free-form name of the peer, for the helper's log only */
        BRIG_TAG_PEER_NAME = 3,
        /* [U32] the version the helper chose (HELLO reply) */
        BRIG_TAG_VERSION = 4,
        /* [STRING] the helper's build version, for brigd's log only */
        BRIG_TAG_HELPER_VERSION = 5,
        /* [BYTES] opaque data echoed by PING */
        BRIG_TAG_PING_DATA = 6,
        /* [STRING] a layer's chain id, "sha256:" + 64 lowercase hex */
        BRIG_TAG_CHAIN_ID = 7,
        /* [STRING] the chain id of the layer below, same form; absent for
         * an image's first layer */
        BRIG_TAG_PARENT_CHAIN_ID = 8,
        /* [STRING] the digest of the uncompressed layer tar, as the image
         * config's rootfs.diff_ids lists it, same form */
        BRIG_TAG_DIFF_ID = 9,
        /* [STRING] the layer's media type (one of the tar, tar+gzip and
         * tar+zstd types of the OCI and Docker image specs) */
        BRIG_TAG_MEDIA_TYPE = 10,
        /* [FD] the layer blob, opened read-only */
        BRIG_TAG_BLOB_FD = 11,
        /* [U64] bytes of the uncompressed tar stream */
        BRIG_TAG_LAYER_BYTES = 12,
        /* [U64] tar entries written into the layer */
        BRIG_TAG_LAYER_ENTRIES = 13,
        /* [U64] tar entries skipped (device nodes other than whiteouts) */
        BRIG_TAG_LAYER_SKIPPED = 14,
        /* [U32] 1 when the layer was already present and nothing was unpacked */
        BRIG_TAG_LAYER_EXISTED = 15,
        /* [FD] brig-unpack to the helper only: a sealed memfd listing, NUL
         * separated, the layer's opaque directories (relative paths), which
         * the helper marks trusted.overlay.opaque=y (brig-unpack lacks
         * CAP_SYS_ADMIN, which that xattr needs) */
        BRIG_TAG_OPAQUE_DIRS_FD = 16,
        /* [STRING] a pod sandbox id: 64 lowercase hex */
        BRIG_TAG_POD_ID = 17,
        /* [U32] namespaces POD_CREATE makes new: BRIG_POD_NS_* bits; a
         * namespace without its bit is the node's */
        BRIG_TAG_NS_FLAGS = 18,
        /* [STRING] the pod's hostname (1..63 of [a-z0-9.-], starting and
         * ending alphanumeric); only with a new UTS namespace */
        BRIG_TAG_HOSTNAME = 19,
        /* [STRING] one sysctl as "name=value"; the name in dotted or
         * slashed form (net.ipv4.ip_forward or net/ipv4/ip_forward) */
        BRIG_TAG_SYSCTL = 20,
        /* [STRING] the pod's Kubernetes namespace, name and UID for
         * CNI_ARGS: 1..253 of [A-Za-z0-9._-] */
        BRIG_TAG_K8S_NAMESPACE = 21,
        BRIG_TAG_K8S_NAME = 22,
        BRIG_TAG_K8S_UID = 23,
        /* [BYTES] host port mappings: n records of 24 bytes, the layout of
         * privhelper/cni/channel.h (protocol, host port, container port,
         * host IP) */
        BRIG_TAG_PORT_MAPPINGS = 24,
        /* [U64] bandwidth limits in bits per second */
        BRIG_TAG_INGRESS_RATE = 25,
        BRIG_TAG_EGRESS_RATE = 26,
        /* [STRING] space-separated: DNS server IPs, search domains
         * ([A-Za-z0-9._-]), resolver options ([A-Za-z0-9._:-]) */
        BRIG_TAG_DNS_SERVERS = 27,
        BRIG_TAG_DNS_SEARCHES = 28,
        BRIG_TAG_DNS_OPTIONS = 29,
        /* [STRING] one of the pod's addresses with its prefix length,
         * "10.88.0.5/16" or "fd00::5/64" */
        BRIG_TAG_POD_IP = 30,
        /* [STRING] the CNI configuration file used (a name in cni_conf_dir) */
        BRIG_TAG_CNI_CONF_NAME = 31,
        /* [STRING] why no CNI configuration can be used */
        BRIG_TAG_CNI_PROBLEM = 32,
        /* [STRING] a container id: 64 lowercase hex */
        BRIG_TAG_CTR_ID = 33,
        /* [FD] a memfd (or any regular file) holding the container request
         * as common/ctrspec.h encodes it, at most CTRSPEC_MAX_SIZE bytes */
        BRIG_TAG_CTR_SPEC_FD = 34,
        /* [STRING] the pod's runtime handler; absent or "" is the default */
        BRIG_TAG_RUNTIME_HANDLER = 35,
        /* [U32] a process id, as the node's PID namespace sees it */
        BRIG_TAG_PID = 36,
        /* [U32] a signal number, 1..64 */
        BRIG_TAG_SIGNAL = 37,
        /* [U32] a wait status as waitpid(2) gives it */
        BRIG_TAG_WAIT_STATUS = 38,
        /* [U64] when the container exited, ns since the epoch */
        BRIG_TAG_EXIT_TIME = 39,
        /* [U32] 1 while the container's init runs (CTR_STATUS) */
        BRIG_TAG_RUNNING = 40,
        /* [BYTES] an exec's arguments, in order, each ending in NUL (so no
         * argument holds a NUL), at most BRIG_HELPER_MAX_EXEC_ARGS */
        BRIG_TAG_EXEC_ARGS = 41,
        /* [U32] seconds an exec may run before it is killed; 0 is no limit */
        BRIG_TAG_TIMEOUT = 42,
        /* [U32] 1 when the exec was killed at its timeout */
        BRIG_TAG_TIMED_OUT = 43,
        /* [FD] an exec's output, a sealed memfd read from offset 0 */
        BRIG_TAG_STDOUT_FD = 44,
        BRIG_TAG_STDERR_FD = 45,
        /* [STRING] the pod's cgroup parent as brigd resolved it: an
         * absolute, normalised cgroupfs path; the pod's monitor goes into
         * <parent>/brig-monitor-<pod id> */
        BRIG_TAG_CGROUP_PARENT = 46,
        /* [BYTES] container events: n records of BRIG_HELPER_EVENT_SIZE
         * bytes (CTR_EVENTS reply) */
        BRIG_TAG_EVENTS = 47,
        /* [U32] 1 when events were dropped before these (CTR_EVENTS) */
        BRIG_TAG_EVENTS_LOST = 48,
        /* [U32] 1 when the kernel's OOM killer killed a process of the
         * container's memory cgroup (CTR_STATUS, once it exited) */
        BRIG_TAG_OOM_KILLED = 49,
        /* [U32] the uid and primary gid the container's process runs as,
         * as the helper resolved them (CTR_CREATE reply) */
        BRIG_TAG_UID = 50,
        BRIG_TAG_GID = 51,
        /* [BYTES] its supplementary groups: n u32 gids, little-endian, at
         * most BRIG_HELPER_MAX_GROUPS (CTR_CREATE reply) */
        BRIG_TAG_GROUPS = 52,
        /* [U32] 1 when the pod monitor holding the container is the one
         * the helper is connected to, so its exit will be reported
         * (CTR_STATUS) */
        BRIG_TAG_MONITOR = 53,
        /* [FD] a sealed memfd holding a container's config.json */
        BRIG_TAG_SPEC_FD = 54,
        /* [STRING] why a request was refused or failed; allowed in every
         * reply. Kept at the top of the range, apart from command fields. */
        BRIG_TAG_ERROR_MESSAGE = 0x7fff,
};

/* Size limits of string and bytes fields; string limits include the NUL. */
#define BRIG_HELPER_MAX_NAME          64
#define BRIG_HELPER_MAX_PING_DATA     1024
#define BRIG_HELPER_MAX_ERROR_MESSAGE 512
/* "sha256:" + 64 hex + NUL */
#define BRIG_HELPER_MAX_DIGEST     72
#define BRIG_HELPER_MAX_MEDIA_TYPE 128
/* 64 hex + NUL */
#define BRIG_HELPER_MAX_POD_ID 65
/* HOST_NAME_MAX (64) + NUL; kubelet sends at most 63 */
#define BRIG_HELPER_MAX_HOSTNAME 65
/* "name=value": a name of up to 127 bytes, "=", a value of up to 127 */
#define BRIG_HELPER_MAX_SYSCTL 256
/* Sysctls one POD_CREATE may carry */
#define BRIG_HELPER_MAX_SYSCTLS 32

/* Kubernetes object names and UIDs (DNS subdomain length) + NUL */
#define BRIG_HELPER_MAX_K8S_NAME 254
/* Port mapping records one NET_ADD may carry, 24 bytes each */
#define BRIG_HELPER_MAX_PORT_MAPPINGS 256
#define BRIG_HELPER_PORT_MAPPING_SIZE 24
/* The DNS lists: resolv.conf(5) caps searches at 2048 bytes */
#define BRIG_HELPER_MAX_DNS_LIST 2049
/* A CIDR: an IPv6 address (45) + "/128" + NUL */
#define BRIG_HELPER_MAX_POD_IP  50
#define BRIG_HELPER_MAX_POD_IPS 8
/* A file name (NAME_MAX 255) + NUL */
#define BRIG_HELPER_MAX_FILE_NAME 256

/* Output CTR_EXEC_SYNC keeps of each stream; the rest is dropped */
#define BRIG_HELPER_EXEC_OUTPUT_MAX (16 * 1024 * 1024)

/* Arguments of one CTR_EXEC_SYNC (the monitor's limit), and their bytes */
#define BRIG_HELPER_MAX_EXEC_ARGS       48
#define BRIG_HELPER_MAX_EXEC_ARGS_BYTES 61440

/* A cgroup parent path + NUL */
#define BRIG_HELPER_MAX_CGROUP_PARENT 1024

/* Events one CTR_EVENTS answer carries, and the size of one record:
 *
 *   offset  size  field
 *        0     4  kind         BRIG_EVENT_*
 *        4     4  flags        BRIG_EVENT_F_*
 *        8     4  pid          the container's init (EXITED)
 *       12     4  wait_status  as waitpid(2) gives it (EXITED)
 *       16     8  time         ns since the epoch: the exit (EXITED), when
 *                              the helper saw the monitor go (MONITOR_GONE)
 *       24    64  pod id       64 lowercase hex
 *       88    64  ctr id       64 lowercase hex (EXITED), zeros otherwise
 */
#define BRIG_HELPER_MAX_EVENTS 256
#define BRIG_HELPER_EVENT_SIZE 152
/* A container's init exited; the monitor recorded it durably first */
#define BRIG_EVENT_EXITED 1
/* A pod's monitor went away without being asked to: its containers'
 * exits may never be reported (ask CTR_STATUS) */
#define BRIG_EVENT_MONITOR_GONE 2
/* EXITED: the OOM killer killed a process of the container */
#define BRIG_EVENT_F_OOM_KILLED 0x1u

/* Largest config.json CTR_SPEC copies */
#define BRIG_HELPER_MAX_SPEC (8 * 1024 * 1024)

/* Supplementary groups a CTR_CREATE reply lists */
#define BRIG_HELPER_MAX_GROUPS 256

/* Highest signal CTR_KILL accepts (SIGRTMAX on Linux) */
#define BRIG_HELPER_MAX_SIGNAL 64

/* NS_FLAGS bits */
#define BRIG_POD_NS_NET 0x1u
#define BRIG_POD_NS_IPC 0x2u
#define BRIG_POD_NS_UTS 0x4u
#define BRIG_POD_NS_ALL (BRIG_POD_NS_NET | BRIG_POD_NS_IPC | BRIG_POD_NS_UTS)
/* One PID namespace for all the pod's containers (NamespaceMode POD): its
 * init is the pause process of the pod's monitor; not in ALL, since
 * Kubernetes gives each container its own by default */
#define BRIG_POD_NS_PID   0x8u
#define BRIG_POD_NS_KNOWN (BRIG_POD_NS_ALL | BRIG_POD_NS_PID)
