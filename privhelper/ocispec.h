/* ocispec.h: writes a container's OCI runtime config.json (runtime-spec
 * 1.0.2, as runc 1.1 speaks it) from a request brig-helper has already
 * checked and resolved: the decoded struct ctr_spec plus what the helper
 * computed itself (user, namespaces, cgroups path, mount sources,
 * capabilities, device numbers). Pure: no file system access, so the unit
 * tests parse its output without privileges.
 *
 * What it adds on its own are the defaults containerd and CRI-O give a
 * Kubernetes container: the standard /proc, /dev, /dev/pts, /dev/mqueue,
 * /sys, /sys/fs/cgroup and /dev/shm mounts, new mount and cgroup
 * namespaces, a device cgroup that denies all but the standard character
 * devices and the container's own, the masked and read-only /proc and /sys
 * paths (none for a privileged container, whose /sys and cgroup mounts are
 * also writable and whose device cgroup allows everything), and
 * RLIMIT_NOFILE 1048576 unless the caller gives rlimits.
 *
 * Every value is checked again where it is written (a range, a format, an
 * option runc knows). A resource sent as 0 is CRI's "unset" and is left
 * out, except oom_score_adj. A failure is -EINVAL (-ERANGE for a number out of
 * range, -EILSEQ for a string that is not UTF-8, which JSON cannot carry
 * faithfully) with err naming the field. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrspec.h"

/* RLIMIT_NOFILE written when the caller gives no rlimits: CRI-O's and
 * containerd's effective default, and the kernel's default fs.nr_open. */
#define OCISPEC_DEFAULT_NOFILE 1048576u

/* The user the process runs as, resolved from the container's own
 * /etc/passwd and /etc/group (privhelper/userdb.h). */
struct oci_process_user {
        uint32_t uid, gid;
        const uint32_t *additional_gids;
        size_t n_additional_gids;
};

enum oci_ns_mode {
        OCI_NS_NODE = 0, /* the node's: the namespace is left out of the config */
        OCI_NS_NEW,      /* a new one, made by the runtime */
        OCI_NS_JOIN,     /* the one pinned at path (a pod's /run/brig/ns/... pin) */
};

struct oci_namespace {
        enum oci_ns_mode mode;
        const char *path; /* absolute, with OCI_NS_JOIN only */
};

/* A mount the helper resolved (a CRI bind mount, a pod file, a volume):
 * written in order after the standard ones. Options must be ones runc 1.1
 * knows (see ocispec.c: runc passes an unknown option to mount(2) as data,
 * which a bind mount ignores, so a typo would silently drop a restriction);
 * "rro" is among them: runc 1.1 applies it with mount_setattr(2) (Linux 5.12
 * or later; runc fails the container on older kernels). */
struct oci_mount {
        const char *destination; /* absolute, in the container */
        const char *type;        /* "bind", "tmpfs", ... */
        const char *source;      /* absolute host path for a bind mount */
        const char *const *options;
        size_t n_options;
};

/* A device node to create in the container, with its numbers read by the
 * helper from the host node; access ("rwm" subset) goes into the device
 * cgroup. */
struct oci_device {
        const char *path; /* absolute, in the container */
        char type;        /* 'c' or 'b' */
        int64_t major, minor;
        uint32_t file_mode; /* permission bits only */
        uint32_t uid, gid;
        const char *access; /* non-empty subset of "rwm"; NULL: "rwm" */
};

struct oci_rlimit {
        const char *type; /* "RLIMIT_NOFILE", ... */
        uint64_t soft, hard;
};

struct oci_config_input {
        /* args, env, cwd, flags (CTR_F_TTY, CTR_F_READONLY_ROOTFS,
         * CTR_F_ALLOW_PRIV_ESC, CTR_F_PRIVILEGED) and the resources:
         * cpu_period/quota/shares, memory_limit/swap, pids_limit,
         * oom_score_adj, cpuset_cpus/mems, hugepages, unified. The spec's
         * mounts, devices, user and caps fields are not read: the resolved
         * forms below replace them. */
        const struct ctr_spec *spec;
        struct oci_process_user user;
        const char *rootfs;   /* root.path, relative to the bundle: "rootfs" */
        const char *hostname; /* written only with uts.mode OCI_NS_NEW; may be NULL */
        struct oci_namespace pid, net, ipc, uts;
        const char *cgroups_path; /* linux.cgroupsPath, as the helper computed it */
        /* /dev/shm: a bind of this host path (the pod's shm), or a private
         * 64 MiB tmpfs when NULL */
        const char *shm_source;
        const struct oci_mount *mounts;
        size_t n_mounts;
        const struct oci_device *devices;
        size_t n_devices;
        /* granted as bounding, effective and permitted; inheritable and
         * ambient stay empty. Names are "CAP_" and uppercase letters, digits
         * and '_'. */
        const char *const *caps;
        size_t n_caps;
        /* n_rlimits 0: RLIMIT_NOFILE soft and hard OCISPEC_DEFAULT_NOFILE */
        const struct oci_rlimit *rlimits;
        size_t n_rlimits;
};

/* Writes the config for in into a malloc'd, NUL-terminated buffer: returns
 * 0 with *ret_json (free() it) and *ret_len (without the NUL), or a negative
 * errno with err naming the field; nothing is returned then. */
int ocispec_write(const struct oci_config_input *in, char **ret_json, size_t *ret_len, char *err,
                  size_t err_size);

/* The resources of spec alone, as the LinuxResources object `runc update
 * --resources` reads (no device rules: an update keeps the container's),
 * with the same checks as ocispec_write(). */
int ocispec_write_resources(const struct ctr_spec *spec, char **ret_json, size_t *ret_len,
                            char *err, size_t err_size);
