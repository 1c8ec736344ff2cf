/* supervisor.c: owns brigd's process life cycle (start, privilege drop,
 * exec, restart with backoff, giving up, stop), what the service manager is
 * told about it, and brig-helper's poll loop over the signalfd, the
 * restart/stop timer, brigd's channel, the debug socket and the jobs. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "jobs.h"
#include "monitors.h"
#include "layers.h"
#include "log.h"
#include "notify.h"
#include "privdrop.h"
#include "util.h"

#define RESTART_BACKOFF_MIN_MS 250
#define RESTART_BACKOFF_MAX_MS 30000
/* A brigd that ran this long was healthy: its next restart is immediate-ish. */
#define RESTART_RESET_AFTER_S 60
/* How long brigd may take to stop after SIGTERM before it is killed; brigd
 * itself gives in-flight calls a shorter grace (daemon/main.c). */
#define STOP_TIMEOUT_MS 15000
#define MAX_DEBUG_CONNS 8
/* As systemd's default start limit: this many exits of brigd within the
 * interval and brig-helper gives up (exit status 1) instead of looping. */
#define START_LIMIT_BURST      5
#define START_LIMIT_INTERVAL_S 60

struct supervisor {
        const struct supervisor_options *opts;
        int sfd;                       /* signalfd */
        int tfd;                       /* timerfd: restart delay, or the stop deadline */
        int debug_listen;              /* -1 when there is no debug socket */
        struct helper_conn brigd_conn; /* fd -1 while brigd is not running */
        struct helper_conn debug_conns[MAX_DEBUG_CONNS];
        pid_t brigd_pid;
        struct timespec brigd_started;
        unsigned backoff_ms;
        unsigned restarts;
        struct timespec exits[START_LIMIT_BURST]; /* ring of brigd's last exits */
        unsigned n_exits;
        bool restart_pending;
        bool stopping;
        bool killed;
        bool gave_up;
        bool brigd_ready_reported; /* this brigd's READY went to the service manager */
};

static void arm_timer(struct supervisor *s, unsigned ms)
{
        struct itimerspec its = {
            .it_value = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L},
        };
        if (ms == 0)
                its.it_value.tv_nsec = 1; /* 0 would disarm */
        timerfd_settime(s->tfd, 0, &its, NULL);
}

static void disarm_timer(struct supervisor *s)
{
        struct itimerspec its = {0};
        timerfd_settime(s->tfd, 0, &its, NULL);
}

/* brigd gets the effective configuration as TOML on a memfd, so it parses
 * exactly what the helper validated, whatever files and flags made it. */
static int config_memfd(const struct brig_config *config)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        size_t len, done = 0;
        int r;

        r = config_to_string(config, &text);
        if (r < 0)
                return r;
        fd = memfd_create("brig-config", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        len = strlen(text);
        while (done < len) {
                ssize_t n = write(fd, text + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                done += (size_t)n;
        }
        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

/* Runs in the forked child only: never returns. Messages go to the
 * inherited stderr; the exit code tells the parent it failed. */
static void exec_brigd(const struct supervisor_options *opts, int sock, int cfg, pid_t helper)
{
        /* The debug socket is test mode: brigd then serves its test-only RPCs too. */
        char *const argv[] = {"brigd", "--helper-fd",
                              "3",     "--config-fd",
                              "4",     opts->debug_socket ? "--debug-rpcs" : NULL,
                              NULL};
        /* Only what a sanitizer build reads; nothing else is passed on. */
        static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
        char *envp[ARRAY_SIZE(passed) + 2];
        size_t n_env = 0;
        const char *what = NULL;
        sigset_t all;
        int r;

        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);

        envp[n_env++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
        for (size_t i = 0; i < ARRAY_SIZE(passed); i++) {
                char *v = getenv(passed[i]);
                if (v)
                        envp[n_env++] = v - strlen(passed[i]) - 1;
        }
        envp[n_env] = NULL;

        /* Move both fds above the target numbers first so that neither dup2
         * overwrites the other; dup2 clears close-on-exec on 3 and 4. */
        int high_sock = fcntl(sock, F_DUPFD_CLOEXEC, 10);
        int high_cfg = fcntl(cfg, F_DUPFD_CLOEXEC, 10);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (high_sock < 0 || high_cfg < 0 || devnull < 0 || dup2(high_sock, BRIGD_HELPER_FD) < 0 ||
            dup2(high_cfg, BRIGD_CONFIG_FD) < 0 || dup2(devnull, STDIN_FILENO) < 0) {
                log_error_errno(negative_errno(), "cannot set up brigd's file descriptors", NULL);
                _exit(127);
        }
        /* Opened while still root and executed by descriptor after the drop:
         * brigd need not be reachable by the brig user (a build tree under
         * /root, say), and the file checked is the file run. */
        int exe = open(opts->brigd_path, O_PATH | O_CLOEXEC);
        if (exe < 0) {
                log_error_errno(negative_errno(), "cannot open brigd", "path=%s", opts->brigd_path);
                _exit(127);
        }
        /* Everything else the helper holds is closed at exec, not before:
         * exe must survive until then. */
        close_range(BRIGD_CONFIG_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);

        r = privdrop_to(opts->uid, opts->gid, &what);
        if (r < 0) {
                log_error_errno(r, "cannot drop privileges for brigd", "step=\"%s\"", what);
                _exit(127);
        }
        /* Set after the drop: a credential change clears it. If the helper
         * died in between, do not run on unsupervised. SIGKILL, not a
         * graceful stop: without the helper no call in flight can finish,
         * brigd's records are crash-safe, and a brigd lingering for its
         * grace period would hold the image store's lock against the one
         * a restarted helper starts. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != helper)
                _exit(127);
        fexecve(exe, argv, envp);
        log_error_errno(negative_errno(), "cannot execute brigd", "path=%s", opts->brigd_path);
        _exit(127);
}

static int start_brigd(struct supervisor *s)
{
        _cleanup_close_ int cfg = -1;
        int pair[2];
        pid_t helper = getpid(), pid;

        cfg = config_memfd(s->opts->config);
        if (cfg < 0)
                return log_error_errno(cfg, "cannot pass the configuration to brigd", NULL);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(negative_errno(), "cannot create brigd's channel", NULL);

        pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                close(pair[0]);
                close(pair[1]);
                return log_error_errno(r, "cannot fork brigd", NULL);
        }
        if (pid == 0)
                exec_brigd(s->opts, pair[1], cfg, helper);

        close(pair[1]);
        /* A brigd that stops reading must not stall the helper's loop. */
        fcntl(pair[0], F_SETFL, O_NONBLOCK);
        helper_conn_open(&s->brigd_conn, pair[0], "brigd");
        s->brigd_ready_reported = false;
        s->brigd_pid = pid;
        clock_gettime(CLOCK_MONOTONIC, &s->brigd_started);
        log_info("brigd started", "brigd_pid=%d uid=%u gid=%u restarts=%u", (int)pid,
                 (unsigned)s->opts->uid, (unsigned)s->opts->gid, s->restarts);
        return 0;
}

/* Records an exit; true when the start limit is hit. */
static bool start_limit_hit(struct supervisor *s, const struct timespec *now)
{
        const struct timespec *oldest;

        s->exits[s->n_exits % START_LIMIT_BURST] = *now;
        s->n_exits++;
        if (s->n_exits < START_LIMIT_BURST)
                return false;
        oldest = &s->exits[s->n_exits % START_LIMIT_BURST];
        return now->tv_sec - oldest->tv_sec < START_LIMIT_INTERVAL_S;
}

static void on_brigd_exit(struct supervisor *s, int status)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (WIFSIGNALED(status))
                log_warn("brigd exited", "brigd_pid=%d signal=%d", (int)s->brigd_pid,
                         WTERMSIG(status));
        else
                log_info("brigd exited", "brigd_pid=%d status=%d", (int)s->brigd_pid,
                         WEXITSTATUS(status));
        s->brigd_pid = 0;
        helper_conn_close(&s->brigd_conn);
        if (s->stopping)
                return;
        if (start_limit_hit(s, &now)) {
                log_error("brigd exited too often; giving up", "exits=%d interval_s=%d restarts=%u",
                          START_LIMIT_BURST, START_LIMIT_INTERVAL_S, s->restarts);
                notify_send("STATUS=brigd exited too often; brig-helper gave up");
                s->gave_up = true;
                s->stopping = true;
                return;
        }
        notify_send("STATUS=brigd exited; restarting it");

        if (now.tv_sec - s->brigd_started.tv_sec >= RESTART_RESET_AFTER_S)
                s->backoff_ms = RESTART_BACKOFF_MIN_MS;
        log_warn("restarting brigd after backoff", "backoff_ms=%u restarts=%u", s->backoff_ms,
                 s->restarts + 1);
        arm_timer(s, s->backoff_ms);
        s->restart_pending = true;
        s->backoff_ms =
            s->backoff_ms * 2 > RESTART_BACKOFF_MAX_MS ? RESTART_BACKOFF_MAX_MS : s->backoff_ms * 2;
}

/* Only brigd: jobs are reaped through their pidfds (jobs.c). */
static void reap(struct supervisor *s)
{
        int status;

        if (s->brigd_pid > 0 && waitpid(s->brigd_pid, &status, WNOHANG) == s->brigd_pid)
                on_brigd_exit(s, status);
}

static void begin_stop(struct supervisor *s, int sig)
{
        if (s->stopping)
                return;
        log_info("stopping", "signal=%d", sig);
        s->stopping = true;
        s->restart_pending = false;
        disarm_timer(s);
        if (s->brigd_pid > 0) {
                kill(s->brigd_pid, SIGTERM);
                arm_timer(s, STOP_TIMEOUT_MS);
        }
}

static void on_timer(struct supervisor *s)
{
        uint64_t expirations;

        if (read(s->tfd, &expirations, sizeof(expirations)) < 0)
                return;
        if (s->stopping) {
                if (s->brigd_pid > 0 && !s->killed) {
                        log_warn("brigd did not stop in time; killing it",
                                 "brigd_pid=%d timeout_ms=%d", (int)s->brigd_pid, STOP_TIMEOUT_MS);
                        kill(s->brigd_pid, SIGKILL);
                        s->killed = true;
                }
                return;
        }
        if (s->restart_pending) {
                s->restart_pending = false;
                s->restarts++;
                if (start_brigd(s) < 0) {
                        s->restart_pending = true;
                        arm_timer(s, s->backoff_ms);
                }
        }
}

static int on_signal(struct supervisor *s)
{
        struct signalfd_siginfo si;

        if (read(s->sfd, &si, sizeof(si)) != sizeof(si))
                return 0;
        switch (si.ssi_signo) {
        case SIGCHLD:
                reap(s);
                break;
        case SIGTERM:
        case SIGINT:
        case SIGHUP: /* the terminal of `make run` went away: stop, and clean up */
                begin_stop(s, (int)si.ssi_signo);
                break;
        default:
                break;
        }
        return 0;
}

/* The debug socket is for tests and operators: the helper protocol without
 * brigd in between. Root only: 0600 and checked again with SO_PEERCRED. */
static int open_debug_socket(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;
        mode_t old_umask;
        int r;

        struct stat st;

        if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(-EINVAL,
                                       "debug socket path must be absolute and at most 107 bytes",
                                       "path=%s", path);
        /* Only a stale socket is replaced: never a file someone else needs. */
        if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
                return log_error_errno(-EEXIST, "debug socket path exists and is not a socket",
                                       "path=%s", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(negative_errno(), "cannot create the debug socket", NULL);
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(negative_errno(), "cannot remove a stale debug socket",
                                       "path=%s", path);
        old_umask = umask(0177);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old_umask);
        if (r < 0)
                return log_error_errno(negative_errno(), "cannot bind the debug socket", "path=%s",
                                       path);
        if (listen(fd, MAX_DEBUG_CONNS) < 0)
                return log_error_errno(negative_errno(), "cannot listen on the debug socket",
                                       "path=%s", path);
        log_info("debug socket open", "path=%s", path);
        return TAKE_FD(fd);
}

static void accept_debug(struct supervisor *s)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);
        _cleanup_close_ int fd = accept4(s->debug_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0)
                return;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                log_warn("debug connection refused: peer is not root", "uid=%d",
                         len == sizeof(cred) ? (int)cred.uid : -1);
                return;
        }
        for (size_t i = 0; i < MAX_DEBUG_CONNS; i++) {
                if (s->debug_conns[i].fd < 0) {
                        helper_conn_open(&s->debug_conns[i], TAKE_FD(fd), "debug");
                        log_debug("debug connection accepted", "peer_pid=%d", (int)cred.pid);
                        return;
                }
        }
        log_warn("debug connection refused: too many open", "max=%d", MAX_DEBUG_CONNS);
}

/* Serves what is waiting on c; drops the connection when the peer closed or
 * the socket failed. A dropped brigd channel means brigd cannot do its
 * work: it is stopped, and restarted by the exit path. */
static void serve_conn(struct supervisor *s, struct helper_conn *c, short revents)
{
        int r = 1;

        if (revents & POLLOUT)
                r = helper_conn_flush(c) < 0 ? -EPIPE : 1;
        if (r >= 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
                r = helper_conn_serve_one(c);
        if (c == &s->brigd_conn && c->ready && !s->brigd_ready_reported) {
                s->brigd_ready_reported = true;
                notify_send(s->restarts == 0 ? "READY=1\nSTATUS=brigd serves CRI"
                                             : "READY=1\nSTATUS=brigd serves CRI again after a "
                                               "restart");
        }
        if (r > 0 || r == -EAGAIN)
                return;
        if (r < 0)
                log_warn_errno(r, "helper connection failed", "conn=%s", c->label);
        helper_conn_close(c);
        if (c == &s->brigd_conn && s->brigd_pid > 0 && !s->stopping) {
                log_warn("brigd closed its helper channel; stopping it", "brigd_pid=%d",
                         (int)s->brigd_pid);
                kill(s->brigd_pid, SIGTERM);
        }
}

enum {
        POLL_SIGNAL,
        POLL_TIMER,
        POLL_BRIGD,
        POLL_DEBUG_LISTEN,
        POLL_DEBUG_CONNS,
        POLL_JOBS = POLL_DEBUG_CONNS + MAX_DEBUG_CONNS,
        POLL_MONITORS = POLL_JOBS + JOBS_MAX,
        POLL_COUNT = POLL_MONITORS + MONITORS_MAX,
};

static struct pollfd conn_pollfd(const struct helper_conn *c)
{
        return (struct pollfd){.fd = c->fd,
                               .events = POLLIN | (helper_conn_wants_write(c) ? POLLOUT : 0)};
}

/* Returns 0 after a clean stop, -ECHILD when brigd exited too often, or
 * -errno when poll() itself fails: then brigd is killed and reaped, since
 * nothing could supervise it any more. */
static int poll_loop(struct supervisor *s)
{
        struct pollfd pfd[POLL_COUNT];
        size_t n_jobs, n_monitors;

        layers_cleanup_leftovers();
        while (!(s->stopping && s->brigd_pid == 0)) {
                pfd[POLL_SIGNAL] = (struct pollfd){.fd = s->sfd, .events = POLLIN};
                pfd[POLL_TIMER] = (struct pollfd){.fd = s->tfd, .events = POLLIN};
                pfd[POLL_BRIGD] = conn_pollfd(&s->brigd_conn);
                pfd[POLL_DEBUG_LISTEN] = (struct pollfd){.fd = s->debug_listen, .events = POLLIN};
                for (size_t i = 0; i < MAX_DEBUG_CONNS; i++)
                        pfd[POLL_DEBUG_CONNS + i] = conn_pollfd(&s->debug_conns[i]);
                n_jobs = jobs_fill_pollfds(pfd + POLL_JOBS, JOBS_MAX);
                /* Monitors after the jobs, packed behind them. */
                n_monitors = monitors_fill_pollfds(pfd + POLL_JOBS + n_jobs, MONITORS_MAX);

                if (poll(pfd, POLL_JOBS + n_jobs + n_monitors, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = log_error_errno(negative_errno(),
                                                "poll failed; killing brigd and exiting", NULL);
                        if (s->brigd_pid > 0) {
                                kill(s->brigd_pid, SIGKILL);
                                waitpid(s->brigd_pid, NULL, 0);
                                s->brigd_pid = 0;
                                s->killed = true;
                        }
                        return r;
                }
                if (pfd[POLL_SIGNAL].revents)
                        on_signal(s);
                if (pfd[POLL_TIMER].revents)
                        on_timer(s);
                /* Jobs before connections: a finished job's reply goes out
                 * before the next request is read. */
                jobs_handle(pfd + POLL_JOBS, n_jobs);
                monitors_handle(pfd + POLL_JOBS + n_jobs, n_monitors);
                /* POLLHUP with data still queued: serve first, the read sees EOF after. */
                if (pfd[POLL_BRIGD].revents && s->brigd_conn.fd == pfd[POLL_BRIGD].fd)
                        serve_conn(s, &s->brigd_conn, pfd[POLL_BRIGD].revents);
                if (pfd[POLL_DEBUG_LISTEN].revents)
                        accept_debug(s);
                for (size_t i = 0; i < MAX_DEBUG_CONNS; i++)
                        if (pfd[POLL_DEBUG_CONNS + i].revents &&
                            s->debug_conns[i].fd == pfd[POLL_DEBUG_CONNS + i].fd)
                                serve_conn(s, &s->debug_conns[i],
                                           pfd[POLL_DEBUG_CONNS + i].revents);
        }
        return s->gave_up ? -ECHILD : 0;
}

int supervisor_run(const struct supervisor_options *opts)
{
        struct supervisor s = {
            .opts = opts,
            .sfd = -1,
            .tfd = -1,
            .debug_listen = -1,
            .brigd_conn = {.fd = -1, .label = "brigd"},
            .backoff_ms = RESTART_BACKOFF_MIN_MS,
        };
        sigset_t mask;
        int r;

        for (size_t i = 0; i < MAX_DEBUG_CONNS; i++)
                s.debug_conns[i].fd = -1;
        notify_init();

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* Replies use MSG_NOSIGNAL; this covers every other write. */
        signal(SIGPIPE, SIG_IGN);

        s.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (s.sfd < 0 || s.tfd < 0) {
                r = log_error_errno(negative_errno(), "cannot create the signal or timer fd", NULL);
                goto out;
        }
        if (opts->debug_socket) {
                s.debug_listen = open_debug_socket(opts->debug_socket);
                if (s.debug_listen < 0) {
                        r = s.debug_listen;
                        goto out;
                }
        }
        r = start_brigd(&s);
        if (r < 0)
                goto out;

        r = poll_loop(&s);
        notify_send("STOPPING=1");
        jobs_kill_all();
        /* A brigd that had to be killed left its socket behind. */
        if (s.killed && unlink(opts->config->listen + strlen("unix://")) < 0 && errno != ENOENT)
                log_warn_errno(negative_errno(), "cannot remove brigd's socket", "listen=%s",
                               opts->config->listen);
        if (r == 0)
                log_info("brig-helper stopped", "restarts=%u", s.restarts);
out:
        for (size_t i = 0; i < MAX_DEBUG_CONNS; i++)
                helper_conn_close(&s.debug_conns[i]);
        helper_conn_close(&s.brigd_conn);
        if (s.debug_listen >= 0)
                unlink(opts->debug_socket);
        safe_close(s.debug_listen);
        safe_close(s.tfd);
        safe_close(s.sfd);
        return r;
}
