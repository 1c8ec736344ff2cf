/* ctr.c: owns a container's resources and phases: the pipes and console
 * of its create, the reading of its output into the CRI log, and its exit
 * record in the bundle (ctr.h). */
#include "ctr.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ctrspec.h"
#include "log.h"
#include "privhelper/monitor/channel.h"
#include "privhelper/monitor/console.h"
#include "privhelper/monitor/runtime.h"
#include "util.h"

/* Reads per stream when a container's init exits: 1 MiB at most, so a
 * process that keeps writing cannot hold the loop. */
#define DRAIN_READS 64

static const char *const stream_names[CTR_N_STREAMS] = {"stdout", "stderr"};
/* One buffer for every read: its text is cut into records at once. */
static char read_buf[MON_LOG_LINE_MAX];

static struct ctr *ctr_new(const struct mon_request *q)
{
        struct ctr *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        snprintf(c->id, sizeof(c->id), "%s", q->ctr_id);
        c->dir_fd = c->stdin_fd = c->console_fd = c->console_conn = -1;
        c->sink.fd = -1;
        c->sink.ctr_id = c->id;
        for (int i = 0; i < CTR_N_STREAMS; i++)
                c->out[i].fd = -1;
        c->flags = q->flags;
        c->bundle = strdup(q->bundle);
        if (!c->bundle) {
                free(c);
                return NULL;
        }
        return c;
}

void ctr_free(struct ctr *c)
{
        if (!c)
                return;
        for (int i = 0; i < CTR_N_STREAMS; i++) {
                crilog_flush(&c->out[i].s, &c->sink);
                safe_close(c->out[i].fd);
                crilog_stream_free(&c->out[i].s);
        }
        if (c->console_fd >= 0)
                console_unlink(c->dir_fd);
        safe_close(c->console_fd);
        safe_close(c->console_conn);
        safe_close(c->stdin_fd);
        safe_close(c->sink.fd);
        safe_close(c->dir_fd);
        free(c->bundle);
        free(c);
}

static int set_nonblock(int fd)
{
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();
        return 0;
}

/* Makes the pipe of one output stream: the read end is the monitor's,
 * *ret_w the child's. */
static int open_stream(struct ctr *c, enum ctr_stream i, int *ret_w)
{
        int p[2];
        int r = crilog_stream_init(&c->out[i].s, stream_names[i], MON_LOG_LINE_MAX);

        if (r < 0)
                return r;
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        c->out[i].fd = p[0];
        *ret_w = p[1];
        return set_nonblock(p[0]);
}

/* The child's end of each stdio fd, closed by the caller after the spawn. */
struct child_fds {
        int fd[3];
};

static void close_child_fds(struct child_fds *f)
{
        for (int i = 0; i < 3; i++)
                f->fd[i] = safe_close(f->fd[i]);
}

static int open_null(int *ret)
{
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        *ret = fd;
        return 0;
}

static int setup_stdio(struct ctr *c, struct child_fds *f)
{
        int r;

        if (c->flags & CTR_F_TTY) {
                /* The runtime gives the container the pty; its own stdio is
                 * not the container's. */
                r = crilog_stream_init(&c->out[CTR_STDOUT].s, stream_names[CTR_STDOUT],
                                       MON_LOG_LINE_MAX);
                for (int i = 0; r == 0 && i < 3; i++)
                        r = open_null(&f->fd[i]);
                return r;
        }
        if (c->flags & CTR_F_STDIN) {
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0)
                        return negative_errno();
                f->fd[0] = p[0];
                c->stdin_fd = p[1];
        } else {
                r = open_null(&f->fd[0]);
                if (r < 0)
                        return r;
        }
        r = open_stream(c, CTR_STDOUT, &f->fd[1]);
        if (r == 0)
                r = open_stream(c, CTR_STDERR, &f->fd[2]);
        return r;
}

int ctr_create(const struct mon_request *q, int log_fd, struct ctr **ret, char *err,
               size_t err_size)
{
        _cleanup_close_ int log = log_fd;
        struct child_fds f = {{-1, -1, -1}};
        char console_path[128];
        struct ctr *c;
        int r;

        c = ctr_new(q);
        if (!c) {
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        c->sink.fd = TAKE_FD(log);
        c->dir_fd = open(c->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (c->dir_fd < 0) {
                r = negative_errno();
                snprintf(err, err_size, "opening the bundle %s failed: %s", c->bundle,
                         strerror(-r));
                goto fail;
        }
        r = setup_stdio(c, &f);
        if (r < 0) {
                snprintf(err, err_size, "setting up the container's stdio failed: %s",
                         strerror(-r));
                goto fail;
        }
        if (c->flags & CTR_F_TTY) {
                r = console_listen(c->dir_fd, c->bundle, &c->console_fd, console_path,
                                   sizeof(console_path));
                if (r < 0) {
                        snprintf(err, err_size, "creating the console socket failed: %s",
                                 strerror(-r));
                        goto fail;
                }
        }
        c->log_start = runtime_log_size(c->dir_fd);
        struct runtime_create rc = {
            .runtime = q->runtime,
            .root = q->runtime_root,
            .bundle = c->bundle,
            .ctr_id = c->id,
            .console_socket = (c->flags & CTR_F_TTY) ? console_path : NULL,
            .stdio = {f.fd[0], f.fd[1], f.fd[2]},
        };
        r = runtime_spawn(&rc, &c->runtime_pid);
        close_child_fds(&f);
        if (r < 0) {
                snprintf(err, err_size, "starting the runtime failed: %s", strerror(-r));
                goto fail;
        }
        log_info("runtime create started", "ctr=%s runtime_pid=%d tty=%d stdin=%d", c->id,
                 (int)c->runtime_pid, !!(c->flags & CTR_F_TTY), !!(c->flags & CTR_F_STDIN));
        *ret = c;
        return 0;
fail:
        log_warn_errno(r, "create failed", "ctr=%s reason=\"%s\"", c->id, err);
        close_child_fds(&f);
        ctr_free(c);
        return r;
}

static void close_console(struct ctr *c)
{
        if (c->console_fd >= 0)
                console_unlink(c->dir_fd);
        c->console_fd = safe_close(c->console_fd);
        c->console_conn = safe_close(c->console_conn);
}

void ctr_console_event(struct ctr *c)
{
        int master, r;

        if (c->console_conn < 0) {
                c->console_conn = accept4(c->console_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (c->console_conn < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                log_warn_errno(negative_errno(),
                                               "accepting on the console socket failed", "ctr=%s",
                                               c->id);
                        return;
                }
        }
        r = console_receive(c->console_conn, &master);
        if (r == -EAGAIN)
                return;
        if (r < 0) {
                /* The runtime's create fails without its console: the
                 * reply reports it. */
                log_warn_errno(r, "receiving the pty master failed", "ctr=%s", c->id);
                c->console_conn = safe_close(c->console_conn);
                return;
        }
        c->out[CTR_STDOUT].fd = master;
        close_console(c);
        log_debug("pty master received", "ctr=%s", c->id);
}

int ctr_runtime_done(struct ctr *c, int wait_status, char *err, size_t err_size)
{
        int r;

        c->runtime_pid = 0;
        if ((c->flags & CTR_F_TTY) && c->out[CTR_STDOUT].fd < 0 && c->console_fd >= 0)
                ctr_console_event(c);
        close_console(c);
        if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
                runtime_error(c->dir_fd, c->log_start, wait_status, err, err_size);
                r = -EIO;
        } else if ((c->flags & CTR_F_TTY) && c->out[CTR_STDOUT].fd < 0) {
                snprintf(err, err_size, "the runtime sent no pty master");
                r = -EPROTO;
        } else {
                r = runtime_read_pid(c->dir_fd, &c->pid);
                if (r < 0)
                        snprintf(err, err_size, "reading the runtime's pid file failed: %s",
                                 strerror(-r));
        }
        if (r < 0) {
                /* What the runtime printed may explain the failure. */
                ctr_drain(c);
                log_warn("runtime create failed", "ctr=%s status=0x%x error=\"%s\"", c->id,
                         wait_status, err);
                return r;
        }
        log_info("container created", "ctr=%s pid=%d", c->id, (int)c->pid);
        return 0;
}

static void close_stream(struct ctr *c, enum ctr_stream i)
{
        crilog_flush(&c->out[i].s, &c->sink);
        c->out[i].fd = safe_close(c->out[i].fd);
}

int ctr_read_output(struct ctr *c, enum ctr_stream i)
{
        ssize_t n;

        if (c->out[i].fd < 0)
                return 0;
        do
                n = read(c->out[i].fd, read_buf, sizeof(read_buf));
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return 0;
        /* A pty master reads EIO once every slave is closed: its EOF. */
        if (n <= 0) {
                if (n < 0 && errno != EIO)
                        log_warn_errno(negative_errno(), "reading container output failed",
                                       "ctr=%s stream=%s", c->id, stream_names[i]);
                close_stream(c, i);
                return 0;
        }
        crilog_stamp(&c->sink);
        crilog_feed(&c->out[i].s, &c->sink, read_buf, (size_t)n);
        return 1;
}

void ctr_drain(struct ctr *c)
{
        for (int i = 0; i < CTR_N_STREAMS; i++)
                for (int k = 0; k < DRAIN_READS && ctr_read_output(c, (enum ctr_stream)i); k++)
                        ;
}

static int write_exit_file(struct ctr *c)
{
        static const char tmp[] = ".exit.tmp";
        char line[64];
        int n = snprintf(line, sizeof(line), "%d %d %" PRIu64 "\n", (int)c->pid, c->wait_status,
                         c->exit_time);
        _cleanup_close_ int fd =
            openat(c->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        ssize_t w;

        if (fd < 0)
                return negative_errno();
        do
                w = write(fd, line, (size_t)n);
        while (w < 0 && errno == EINTR);
        if (w < 0)
                return negative_errno();
        if (w != n)
                return -EIO;
        if (fsync(fd) < 0 || renameat(c->dir_fd, tmp, c->dir_fd, "exit") < 0 ||
            fsync(c->dir_fd) < 0)
                return negative_errno();
        return 0;
}

int ctr_exited(struct ctr *c, int wait_status, uint64_t exit_time)
{
        c->exited = true;
        c->wait_status = wait_status;
        c->exit_time = exit_time;
        ctr_drain(c);
        int r = write_exit_file(c);
        if (r < 0)
                return log_warn_errno(r, "writing the exit file failed", "ctr=%s bundle=%s", c->id,
                                      c->bundle);
        log_info("container exited", "ctr=%s pid=%d wait_status=0x%x", c->id, (int)c->pid,
                 wait_status);
        return 0;
}

void ctr_reopen_log(struct ctr *c, int log_fd)
{
        safe_close(c->sink.fd);
        c->sink.fd = log_fd;
        c->sink.failing = false;
        log_info("container log reopened", "ctr=%s", c->id);
}

bool ctr_active(const struct ctr *c)
{
        return c->runtime_pid > 0 || (c->pid > 0 && !c->exited);
}
