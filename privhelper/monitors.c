/* monitors.c: owns the helper's connections to the pods' brig-monitor
 * processes: starting a pod's monitor (its socket under <run_root>/mon, the
 * double fork and exec), finding it again after a helper restart, and the
 * requests sent to it with their callbacks. */
#include "monitors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "cgroups.h"
#include "ctrcheck.h"
#include "dirs.h"
#include "fsutil.h"
#include "hproto.h"
#include "jobs.h"
#include "log.h"
#include "monitor/channel.h"
#include "util.h"

#define MON_DIR "mon"
/* A pod's socket: "/proc/self/fd/<n>/<64 hex>" is far below sun_path's 108
 * bytes whatever run_root is. */
#define MON_SOCKET_PATH_MAX 96

struct pending {
        struct pending *next;
        uint32_t seq;
        monitor_reply_fn done;
        void *data;
};

struct monitor {
        char pod[BRIG_HELPER_MAX_POD_ID];
        int fd;          /* control connection */
        pid_t pid;       /* from its READY */
        pid_t pause_pid; /* from its READY; 0 without a pause process */
        bool ready;      /* its READY came */
        bool leaving;    /* it agreed to SHUTDOWN: its going is no news */
        /* called once, at its READY (or when it goes away first) */
        monitor_ready_fn on_ready;
        void *ready_data;
        /* the monitor's cgroup (cgroups.h), removed after it shut down;
         * read from /proc for one a previous helper started */
        char cgroup[PATH_MAX];
        uint32_t next_seq;
        struct pending *pending;
};

static int mon_fd = -1;
static int monitor_exe = -1;
static struct monitor *mons[MONITORS_MAX];
static const struct monitor_observer *observer;

/* Everything a monitor sends: its READY, replies and EXITED events. */
static const struct brig_field_spec from_monitor[] = {
    {MON_TAG_KIND, BRIG_TLV_U32, 1, 1, 4},
    {MON_TAG_SEQ, BRIG_TLV_U32, 0, 1, 4},
    {MON_TAG_STATUS, BRIG_TLV_U32, 0, 1, 4},
    {MON_TAG_ERROR, BRIG_TLV_STRING, 0, 1, MON_MAX_ERROR},
    {MON_TAG_CTR_ID, BRIG_TLV_STRING, 0, 1, BRIG_HELPER_MAX_POD_ID},
    {MON_TAG_PID, BRIG_TLV_U32, 0, 1, 4},
    {MON_TAG_PAUSE_PID, BRIG_TLV_U32, 0, 1, 4},
    {MON_TAG_WAIT_STATUS, BRIG_TLV_U32, 0, 1, 4},
    {MON_TAG_EXIT_TIME, BRIG_TLV_U64, 0, 1, 8},
    {MON_TAG_CTR_STATE, BRIG_TLV_BYTES, 0, MON_MAX_CONTAINERS, 1024},
    {MON_TAG_TIMED_OUT, BRIG_TLV_U32, 0, 1, 4},
    {MON_TAG_STDOUT_FD, BRIG_TLV_FD, 0, 1, 4},
    {MON_TAG_STDERR_FD, BRIG_TLV_FD, 0, 1, 4},
};

int monitors_init(const char *run_root, const char *path)
{
        _cleanup_close_ int run_fd =
            open(run_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (run_fd < 0)
                return log_error_errno(negative_errno(), "cannot open run_root", "path=%s",
                                       run_root);
        mon_fd = dirs_open_private(run_fd, run_root, MON_DIR);
        if (mon_fd < 0)
                return mon_fd;
        monitor_exe = open(path, O_PATH | O_CLOEXEC);
        if (monitor_exe < 0)
                log_warn_errno(negative_errno(),
                               "cannot open brig-monitor; containers cannot be created", "path=%s",
                               path);
        return 0;
}

void monitors_set_observer(const struct monitor_observer *o)
{
        observer = o;
}

static void socket_path(const char *pod, char buf[static MON_SOCKET_PATH_MAX])
{
        snprintf(buf, MON_SOCKET_PATH_MAX, "/proc/self/fd/%d/%s", mon_fd, pod);
}

static struct monitor *find(const char *pod)
{
        for (size_t i = 0; i < MONITORS_MAX; i++)
                if (mons[i] && strcmp(mons[i]->pod, pod) == 0)
                        return mons[i];
        return NULL;
}

static struct monitor *add(const char *pod, int fd)
{
        for (size_t i = 0; i < MONITORS_MAX; i++) {
                if (mons[i])
                        continue;
                mons[i] = calloc(1, sizeof(*mons[i]));
                if (!mons[i])
                        return NULL;
                snprintf(mons[i]->pod, sizeof(mons[i]->pod), "%s", pod);
                mons[i]->fd = fd;
                mons[i]->next_seq = 1;
                return mons[i];
        }
        return NULL;
}

/* Fails every request still waiting and drops m (the monitor process, if
 * it still runs, is not touched). */
static void drop(struct monitor *m, const char *why)
{
        if (m->on_ready) {
                monitor_ready_fn fn = m->on_ready;
                m->on_ready = NULL;
                fn(m->ready_data, -EPIPE, why, 0);
        }
        while (m->pending) {
                struct pending *p = m->pending;
                m->pending = p->next;
                p->done(p->data, -EPIPE, why, NULL, NULL, 0);
                free(p);
        }
        safe_close(m->fd);
        for (size_t i = 0; i < MONITORS_MAX; i++)
                if (mons[i] == m)
                        mons[i] = NULL;
        free(m);
}

/* Connects to a monitor that already runs for pod (one a previous helper
 * started). Returns the connected fd or a negative errno: -ECONNREFUSED or
 * -ENOENT when nothing listens there. */
static int connect_existing(const char *pod)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        socket_path(pod, sa.sun_path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return negative_errno();
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

/* A bound, listening socket at pod's path (a stale one is replaced). */
static int listen_socket(const char *pod)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        if (unlinkat(mon_fd, pod, 0) < 0 && errno != ENOENT)
                return negative_errno();
        socket_path(pod, sa.sun_path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

/* Starts pod's monitor. Returns it, registered, or NULL with r set. The
 * monitor is a grandchild that the helper never waits for: an
 * intermediate child gives it a session of its own and exits at once, so
 * the monitor belongs to init (or the node's subreaper) from the start and
 * outlives the helper without a zombie ever waiting on it here. */
static struct monitor *spawn(const char *pod, const char *cgroup_parent, bool pause, int *r)
{
        _cleanup_close_ int lfd = -1, devnull = -1, ours = -1, theirs = -1;
        int pair[2], status;
        char name[BRIG_HELPER_MAX_POD_ID];
        char *argv[] = {"brig-monitor", pause ? "--pause" : name, pause ? name : NULL, NULL};
        char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        struct monitor *m;
        pid_t pid;

        if (monitor_exe < 0) {
                *r = -ENOENT;
                return NULL;
        }
        char cgroup[PATH_MAX];

        cgroups_monitor_path(cgroup_parent, pod, cgroup, sizeof(cgroup));
        snprintf(name, sizeof(name), "%s", pod);
        lfd = listen_socket(pod);
        if (lfd < 0) {
                *r = lfd;
                return NULL;
        }
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                *r = negative_errno();
                return NULL;
        }
        ours = pair[0];
        theirs = pair[1];
        pid = fork();
        if (pid < 0) {
                *r = negative_errno();
                return NULL;
        }
        if (pid == 0) {
                sigset_t none;

                /* Unlike a job, the monitor must outlive the helper: no
                 * death signal, the helper's blocked signals released. */
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                signal(SIGCHLD, SIG_DFL);
                if (setsid() < 0)
                        _exit(127);
                pid = fork();
                if (pid != 0)
                        _exit(pid < 0 ? 127 : 0);
                /* Out of the helper's cgroup before it runs anything: see
                 * cgroups.h for why. */
                int cg = cgroups_enter(cgroup, 0);
                if (cg < 0)
                        log_warn_errno(cg, "cannot move the pod monitor into its cgroup",
                                       "pod=%s cgroup=%s", pod, cgroup);
                if (!job_child_place_fds(
                        (const struct job_fd[]){{devnull, 0}, {lfd, 3}, {theirs, 4}}, 3))
                        _exit(127);
                syscall(SYS_execveat, monitor_exe, "", argv, envp, AT_EMPTY_PATH);
                _exit(127);
        }
        /* The intermediate child only forks: this wait is immediate. */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                *r = -ECHILD;
                return NULL;
        }
        if (fcntl(ours, F_SETFL, O_NONBLOCK) < 0) {
                *r = negative_errno();
                return NULL;
        }
        m = add(pod, ours);
        if (!m) {
                *r = -EBUSY;
                return NULL;
        }
        TAKE_FD(ours);
        snprintf(m->cgroup, sizeof(m->cgroup), "%s", cgroup);
        log_info("pod monitor started", "pod=%s cgroup=%s", pod, cgroup);
        return m;
}

/* pod's monitor: the one connected, else one a previous helper started,
 * else (with start) a new one. */
static struct monitor *get(const char *pod, const char *cgroup_parent, bool start, int *r)
{
        struct monitor *m = find(pod);
        int fd;

        if (m)
                return m;
        fd = connect_existing(pod);
        if (fd >= 0) {
                m = add(pod, fd);
                if (!m) {
                        safe_close(fd);
                        *r = -EBUSY;
                        return NULL;
                }
                log_info("reconnected to a pod monitor", "pod=%s", pod);
                return m;
        }
        if (!start) {
                *r = -ENOENT;
                return NULL;
        }
        return spawn(pod, cgroup_parent, false, r);
}

void monitors_reconnect_all(void)
{
        _cleanup_closedir_ DIR *d = mon_fd < 0 ? NULL : opendir_at(mon_fd);
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return;
        while ((de = readdir(d))) {
                int r = 0;

                if (!ctrcheck_id(de->d_name) || find(de->d_name))
                        continue;
                if (get(de->d_name, NULL, false, &r))
                        n++;
                else
                        log_warn_errno(r, "a pod monitor's socket has no monitor behind it",
                                       "pod=%s", de->d_name);
        }
        if (n)
                log_info("reconnected to the pod monitors a previous helper started",
                         "monitors=%zu", n);
}

int monitors_start(const char *pod_id, const char *cgroup_parent, bool pause,
                   monitor_ready_fn ready, void *data)
{
        struct monitor *m = find(pod_id);
        int fd, r = 0;

        /* A monitor left by a create that crashed half-way, or one a
         * previous helper started: used as it is. */
        if (!m && (fd = connect_existing(pod_id)) >= 0) {
                m = add(pod_id, fd);
                if (!m) {
                        safe_close(fd);
                        return -EBUSY;
                }
        }
        if (!m)
                m = spawn(pod_id, cgroup_parent, pause, &r);
        if (!m)
                return r;
        if (m->on_ready)
                return -EBUSY;
        if (m->ready) {
                ready(data, 0, NULL, m->pause_pid);
                return 0;
        }
        m->on_ready = ready;
        m->ready_data = data;
        return 0;
}

static int send_payload(int sock, const struct tlv_writer *w, const int *fds, size_t n_fds)
{
        size_t len;
        int r = tlv_writer_finish(w, &len);

        /* the channel carries at most 2 fds a datagram */
        if (r == 0 && n_fds > 2)
                r = -EINVAL;
        if (r == 0)
                r = brig_payload_send(sock, w->buf, len, fds, n_fds);
        return r == -EAGAIN ? -EBUSY : r;
}

/* Sends the request in w (KIND and SEQ already first) with its callback. */
static int request(struct monitor *m, uint32_t seq, const struct tlv_writer *w, const int *fds,
                   size_t n_fds, monitor_reply_fn done, void *data)
{
        struct pending *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        r = send_payload(m->fd, w, fds, n_fds);
        if (r < 0) {
                free(p);
                return r;
        }
        *p = (struct pending){.next = m->pending, .seq = seq, .done = done, .data = data};
        m->pending = p;
        return 0;
}

/* The pod's monitor (started when start and it has none) and a request of
 * kind for it begun in w over buf: KIND and SEQ first. NULL with *r set
 * when the pod has no monitor to ask. */
static struct monitor *begin(const char *pod, bool start, const char *cgroup_parent, uint32_t kind,
                             struct tlv_writer *w, uint8_t *buf, size_t size, uint32_t *ret_seq,
                             int *r)
{
        struct monitor *m = get(pod, cgroup_parent, start, r);

        if (!m)
                return NULL;
        *ret_seq = m->next_seq++;
        tlv_writer_init(w, buf, size);
        tlv_put_u32(w, MON_TAG_KIND, kind);
        tlv_put_u32(w, MON_TAG_SEQ, *ret_seq);
        return m;
}

int monitors_create(const char *pod_id, const char *cgroup_parent, const char *ctr_id,
                    const char *bundle, const char *runtime, const char *runtime_root,
                    uint32_t flags, int log_fd, monitor_reply_fn done, void *data)
{
        uint8_t buf[4096];
        struct tlv_writer w;
        struct monitor *m;
        uint32_t seq;
        int r = 0;

        m = begin(pod_id, true, cgroup_parent, MON_KIND_CREATE, &w, buf, sizeof(buf), &seq, &r);
        if (!m)
                return log_warn_errno(r, "cannot reach the pod's monitor", "pod=%s", pod_id);
        tlv_put_string(&w, MON_TAG_CTR_ID, ctr_id);
        tlv_put_string(&w, MON_TAG_BUNDLE, bundle);
        tlv_put_string(&w, MON_TAG_RUNTIME, runtime);
        tlv_put_string(&w, MON_TAG_RUNTIME_ROOT, runtime_root);
        tlv_put_u32(&w, MON_TAG_CTR_FLAGS, flags);
        if (log_fd >= 0)
                tlv_put_fd(&w, MON_TAG_LOG_FD, 0);
        return request(m, seq, &w, &log_fd, log_fd >= 0 ? 1 : 0, done, data);
}

static void log_answer(void *data, int status, const char *error, const struct tlv_fields *reply,
                       int *fds, size_t n_fds)
{
        const char *what = data;

        (void)reply, (void)fds, (void)n_fds;
        if (status < 0)
                log_warn_errno(status, "pod monitor refused", "request=%s reason=\"%s\"", what,
                               error ? error : "");
}

int monitors_exec_sync(const char *pod_id, const char *ctr_id, const char *bundle,
                       const char *runtime, const char *runtime_root, const char *args,
                       size_t args_len, uint32_t timeout_ms, monitor_reply_fn done, void *data)
{
        static uint8_t buf[BRIG_HELPER_MAX_PAYLOAD];
        struct tlv_writer w;
        struct monitor *m;
        uint32_t seq;
        int r = 0;

        m = begin(pod_id, false, NULL, MON_KIND_EXEC_SYNC, &w, buf, sizeof(buf), &seq, &r);
        if (!m)
                return r;
        tlv_put_string(&w, MON_TAG_CTR_ID, ctr_id);
        tlv_put_string(&w, MON_TAG_BUNDLE, bundle);
        tlv_put_string(&w, MON_TAG_RUNTIME, runtime);
        tlv_put_string(&w, MON_TAG_RUNTIME_ROOT, runtime_root);
        for (size_t off = 0; off < args_len; off += strlen(args + off) + 1)
                tlv_put_string(&w, MON_TAG_ARG, args + off);
        if (timeout_ms)
                tlv_put_u32(&w, MON_TAG_TIMEOUT_MS, timeout_ms);
        return request(m, seq, &w, NULL, 0, done, data);
}

int monitors_reopen_log(const char *pod_id, const char *ctr_id, int log_fd, monitor_reply_fn done,
                        void *data)
{
        uint8_t buf[256];
        struct tlv_writer w;
        struct monitor *m;
        uint32_t seq;
        int r = 0;

        m = begin(pod_id, false, NULL, MON_KIND_REOPEN_LOG, &w, buf, sizeof(buf), &seq, &r);
        if (!m)
                return r;
        tlv_put_string(&w, MON_TAG_CTR_ID, ctr_id);
        tlv_put_fd(&w, MON_TAG_LOG_FD, 0);
        return request(m, seq, &w, &log_fd, 1, done, data);
}

void monitors_forget(const char *pod_id, const char *ctr_id)
{
        uint8_t buf[256];
        struct tlv_writer w;
        struct monitor *m;
        uint32_t seq;
        int r = 0;

        m = begin(pod_id, false, NULL, MON_KIND_FORGET, &w, buf, sizeof(buf), &seq, &r);
        if (!m)
                return;
        tlv_put_string(&w, MON_TAG_CTR_ID, ctr_id);
        r = request(m, seq, &w, NULL, 0, log_answer, "FORGET");
        if (r < 0)
                log_warn_errno(r, "cannot tell the pod's monitor to forget a container",
                               "pod=%s container=%s", pod_id, ctr_id);
}

/* A job's work: the monitor's cgroup, once the monitor has left it (it
 * exits right after its SHUTDOWN answer). */
static int remove_cgroup(void *arg)
{
        const char *path = arg;

        for (int i = 0; i < 400; i++) {
                if (cgroups_remove(path) == 0)
                        return 0;
                usleep(5 * 1000);
        }
        return 1;
}

static void cgroup_removed(void *data, int status)
{
        if (status != 0)
                log_warn("a pod monitor's cgroup is still busy; left in place", "cgroup=%s",
                         (char *)data);
        free(data);
}

/* SHUTDOWN's answer: the socket and the cgroup go once the monitor agreed
 * to exit. */
static void shutdown_answer(void *data, int status, const char *error,
                            const struct tlv_fields *reply, int *fds, size_t n_fds)
{
        struct monitor *m = data;
        char *cgroup;

        (void)reply, (void)fds, (void)n_fds;
        if (status < 0) {
                log_warn_errno(status, "pod monitor stays: it refused to shut down",
                               "pod=%s reason=\"%s\"", m->pod, error ? error : "");
                return;
        }
        m->leaving = true;
        if (unlinkat(mon_fd, m->pod, 0) < 0 && errno != ENOENT)
                log_warn_errno(negative_errno(), "cannot remove a pod monitor's socket", "pod=%s",
                               m->pod);
        if (!m->cgroup[0] || !(cgroup = strdup(m->cgroup)))
                return;
        if (job_spawn_fn("monitor-cgroup", remove_cgroup, cgroup, cgroup_removed, cgroup) < 0)
                free(cgroup);
}

void monitors_shutdown(const char *pod_id)
{
        uint8_t buf[64];
        struct tlv_writer w;
        struct monitor *m;
        uint32_t seq;
        int r = 0;

        m = begin(pod_id, false, NULL, MON_KIND_SHUTDOWN, &w, buf, sizeof(buf), &seq, &r);
        if (!m)
                return;
        r = request(m, seq, &w, NULL, 0, shutdown_answer, m);
        if (r < 0)
                log_warn_errno(r, "cannot ask the pod's monitor to shut down", "pod=%s", pod_id);
}

static void on_reply(struct monitor *m, const struct tlv_fields *f, int *fds, size_t n_fds)
{
        struct pending **pp = &m->pending;
        uint32_t seq = 0, status = 0;
        const char *error = NULL;

        if (tlv_get_u32(f, MON_TAG_SEQ, &seq) < 0 || tlv_get_u32(f, MON_TAG_STATUS, &status) < 0) {
                log_warn("pod monitor sent a reply without SEQ or STATUS; ignored", "pod=%s",
                         m->pod);
                return;
        }
        while (*pp && (*pp)->seq != seq)
                pp = &(*pp)->next;
        if (!*pp) {
                log_warn("pod monitor answered a request the helper did not send",
                         "pod=%s seq=%" PRIu32, m->pod, seq);
                return;
        }
        struct pending *p = *pp;
        *pp = p->next;
        (void)tlv_get_string(f, MON_TAG_ERROR, &error);
        if (status > BRIG_HELPER_MAX_ERRNO)
                status = EPROTO;
        p->done(p->data, -(int)status, status && !error ? strerror((int)status) : error,
                status ? NULL : f, fds, n_fds);
        free(p);
}

/* The cgroup of a monitor a previous helper started: its v2 path, which
 * the helper gave it in every hierarchy. */
static void read_cgroup(struct monitor *m)
{
        char path[64], *line = NULL;
        size_t cap = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)m->pid);
        f = fopen(path, "re");
        if (!f)
                return;
        while (getline(&line, &cap, f) > 0)
                if (strncmp(line, "0::", 3) == 0 && strstr(line, "/brig-monitor")) {
                        line[strcspn(line, "\n")] = '\0';
                        snprintf(m->cgroup, sizeof(m->cgroup), "%s", line + 3);
                }
        free(line);
        fclose(f);
}

static void on_event(struct monitor *m, const struct tlv_fields *f, int *fds, size_t n_fds)
{
        const char *ctr = "?";
        uint32_t kind = 0, pid = 0, status = 0;
        uint64_t exit_time = 0;

        tlv_get_u32(f, MON_TAG_KIND, &kind);
        switch (kind) {
        case MON_KIND_READY: {
                uint32_t pause = 0;

                tlv_get_u32(f, MON_TAG_PID, &pid);
                (void)tlv_get_u32(f, MON_TAG_PAUSE_PID, &pause);
                m->pid = (pid_t)pid;
                m->pause_pid = (pid_t)pause;
                m->ready = true;
                if (!m->cgroup[0])
                        read_cgroup(m);
                log_debug("pod monitor ready", "pod=%s pid=%" PRIu32 " pause_pid=%" PRIu32, m->pod,
                          pid, pause);
                if (m->on_ready) {
                        monitor_ready_fn fn = m->on_ready;
                        m->on_ready = NULL;
                        fn(m->ready_data, 0, NULL, m->pause_pid);
                }
                break;
        }
        case MON_KIND_EXITED:
                (void)tlv_get_string(f, MON_TAG_CTR_ID, &ctr);
                tlv_get_u32(f, MON_TAG_PID, &pid);
                tlv_get_u32(f, MON_TAG_WAIT_STATUS, &status);
                (void)tlv_get_u64(f, MON_TAG_EXIT_TIME, &exit_time);
                log_info("container exited",
                         "pod=%s container=%s pid=%" PRIu32 " status=0x%" PRIx32, m->pod, ctr, pid,
                         status);
                if (observer && ctrcheck_id(ctr))
                        observer->exited(m->pod, ctr, pid, status, exit_time);
                break;
        case MON_KIND_REPLY:
                on_reply(m, f, fds, n_fds);
                break;
        default:
                log_warn("pod monitor sent a message of an unknown kind; ignored",
                         "pod=%s kind=%" PRIu32, m->pod, kind);
        }
}

/* Drops m, which its monitor ended, and reports it unless it was asked to
 * shut down. */
static void gone(struct monitor *m, const char *why)
{
        char pod[BRIG_HELPER_MAX_POD_ID];
        bool report = !m->leaving;

        snprintf(pod, sizeof(pod), "%s", m->pod);
        drop(m, why);
        if (report && observer)
                observer->gone(pod);
}

/* Reads what m sent. Returns false when m was dropped. */
static bool serve(struct monitor *m)
{
        static uint8_t buf[BRIG_HELPER_RECV_SIZE];
        char reason[BRIG_MSG_REASON_MAX];
        struct tlv_fields f;
        struct brig_recv rv;

        for (;;) {
                ssize_t n = brig_msg_recv(m->fd, buf, sizeof(buf), &rv);
                if (n == -EAGAIN)
                        return true;
                if (n <= 0) {
                        if (n < 0)
                                log_warn_errno((int)n, "pod monitor connection failed", "pod=%s",
                                               m->pod);
                        else
                                log_info("pod monitor closed its connection", "pod=%s", m->pod);
                        gone(m, "the pod's monitor went away");
                        return false;
                }
                if (brig_fields_decode_fds(buf, rv.len, rv.n_fds, from_monitor,
                                           ARRAY_SIZE(from_monitor), "monitor message", &f, reason,
                                           sizeof(reason)) < 0 ||
                    f.items[0].tag != MON_TAG_KIND) {
                        brig_close_fds(rv.fds, rv.n_fds);
                        log_warn("pod monitor sent a malformed message; dropping the connection",
                                 "pod=%s reason=\"%s\"", m->pod, reason);
                        gone(m, "the pod's monitor sent a malformed message");
                        return false;
                }
                on_event(m, &f, rv.fds, rv.n_fds);
                brig_close_fds(rv.fds, rv.n_fds);
        }
}

pid_t monitors_pid(const char *pod_id)
{
        struct monitor *m = find(pod_id);

        return m && m->ready ? m->pid : 0;
}

size_t monitors_fill_pollfds(struct pollfd *pfd, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; i < MONITORS_MAX && n < max; i++)
                if (mons[i])
                        pfd[n++] = (struct pollfd){.fd = mons[i]->fd, .events = POLLIN};
        return n;
}

static struct monitor *owner(int fd)
{
        for (size_t i = 0; i < MONITORS_MAX; i++)
                if (mons[i] && mons[i]->fd == fd)
                        return mons[i];
        return NULL;
}

void monitors_handle(const struct pollfd *pfd, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct monitor *m;

                if (!pfd[i].revents)
                        continue;
                /* Serving an earlier entry may have dropped this monitor:
                 * look it up again. */
                m = owner(pfd[i].fd);
                if (!m)
                        continue;
                serve(m);
        }
}

void monitors_free(void)
{
        for (size_t i = 0; i < MONITORS_MAX; i++)
                if (mons[i])
                        drop(mons[i], "brig-helper is stopping");
        mon_fd = safe_close(mon_fd);
        monitor_exe = safe_close(monitor_exe);
}
