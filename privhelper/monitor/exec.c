/* exec.c: owns one EXEC_SYNC: the pipes and memfds of `<runtime> exec`,
 * the reading of its output, its timeout and the pid file it leaves in
 * the bundle (exec.h). */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "log.h"
#include "privhelper/monitor/channel.h"
#include "privhelper/monitor/runtime.h"
#include "util.h"

/* How often, and how far apart, the pid file is looked for at the
 * timeout before the runtime alone is killed: the runtime writes it right
 * after the process started, and killing the runtime before then could
 * leave the process running. */
#define KILL_TRIES    20
#define KILL_RETRY_NS (50 * 1000000ull)
/* Most bytes moved from a pipe into a memfd at once. */
#define SPLICE_MAX (1024 * 1024)
/* Bytes read and dropped at once past MON_EXEC_OUTPUT_MAX. */
#define DROP_SIZE 16384

static const char *const stream_names[EXEC_N_STREAMS] = {"stdout", "stderr"};

void exec_free(struct exec *e)
{
        if (!e)
                return;
        for (int i = 0; i < EXEC_N_STREAMS; i++) {
                safe_close(e->pipe[i]);
                safe_close(e->out[i]);
        }
        safe_close(e->dir_fd);
        free(e);
}

static int set_nonblock(int fd)
{
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();
        return 0;
}

/* The memfd and the pipe of one stream: the read end is the monitor's,
 * *ret_w the child's. */
static int open_stream(struct exec *e, enum exec_stream i, int *ret_w)
{
        int p[2];

        e->out[i] = memfd_create(stream_names[i], MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (e->out[i] < 0)
                return negative_errno();
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        e->pipe[i] = p[0];
        *ret_w = p[1];
        return set_nonblock(p[0]);
}

static int open_stdio(struct exec *e, int fds[3])
{
        int r;

        fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fds[0] < 0)
                return negative_errno();
        r = open_stream(e, EXEC_STDOUT, &fds[1]);
        if (r == 0)
                r = open_stream(e, EXEC_STDERR, &fds[2]);
        return r;
}

int exec_start(const struct mon_request *q, unsigned n, uint64_t now, struct exec **ret, char *err,
               size_t err_size)
{
        int fds[3] = {-1, -1, -1};
        struct exec *e = calloc(1, sizeof(*e));
        int r;

        if (!e) {
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        snprintf(e->ctr_id, sizeof(e->ctr_id), "%s", q->ctr_id);
        e->n = n;
        for (int i = 0; i < EXEC_N_STREAMS; i++)
                e->pipe[i] = e->out[i] = -1;
        e->dir_fd = open(q->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (e->dir_fd < 0) {
                r = negative_errno();
                snprintf(err, err_size, "opening the bundle %s failed: %s", q->bundle,
                         strerror(-r));
                goto fail;
        }
        /* A pid file left by an earlier monitor must not be read at the
         * timeout as this exec's process. */
        r = runtime_unlink_exec_pid(e->dir_fd, n);
        if (r == 0)
                r = open_stdio(e, fds);
        if (r < 0) {
                snprintf(err, err_size, "setting up the exec's stdio failed: %s", strerror(-r));
                goto fail;
        }
        struct runtime_exec rx = {
            .runtime = q->runtime,
            .root = q->runtime_root,
            .bundle = q->bundle,
            .ctr_id = q->ctr_id,
            .n = n,
            .args = q->args,
            .n_args = q->n_args,
            .stdio = {fds[0], fds[1], fds[2]},
        };
        r = runtime_spawn_exec(&rx, &e->runtime_pid);
        if (r < 0) {
                snprintf(err, err_size, "starting the runtime failed: %s", strerror(-r));
                r = -EIO;
                goto fail;
        }
        for (int i = 0; i < 3; i++)
                safe_close(fds[i]);
        if (q->timeout_ms)
                e->deadline = now + q->timeout_ms * 1000000ull;
        log_info("runtime exec started", "ctr=%s exec=%u runtime_pid=%d timeout_ms=%u", e->ctr_id,
                 n, (int)e->runtime_pid, q->timeout_ms);
        *ret = e;
        return 0;
fail:
        log_warn_errno(r, "exec failed", "ctr=%s reason=\"%s\"", e->ctr_id, err);
        for (int i = 0; i < 3; i++)
                safe_close(fds[i]);
        exec_free(e);
        return r;
}

static void close_stream(struct exec *e, enum exec_stream i)
{
        e->pipe[i] = safe_close(e->pipe[i]);
}

/* Moves what the pipe holds into the memfd. Returns the bytes moved, 0
 * at EOF or a negative errno. */
static ssize_t keep(struct exec *e, enum exec_stream i)
{
        size_t room = MON_EXEC_OUTPUT_MAX - e->kept[i];
        ssize_t n;

        /* Straight from the pipe into the memfd: no copy held here. */
        do
                n = splice(e->pipe[i], NULL, e->out[i], NULL, room < SPLICE_MAX ? room : SPLICE_MAX,
                           SPLICE_F_NONBLOCK);
        while (n < 0 && errno == EINTR);
        if (n >= 0) {
                e->kept[i] += (size_t)n;
                return n;
        }
        if (errno == EAGAIN)
                return -EAGAIN;
        /* Either end may have failed (the memfd's memory limit, say): drop
         * from now on, and a pipe error shows in the next read(). */
        log_warn_errno(negative_errno(), "keeping exec output failed", "ctr=%s exec=%u stream=%s",
                       e->ctr_id, e->n, stream_names[i]);
        e->kept[i] = MON_EXEC_OUTPUT_MAX;
        return 1;
}

static ssize_t drop(struct exec *e, enum exec_stream i)
{
        char buf[DROP_SIZE];
        ssize_t n;

        do
                n = read(e->pipe[i], buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        return n < 0 ? negative_errno() : n;
}

void exec_read(struct exec *e, enum exec_stream i)
{
        ssize_t n;

        if (e->pipe[i] < 0)
                return;
        n = e->kept[i] < MON_EXEC_OUTPUT_MAX ? keep(e, i) : drop(e, i);
        if (n > 0 || n == -EAGAIN)
                return;
        if (n < 0)
                log_warn_errno((int)n, "reading exec output failed", "ctr=%s exec=%u stream=%s",
                               e->ctr_id, e->n, stream_names[i]);
        close_stream(e, i);
}

void exec_runtime_done(struct exec *e, int wait_status, uint64_t now)
{
        e->runtime_pid = 0;
        e->wait_status = wait_status;
        /* A process the exec left behind may hold the pipes: they are
         * read for MON_EXEC_DRAIN_MS more at most. */
        e->deadline = exec_done(e) ? 0 : now + MON_EXEC_DRAIN_MS * 1000000ull;
}

uint64_t exec_deadline(const struct exec *e)
{
        return e->deadline;
}

/* SIGKILL through a pidfd: once it is open, a pid reused since cannot be
 * hit. */
static int kill_pid(pid_t pid)
{
        _cleanup_close_ int fd = pidfd_open(pid, 0);

        if (fd < 0 || pidfd_send_signal(fd, SIGKILL, NULL, 0) < 0)
                return negative_errno();
        return 0;
}

static void kill_at_timeout(struct exec *e, uint64_t now)
{
        pid_t pid;
        int r = runtime_read_exec_pid(e->dir_fd, e->n, &pid);

        e->timed_out = true;
        e->deadline = 0;
        if (r == -ENOENT && ++e->kill_tries < KILL_TRIES) {
                e->deadline = now + KILL_RETRY_NS;
                return;
        }
        if (r == 0) {
                r = kill_pid(pid);
                if (r < 0 && r != -ESRCH)
                        log_warn_errno(r, "killing the exec'd process failed",
                                       "ctr=%s exec=%u pid=%d", e->ctr_id, e->n, (int)pid);
        } else {
                log_warn_errno(r, "no pid file at the exec's timeout; killing the runtime only",
                               "ctr=%s exec=%u", e->ctr_id, e->n);
        }
        /* Not reaped yet, so the pid is still the runtime's. Killed too in
         * case the pid file named no process of this exec. */
        kill(e->runtime_pid, SIGKILL);
        log_info("exec timed out and killed", "ctr=%s exec=%u", e->ctr_id, e->n);
}

void exec_expire(struct exec *e, uint64_t now)
{
        if (e->runtime_pid > 0) {
                kill_at_timeout(e, now);
                return;
        }
        log_debug("exec output still held open after the drain; closing it", "ctr=%s exec=%u",
                  e->ctr_id, e->n);
        for (int i = 0; i < EXEC_N_STREAMS; i++)
                close_stream(e, (enum exec_stream)i);
        e->deadline = 0;
}

bool exec_done(const struct exec *e)
{
        return e->runtime_pid == 0 && e->pipe[EXEC_STDOUT] < 0 && e->pipe[EXEC_STDERR] < 0;
}

int exec_finish(struct exec *e, int fds[EXEC_N_STREAMS])
{
        /* Before the reply, so its reader finds the bundle as it was. */
        int r = runtime_unlink_exec_pid(e->dir_fd, e->n);

        if (r < 0)
                log_warn_errno(r, "removing the exec's pid file failed", "ctr=%s exec=%u",
                               e->ctr_id, e->n);
        for (int i = 0; i < EXEC_N_STREAMS; i++) {
                if (lseek(e->out[i], 0, SEEK_SET) < 0 ||
                    fcntl(e->out[i], F_ADD_SEALS,
                          F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
                        return log_warn_errno(negative_errno(), "sealing exec output failed",
                                              "ctr=%s exec=%u", e->ctr_id, e->n);
        }
        for (int i = 0; i < EXEC_N_STREAMS; i++)
                fds[i] = TAKE_FD(e->out[i]);
        return 0;
}
