/* runtime.c: owns the execution of `<runtime> create` and `<runtime> exec`
 * (argv, fds, environment of the child) and the reading of their pid files
 * and of the error log (runtime.h). */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privhelper/monitor/channel.h"
#include "privhelper/monitor/rtlog.h"
#include "util.h"

/* The tail of runtime.log searched for the error line. */
#define RTLOG_TAIL 16384

static const char runtime_log[] = "runtime.log";
static const char pid_file[] = "pid";

/* After fork: only async-signal-safe calls, and _exit on every failure,
 * whose errno goes up err_fd (close-on-exec: a successful execve closes it
 * with nothing written). */
static __attribute__((noreturn)) void exec_child(const char *path, char *const *argv,
                                                 const int stdio[3], const char *cwd, int err_fd)
{
        static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        sigset_t none;
        int e;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        for (int i = 0; i < 3; i++)
                if (dup2(stdio[i], i) < 0)
                        goto fail;
        /* Close-on-exec rather than closed, so err_fd lasts until the
         * execve and the runtime still gets fds 0-2 only. */
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 || chdir(cwd) < 0)
                goto fail;
        execve(path, argv, envp);
fail:
        e = errno;
        (void)!write(err_fd, &e, sizeof(e));
        _exit(127);
}

/* Forks and executes argv[0]; returns once the execve is done or failed. */
static int spawn(char *const *argv, const int stdio[3], const char *cwd, pid_t *ret_pid)
{
        int p[2], e = 0;
        ssize_t n;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0) {
                e = errno;
                close(p[0]);
                close(p[1]);
                return -e;
        }
        if (pid == 0)
                exec_child(argv[0], argv, stdio, cwd, p[1]);
        close(p[1]);
        /* Blocks only until the child's execve, as posix_spawn would. */
        do
                n = read(p[0], &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                /* Whether the execve worked is unknown: the child must not
                 * run unwatched. */
                e = errno;
                kill(pid, SIGKILL);
        }
        close(p[0]);
        if (n == 0) {
                *ret_pid = pid;
                return 0;
        }
        if (n > 0 && (n != (ssize_t)sizeof(e) || e <= 0))
                e = EIO;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return -e;
}

int runtime_spawn(const struct runtime_create *c, pid_t *ret_pid)
{
        char log_path[PATH_MAX], pid_path[PATH_MAX];
        char *argv[16];
        size_t n = 0;

        if ((size_t)snprintf(log_path, sizeof(log_path), "%s/%s", c->bundle, runtime_log) >=
                sizeof(log_path) ||
            (size_t)snprintf(pid_path, sizeof(pid_path), "%s/%s", c->bundle, pid_file) >=
                sizeof(pid_path))
                return -ENAMETOOLONG;
        argv[n++] = (char *)c->runtime;
        argv[n++] = "--root";
        argv[n++] = (char *)c->root;
        argv[n++] = "--log";
        argv[n++] = log_path;
        argv[n++] = "create";
        argv[n++] = "--bundle";
        argv[n++] = (char *)c->bundle;
        argv[n++] = "--pid-file";
        argv[n++] = pid_path;
        if (c->console_socket) {
                argv[n++] = "--console-socket";
                argv[n++] = (char *)c->console_socket;
        }
        argv[n++] = (char *)c->ctr_id;
        argv[n] = NULL;
        return spawn(argv, c->stdio, c->bundle, ret_pid);
}

/* The files of exec n in the bundle: its pid file and its runtime's log. */
static void exec_file_name(unsigned n, const char *suffix, char *buf, size_t size)
{
        snprintf(buf, size, "exec-%u.%s", n, suffix);
}

int runtime_spawn_exec(const struct runtime_exec *e, pid_t *ret_pid)
{
        char name[32], log_path[PATH_MAX], pid_path[PATH_MAX];
        /* 10 before the args, NULL after */
        char *argv[10 + MON_MAX_EXEC_ARGS + 1];
        size_t n = 0;

        if (e->n_args > MON_MAX_EXEC_ARGS)
                return -E2BIG;
        exec_file_name(e->n, "log", name, sizeof(name));
        if ((size_t)snprintf(log_path, sizeof(log_path), "%s/%s", e->bundle, name) >=
            sizeof(log_path))
                return -ENAMETOOLONG;
        exec_file_name(e->n, "pid", name, sizeof(name));
        if ((size_t)snprintf(pid_path, sizeof(pid_path), "%s/%s", e->bundle, name) >=
            sizeof(pid_path))
                return -ENAMETOOLONG;
        argv[n++] = (char *)e->runtime;
        argv[n++] = "--root";
        argv[n++] = (char *)e->root;
        argv[n++] = "--log";
        argv[n++] = log_path;
        argv[n++] = "exec";
        /* Detached: the runtime hands stdio to the process as it is and
         * exits once the process started, instead of copying its output
         * until EOF. */
        argv[n++] = "-d";
        argv[n++] = "--pid-file";
        argv[n++] = pid_path;
        /* runc stops reading its flags at the container id: the args after
         * it reach the process as they are, even those starting with '-'. */
        argv[n++] = (char *)e->ctr_id;
        for (size_t i = 0; i < e->n_args; i++)
                argv[n++] = (char *)e->args[i];
        argv[n] = NULL;
        return spawn(argv, e->stdio, e->bundle, ret_pid);
}

off_t runtime_log_size(int bundle_fd)
{
        struct stat st;

        if (fstatat(bundle_fd, runtime_log, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return 0;
        return st.st_size;
}

static int read_pid_file(int bundle_fd, const char *name, pid_t *ret)
{
        _cleanup_close_ int fd = openat(bundle_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char buf[16];
        ssize_t n;

        if (fd < 0)
                return negative_errno();
        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return rtlog_parse_pid(buf, (size_t)n, ret);
}

int runtime_read_pid(int bundle_fd, pid_t *ret)
{
        return read_pid_file(bundle_fd, pid_file, ret);
}

int runtime_read_exec_pid(int bundle_fd, unsigned n, pid_t *ret)
{
        char name[32];

        exec_file_name(n, "pid", name, sizeof(name));
        return read_pid_file(bundle_fd, name, ret);
}

int runtime_unlink_exec_files(int bundle_fd, unsigned n)
{
        static const char *const suffixes[] = {"pid", "log"};
        char name[32];
        int r = 0;

        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                exec_file_name(n, suffixes[i], name, sizeof(name));
                if (unlinkat(bundle_fd, name, 0) < 0 && errno != ENOENT)
                        r = negative_errno();
        }
        return r;
}

/* Reads the log name from log_start (at most its last RTLOG_TAIL bytes)
 * into buf. */
static ssize_t read_log_tail(int bundle_fd, const char *name, off_t log_start, char *buf,
                             size_t size)
{
        _cleanup_close_ int fd =
            openat(bundle_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat st;
        size_t got = 0;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return -EINVAL;
        off_t off = st.st_size - (off_t)size > log_start ? st.st_size - (off_t)size : log_start;
        while (got < size) {
                ssize_t n = pread(fd, buf + got, size - got, off + (off_t)got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

/* The error line of the log name since log_start, or how the runtime's
 * command what ended. */
static void log_error(int bundle_fd, const char *name, off_t log_start, const char *what,
                      int wait_status, char *msg, size_t msg_size)
{
        _cleanup_free_ char *buf = malloc(RTLOG_TAIL);
        ssize_t n = buf ? read_log_tail(bundle_fd, name, log_start, buf, RTLOG_TAIL) : -ENOMEM;

        if (n > 0 && rtlog_last_error(buf, (size_t)n, msg, msg_size) == 0)
                return;
        if (WIFSIGNALED(wait_status))
                snprintf(msg, msg_size, "runtime %s was killed by signal %d", what,
                         WTERMSIG(wait_status));
        else
                snprintf(msg, msg_size, "runtime %s exited with status %d", what,
                         WEXITSTATUS(wait_status));
}

void runtime_error(int bundle_fd, off_t log_start, int wait_status, char *msg, size_t msg_size)
{
        log_error(bundle_fd, runtime_log, log_start, "create", wait_status, msg, msg_size);
}

void runtime_exec_error(int bundle_fd, unsigned n, int wait_status, char *msg, size_t msg_size)
{
        char name[32];

        exec_file_name(n, "log", name, sizeof(name));
        /* Each exec has a log of its own, removed before it starts. */
        log_error(bundle_fd, name, 0, "exec", wait_status, msg, msg_size);
}
