/* ctrspec.h: the container request, as the typed fields brigd sends and
 * brig-helper checks before it writes a container's OCI config.json.
 *
 * brigd builds a struct ctr_spec from the CRI ContainerConfig and the image
 * config (merging what Kubernetes merges: args, env, working dir, user);
 * ctrspec_encode() (daemon/ctrspec_encode.h) turns it into a TLV stream (common/tlv.h elements,
 * tags CTR_TAG_* below) that travels in a memfd with CTR_CREATE, since a container's env and args
 * may outgrow one protocol message. The helper reads at most CTRSPEC_MAX_SIZE bytes of it and
 * ctrspec_decode() is the one way back to a struct: every element is checked for its tag, type,
 * length and count, every string for the NUL rules, and nested records (mounts, devices, hugepages,
 * unified) are decoded with the same rules. The decoder does not judge meaning (whether a path is
 * allowed, whether a uid is 0): that is the helper's policy check, on the decoded struct.
 *
 * Strings in a decoded spec point into one allocation owned by the spec;
 * ctrspec_free() releases everything.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest encoded spec the helper reads. */
#define CTRSPEC_MAX_SIZE (4u * 1024 * 1024)
/* Item counts and lengths (string lengths without the NUL). */
#define CTRSPEC_MAX_ARGS      4096
#define CTRSPEC_MAX_ENV       16384
#define CTRSPEC_MAX_ARG_LEN   131072 /* the kernel's MAX_ARG_STRLEN */
#define CTRSPEC_MAX_PATH      4095
#define CTRSPEC_MAX_NAME      255
#define CTRSPEC_MAX_LAYERS    128
#define CTRSPEC_MAX_MOUNTS    512
#define CTRSPEC_MAX_VOLUMES   128
#define CTRSPEC_MAX_DEVICES   256
#define CTRSPEC_MAX_GROUPS    256
#define CTRSPEC_MAX_HUGEPAGES 16
#define CTRSPEC_MAX_UNIFIED   64
#define CTRSPEC_MAX_CAPS      64

/* Tags of the spec stream. Their own numbering: the stream is not a
 * protocol message and never mixes with BRIG_TAG_*. */
enum ctr_tag {
        CTR_TAG_ARG = 1,                /* STRING, 1..MAX_ARGS: argv in order */
        CTR_TAG_ENV = 2,                /* STRING, 0..MAX_ENV: "NAME=value", merged */
        CTR_TAG_CWD = 3,                /* STRING, 0..1: absolute; "/" when absent */
        CTR_TAG_FLAGS = 4,              /* U32, 0..1: CTR_F_* */
        CTR_TAG_RUN_AS_USER = 5,        /* U64, 0..1: CRI run_as_user */
        CTR_TAG_RUN_AS_USERNAME = 6,    /* STRING, 0..1: CRI run_as_username */
        CTR_TAG_RUN_AS_GROUP = 7,       /* U64, 0..1: CRI run_as_group */
        CTR_TAG_IMAGE_USER = 8,         /* STRING, 0..1: the image config's User */
        CTR_TAG_SUPPLEMENTAL_GROUP = 9, /* U64, 0..MAX_GROUPS */
        CTR_TAG_PID_MODE = 10,          /* U32, 0..1: enum ctr_pid_mode */
        CTR_TAG_PID_TARGET = 11,        /* STRING, 0..1: container id, with TARGET */
        CTR_TAG_LAYER = 12,             /* STRING, 1..MAX_LAYERS: chain ids, lowest first */
        CTR_TAG_MOUNT = 13,             /* BYTES, 0..MAX_MOUNTS: nested CTR_TAG_M_* */
        CTR_TAG_VOLUME = 14,            /* STRING, 0..MAX_VOLUMES: image VOLUME paths */
        CTR_TAG_DEVICE = 15,            /* BYTES, 0..MAX_DEVICES: nested CTR_TAG_D_* */
        CTR_TAG_LOG_DIRECTORY = 16,     /* STRING, 0..1: the pod's log_directory */
        CTR_TAG_LOG_PATH = 17,          /* STRING, 0..1: relative to it */
        CTR_TAG_CGROUP_PARENT = 18,     /* STRING, 0..1: the pod's cgroup parent */
        CTR_TAG_CPU_PERIOD = 19,        /* U64, 0..1 */
        CTR_TAG_CPU_QUOTA = 20,         /* U64, 0..1: an int64 as its two's complement */
        CTR_TAG_CPU_SHARES = 21,        /* U64, 0..1 */
        CTR_TAG_MEMORY_LIMIT = 22,      /* U64, 0..1: bytes, an int64 */
        CTR_TAG_MEMORY_SWAP = 23,       /* U64, 0..1: bytes, an int64 (-1 unlimited) */
        CTR_TAG_OOM_SCORE_ADJ = 24,     /* U64, 0..1: an int64 */
        CTR_TAG_CPUSET_CPUS = 25,       /* STRING, 0..1 */
        CTR_TAG_CPUSET_MEMS = 26,       /* STRING, 0..1 */
        CTR_TAG_PIDS_LIMIT = 27,        /* U64, 0..1: an int64 */
        CTR_TAG_HUGEPAGE = 28,          /* BYTES, 0..MAX_HUGEPAGES: nested CTR_TAG_H_* */
        CTR_TAG_UNIFIED = 29,           /* BYTES, 0..MAX_UNIFIED: nested CTR_TAG_U_* */
        CTR_TAG_CAP_ADD = 30,           /* STRING, 0..MAX_CAPS: "CAP_NET_ADMIN" or "ALL" */
        CTR_TAG_CAP_DROP = 31,          /* STRING, 0..MAX_CAPS */
        CTR_TAG_HOSTNAME = 32,          /* STRING, 0..1: the pod's hostname, for HOSTNAME env */

        /* inside CTR_TAG_MOUNT */
        CTR_TAG_M_DESTINATION = 64, /* STRING, 1: absolute path in the container */
        CTR_TAG_M_SOURCE = 65,      /* STRING, 0..1: absolute host path (CRI host_path) */
        CTR_TAG_M_FLAGS = 66,       /* U32, 0..1: CTR_M_* */
        CTR_TAG_M_KIND = 67,        /* U32, 0..1: enum ctr_mount_kind, BIND when absent */
        /* inside CTR_TAG_DEVICE */
        CTR_TAG_D_CONTAINER_PATH = 80, /* STRING, 1 */
        CTR_TAG_D_HOST_PATH = 81,      /* STRING, 1 */
        CTR_TAG_D_PERMISSIONS = 82,    /* STRING, 0..1: of "rwm" */
        /* inside CTR_TAG_HUGEPAGE */
        CTR_TAG_H_PAGE_SIZE = 96, /* STRING, 1: "2MB", "1GB" */
        CTR_TAG_H_LIMIT = 97,     /* U64, 1: bytes */
        /* inside CTR_TAG_UNIFIED */
        CTR_TAG_U_KEY = 112,   /* STRING, 1: a cgroup v2 file name */
        CTR_TAG_U_VALUE = 113, /* STRING, 1 */
};

/* CTR_TAG_FLAGS bits. */
#define CTR_F_TTY             0x01u
#define CTR_F_STDIN           0x02u
#define CTR_F_STDIN_ONCE      0x04u
#define CTR_F_READONLY_ROOTFS 0x08u
#define CTR_F_RUN_AS_NON_ROOT 0x10u
/* allow_privilege_escalation: no_new_privs is set unless this is */
#define CTR_F_ALLOW_PRIV_ESC 0x20u
#define CTR_F_PRIVILEGED     0x40u
#define CTR_F_ALL            0x7fu

enum ctr_pid_mode {
        CTR_PID_CONTAINER = 0, /* a new PID namespace of its own */
        CTR_PID_POD = 1,       /* the pod's shared one */
        CTR_PID_NODE = 2,      /* the node's */
        CTR_PID_TARGET = 3,    /* that of container pid_target */
};

/* What a mount is. BIND mounts carry a host source; the others are files
 * the helper keeps for the pod or the container and name by kind, so brigd
 * never names a path of the helper's. */
enum ctr_mount_kind {
        CTR_MOUNT_BIND = 0,         /* source: a host path from the CRI mount */
        CTR_MOUNT_POD_HOSTS = 1,    /* the pod's hosts file */
        CTR_MOUNT_POD_RESOLV = 2,   /* the pod's resolv.conf */
        CTR_MOUNT_POD_HOSTNAME = 3, /* the pod's hostname file */
        CTR_MOUNT_POD_SHM = 4,      /* the pod's /dev/shm */
};

/* CTR_TAG_M_FLAGS bits. Propagation is one of the three. */
#define CTR_M_READONLY            0x01u
#define CTR_M_RECURSIVE_READONLY  0x02u
#define CTR_M_PROPAGATION_RSLAVE  0x04u
#define CTR_M_PROPAGATION_RSHARED 0x08u
#define CTR_M_SELINUX_RELABEL     0x10u
#define CTR_M_ALL                 0x1fu

struct ctr_mount {
        const char *destination;
        const char *source; /* NULL unless kind is BIND */
        uint32_t kind;      /* enum ctr_mount_kind */
        uint32_t flags;     /* CTR_M_* */
};

struct ctr_device {
        const char *container_path;
        const char *host_path;
        const char *permissions; /* NULL: "rwm" */
};

struct ctr_hugepage {
        const char *page_size;
        uint64_t limit;
};

struct ctr_unified {
        const char *key;
        const char *value;
};

/* An optional integer: has says whether the field was sent. */
struct ctr_opt_u64 {
        bool has;
        uint64_t v;
};
struct ctr_opt_i64 {
        bool has;
        int64_t v;
};

struct ctr_spec {
        const char **args;
        size_t n_args;
        const char **env;
        size_t n_env;
        const char *cwd; /* NULL: "/" */
        uint32_t flags;  /* CTR_F_* */

        struct ctr_opt_u64 run_as_user;
        const char *run_as_username;
        struct ctr_opt_u64 run_as_group;
        const char *image_user;
        uint64_t *supplemental_groups;
        size_t n_supplemental_groups;

        uint32_t pid_mode; /* enum ctr_pid_mode */
        const char *pid_target;

        const char **layers; /* chain ids, lowest first */
        size_t n_layers;
        struct ctr_mount *mounts;
        size_t n_mounts;
        const char **volumes;
        size_t n_volumes;
        struct ctr_device *devices;
        size_t n_devices;

        const char *log_directory;
        const char *log_path;
        const char *cgroup_parent;
        const char *hostname;

        struct ctr_opt_i64 cpu_period, cpu_quota, cpu_shares;
        struct ctr_opt_i64 memory_limit, memory_swap, oom_score_adj, pids_limit;
        const char *cpuset_cpus;
        const char *cpuset_mems;
        struct ctr_hugepage *hugepages;
        size_t n_hugepages;
        struct ctr_unified *unified;
        size_t n_unified;

        const char **cap_add;
        size_t n_cap_add;
        const char **cap_drop;
        size_t n_cap_drop;

        /* owned storage of a decoded spec; NULL in one brigd filled in */
        void *storage;
};

/* Decodes len bytes at buf into *ret (zeroed first). Returns 0, or -EINVAL /
 * -EMSGSIZE / -EBADMSG with err naming the element and the rule it broke
 * (never peer bytes). On success free with ctrspec_free(); on failure *ret
 * holds nothing to free. */
int ctrspec_decode(const void *buf, size_t len, struct ctr_spec *ret, char *err, size_t err_size);

/* ctrspec_decode() of an update of a running container's resources
 * (CTR_UPDATE): only the resource fields (CPU period, quota and shares,
 * memory limit and swap, cpusets, pids limit, hugepages, unified) are
 * accepted, any other tag is refused; nothing is required. */
int ctrspec_decode_resources(const void *buf, size_t len, struct ctr_spec *ret, char *err,
                             size_t err_size);

/* Releases what ctrspec_decode() allocated; the struct is zeroed. */
void ctrspec_free(struct ctr_spec *spec);
