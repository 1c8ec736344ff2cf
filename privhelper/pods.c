/* pods.c: owns <run_root>/ns on the root side: the POD_CREATE command (its
 * checks, the pod's directory and pin files, the child that creates the
 * namespaces, sets hostname and sysctls, brings up loopback, bind-mounts
 * the namespaces onto the pins and mounts the pod's /dev/shm) and
 * POD_REMOVE (unpinning and removal). */
#include "pods.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include "dirs.h"
#include "fsutil.h"
#include "hproto.h"
#include "jobs.h"
#include "log.h"
#include "monitors.h"
#include "netlink.h"
#include "network.h"
#include "ctrcheck.h"
#include "podcheck.h"
#include "tlv.h"
#include "util.h"

#define NS_DIR "ns"
/* What POD_FILES writes next to the pins, for containers to bind. */
static const char *const pod_files[] = {"resolv.conf", "hostname", "hosts"};
#define POD_FILE_MAX 16384
/* A pin mounted more than once (a create retried by hand) is unmounted
 * this many times at most. */
#define UNPIN_MAX 4
/* The pod's /dev/shm, shared by its containers when it has an IPC
 * namespace of its own: a tmpfs of the size kubelet's runtimes give it. */
#define SHM_DIR  "shm"
#define SHM_SIZE "64m"

static const struct {
        const char *name;
        unsigned flag;
        int clone_flag;
} pod_ns[] = {
    {"net", BRIG_POD_NS_NET, CLONE_NEWNET},
    {"ipc", BRIG_POD_NS_IPC, CLONE_NEWIPC},
    {"uts", BRIG_POD_NS_UTS, CLONE_NEWUTS},
    /* made by the monitor's pause process, not by the pod's child */
    {"pid", BRIG_POD_NS_PID, 0},
};

/* One POD_CREATE while its child runs. It lives in a shared mapping so
 * that the child can leave its error for the reply. */
struct pod_job {
        struct pod_job *next;
        struct helper_conn *conn;
        uint64_t serial;
        uint32_t request_id;
        char id[BRIG_HELPER_MAX_POD_ID];
        unsigned flags;
        int pod_fd;
        char hostname[BRIG_HELPER_MAX_HOSTNAME];
        char cgroup_parent[BRIG_HELPER_MAX_CGROUP_PARENT];
        bool monitor_started;
        size_t n_sysctls;
        struct pod_sysctl sysctls[BRIG_HELPER_MAX_SYSCTLS];
        /* written by the child */
        int error;
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE];
};

static int ns_fd = -1;
static char ns_path[PATH_MAX];
static struct pod_job *creating;

int pods_init(const char *run_root)
{
        _cleanup_close_ int run_fd =
            open(run_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (run_fd < 0)
                return log_error_errno(negative_errno(), "cannot open the run_root directory",
                                       "dir=%s", run_root);
        /* run_root may be brigd's socket directory: were ns writable by
         * anyone but root, brigd could swap a pin that containers join. */
        ns_fd = dirs_open_private(run_fd, run_root, NS_DIR);
        snprintf(ns_path, sizeof(ns_path), "%s/%s", run_root, NS_DIR);
        return ns_fd < 0 ? ns_fd : 0;
}

void pods_free(void)
{
        ns_fd = safe_close(ns_fd);
}

int pods_id_of(const struct brig_msg *msg, const char **ret, char *reason, size_t reason_size)
{
        const char *id = NULL;

        tlv_get_string(&msg->fields, BRIG_TAG_POD_ID, &id);
        if (!podcheck_pod_id(id)) {
                snprintf(reason, reason_size, "%s: pod id is not 64 lowercase hex",
                         msg->spec->name);
                return -EINVAL;
        }
        *ret = id;
        return 0;
}

int pods_dns_of(const struct brig_msg *msg, const char *ret[3], char *reason, size_t reason_size)
{
        static const uint16_t tags[] = {BRIG_TAG_DNS_SERVERS, BRIG_TAG_DNS_SEARCHES,
                                        BRIG_TAG_DNS_OPTIONS};
        static const enum podcheck_dns_list kinds[] = {PODCHECK_DNS_SERVERS, PODCHECK_DNS_SEARCHES,
                                                       PODCHECK_DNS_OPTIONS};

        for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
                int r;

                ret[i] = NULL;
                if (tlv_get_string(&msg->fields, tags[i], &ret[i]) < 0)
                        continue;
                r = podcheck_dns_list(kinds[i], ret[i], reason, reason_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_creating(const char *id)
{
        for (struct pod_job *j = creating; j; j = j->next)
                if (strcmp(j->id, id) == 0)
                        return true;
        return false;
}

/* Unmounts name in pod_fd (every mount stacked on it) and deletes it: a
 * pin file, or with dir the shm directory. Absent is no error. */
static int unmount_and_delete(int pod_fd, const char *name, bool dir)
{
        for (int i = 0; i < UNPIN_MAX; i++) {
                _cleanup_close_ int fd =
                    openat_beneath(pod_fd, name, O_PATH | O_NOFOLLOW | (dir ? O_DIRECTORY : 0), 0);
                char path[64];

                if (fd == -ENOENT)
                        return 0;
                if (fd < 0)
                        return fd;
                /* umount2() takes a path: the fd's own, so nothing is
                 * resolved again by name. */
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                if (umount2(path, MNT_DETACH) < 0) {
                        if (errno == EINVAL)
                                break; /* not (or no longer) a mount point */
                        return negative_errno();
                }
        }
        if (unlinkat(pod_fd, name, dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

/* Unpins and deletes what exists of pod id. */
static int remove_pod(const char *id, char *reason, size_t reason_size)
{
        _cleanup_close_ int pod_fd =
            openat_beneath(ns_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);

        if (pod_fd == -ENOENT)
                return 0;
        if (pod_fd < 0) {
                snprintf(reason, reason_size, "pod %s: cannot open its pin directory: %s", id,
                         strerror(-pod_fd));
                return pod_fd;
        }
        for (size_t i = 0; i < ARRAY_SIZE(pod_ns); i++) {
                int r = unmount_and_delete(pod_fd, pod_ns[i].name, false);

                if (r < 0) {
                        snprintf(reason, reason_size, "pod %s: cannot unpin its %s namespace: %s",
                                 id, pod_ns[i].name, strerror(-r));
                        return r;
                }
        }
        int r = unmount_and_delete(pod_fd, SHM_DIR, true);
        if (r < 0) {
                snprintf(reason, reason_size, "pod %s: cannot unmount its /dev/shm: %s", id,
                         strerror(-r));
                return r;
        }
        for (size_t i = 0; i < ARRAY_SIZE(pod_files); i++) {
                char tmp[32];

                snprintf(tmp, sizeof(tmp), "%s.tmp", pod_files[i]);
                if ((unlinkat(pod_fd, pod_files[i], 0) < 0 && errno != ENOENT) ||
                    (unlinkat(pod_fd, tmp, 0) < 0 && errno != ENOENT)) {
                        int r = negative_errno();

                        snprintf(reason, reason_size, "pod %s: cannot delete its %s: %s", id,
                                 pod_files[i], strerror(-r));
                        return r;
                }
        }
        if (unlinkat(ns_fd, id, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                int r = negative_errno();

                snprintf(reason, reason_size, "pod %s: cannot remove its pin directory: %s", id,
                         strerror(-r));
                return r;
        }
        return 0;
}

/* ---- the child ---------------------------------------------------------- */

static int child_fail(struct pod_job *j, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void pods_format_error(char *buf, size_t size, const char *id, const char *fmt, va_list ap)
{
        int n = snprintf(buf, size, "pod %s: ", id);

        if (n > 0 && (size_t)n < size)
                vsnprintf(buf + n, size - (size_t)n, fmt, ap);
}

static int child_fail(struct pod_job *j, int error, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        pods_format_error(j->err, sizeof(j->err), j->id, fmt, ap);
        va_end(ap);
        j->error = error;
        return error;
}

static int write_sysctls(struct pod_job *j)
{
        _cleanup_close_ int proc_sys = -1;

        if (j->n_sysctls == 0)
                return 0;
        /* Opened after unshare: /proc/sys/net and the IPC entries show the
         * namespaces of the process that opens them. */
        proc_sys = open("/proc/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (proc_sys < 0)
                return child_fail(j, negative_errno(), "opening /proc/sys: %s", strerror(errno));
        for (size_t i = 0; i < j->n_sysctls; i++) {
                const struct pod_sysctl *s = &j->sysctls[i];
                _cleanup_close_ int fd = openat_beneath(proc_sys, s->path, O_WRONLY, 0);
                size_t len = strlen(s->value);

                if (fd < 0)
                        return child_fail(j, fd, "sysctl %s: %s", s->path,
                                          fd == -ENOENT ? "no such sysctl in the pod's namespaces"
                                                        : strerror(-fd));
                if (write(fd, s->value, len) != (ssize_t)len)
                        return child_fail(j, negative_errno(), "sysctl %s=%s: %s", s->path,
                                          s->value, strerror(errno));
        }
        return 0;
}

/* Runs in the job's child: the helper's privileges, its mount namespace
 * (so the pins are seen by all), new namespaces of its own. */
/* Mounts a new tmpfs on the pod's shm directory, made here; the mount
 * API's fds reach it from pod_fd alone. */
static int mount_shm(struct pod_job *j)
{
        _cleanup_close_ int fs = -1, mnt = -1;

        if (mkdirat(j->pod_fd, SHM_DIR, 0755) < 0 && errno != EEXIST)
                return child_fail(j, negative_errno(), "mkdir shm: %s", strerror(errno));
        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", SHM_SIZE, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "mode", "1777", 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return child_fail(j, negative_errno(), "making the pod's /dev/shm tmpfs: %s",
                                  strerror(errno));
        mnt =
            fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mnt < 0 || move_mount(mnt, "", j->pod_fd, SHM_DIR, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return child_fail(j, negative_errno(), "mounting the pod's /dev/shm: %s",
                                  strerror(errno));
        return 0;
}

static int pod_child(void *arg)
{
        struct pod_job *j = arg;
        char err[256];
        int clone_flags = 0, r;

        for (size_t i = 0; i < ARRAY_SIZE(pod_ns); i++)
                if (j->flags & pod_ns[i].flag)
                        clone_flags |= pod_ns[i].clone_flag;
        if (clone_flags && unshare(clone_flags) < 0)
                return child_fail(j, negative_errno(), "unshare: %s", strerror(errno));
        if (j->hostname[0] && sethostname(j->hostname, strlen(j->hostname)) < 0)
                return child_fail(j, negative_errno(), "sethostname: %s", strerror(errno));
        r = write_sysctls(j);
        if (r < 0)
                return r;
        if (j->flags & BRIG_POD_NS_NET) {
                r = netlink_link_up(NETLINK_LOOPBACK_INDEX, err, sizeof(err));
                if (r < 0)
                        return child_fail(j, r, "loopback: %s", err);
        }
        for (size_t i = 0; i < ARRAY_SIZE(pod_ns); i++) {
                _cleanup_close_ int tree = -1;
                char src[32];

                if (!(j->flags & pod_ns[i].flag) || !pod_ns[i].clone_flag)
                        continue;
                snprintf(src, sizeof(src), "/proc/self/ns/%s", pod_ns[i].name);
                tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | O_CLOEXEC);
                if (tree < 0)
                        return child_fail(j, negative_errno(), "open_tree of %s: %s", src,
                                          strerror(errno));
                if (syscall(SYS_move_mount, tree, "", j->pod_fd, pod_ns[i].name,
                            MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return child_fail(j, negative_errno(), "pinning the %s namespace: %s",
                                          pod_ns[i].name, strerror(errno));
        }
        return j->flags & BRIG_POD_NS_IPC ? mount_shm(j) : 0;
}

/* ---- the handlers ------------------------------------------------------- */

static void job_free(struct pod_job *j)
{
        for (struct pod_job **p = &creating; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        safe_close(j->pod_fd);
        munmap(j, sizeof(*j));
}

/* Ends a POD_CREATE: its reply, and on failure the undoing of what it made. */
static void pod_finish(struct pod_job *j, int r)
{
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE];

        if (r < 0) {
                if (!j->err[0])
                        snprintf(j->err, sizeof(j->err), "pod %s: %s", j->id, strerror(-r));
                if (j->monitor_started)
                        monitors_shutdown(j->id);
                if (remove_pod(j->id, reason, sizeof(reason)) < 0)
                        log_warn("cannot clean up after a failed POD_CREATE",
                                 "pod=%s reason=\"%s\"", j->id, reason);
        } else {
                log_info("pod namespaces created", "pod=%s net=%s ipc=%s uts=%s pid=%s sysctls=%zu",
                         j->id, j->flags & BRIG_POD_NS_NET ? "pod" : "node",
                         j->flags & BRIG_POD_NS_IPC ? "pod" : "node",
                         j->flags & BRIG_POD_NS_UTS ? "pod" : "node",
                         j->flags & BRIG_POD_NS_PID ? "pod" : "container", j->n_sysctls);
        }
        helper_conn_finish(j->conn, j->serial, BRIG_CMD_POD_CREATE, j->request_id, r,
                           r < 0 ? j->err : NULL, NULL, 0, NULL, 0);
        job_free(j);
}

/* Pins the PID namespace of the monitor's pause process: quick work on
 * one fd, so it is done in the loop. */
static int pin_pid_ns(struct pod_job *j, pid_t pause)
{
        _cleanup_close_ int tree = -1;
        char src[64];

        snprintf(src, sizeof(src), "/proc/%d/ns/pid", (int)pause);
        tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | O_CLOEXEC);
        if (tree < 0 ||
            syscall(SYS_move_mount, tree, "", j->pod_fd, "pid", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                int r = negative_errno();
                snprintf(j->err, sizeof(j->err),
                         "pod %s: pinning the pause process's PID "
                         "namespace: %s",
                         j->id, strerror(-r));
                return r;
        }
        return 0;
}

static void monitor_ready(void *data, int status, const char *error, pid_t pause)
{
        struct pod_job *j = data;
        int r = status;

        if (r < 0)
                snprintf(j->err, sizeof(j->err), "pod %s: its monitor did not start: %s", j->id,
                         error ? error : strerror(-r));
        else if ((j->flags & BRIG_POD_NS_PID) && pause <= 0) {
                snprintf(j->err, sizeof(j->err),
                         "pod %s: its monitor runs no pause process for the pod's PID namespace",
                         j->id);
                r = -EPROTO;
        } else if (j->flags & BRIG_POD_NS_PID)
                r = pin_pid_ns(j, pause);
        pod_finish(j, r);
}

static void pod_done(void *data, int status)
{
        struct pod_job *j = data;
        int r;

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (!j->err[0])
                        snprintf(j->err, sizeof(j->err),
                                 "pod %s: the child making its namespaces ended with status %d",
                                 j->id, status);
                pod_finish(j, j->error < 0 ? j->error : -EIO);
                return;
        }
        /* The pod's monitor starts with the pod, so that its containers'
         * creation does not wait for it, and so that a shared PID
         * namespace has its init before any container. */
        j->monitor_started = true;
        /* monitor_ready() may run (and end j) before this returns */
        r = monitors_start(j->id, j->cgroup_parent[0] ? j->cgroup_parent : NULL,
                           j->flags & BRIG_POD_NS_PID, monitor_ready, j);
        if (r < 0) {
                j->monitor_started = false;
                snprintf(j->err, sizeof(j->err), "pod %s: cannot start its monitor: %s", j->id,
                         strerror(-r));
                pod_finish(j, r);
        }
}

/* The request's strings, checked into j. */
static int read_request(const struct brig_msg *msg, struct pod_job *j, char *reason,
                        size_t reason_size)
{
        const char *id = NULL, *hostname = NULL;
        uint32_t flags = 0;
        int r;

        r = pods_id_of(msg, &id, reason, reason_size);
        if (r < 0)
                return r;
        /* The schema guarantees NS_FLAGS is there once. */
        tlv_get_u32(&msg->fields, BRIG_TAG_NS_FLAGS, &flags);
        snprintf(j->id, sizeof(j->id), "%s", id);
        if (flags & ~BRIG_POD_NS_KNOWN) {
                snprintf(reason, reason_size, "POD_CREATE: unknown namespace flags 0x%" PRIx32,
                         flags & ~BRIG_POD_NS_KNOWN);
                return -EINVAL;
        }
        const char *cgroup = NULL;
        if (tlv_get_string(&msg->fields, BRIG_TAG_CGROUP_PARENT, &cgroup) == 0) {
                if (cgroup[0] != '/' || !ctrcheck_cgroup_parent(cgroup)) {
                        snprintf(reason, reason_size,
                                 "POD_CREATE: pod %s: the cgroup parent is not a normalised "
                                 "absolute path of [A-Za-z0-9._@:-] components",
                                 id);
                        return -EINVAL;
                }
                snprintf(j->cgroup_parent, sizeof(j->cgroup_parent), "%s", cgroup);
        }
        j->flags = flags;
        if (tlv_get_string(&msg->fields, BRIG_TAG_HOSTNAME, &hostname) == 0) {
                if (!(flags & BRIG_POD_NS_UTS)) {
                        snprintf(reason, reason_size,
                                 "POD_CREATE: pod %s: a hostname would change the node's: the pod "
                                 "uses the node's UTS namespace",
                                 id);
                        return -EPERM;
                }
                r = podcheck_hostname(hostname, reason, reason_size);
                if (r < 0)
                        return r;
                snprintf(j->hostname, sizeof(j->hostname), "%s", hostname);
        }
        for (size_t i = 0; i < msg->fields.n; i++) {
                const struct tlv_field *f = &msg->fields.items[i];

                if (f->tag != BRIG_TAG_SYSCTL)
                        continue;
                /* the schema bounds the count and makes each a C string */
                r = podcheck_sysctl((const char *)f->value, flags, &j->sysctls[j->n_sysctls],
                                    reason, reason_size);
                if (r < 0)
                        return r;
                j->n_sysctls++;
        }
        return 0;
}

int pods_handle_create(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size)
{
        struct pod_job *j;
        int r;

        (void)fds, (void)reply;
        j = mmap(NULL, sizeof(*j), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (j == MAP_FAILED)
                return negative_errno();
        *j = (struct pod_job){
            .conn = c, .serial = c->serial, .request_id = msg->hdr.request_id, .pod_fd = -1};
        r = read_request(msg, j, reason, reason_size);
        if (r < 0)
                goto fail;
        if (is_creating(j->id) || mkdirat(ns_fd, j->id, 0700) < 0) {
                r = is_creating(j->id) ? -EEXIST : negative_errno();
                if (r == -EEXIST)
                        snprintf(reason, reason_size,
                                 "POD_CREATE: pod %s already has namespaces (POD_REMOVE it first)",
                                 j->id);
                else
                        snprintf(reason, reason_size,
                                 "POD_CREATE: pod %s: cannot create its pin directory: %s", j->id,
                                 strerror(-r));
                goto fail;
        }
        j->pod_fd = openat_beneath(ns_fd, j->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        r = j->pod_fd < 0 ? j->pod_fd : 0;
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(pod_ns); i++) {
                if (!(j->flags & pod_ns[i].flag))
                        continue;
                int fd = openat_beneath(j->pod_fd, pod_ns[i].name,
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0400);
                r = fd < 0 ? fd : 0;
                safe_close(fd);
        }
        if (r == 0)
                r = job_spawn_fn("pod-ns", pod_child, j, pod_done, j);
        if (r < 0) {
                char why[BRIG_HELPER_MAX_ERROR_MESSAGE];

                snprintf(reason, reason_size, "POD_CREATE: pod %s: cannot start: %s", j->id,
                         strerror(-r));
                if (remove_pod(j->id, why, sizeof(why)) < 0)
                        log_warn("cannot clean up after a failed POD_CREATE",
                                 "pod=%s reason=\"%s\"", j->id, why);
                goto fail;
        }
        j->next = creating;
        creating = j;
        log_info("creating pod namespaces", "conn=%s req=%" PRIu32 " pod=%s", c->label,
                 msg->hdr.request_id, j->id);
        return HANDLER_DEFERRED;
fail:
        safe_close(j->pod_fd);
        munmap(j, sizeof(*j));
        return r;
}

int pods_handle_remove(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        int r;

        (void)fds, (void)reply;
        r = pods_id_of(msg, &id, reason, reason_size);
        if (r < 0)
                return r;
        if (is_creating(id) || network_busy(id)) {
                snprintf(reason, reason_size, "POD_REMOVE: pod %s: %s; retry when it has answered",
                         id,
                         is_creating(id) ? "its namespaces are being created"
                                         : "a NET command is running for it");
                return -EBUSY;
        }
        r = remove_pod(id, reason, reason_size);
        if (r == 0) {
                network_forget(id);
                monitors_shutdown(id);
                log_info("pod namespaces removed", "conn=%s pod=%s", c->label, id);
        }
        return r;
}

/* Whether name in pod_fd is a pin holding a namespace: an empty pin file
 * is on the run_root file system, a pinned one is the namespace itself. */
static bool pinned(int pod_fd, const char *name)
{
        _cleanup_close_ int fd = openat_beneath(pod_fd, name, O_PATH | O_NOFOLLOW, 0);
        struct statfs sfs;

        return fd >= 0 && fstatfs(fd, &sfs) == 0 && sfs.f_type == NSFS_MAGIC;
}

int pods_ns_path(const char *id, const char *name, char *buf, size_t size)
{
        _cleanup_close_ int pod_fd =
            openat_beneath(ns_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);

        buf[0] = '\0';
        if (pod_fd < 0 || !pinned(pod_fd, name))
                return -ENOENT;
        snprintf(buf, size, "%s/%s/%s", ns_path, id, name);
        return 0;
}

bool pods_exists(const char *id)
{
        struct stat st;

        return fstatat(ns_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int pods_shm_path(const char *id, char *buf, size_t size)
{
        _cleanup_close_ int pod_fd =
            openat_beneath(ns_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        _cleanup_close_ int fd = -1;
        struct statfs sfs;

        buf[0] = '\0';
        if (pod_fd >= 0)
                fd = openat_beneath(pod_fd, SHM_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
        if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
                return -ENOENT;
        snprintf(buf, size, "%s/%s/%s", ns_path, id, SHM_DIR);
        return 0;
}

int pods_file_path(const char *id, const char *name, char *buf, size_t size)
{
        for (size_t i = 0; i < ARRAY_SIZE(pod_files); i++)
                if (strcmp(pod_files[i], name) == 0) {
                        snprintf(buf, size, "%s/%s/%s", ns_path, id, name);
                        return 0;
                }
        return -EINVAL;
}

int pods_handle_status(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                       struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        _cleanup_close_ int pod_fd = -1;
        uint32_t pins = 0;
        int r = pods_id_of(msg, &id, reason, reason_size);

        (void)c, (void)fds;
        if (r < 0)
                return r;
        pod_fd = openat_beneath(ns_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        for (size_t i = 0; pod_fd >= 0 && i < ARRAY_SIZE(pod_ns); i++)
                if (pinned(pod_fd, pod_ns[i].name))
                        pins |= pod_ns[i].flag;
        tlv_put_u32(reply, BRIG_TAG_NS_FLAGS, pins);
        return 0;
}

/* ---- POD_FILES ------------------------------------------------------------ */

/* Replaces name in pod_fd with the len bytes of text. */
static int write_pod_file(int pod_fd, const char *name, const char *text, size_t len)
{
        char tmp[32];
        _cleanup_close_ int fd = -1;
        int r = 0;

        snprintf(tmp, sizeof(tmp), "%s.tmp", name);
        fd = openat_beneath(pod_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return fd;
        ssize_t n = write(fd, text, len);
        if (n < 0)
                r = negative_errno();
        else if ((size_t)n != len)
                r = -EIO;
        if (r == 0 && renameat(pod_fd, tmp, pod_fd, name) < 0)
                r = negative_errno();
        if (r < 0)
                unlinkat(pod_fd, tmp, 0);
        return r;
}

/* Appends to buf (size POD_FILE_MAX) at *len; the fields are bounded so
 * that everything fits, and a cut file would be refused anyway. */
static void put(char *buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void put(char *buf, size_t *len, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf + *len, POD_FILE_MAX - *len, fmt, ap);
        va_end(ap);
        if (n > 0)
                *len = *len + (size_t)n < POD_FILE_MAX ? *len + (size_t)n : POD_FILE_MAX;
}

/* Each space-separated item of list on its own "keyword item" line, or all
 * on one "keyword a b c" line. */
static void put_list(char *buf, size_t *len, const char *keyword, const char *list, bool one_line)
{
        if (!list)
                return;
        if (one_line) {
                put(buf, len, "%s %s\n", keyword, list);
                return;
        }
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, " ");

                put(buf, len, "%s %.*s\n", keyword, (int)n, p);
                p += n + (p[n] == ' ');
        }
}

int pods_handle_files(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *dns[3], *id = NULL, *hostname = NULL;
        _cleanup_free_ char *buf = malloc(POD_FILE_MAX);
        _cleanup_close_ int pod_fd = -1;
        size_t len = 0;
        int r;

        (void)fds, (void)reply;
        if (!buf)
                return -ENOMEM;
        r = pods_id_of(msg, &id, reason, reason_size);
        if (r < 0)
                return r;
        if (tlv_get_string(&msg->fields, BRIG_TAG_HOSTNAME, &hostname) == 0) {
                r = podcheck_hostname(hostname, reason, reason_size);
                if (r < 0)
                        return r;
        }
        r = pods_dns_of(msg, dns, reason, reason_size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < msg->fields.n; i++)
                if (msg->fields.items[i].tag == BRIG_TAG_POD_IP &&
                    !podcheck_pod_ip((const char *)msg->fields.items[i].value, NULL, 0)) {
                        snprintf(reason, reason_size,
                                 "POD_FILES: pod %s: a POD_IP is not an "
                                 "address with a prefix length",
                                 id);
                        return -EINVAL;
                }
        if (is_creating(id)) {
                snprintf(reason, reason_size, "POD_FILES: pod %s: its namespaces are being made",
                         id);
                return -EBUSY;
        }
        pod_fd = openat_beneath(ns_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (pod_fd < 0) {
                snprintf(reason, reason_size, "POD_FILES: pod %s: %s", id,
                         pod_fd == -ENOENT ? "no such pod (POD_CREATE it first)"
                                           : strerror(-pod_fd));
                return pod_fd;
        }

        /* resolv.conf(5): glibc reads at most 3 nameservers and one search
         * line; kubelet sends no more. */
        put_list(buf, &len, "nameserver", dns[0], false);
        put_list(buf, &len, "search", dns[1], true);
        put_list(buf, &len, "options", dns[2], true);
        r = write_pod_file(pod_fd, "resolv.conf", buf, len);
        if (r == 0) {
                len = 0;
                if (hostname)
                        put(buf, &len, "%s\n", hostname);
                r = write_pod_file(pod_fd, "hostname", buf, len);
        }
        if (r == 0) {
                len = 0;
                put(buf, &len,
                    "127.0.0.1\tlocalhost\n"
                    "::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "fe00::0\tip6-localnet\n"
                    "fe00::0\tip6-mcastprefix\n"
                    "fe00::1\tip6-allnodes\n"
                    "fe00::2\tip6-allrouters\n");
                for (size_t i = 0; hostname && i < msg->fields.n; i++) {
                        char addr[INET6_ADDRSTRLEN];

                        if (msg->fields.items[i].tag == BRIG_TAG_POD_IP &&
                            podcheck_pod_ip((const char *)msg->fields.items[i].value, addr,
                                            sizeof(addr)))
                                put(buf, &len, "%s\t%s\n", addr, hostname);
                }
                r = write_pod_file(pod_fd, "hosts", buf, len);
        }
        if (r < 0) {
                snprintf(reason, reason_size, "POD_FILES: pod %s: cannot write its files: %s", id,
                         strerror(-r));
                return r;
        }
        log_info("pod files written", "conn=%s pod=%s", c->label, id);
        return 0;
}
