/* exec.c: owns one EXEC_SYNC: the pipes and memfds of `<runtime> exec -d`,
 * the reading of its output, the files the runtime leaves in the bundle,
 * the process's end and its timeout (exec.h). */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "privhelper/monitor/channel.h"
#include "privhelper/monitor/runtime.h"
#include "util.h"

/* How long the runtime may still run after the timeout before it is
 * killed: it names the process only when it exits, and killing it sooner
 * could leave a process started that nobody knows of. */
#define RUNTIME_GRACE_NS (1000 * 1000000ull)
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
        /* Files left by an earlier monitor must not be read as this exec's:
         * a stale pid would name another process, a stale log another
         * error. */
        r = runtime_unlink_exec_files(e->dir_fd, n);
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

/* Whether pid is a child of the monitor not reaped yet, running or a
 * zombie: only then is it surely the process the pid file named.
 * WNOWAIT leaves a zombie to the reap loop. */
static bool unreaped_child(pid_t pid)
{
        siginfo_t si;

        return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* Only while the process is unreaped: its pid is still its own. */
static void kill_process(struct exec *e)
{
        if (kill(e->pid, SIGKILL) < 0)
                log_warn_errno(negative_errno(), "killing the exec's process failed",
                               "ctr=%s exec=%u pid=%d", e->ctr_id, e->n, (int)e->pid);
        else
                log_info("exec timed out; its process killed", "ctr=%s exec=%u pid=%d", e->ctr_id,
                         e->n, (int)e->pid);
}

int exec_runtime_done(struct exec *e, int wait_status, char *err, size_t err_size)
{
        pid_t pid = 0;
        int r = runtime_read_exec_pid(e->dir_fd, e->n, &pid);

        e->runtime_pid = 0;
        if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
                runtime_exec_error(e->dir_fd, e->n, wait_status, err, err_size);
                /* A runtime killed past its grace may have started the
                 * process already: none may run that no reply covers. */
                if (r == 0 && unreaped_child(pid))
                        kill(pid, SIGKILL);
                r = -EIO;
        } else if (r < 0) {
                snprintf(err, err_size, "reading the runtime's exec pid file failed: %s",
                         strerror(-r));
                r = -EIO;
        }
        int u = runtime_unlink_exec_files(e->dir_fd, e->n);
        if (u < 0)
                log_warn_errno(u, "removing the exec's pid and log files failed", "ctr=%s exec=%u",
                               e->ctr_id, e->n);
        if (r < 0) {
                log_warn("runtime exec failed", "ctr=%s exec=%u status=0x%x error=\"%s\"",
                         e->ctr_id, e->n, wait_status, err);
                return r;
        }
        e->pid = pid;
        log_info("exec's process started", "ctr=%s exec=%u pid=%d", e->ctr_id, e->n, (int)pid);
        if (!unreaped_child(pid))
                return -ECHILD;
        if (e->timed_out) {
                kill_process(e);
                e->deadline = 0;
        }
        return 0;
}

void exec_process_done(struct exec *e, int wait_status, uint64_t now)
{
        e->reaped = true;
        e->wait_status = wait_status;
        /* A process it left behind may hold the pipes: they are read for
         * MON_EXEC_DRAIN_MS more at most. */
        e->deadline = exec_done(e) ? 0 : now + MON_EXEC_DRAIN_MS * 1000000ull;
}

uint64_t exec_deadline(const struct exec *e)
{
        return e->deadline;
}

void exec_expire(struct exec *e, uint64_t now)
{
        e->deadline = 0;
        if (e->reaped) {
                log_debug("exec output still held open after the drain; closing it",
                          "ctr=%s exec=%u", e->ctr_id, e->n);
                for (int i = 0; i < EXEC_N_STREAMS; i++)
                        close_stream(e, (enum exec_stream)i);
                return;
        }
        if (e->timed_out) {
                /* Only the runtime's grace has a deadline after the timeout;
                 * not reaped yet, the runtime's pid is still its own. */
                log_warn("the runtime's exec still runs after the timeout; killing it",
                         "ctr=%s exec=%u", e->ctr_id, e->n);
                kill(e->runtime_pid, SIGKILL);
                return;
        }
        e->timed_out = true;
        if (e->runtime_pid > 0) {
                /* exec_runtime_done() kills the process once the runtime
                 * has named it. */
                log_info("exec timed out before its runtime ended", "ctr=%s exec=%u", e->ctr_id,
                         e->n);
                e->deadline = now + RUNTIME_GRACE_NS;
                return;
        }
        kill_process(e);
}

bool exec_done(const struct exec *e)
{
        return e->reaped && e->pipe[EXEC_STDOUT] < 0 && e->pipe[EXEC_STDERR] < 0;
}

int exec_finish(struct exec *e, int fds[EXEC_N_STREAMS])
{
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
