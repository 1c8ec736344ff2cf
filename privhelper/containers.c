/* containers.c: owns <root>/containers on the root side: the CTR_* commands,
 * the checks of a container request, the child that mounts a container's
 * rootfs and writes its config.json, the runtime's start, kill and delete
 * (as job children), and a container's status from its bundle. The pod's
 * brig-monitor runs the runtime's create (monitors.h). */
#include "containers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cap-ng.h>
#include <linux/capability.h>

#include "cgroups.h"
#include "ctrcheck.h"
#include "ctrspec.h"
#include "dirs.h"
#include "events.h"
#include "fsutil.h"
#include "hproto.h"
#include "jobs.h"
#include "layers.h"
#include "log.h"
#include "monitor/channel.h"
#include "monitors.h"
#include "ocispec.h"
#include "pods.h"
#include "rmtree.h"
#include "tlv.h"
#include "userdb.h"
#include "util.h"

#define CONTAINERS_DIR "containers"
#define RUNTIMES_DIR   "runtimes"
/* Arguments of one runtime command after "<name> --root <root>". */
#define RUNTIME_ARGS_MAX 8
#define BUNDLE_FILE_MAX  128
/* In a container's directory: the path of its memory cgroup */
#define MEMCG_FILE "memcg"
/* ... and the pid of the pod monitor that holds it */
#define MONITOR_FILE "monitor"
/* mount(2) takes its data in one page: the overlay's options must fit. */
#define OVERLAY_OPTIONS_MAX 4000

/* Docker's and CRI-O's default set, before the request's add and drop. */
static const char *const default_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_KILL",
};

static int containers_fd = -1;
static int log_root_fd = -1;
/* The configured runtimes ([runtimes.<name>]), each opened at start. */
struct runtime {
        const struct config_runtime *conf;
        int exe;    /* O_PATH; -1 when it is not installed */
        char *root; /* its --root */
};
static struct runtime runtimes[CONFIG_MAX_RUNTIMES];
static size_t n_runtimes;
static const struct brig_config *config;
static char *root_path; /* <root>/containers */
static char *log_root;  /* pod_log_root */
static char *denied[3]; /* host paths no bind mount may reach */
static bool systemd_cgroups;

/* A container a job works on: no second create, delete or start of it
 * runs at the same time. */
struct busy {
        struct busy *next;
        char id[BRIG_HELPER_MAX_POD_ID];
};
static struct busy *busy_list;

static bool is_busy(const char *id)
{
        for (struct busy *b = busy_list; b; b = b->next)
                if (strcmp(b->id, id) == 0)
                        return true;
        return false;
}

static int mark_busy(const char *id)
{
        struct busy *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        snprintf(b->id, sizeof(b->id), "%s", id);
        b->next = busy_list;
        busy_list = b;
        return 0;
}

static void unmark_busy(const char *id)
{
        for (struct busy **bp = &busy_list; *bp; bp = &(*bp)->next)
                if (strcmp((*bp)->id, id) == 0) {
                        struct busy *b = *bp;
                        *bp = b->next;
                        free(b);
                        return;
                }
}

/* The runtime a handler names ("" the default), or NULL. */
static const struct runtime *runtime_named(const char *handler)
{
        const struct config_runtime *conf = config ? config_runtime_find(config, handler) : NULL;

        for (size_t i = 0; conf && i < n_runtimes; i++)
                if (runtimes[i].conf == conf)
                        return &runtimes[i];
        return NULL;
}

/* The runtime a container was created with, as its directory records it
 * (the default for one made before runtimes were recorded). */
static const struct runtime *runtime_of(int dfd)
{
        char name[CONFIG_RUNTIME_NAME_MAX + 2] = "";
        _cleanup_close_ int fd = openat_beneath(dfd, "runtime", O_RDONLY | O_NOFOLLOW, 0);
        ssize_t n = fd < 0 ? 0 : read(fd, name, sizeof(name) - 1);

        name[n > 0 ? n : 0] = '\0';
        return runtime_named(name);
}

/* argv of runtime rt's command tail: "<name> --root <root> <tail>...". */
static int runtime_argv(const struct runtime *rt, const char *const *tail, char **argv, size_t size)
{
        size_t n = 0;

        argv[n++] = (char *)rt->conf->name;
        argv[n++] = "--root";
        argv[n++] = rt->root;
        for (; *tail && n + 1 < size; tail++)
                argv[n++] = (char *)*tail;
        argv[n] = NULL;
        return *tail ? -E2BIG : 0;
}

/* Container id's directory (id checked by the caller), or a negative
 * errno: -ENOENT for an unknown container. */
static int open_container(const char *id)
{
        return openat_beneath(containers_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
}

static bool oom_killed(int dfd, const char *id);
static void report_exit(const char *pod, const char *id, uint32_t pid, uint32_t wait_status,
                        uint64_t exit_time);
static void report_monitor_gone(const char *pod);
static const struct monitor_observer observer = {.exited = report_exit,
                                                 .gone = report_monitor_gone};

int containers_init(const struct brig_config *conf)
{
        _cleanup_close_ int root_fd = -1, run_fd = -1;
        int r;

        config = conf;
        root_fd = open(config->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        run_fd = open(config->run_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0 || run_fd < 0)
                return log_error_errno(negative_errno(), "cannot open root or run_root",
                                       "root=%s run_root=%s", config->root, config->run_root);
        containers_fd = dirs_open_private(root_fd, config->root, CONTAINERS_DIR);
        if (containers_fd < 0)
                return containers_fd;
        /* The runtimes' state, root's alone: each --root below it. */
        r = dirs_open_private(run_fd, config->run_root, RUNTIMES_DIR);
        if (r < 0)
                return r;
        safe_close(r);
        if (mkdir(config->pod_log_root, 0755) < 0 && errno != EEXIST)
                return log_error_errno(negative_errno(), "cannot create pod_log_root", "path=%s",
                                       config->pod_log_root);
        log_root_fd = open(config->pod_log_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (log_root_fd < 0)
                return log_error_errno(negative_errno(), "cannot open pod_log_root", "path=%s",
                                       config->pod_log_root);
        for (size_t i = 0; i < config->n_runtimes; i++) {
                struct runtime *rt = &runtimes[n_runtimes];

                rt->conf = &config->runtimes[i];
                rt->exe = open(rt->conf->path, O_PATH | O_CLOEXEC);
                if (rt->exe < 0)
                        log_warn_errno(negative_errno(),
                                       "a runtime is not installed; its pods cannot run",
                                       "runtime=%s path=%s", rt->conf->name, rt->conf->path);
                n_runtimes++;
                r = config_runtime_root(config, rt->conf, &rt->root);
                if (r < 0)
                        return r;
        }
        if (asprintf(&root_path, "%s/%s", config->root, CONTAINERS_DIR) < 0 ||
            !(log_root = strdup(config->pod_log_root)) || !(denied[0] = strdup(config->root)) ||
            !(denied[1] = strdup(config->run_root)) || !(denied[2] = strdup("/etc/brig")))
                return -ENOMEM;
        systemd_cgroups = config->cgroup_manager == CGROUP_MANAGER_SYSTEMD;
        monitors_set_observer(&observer);
        return 0;
}

/* A monitor's exit report, passed on with what the helper adds: whether
 * the OOM killer struck. */
static void report_exit(const char *pod, const char *id, uint32_t pid, uint32_t wait_status,
                        uint64_t exit_time)
{
        _cleanup_close_ int dfd = open_container(id);
        struct ctr_event ev = {
            .kind = BRIG_EVENT_EXITED, .pid = pid, .wait_status = wait_status, .time = exit_time};

        if (dfd >= 0 && oom_killed(dfd, id))
                ev.flags |= BRIG_EVENT_F_OOM_KILLED;
        snprintf(ev.pod_id, sizeof(ev.pod_id), "%s", pod);
        snprintf(ev.ctr_id, sizeof(ev.ctr_id), "%s", id);
        events_publish(&ev);
}

static void report_monitor_gone(const char *pod)
{
        struct timespec now;
        struct ctr_event ev = {.kind = BRIG_EVENT_MONITOR_GONE};

        clock_gettime(CLOCK_REALTIME, &now);
        ev.time = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
        snprintf(ev.pod_id, sizeof(ev.pod_id), "%s", pod);
        events_publish(&ev);
}

void containers_free(void)
{
        containers_fd = safe_close(containers_fd);
        log_root_fd = safe_close(log_root_fd);
        for (size_t i = 0; i < n_runtimes; i++) {
                safe_close(runtimes[i].exe);
                free(runtimes[i].root);
                runtimes[i] = (struct runtime){.exe = -1};
        }
        n_runtimes = 0;
        free(root_path);
        free(log_root);
        root_path = log_root = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
                free(denied[i]);
                denied[i] = NULL;
        }
        while (busy_list)
                unmark_busy(busy_list->id);
}

/* The request's id field tag, checked: 64 lowercase hex. */
static int id_of(const struct brig_msg *msg, uint16_t tag, const char *what, const char **ret,
                 char *reason, size_t reason_size)
{
        if (tlv_get_string(&msg->fields, tag, ret) < 0 || !ctrcheck_id(*ret)) {
                snprintf(reason, reason_size, "%s: %s id is not 64 lowercase hex", msg->spec->name,
                         what);
                return -EINVAL;
        }
        return 0;
}

static bool container_exists(const char *id)
{
        struct stat st;

        return fstatat(containers_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Reads the whole request from fd (a memfd brigd filled) into a buffer of
 * the helper's own, so nothing brigd changes later reaches the checks. */
static int read_spec(int fd, uint8_t **ret, size_t *ret_len, char *reason, size_t reason_size)
{
        struct stat st;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t off = 0;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
            (uint64_t)st.st_size > CTRSPEC_MAX_SIZE) {
                snprintf(reason, reason_size,
                         "CTR_CREATE: the request fd is not a regular file of 1 to %u bytes",
                         CTRSPEC_MAX_SIZE);
                return -EINVAL;
        }
        buf = malloc((size_t)st.st_size);
        if (!buf)
                return -ENOMEM;
        while (off < (size_t)st.st_size) {
                ssize_t n = pread(fd, buf + off, (size_t)st.st_size - off, (off_t)off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        snprintf(reason, reason_size, "CTR_CREATE: cannot read the request fd");
                        return n < 0 ? negative_errno() : -EINVAL;
                }
                off += (size_t)n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = off;
        return 0;
}

/* Makes each missing directory of the relative path dir below dirfd
 * (0755, root's) and returns the last one's fd. No symlink is followed. */
static int mkdirs_beneath(int dirfd, const char *dir)
{
        _cleanup_free_ char *copy = strdup(dir);
        _cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        char *save = NULL;

        if (!copy || cur < 0)
                return copy ? negative_errno() : -ENOMEM;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                int next = openat_beneath(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
                if (next < 0)
                        return next;
                safe_close(cur);
                cur = next;
        }
        return TAKE_FD(cur);
}

/* The container's log below pod_log_root, "<dir>/<log_path>" with dir
 * the pod's log_directory made relative (ctrcheck_spec() made sure it is
 * below pod_log_root), into a malloc'd string. */
static char *log_rel_path(const struct ctr_spec *spec)
{
        char *full = NULL;

        if (asprintf(&full, "%s/%s", spec->log_directory + strlen(log_root) + 1, spec->log_path) <
            0)
                return NULL;
        return full;
}

/* Opens rel below pod_log_root, creating missing directories, never
 * following a symlink. Returns the fd (O_WRONLY|O_APPEND) or a negative
 * errno with reason set (what names the command). */
static int open_log(const char *what, const char *rel, char *reason, size_t reason_size)
{
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int dir = -1;
        const char *slash = strrchr(rel, '/');
        int fd;

        parent = slash ? strndup(rel, (size_t)(slash - rel)) : strdup(".");
        if (!parent)
                return -ENOMEM;
        dir = mkdirs_beneath(log_root_fd, parent);
        if (dir < 0) {
                snprintf(reason, reason_size, "%s: cannot make the log directory below %s: %s",
                         what, log_root, strerror(-dir));
                return dir;
        }
        fd = openat_beneath(dir, slash ? slash + 1 : rel,
                            O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY, 0640);
        if (fd < 0)
                snprintf(reason, reason_size, "%s: cannot open the log below %s: %s", what,
                         log_root, strerror(-fd));
        return fd;
}

/* Writes name in the container's directory dfd: a small record the helper
 * reads back later (the pod's id, the log's place). */
static int write_small(int dfd, const char *name, const char *text)
{
        _cleanup_close_ int fd = openat_beneath(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        size_t len = strlen(text);

        if (fd < 0)
                return fd;
        return write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
}

/* What a create child leaves for the loop: it lives in a shared mapping. */
struct create_result {
        int error;
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE];
        /* the identity config.json gives the process, for the reply */
        uint32_t uid, gid;
        uint32_t n_groups;
        uint32_t groups[BRIG_HELPER_MAX_GROUPS];
};

/* One CTR_CREATE from its checks to its reply. */
struct create_job {
        struct helper_conn *conn;
        uint64_t serial;
        uint32_t request_id;
        char pod[BRIG_HELPER_MAX_POD_ID];
        char id[BRIG_HELPER_MAX_POD_ID];
        struct ctr_spec spec;
        /* the PID namespace joined: the pod's pin or a target's; "" for a
         * new one or the node's */
        char pid_ns[PATH_MAX];
        const struct runtime *rt;
        int log_fd;
        struct create_result *res;
};

static void create_job_free(struct create_job *j)
{
        if (!j)
                return;
        ctrspec_free(&j->spec);
        safe_close(j->log_fd);
        if (j->res)
                munmap(j->res, sizeof(*j->res));
        free(j);
}

static int fail(char *err, size_t size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t size, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
        return r;
}

/* Mounts the overlay of the image's layers on <dfd>/rootfs. Runs in the
 * create child, whose working directory it may change. */
static int mount_rootfs(int dfd, const struct ctr_spec *spec, char *err, size_t size)
{
        char opts[OVERLAY_OPTIONS_MAX + 1], target[64];
        size_t len = 0;
        int n;

        if (mkdirat(dfd, "upper", 0755) < 0 || mkdirat(dfd, "work", 0700) < 0 ||
            mkdirat(dfd, "rootfs", 0755) < 0)
                return fail(err, size, negative_errno(), "cannot make the rootfs directories: %m");
        /* Layer paths relative to the layers directory keep the options
         * short: mount(2) takes one page. The top layer comes first. */
        if (fchdir(layers_dir_fd()) < 0)
                return fail(err, size, negative_errno(), "cannot enter the layers directory: %m");
        n = snprintf(opts, sizeof(opts), "lowerdir=");
        len = (size_t)n;
        for (size_t i = spec->n_layers; i-- > 0;) {
                n = snprintf(opts + len, sizeof(opts) - len, "%s%s/diff",
                             i + 1 == spec->n_layers ? "" : ":",
                             spec->layers[i] + strlen("sha256:"));
                if (n < 0 || (size_t)n >= sizeof(opts) - len)
                        goto too_many;
                len += (size_t)n;
        }
        n = snprintf(opts + len, sizeof(opts) - len,
                     ",upperdir=/proc/self/fd/%d/upper,workdir=/proc/self/fd/%d/work", dfd, dfd);
        if (n < 0 || (size_t)n >= sizeof(opts) - len)
                goto too_many;
        snprintf(target, sizeof(target), "/proc/self/fd/%d/rootfs", dfd);
        if (mount("overlay", target, "overlay", MS_NODEV, opts) < 0)
                return fail(err, size, negative_errno(), "cannot mount the rootfs overlay: %m");
        return 0;
too_many:
        return fail(err, size, -E2BIG,
                    "the image's %zu layers do not fit one overlay mount's options",
                    spec->n_layers);
}

/* The bind mounts of config.json: the CRI mounts and the pod's files, each
 * source checked to exist. opts has room for 3 options per mount. */
static int resolve_mounts(const struct create_job *j, struct oci_mount *out,
                          char (*paths)[PATH_MAX], const char *(*opts)[3], size_t *ret_n,
                          char shm[static PATH_MAX], const char **ret_shm, char *err, size_t size)
{
        static const char *const pod_file[] = {
            [CTR_MOUNT_POD_HOSTS] = "hosts",
            [CTR_MOUNT_POD_RESOLV] = "resolv.conf",
            [CTR_MOUNT_POD_HOSTNAME] = "hostname",
        };
        size_t n = 0;

        *ret_shm = NULL;
        for (size_t i = 0; i < j->spec.n_mounts; i++) {
                const struct ctr_mount *m = &j->spec.mounts[i];
                struct stat st;
                size_t k = 0;

                if (m->kind == CTR_MOUNT_POD_SHM) {
                        /* The pod's tmpfs; with the node's IPC namespace,
                         * the node's /dev/shm; for a pod made before pods
                         * had one, a tmpfs of the container's own. */
                        char ipc[PATH_MAX];

                        if (pods_shm_path(j->pod, shm, PATH_MAX) == 0)
                                *ret_shm = shm;
                        else if (pods_ns_path(j->pod, "ipc", ipc, sizeof(ipc)) < 0)
                                *ret_shm = "/dev/shm";
                        continue;
                }
                if (m->kind == CTR_MOUNT_BIND) {
                        if (stat(m->source, &st) < 0)
                                return fail(err, size, negative_errno(),
                                            "mount %zu: source %.200s: %m", i, m->source);
                        snprintf(paths[n], PATH_MAX, "%s", m->source);
                } else if (pods_file_path(j->pod, pod_file[m->kind], paths[n], PATH_MAX) < 0 ||
                           stat(paths[n], &st) < 0) {
                        /* a pod without its files (POD_FILES not run) */
                        continue;
                }
                opts[n][k++] = "rbind";
                if (m->flags & CTR_M_RECURSIVE_READONLY)
                        opts[n][k++] = "rro";
                else if (m->flags & CTR_M_READONLY)
                        opts[n][k++] = "ro";
                opts[n][k++] = m->flags & CTR_M_PROPAGATION_RSHARED  ? "rshared"
                               : m->flags & CTR_M_PROPAGATION_RSLAVE ? "rslave"
                                                                     : "rprivate";
                out[n] = (struct oci_mount){.destination = m->destination,
                                            .type = "bind",
                                            .source = paths[n],
                                            .options = opts[n],
                                            .n_options = k};
                n++;
        }
        *ret_n = n;
        return 0;
}

static int resolve_devices(const struct ctr_spec *spec, struct oci_device *out, char *err,
                           size_t size)
{
        for (size_t i = 0; i < spec->n_devices; i++) {
                const struct ctr_device *d = &spec->devices[i];
                struct stat st;

                if (stat(d->host_path, &st) < 0)
                        return fail(err, size, negative_errno(), "device %zu: %.200s: %m", i,
                                    d->host_path);
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        return fail(err, size, -EINVAL,
                                    "device %zu: %.200s is not a character or block device", i,
                                    d->host_path);
                out[i] = (struct oci_device){
                    .path = d->container_path,
                    .type = S_ISCHR(st.st_mode) ? 'c' : 'b',
                    .major = major(st.st_rdev),
                    .minor = minor(st.st_rdev),
                    .file_mode = st.st_mode & 07777,
                    .access = d->permissions,
                };
        }
        return 0;
}

/* The capability number of a request's name ("CAP_NET_ADMIN", "net_admin"),
 * or -1. */
static int cap_number(const char *name)
{
        if (strncasecmp(name, "CAP_", 4) == 0)
                name += 4;
        return capng_name_to_capability(name);
}

/* The container's capabilities: the default set (every one for a
 * privileged container), the request's add and drop, and only those the
 * helper holds in its own bounding set: a runtime asked for more fails. */
static int resolve_caps(const struct ctr_spec *spec, char (*names)[40], const char **out,
                        size_t *ret_n, char *err, size_t size)
{
        bool want[CAP_LAST_CAP + 1] = {0};
        int last = (int)CAP_LAST_CAP;
        size_t n = 0;

        for (size_t i = 0; i < ARRAY_SIZE(default_caps); i++)
                want[cap_number(default_caps[i])] = true;
        for (size_t i = 0; i < spec->n_cap_add; i++)
                if (strcasecmp(spec->cap_add[i], "ALL") == 0 || (spec->flags & CTR_F_PRIVILEGED))
                        memset(want, 1, sizeof(want));
        for (size_t i = 0; i < spec->n_cap_drop; i++)
                if (strcasecmp(spec->cap_drop[i], "ALL") == 0)
                        memset(want, 0, sizeof(want));
        if (spec->flags & CTR_F_PRIVILEGED)
                memset(want, 1, sizeof(want));
        for (size_t i = 0; i < spec->n_cap_add; i++) {
                int c = cap_number(spec->cap_add[i]);
                if (strcasecmp(spec->cap_add[i], "ALL") == 0)
                        continue;
                if (c < 0 || c > last)
                        return fail(err, size, -EINVAL, "capability %.40s is not known here",
                                    spec->cap_add[i]);
                want[c] = true;
        }
        for (size_t i = 0; i < spec->n_cap_drop; i++) {
                int c = cap_number(spec->cap_drop[i]);
                if (strcasecmp(spec->cap_drop[i], "ALL") == 0)
                        continue;
                if (c < 0 || c > last)
                        return fail(err, size, -EINVAL, "capability %.40s is not known here",
                                    spec->cap_drop[i]);
                want[c] = false;
        }
        for (int c = 0; c <= last; c++) {
                const char *name = capng_capability_to_name((unsigned)c);
                if (!want[c] || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1 || !name)
                        continue;
                snprintf(names[n], sizeof(names[n]), "CAP_%s", name);
                for (char *p = names[n]; *p; p++)
                        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
                out[n] = names[n];
                n++;
        }
        *ret_n = n;
        return 0;
}

/* A namespace of the pod: joined by its pin when the pod has its own, the
 * node's otherwise. */
static struct oci_namespace pod_ns(const char *pod, const char *name, char *buf, size_t size)
{
        if (pods_ns_path(pod, name, buf, size) == 0)
                return (struct oci_namespace){.mode = OCI_NS_JOIN, .path = buf};
        return (struct oci_namespace){.mode = OCI_NS_NODE};
}

/* linux.cgroupsPath: below the pod's parent, named after the container. The
 * systemd driver's form is "slice:prefix:name". */
static void cgroups_path(const struct create_job *j, char *buf, size_t size)
{
        const char *parent = j->spec.cgroup_parent;

        if (systemd_cgroups)
                snprintf(buf, size, "%s:brig:%s", parent && *parent ? parent : "system.slice",
                         j->id);
        else
                snprintf(buf, size, "%s/brig-%s", parent && *parent ? parent : "/brig", j->id);
}

/* Writes name in the container's directory whole or not at all: a
 * temporary file, fsync, rename. */
static int write_json(int dfd, const char *name, const char *json, size_t len, char *err,
                      size_t size)
{
        char tmp[64];
        _cleanup_close_ int fd = -1;
        size_t off = 0;

        snprintf(tmp, sizeof(tmp), "%s.tmp", name);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return fail(err, size, negative_errno(), "cannot write %s: %m", name);
        while (off < len) {
                ssize_t n = write(fd, json + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return fail(err, size, n < 0 ? negative_errno() : -EIO,
                                    "cannot write %s: %m", name);
                off += (size_t)n;
        }
        if (fsync(fd) < 0 || renameat(dfd, tmp, dfd, name) < 0)
                return fail(err, size, negative_errno(), "cannot write %s: %m", name);
        return 0;
}

/* Lowering a process's OOM score below its own needs CAP_SYS_RESOURCE,
 * which root lacks on some nodes: asked for more than the node allows (a
 * Guaranteed pod's -997), runc fails. The container then gets the helper's
 * own score, the lowest it may give, and the log says so. */
static void clamp_oom_score(struct create_job *j)
{
        char buf[32] = "";
        int own = 0;
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);

        if (!j->spec.oom_score_adj.has || prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE, 0, 0, 0) == 1)
                return;
        if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0 || sscanf(buf, "%d", &own) != 1)
                return;
        if (j->spec.oom_score_adj.v >= own)
                return;
        log_warn("this node refuses a lower OOM score (no CAP_SYS_RESOURCE): the container gets "
                 "the helper's",
                 "container=%s asked=%lld given=%d", j->id, (long long)j->spec.oom_score_adj.v,
                 own);
        j->spec.oom_score_adj.v = own;
}

/* The create child's work: everything from the rootfs to config.json. */
static int make_bundle(struct create_job *j, char *err, size_t size)
{
        const struct ctr_spec *spec = &j->spec;
        _cleanup_close_ int dfd = -1, rootfs = -1;
        _cleanup_(userdb_user_free) struct resolved_user user = {0};
        _cleanup_free_ struct oci_mount *mounts = calloc(spec->n_mounts + 1, sizeof(*mounts));
        _cleanup_free_ char(*paths)[PATH_MAX] = calloc(spec->n_mounts + 1, PATH_MAX);
        _cleanup_free_ const char *(*opts)[3] = calloc(spec->n_mounts + 1, sizeof(*opts));
        _cleanup_free_ struct oci_device *devices = calloc(spec->n_devices + 1, sizeof(*devices));
        _cleanup_free_ char *json = NULL;
        char cap_names[CAP_LAST_CAP + 1][40], net[PATH_MAX], ipc[PATH_MAX], uts[PATH_MAX];
        char cgroups[PATH_MAX], shm_path[PATH_MAX];
        const char *caps[CAP_LAST_CAP + 1];
        size_t n_mounts = 0, n_caps = 0, len = 0;
        const char *shm = NULL;
        int r;

        if (!mounts || !paths || !opts || !devices)
                return fail(err, size, -ENOMEM, "out of memory");
        dfd = openat_beneath(containers_fd, j->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (dfd < 0)
                return fail(err, size, dfd, "cannot open the container's directory");
        r = mount_rootfs(dfd, spec, err, size);
        if (r < 0)
                return r;
        rootfs = openat_beneath(dfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (rootfs < 0)
                return fail(err, size, rootfs, "cannot open the mounted rootfs");
        r = userdb_resolve(rootfs, spec, &user, err, size);
        if (r == 0)
                r = userdb_check_non_root(&user, spec->flags & CTR_F_RUN_AS_NON_ROOT, err, size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < spec->n_volumes; i++) {
                /* CRI-O's "mkdir" image volumes: the directory, in the
                 * container's own upper layer. */
                int v = mkdirs_beneath(rootfs, spec->volumes[i] + 1);
                if (v < 0)
                        log_warn_errno(v, "cannot make an image volume's directory",
                                       "container=%s volume=%s", j->id, spec->volumes[i]);
                safe_close(v);
        }
        r = resolve_mounts(j, mounts, paths, opts, &n_mounts, shm_path, &shm, err, size);
        if (r == 0)
                r = resolve_devices(spec, devices, err, size);
        if (r == 0)
                r = resolve_caps(spec, cap_names, caps, &n_caps, err, size);
        if (r < 0)
                return r;
        cgroups_path(j, cgroups, sizeof(cgroups));
        clamp_oom_score(j);
        /* Raising a hard limit needs CAP_SYS_RESOURCE, which root lacks on
         * some nodes: the container gets at most the helper's own. */
        struct rlimit nofile = {0};
        getrlimit(RLIMIT_NOFILE, &nofile);
        if (nofile.rlim_max > OCISPEC_DEFAULT_NOFILE)
                nofile.rlim_max = OCISPEC_DEFAULT_NOFILE;
        const struct oci_rlimit rlimits[] = {
            {.type = "RLIMIT_NOFILE", .soft = nofile.rlim_max, .hard = nofile.rlim_max}};
        struct oci_config_input in = {
            .spec = spec,
            .user = {.uid = user.uid,
                     .gid = user.gid,
                     .additional_gids = user.additional_gids,
                     .n_additional_gids = user.n_additional_gids},
            .rootfs = "rootfs",
            .pid = {.mode = j->pid_ns[0]                     ? OCI_NS_JOIN
                            : spec->pid_mode == CTR_PID_NODE ? OCI_NS_NODE
                                                             : OCI_NS_NEW,
                    .path = j->pid_ns[0] ? j->pid_ns : NULL},
            .net = pod_ns(j->pod, "net", net, sizeof(net)),
            .ipc = pod_ns(j->pod, "ipc", ipc, sizeof(ipc)),
            .uts = pod_ns(j->pod, "uts", uts, sizeof(uts)),
            .cgroups_path = cgroups,
            .shm_source = shm,
            .mounts = mounts,
            .n_mounts = n_mounts,
            .devices = devices,
            .n_devices = spec->n_devices,
            .caps = caps,
            .n_caps = n_caps,
            .rlimits = rlimits,
            .n_rlimits = ARRAY_SIZE(rlimits),
        };
        r = ocispec_write(&in, &json, &len, err, size);
        if (r < 0)
                return r;
        j->res->uid = user.uid;
        j->res->gid = user.gid;
        for (size_t i = 0; i < user.n_additional_gids && i < BRIG_HELPER_MAX_GROUPS; i++)
                j->res->groups[j->res->n_groups++] = user.additional_gids[i];
        return write_json(dfd, "config.json", json, len, err, size);
}

static int create_child(void *arg)
{
        struct create_job *j = arg;
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        int r = make_bundle(j, err, sizeof(err));

        j->res->error = r;
        if (r < 0)
                snprintf(j->res->err, sizeof(j->res->err), "container %s: %s", j->id,
                         err[0] ? err : strerror(-r));
        return r < 0;
}

/* A deferred request waiting on a job: where its reply goes. */
struct pending_reply {
        struct helper_conn *conn;
        uint64_t serial;
        uint16_t command;
        uint32_t request_id;
        char id[BRIG_HELPER_MAX_POD_ID];
        char pod[BRIG_HELPER_MAX_POD_ID];
        /* a failed create being undone: its error, sent when the removal ends */
        int error;
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE];
};

static void finish(const struct pending_reply *p, int status, const char *message,
                   const void *payload, size_t len)
{
        if (p->conn)
                helper_conn_finish(p->conn, p->serial, p->command, p->request_id, status, message,
                                   payload, len, NULL, 0);
}

/* Runs runtime exe with argv in a child of the calling child and waits. */
static int run_runtime_sync(int exe, char *const argv[])
{
        char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull < 0 ||
                    !job_child_place_fds((const struct job_fd[]){{devnull, 0}, {2, 1}}, 2))
                        _exit(127);
                syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* The removal child: the runtime's delete (which kills what still runs),
 * the rootfs unmounted, the directory gone. */
static int remove_child(void *arg)
{
        struct pending_reply *p = arg;
        _cleanup_close_ int dfd =
            openat_beneath(containers_fd, p->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        const struct runtime *rt;
        char *argv[RUNTIME_ARGS_MAX + 4];
        char target[64];

        if (dfd < 0)
                return dfd == -ENOENT ? 0 : 1;
        rt = runtime_of(dfd);
        /* A container never created by the runtime makes it complain; what
         * counts is that nothing of it is left. */
        if (faccessat(dfd, "pid", F_OK, AT_SYMLINK_NOFOLLOW) == 0 && rt && rt->exe >= 0 &&
            runtime_argv(rt, (const char *const[]){"delete", "--force", p->id, NULL}, argv,
                         ARRAY_SIZE(argv)) == 0)
                (void)run_runtime_sync(rt->exe, argv);
        snprintf(target, sizeof(target), "/proc/self/fd/%d/rootfs", dfd);
        for (int i = 0; i < 4 && umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0; i++)
                ;
        dfd = safe_close(dfd);
        return rmtree_at(containers_fd, p->id) < 0;
}

static void remove_done(void *data, int status)
{
        struct pending_reply *p = data;

        unmark_busy(p->id);
        if (p->pod[0])
                monitors_forget(p->pod, p->id);
        if (p->error < 0) {
                if (status != 0)
                        log_warn("cannot clean up after a failed CTR_CREATE", "container=%s",
                                 p->id);
                finish(p, p->error, p->err, NULL, 0);
        } else if (status != 0) {
                char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
                snprintf(msg, sizeof(msg),
                         "container %s: cannot remove it (see brig-helper's log); retry", p->id);
                finish(p, -EIO, msg, NULL, 0);
        } else {
                log_info("container removed", "container=%s", p->id);
                finish(p, 0, NULL, NULL, 0);
        }
        free(p);
}

/* Starts the removal of container p->id (p taken; p->id marked busy here
 * unless it is already). On failure p's reply is sent at once. */
static void start_remove(struct pending_reply *p)
{
        int r;

        if (!is_busy(p->id) && mark_busy(p->id) < 0) {
                finish(p, -ENOMEM, NULL, NULL, 0);
                free(p);
                return;
        }
        r = job_spawn_fn("ctr-remove", remove_child, p, remove_done, p);
        if (r < 0) {
                unmark_busy(p->id);
                finish(p, p->error < 0 ? p->error : r, p->error < 0 ? p->err : NULL, NULL, 0);
                free(p);
        }
}

/* A create that failed after its directory was made: undone, then
 * answered with its error. */
static void undo_create(struct create_job *j, int error, const char *message)
{
        struct pending_reply *p = calloc(1, sizeof(*p));

        if (!p) {
                unmark_busy(j->id);
                helper_conn_finish(j->conn, j->serial, BRIG_CMD_CTR_CREATE, j->request_id, error,
                                   message, NULL, 0, NULL, 0);
                create_job_free(j);
                return;
        }
        *p = (struct pending_reply){.conn = j->conn,
                                    .serial = j->serial,
                                    .command = BRIG_CMD_CTR_CREATE,
                                    .request_id = j->request_id,
                                    .error = error};
        snprintf(p->id, sizeof(p->id), "%s", j->id);
        snprintf(p->pod, sizeof(p->pod), "%s", j->pod);
        snprintf(p->err, sizeof(p->err), "%s", message);
        log_warn("container create failed; undoing it", "container=%s reason=\"%s\"", j->id,
                 message);
        create_job_free(j);
        start_remove(p);
}

/* Notes in container id's directory what later commands read: the memory
 * cgroup of its init (pid), where OOM kills are counted once the init is
 * gone (oom_killed()), and which monitor holds it (the pod's, now). */
static void note_created(const char *id, const char *pod, uint32_t pid)
{
        _cleanup_close_ int dfd = open_container(id);
        char path[PATH_MAX], mon[32];
        int r = dfd < 0 ? dfd : cgroups_memory_path((pid_t)pid, path, sizeof(path));

        if (r == 0)
                r = write_small(dfd, MEMCG_FILE, path);
        if (r < 0)
                log_warn_errno(r,
                               "cannot note a container's memory cgroup; its OOM kills will "
                               "not be reported",
                               "container=%s pid=%" PRIu32, id, pid);
        snprintf(mon, sizeof(mon), "%d", (int)monitors_pid(pod));
        r = dfd < 0 ? dfd : write_small(dfd, MONITOR_FILE, mon);
        if (r < 0)
                log_warn_errno(r, "cannot note a container's monitor; it is taken for gone",
                               "container=%s", id);
}

static void monitor_created(void *data, int status, const char *error,
                            const struct tlv_fields *reply, int *fds, size_t n_fds)
{
        struct create_job *j = data;
        uint8_t buf[128 + BRIG_HELPER_MAX_GROUPS * 4];
        uint8_t groups[BRIG_HELPER_MAX_GROUPS * 4];
        struct tlv_writer w;
        uint32_t pid = 0;
        size_t len = 0;

        (void)fds, (void)n_fds;
        if (status < 0) {
                char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
                snprintf(msg, sizeof(msg), "container %s: the runtime's create failed: %s", j->id,
                         error ? error : strerror(-status));
                undo_create(j, status, msg);
                return;
        }
        tlv_get_u32(reply, MON_TAG_PID, &pid);
        note_created(j->id, j->pod, pid);
        for (uint32_t i = 0; i < j->res->n_groups; i++)
                tlv_le32_encode(groups + 4 * i, j->res->groups[i]);
        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u32(&w, BRIG_TAG_PID, pid);
        tlv_put_u32(&w, BRIG_TAG_UID, j->res->uid);
        tlv_put_u32(&w, BRIG_TAG_GID, j->res->gid);
        tlv_put_bytes(&w, BRIG_TAG_GROUPS, groups, 4 * (size_t)j->res->n_groups);
        tlv_writer_finish(&w, &len);
        log_info("container created", "pod=%s container=%s pid=%" PRIu32, j->pod, j->id, pid);
        unmark_busy(j->id);
        helper_conn_finish(j->conn, j->serial, BRIG_CMD_CTR_CREATE, j->request_id, 0, NULL, buf,
                           len, NULL, 0);
        create_job_free(j);
}

static void create_done(void *data, int status)
{
        struct create_job *j = data;
        char bundle[PATH_MAX];
        int r;

        if (status != 0 || j->res->error < 0) {
                if (!j->res->err[0])
                        snprintf(j->res->err, sizeof(j->res->err),
                                 "container %s: the child making its bundle ended with status %d",
                                 j->id, status);
                undo_create(j, j->res->error < 0 ? j->res->error : -EIO, j->res->err);
                return;
        }
        snprintf(bundle, sizeof(bundle), "%s/%s", root_path, j->id);
        r = monitors_create(j->pod, systemd_cgroups ? NULL : j->spec.cgroup_parent, j->id, bundle,
                            j->rt->conf->path, j->rt->root,
                            j->spec.flags & (CTR_F_TTY | CTR_F_STDIN | CTR_F_STDIN_ONCE), j->log_fd,
                            monitor_created, j);
        if (r < 0) {
                char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
                snprintf(msg, sizeof(msg), "container %s: cannot reach the pod's monitor: %s",
                         j->id, strerror(-r));
                undo_create(j, r, msg);
        }
}

static int read_small(int dfd, const char *name, char *buf, size_t size);

/* Whether the OOM killer killed a process of the container whose
 * directory is dfd: its memory cgroup (noted at create) counts a kill. The
 * cgroup lasts until the runtime's delete, so this holds from the exit to
 * CTR_DELETE. */
static bool oom_killed(int dfd, const char *id)
{
        char path[PATH_MAX];
        long long kills;

        if (read_small(dfd, MEMCG_FILE, path, sizeof(path)) < 0)
                return false;
        kills = cgroups_oom_kills(path);
        if (kills < 0 && kills != -ENOENT)
                log_warn_errno((int)kills, "cannot read a container's OOM kills", "container=%s",
                               id);
        return kills > 0;
}

/* Reads dfd's small file name into buf (NUL-terminated). */
static int read_small(int dfd, const char *name, char *buf, size_t size)
{
        _cleanup_close_ int fd = openat_beneath(dfd, name, O_RDONLY | O_NOFOLLOW, 0);
        ssize_t n;

        if (fd < 0)
                return fd;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return 0;
}

/* The pod the container whose directory is dfd belongs to, as recorded at
 * CTR_CREATE and checked. Returns 0 or -ENOENT. */
static int pod_of(int dfd, char pod[static BRIG_HELPER_MAX_POD_ID])
{
        if (read_small(dfd, "pod", pod, BRIG_HELPER_MAX_POD_ID) < 0 || !ctrcheck_id(pod))
                return -ENOENT;
        return 0;
}

/* Whether the monitor that holds the container whose directory is dfd is
 * the one the helper is connected to: its exit will be reported. */
static bool monitor_holds(int dfd)
{
        char buf[BUNDLE_FILE_MAX], pod[BRIG_HELPER_MAX_POD_ID];
        int pid = 0;

        if (read_small(dfd, MONITOR_FILE, buf, sizeof(buf)) < 0 || sscanf(buf, "%d", &pid) != 1 ||
            pid <= 0 || pod_of(dfd, pod) < 0)
                return false;
        return monitors_pid(pod) == (pid_t)pid;
}

/* Whether pid is container id's process: it is in the container's own
 * cgroup, whose path holds the id (runc made it for that container alone,
 * and a container cannot move out of it). Pids are reused, so the pid
 * alone says nothing; the root directory is not enough either, as a
 * process may chroot. */
static bool runs_in(unsigned long long pid, const char *id)
{
        char path[64], buf[4096];
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (pid == 0 || pid >= INT32_MAX)
                return false;
        snprintf(path, sizeof(path), "/proc/%llu/cgroup", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        return strstr(buf, id) != NULL;
}

/* The PID namespace a POD or TARGET container joins, into j->pid_ns: the
 * pod's pin, or the namespace of a running container of the same pod. */
static int pid_ns_of(struct create_job *j, char *reason, size_t reason_size)
{
        char buf[BUNDLE_FILE_MAX], pod[BRIG_HELPER_MAX_POD_ID];
        _cleanup_close_ int dfd = -1;
        unsigned long long pid = 0;

        if (j->spec.pid_mode == CTR_PID_POD) {
                if (pods_ns_path(j->pod, "pid", j->pid_ns, sizeof(j->pid_ns)) < 0) {
                        snprintf(reason, reason_size,
                                 "CTR_CREATE: container %s: pod %s has no PID namespace of its "
                                 "own to share (POD_CREATE without BRIG_POD_NS_PID)",
                                 j->id, j->pod);
                        return -EINVAL;
                }
                return 0;
        }
        if (j->spec.pid_mode != CTR_PID_TARGET)
                return 0;
        dfd = openat_beneath(containers_fd, j->spec.pid_target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
                             0);
        if (dfd < 0 || pod_of(dfd, pod) < 0 || strcmp(pod, j->pod) != 0) {
                snprintf(reason, reason_size,
                         "CTR_CREATE: container %s: target container %s is not in pod %s", j->id,
                         j->spec.pid_target, j->pod);
                return -ENOENT;
        }
        /* Its init, if it still runs. */
        if (read_small(dfd, "pid", buf, sizeof(buf)) == 0)
                sscanf(buf, "%llu", &pid);
        if (faccessat(dfd, "exit", F_OK, 0) == 0 || !runs_in(pid, j->spec.pid_target)) {
                snprintf(reason, reason_size,
                         "CTR_CREATE: container %s: target container %s does not run", j->id,
                         j->spec.pid_target);
                return -ENOENT;
        }
        snprintf(j->pid_ns, sizeof(j->pid_ns), "/proc/%llu/ns/pid", pid);
        return 0;
}

int ctr_handle_create(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *pod = NULL, *id = NULL, *handler = "";
        const struct runtime *rt;
        const struct ctrcheck_roots roots = {.denied = (const char *const *)denied,
                                             .n_denied = ARRAY_SIZE(denied),
                                             .log_root = log_root};
        _cleanup_close_ int spec_fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *log_rel = NULL;
        struct create_job *j = NULL;
        size_t len = 0;
        int r;

        (void)reply;
        r = id_of(msg, BRIG_TAG_POD_ID, "pod", &pod, reason, reason_size);
        if (r == 0)
                r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size);
        if (r < 0)
                return r;
        (void)tlv_get_string(&msg->fields, BRIG_TAG_RUNTIME_HANDLER, &handler);
        rt = runtime_named(handler);
        if (!rt) {
                snprintf(reason, reason_size,
                         "CTR_CREATE: unknown runtime handler \"%.64s\" (none of [runtimes.*])",
                         handler);
                return -EINVAL;
        }
        if (rt->exe < 0) {
                snprintf(reason, reason_size,
                         "CTR_CREATE: runtime %s (%s) is not installed on this node",
                         rt->conf->name, rt->conf->path);
                return -ENOENT;
        }
        if (!pods_exists(pod)) {
                snprintf(reason, reason_size, "CTR_CREATE: pod %s has not been created", pod);
                return -ENOENT;
        }
        if (container_exists(id) || is_busy(id)) {
                snprintf(reason, reason_size, "CTR_CREATE: container %s exists", id);
                return -EEXIST;
        }
        r = brig_msg_take_fd(msg, fds, BRIG_TAG_CTR_SPEC_FD, &spec_fd);
        if (r == 0)
                r = read_spec(spec_fd, &buf, &len, reason, reason_size);
        if (r < 0)
                return r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->log_fd = -1;
        j->rt = rt;
        snprintf(j->pod, sizeof(j->pod), "%s", pod);
        snprintf(j->id, sizeof(j->id), "%s", id);
        char why[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        r = ctrspec_decode(buf, len, &j->spec, why, sizeof(why));
        if (r == 0)
                r = ctrcheck_spec(&j->spec, &roots, why, sizeof(why));
        if (r < 0) {
                snprintf(reason, reason_size, "CTR_CREATE: container %s: %s", id, why);
                goto fail;
        }
        r = pid_ns_of(j, reason, reason_size);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < j->spec.n_layers; i++)
                if (!layers_present(j->spec.layers[i])) {
                        snprintf(reason, reason_size,
                                 "CTR_CREATE: container %s: layer %s is not unpacked", id,
                                 j->spec.layers[i]);
                        r = -ENOENT;
                        goto fail;
                }
        if (j->spec.log_directory) {
                log_rel = log_rel_path(&j->spec);
                if (!log_rel) {
                        r = -ENOMEM;
                        goto fail;
                }
                j->log_fd = open_log("CTR_CREATE", log_rel, reason, reason_size);
                if (j->log_fd < 0) {
                        r = j->log_fd;
                        goto fail;
                }
        }
        j->res =
            mmap(NULL, sizeof(*j->res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (j->res == MAP_FAILED) {
                j->res = NULL;
                r = -ENOMEM;
                goto fail;
        }
        r = mark_busy(id);
        if (r < 0)
                goto fail;
        if (mkdirat(containers_fd, id, 0700) < 0) {
                r = negative_errno();
                snprintf(reason, reason_size,
                         "CTR_CREATE: container %s: cannot make its "
                         "directory: %s",
                         id, strerror(-r));
                unmark_busy(id);
                goto fail;
        }
        j->conn = c;
        j->serial = c->serial;
        j->request_id = msg->hdr.request_id;
        {
                _cleanup_close_ int dfd = open_container(id);
                if (dfd < 0 || write_small(dfd, "pod", pod) < 0 ||
                    write_small(dfd, "runtime", rt->conf->name) < 0 ||
                    (log_rel && write_small(dfd, "log", log_rel) < 0)) {
                        undo_create(j, -EIO, "cannot record the container's pod and log");
                        return HANDLER_DEFERRED;
                }
        }
        r = job_spawn_fn("ctr-create", create_child, j, create_done, j);
        if (r < 0) {
                char msg_text[BRIG_HELPER_MAX_ERROR_MESSAGE];
                snprintf(msg_text, sizeof(msg_text), "container %s: cannot start: %s", id,
                         strerror(-r));
                undo_create(j, r, msg_text);
        }
        return HANDLER_DEFERRED;
fail:
        create_job_free(j);
        return r;
}

static int runtime_done_status(int status, const char *what, const char *id, char *msg, size_t size)
{
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        snprintf(msg, size,
                 "container %s: the runtime's %s failed (status %d; see brig-helper's "
                 "log)",
                 id, what, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return -EIO;
}

static void runtime_done(void *data, int status)
{
        struct pending_reply *p = data;
        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
        int r = runtime_done_status(status,
                                    p->command == BRIG_CMD_CTR_START  ? "start"
                                    : p->command == BRIG_CMD_CTR_KILL ? "kill"
                                                                      : "update",
                                    p->id, msg, sizeof(msg));

        finish(p, r, r < 0 ? msg : NULL, NULL, 0);
        free(p);
}

/* CTR_START, CTR_KILL and CTR_UPDATE: the command tail of the container's
 * runtime, run for an existing container. */
static int run_runtime(struct helper_conn *c, const struct brig_msg *msg, const char *id,
                       const char *const *tail, char *reason, size_t reason_size)
{
        _cleanup_close_ int dfd = open_container(id);
        char *argv[RUNTIME_ARGS_MAX + 4];
        const struct runtime *rt;
        struct pending_reply *p;
        int devnull, r;

        if (dfd < 0) {
                snprintf(reason, reason_size, "%s: container %s does not exist", msg->spec->name,
                         id);
                return -ENOENT;
        }
        if (is_busy(id)) {
                snprintf(reason, reason_size, "%s: container %s is being created or removed",
                         msg->spec->name, id);
                return -EBUSY;
        }
        rt = runtime_of(dfd);
        if (!rt || rt->exe < 0) {
                snprintf(reason, reason_size,
                         "%s: container %s: its runtime is not configured "
                         "or not installed",
                         msg->spec->name, id);
                return -ENOENT;
        }
        r = runtime_argv(rt, tail, argv, ARRAY_SIZE(argv));
        if (r < 0)
                return r;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (struct pending_reply){.conn = c,
                                    .serial = c->serial,
                                    .command = msg->hdr.command,
                                    .request_id = msg->hdr.request_id};
        snprintf(p->id, sizeof(p->id), "%s", id);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0) {
                free(p);
                return negative_errno();
        }
        r = job_spawn_exec_lasting(msg->spec->name, rt->exe, argv,
                                   (const struct job_fd[]){{devnull, 0}}, 1, runtime_done, p);
        safe_close(devnull);
        if (r < 0) {
                free(p);
                return r;
        }
        return HANDLER_DEFERRED;
}

int ctr_handle_start(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                     struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        int r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size);

        (void)fds, (void)reply;
        if (r < 0)
                return r;
        return run_runtime(c, msg, id, (const char *const[]){"start", id, NULL}, reason,
                           reason_size);
}

int ctr_handle_kill(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                    struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        uint32_t sig = 0;
        char signum[16];
        int r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size);

        (void)fds, (void)reply;
        if (r < 0)
                return r;
        tlv_get_u32(&msg->fields, BRIG_TAG_SIGNAL, &sig);
        if (sig < 1 || sig > BRIG_HELPER_MAX_SIGNAL) {
                snprintf(reason, reason_size, "CTR_KILL: signal %" PRIu32 " is not 1..%d", sig,
                         BRIG_HELPER_MAX_SIGNAL);
                return -EINVAL;
        }
        snprintf(signum, sizeof(signum), "%" PRIu32, sig);
        return run_runtime(c, msg, id, (const char *const[]){"kill", id, signum, NULL}, reason,
                           reason_size);
}

int ctr_handle_delete(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        struct pending_reply *p;
        int r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size);

        (void)fds, (void)reply;
        if (r < 0)
                return r;
        if (is_busy(id)) {
                snprintf(reason, reason_size,
                         "CTR_DELETE: container %s is being created or "
                         "removed",
                         id);
                return -EBUSY;
        }
        if (!container_exists(id))
                return 0;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (struct pending_reply){.conn = c,
                                    .serial = c->serial,
                                    .command = BRIG_CMD_CTR_DELETE,
                                    .request_id = msg->hdr.request_id};
        snprintf(p->id, sizeof(p->id), "%s", id);
        {
                _cleanup_close_ int dfd = open_container(id);
                if (dfd < 0 || pod_of(dfd, p->pod) < 0)
                        p->pod[0] = '\0';
        }
        start_remove(p);
        return HANDLER_DEFERRED;
}

int ctr_handle_status(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        _cleanup_close_ int dfd = -1;
        char buf[BUNDLE_FILE_MAX];
        unsigned long long pid = 0, status = 0, when = 0;
        bool exited = false, running = false;
        int r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size);

        (void)c, (void)fds;
        if (r < 0)
                return r;
        dfd = open_container(id);
        if (dfd < 0) {
                snprintf(reason, reason_size, "CTR_STATUS: container %s does not exist", id);
                return -ENOENT;
        }
        if (read_small(dfd, "pid", buf, sizeof(buf)) == 0 && sscanf(buf, "%llu", &pid) != 1)
                pid = 0;
        if (read_small(dfd, "exit", buf, sizeof(buf)) == 0 &&
            sscanf(buf, "%llu %llu %llu", &pid, &status, &when) == 3)
                exited = true;
        if (!exited && runs_in(pid, id))
                running = true;
        if (pid > 0 && pid <= UINT32_MAX)
                tlv_put_u32(reply, BRIG_TAG_PID, (uint32_t)pid);
        tlv_put_u32(reply, BRIG_TAG_RUNNING, running);
        tlv_put_u32(reply, BRIG_TAG_MONITOR, monitor_holds(dfd));
        if (exited) {
                tlv_put_u32(reply, BRIG_TAG_WAIT_STATUS, (uint32_t)status);
                tlv_put_u64(reply, BRIG_TAG_EXIT_TIME, when);
                tlv_put_u32(reply, BRIG_TAG_OOM_KILLED, oom_killed(dfd, id));
        }
        return 0;
}

/* A sealed memfd holding a copy of what fd reads (a regular file of at
 * most max bytes). Returns the memfd or a negative errno. */
static int sealed_copy(int fd, size_t max)
{
        _cleanup_close_ int mfd = memfd_create("brig-spec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        struct stat st;
        char buf[16384];
        size_t total = 0;

        if (mfd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
                return -EFBIG;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                total += (size_t)n;
                if (total > max)
                        return -EFBIG;
                if (write(mfd, buf, (size_t)n) != n)
                        return -EIO;
        }
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return negative_errno();
        return TAKE_FD(mfd);
}

int ctr_handle_spec(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                    struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        _cleanup_close_ int dfd = -1, fd = -1;
        int r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size), index;

        (void)fds;
        if (r < 0)
                return r;
        dfd = open_container(id);
        fd = dfd < 0 ? dfd : openat_beneath(dfd, "config.json", O_RDONLY | O_NOFOLLOW, 0);
        if (fd < 0) {
                snprintf(reason, reason_size, "CTR_SPEC: container %s has no config.json", id);
                return -ENOENT;
        }
        r = sealed_copy(fd, BRIG_HELPER_MAX_SPEC);
        if (r < 0) {
                snprintf(reason, reason_size, "CTR_SPEC: container %s: copying config.json: %s", id,
                         strerror(-r));
                return r;
        }
        index = helper_conn_attach_fd(c, r);
        if (index < 0)
                return index;
        return tlv_put_fd(reply, BRIG_TAG_SPEC_FD, (uint32_t)index);
}

/* The monitor's EXEC_SYNC answer, passed on with its two memfds. */
static void exec_answered(void *data, int status, const char *error, const struct tlv_fields *reply,
                          int *fds, size_t n_fds)
{
        struct pending_reply *p = data;
        uint32_t wait_status = 0, timed_out = 0, out_index = 0, err_index = 0;
        uint8_t buf[128];
        struct tlv_writer w;
        size_t len = 0;

        if (status < 0) {
                char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];
                snprintf(msg, sizeof(msg), "container %s: exec failed: %s", p->id,
                         error ? error : strerror(-status));
                finish(p, status, msg, NULL, 0);
                free(p);
                return;
        }
        if (tlv_get_u32(reply, MON_TAG_WAIT_STATUS, &wait_status) < 0 ||
            tlv_get_fd_index(reply, MON_TAG_STDOUT_FD, &out_index) < 0 ||
            tlv_get_fd_index(reply, MON_TAG_STDERR_FD, &err_index) < 0 || out_index >= n_fds ||
            err_index >= n_fds) {
                finish(p, -EPROTO, "the pod's monitor answered an exec without its output", NULL,
                       0);
                free(p);
                return;
        }
        (void)tlv_get_u32(reply, MON_TAG_TIMED_OUT, &timed_out);
        tlv_writer_init(&w, buf, sizeof(buf));
        tlv_put_u32(&w, BRIG_TAG_WAIT_STATUS, wait_status);
        tlv_put_u32(&w, BRIG_TAG_TIMED_OUT, timed_out ? 1 : 0);
        tlv_put_fd(&w, BRIG_TAG_STDOUT_FD, 0);
        tlv_put_fd(&w, BRIG_TAG_STDERR_FD, 1);
        tlv_writer_finish(&w, &len);
        if (p->conn)
                helper_conn_finish(p->conn, p->serial, p->command, p->request_id, 0, NULL, buf, len,
                                   (const int[]){fds[out_index], fds[err_index]}, 2);
        free(p);
}

int ctr_handle_exec_sync(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                         struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        const void *args = NULL;
        size_t args_len = 0, n_args = 0;
        uint32_t timeout = 0;
        char bundle[PATH_MAX];
        const struct runtime *rt = NULL;
        struct pending_reply *p;
        int r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size);

        (void)fds, (void)reply;
        if (r < 0)
                return r;
        tlv_get_bytes(&msg->fields, BRIG_TAG_EXEC_ARGS, &args, &args_len);
        /* NUL-terminated strings back to back: the last byte is a NUL, and
         * the first argument is not empty. */
        for (size_t i = 0; i < args_len; i++)
                n_args += ((const char *)args)[i] == '\0';
        if (args_len == 0 || ((const char *)args)[args_len - 1] != '\0' ||
            ((const char *)args)[0] == '\0' || n_args > BRIG_HELPER_MAX_EXEC_ARGS) {
                snprintf(reason, reason_size,
                         "CTR_EXEC_SYNC: EXEC_ARGS must be 1 to %d NUL-terminated arguments, the "
                         "first not empty",
                         BRIG_HELPER_MAX_EXEC_ARGS);
                return -EINVAL;
        }
        (void)tlv_get_u32(&msg->fields, BRIG_TAG_TIMEOUT, &timeout);
        if (!container_exists(id)) {
                snprintf(reason, reason_size, "CTR_EXEC_SYNC: container %s does not exist", id);
                return -ENOENT;
        }
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (struct pending_reply){.conn = c,
                                    .serial = c->serial,
                                    .command = BRIG_CMD_CTR_EXEC_SYNC,
                                    .request_id = msg->hdr.request_id};
        snprintf(p->id, sizeof(p->id), "%s", id);
        {
                _cleanup_close_ int dfd = open_container(id);
                if (dfd < 0 || pod_of(dfd, p->pod) < 0 || !(rt = runtime_of(dfd))) {
                        free(p);
                        snprintf(reason, reason_size,
                                 "CTR_EXEC_SYNC: container %s has no pod or runtime on record", id);
                        return -ENOENT;
                }
        }
        snprintf(bundle, sizeof(bundle), "%s/%s", root_path, id);
        /* A timeout past what the monitor's milliseconds hold is none. */
        r = monitors_exec_sync(p->pod, id, bundle, rt->conf->path, rt->root, args, args_len,
                               timeout > UINT32_MAX / 1000 ? 0 : timeout * 1000, exec_answered, p);
        if (r < 0) {
                free(p);
                snprintf(reason, reason_size, "CTR_EXEC_SYNC: container %s: its pod's monitor: %s",
                         id, strerror(-r));
                return r;
        }
        return HANDLER_DEFERRED;
}

static void log_reopened(void *data, int status, const char *error, const struct tlv_fields *reply,
                         int *fds, size_t n_fds)
{
        struct pending_reply *p = data;
        char msg[BRIG_HELPER_MAX_ERROR_MESSAGE];

        (void)reply, (void)fds, (void)n_fds;
        if (status < 0)
                snprintf(msg, sizeof(msg), "container %s: its monitor cannot reopen the log: %s",
                         p->id, error ? error : strerror(-status));
        finish(p, status, status < 0 ? msg : NULL, NULL, 0);
        free(p);
}

int ctr_handle_reopen_log(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                          struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        char rel[PATH_MAX];
        _cleanup_close_ int dfd = -1, log_fd = -1;
        struct pending_reply *p;
        int r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size);

        (void)fds, (void)reply;
        if (r < 0)
                return r;
        dfd = open_container(id);
        if (dfd < 0) {
                snprintf(reason, reason_size, "CTR_REOPEN_LOG: container %s does not exist", id);
                return -ENOENT;
        }
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (struct pending_reply){.conn = c,
                                    .serial = c->serial,
                                    .command = BRIG_CMD_CTR_REOPEN_LOG,
                                    .request_id = msg->hdr.request_id};
        snprintf(p->id, sizeof(p->id), "%s", id);
        /* The place recorded at CTR_CREATE, not one brigd names now. */
        if (pod_of(dfd, p->pod) < 0 || read_small(dfd, "log", rel, sizeof(rel)) < 0 || !rel[0]) {
                free(p);
                snprintf(reason, reason_size, "CTR_REOPEN_LOG: container %s has no log", id);
                return -ENOENT;
        }
        log_fd = open_log("CTR_REOPEN_LOG", rel, reason, reason_size);
        if (log_fd < 0) {
                free(p);
                return log_fd;
        }
        r = monitors_reopen_log(p->pod, id, log_fd, log_reopened, p);
        if (r < 0) {
                free(p);
                snprintf(reason, reason_size, "CTR_REOPEN_LOG: container %s: its pod's monitor: %s",
                         id, strerror(-r));
                return r;
        }
        return HANDLER_DEFERRED;
}

int ctr_handle_update(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                      struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *id = NULL;
        _cleanup_close_ int spec_fd = -1, dfd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *json = NULL;
        _cleanup_(ctrspec_free) struct ctr_spec spec = {0};
        char why[BRIG_HELPER_MAX_ERROR_MESSAGE] = "", path[PATH_MAX];
        size_t len = 0, json_len = 0;
        int r = id_of(msg, BRIG_TAG_CTR_ID, "container", &id, reason, reason_size);

        if (r < 0)
                return r;
        dfd = open_container(id);
        if (dfd < 0) {
                snprintf(reason, reason_size, "CTR_UPDATE: container %s does not exist", id);
                return -ENOENT;
        }
        if (is_busy(id)) {
                snprintf(reason, reason_size,
                         "CTR_UPDATE: container %s is being created or "
                         "removed",
                         id);
                return -EBUSY;
        }
        r = brig_msg_take_fd(msg, fds, BRIG_TAG_CTR_SPEC_FD, &spec_fd);
        if (r == 0)
                r = read_spec(spec_fd, &buf, &len, reason, reason_size);
        if (r < 0)
                return r;
        r = ctrspec_decode_resources(buf, len, &spec, why, sizeof(why));
        if (r == 0)
                r = ocispec_write_resources(&spec, &json, &json_len, why, sizeof(why));
        if (r == 0)
                r = write_json(dfd, "update.json", json, json_len, why, sizeof(why));
        if (r < 0) {
                snprintf(reason, reason_size, "CTR_UPDATE: container %s: %s", id, why);
                return r == -ERANGE ? -EINVAL : r;
        }
        snprintf(path, sizeof(path), "%s/%s/update.json", root_path, id);
        (void)reply;
        return run_runtime(c, msg, id,
                           (const char *const[]){"update", "--resources", path, id, NULL}, reason,
                           reason_size);
}
