/* runtime.c: owns the execution of `<runtime> create` (argv, fds,
 * environment of the child) and the reading of its pid file and error log
 * (runtime.h). */
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

#include "privhelper/monitor/rtlog.h"
#include "util.h"

/* The tail of runtime.log searched for the error line. */
#define RTLOG_TAIL 16384

static const char runtime_log[] = "runtime.log";
static const char pid_file[] = "pid";

/* After fork: only async-signal-safe calls, and _exit on every failure. */
static __attribute__((noreturn)) void exec_child(const struct runtime_create *c, char *const *argv)
{
        static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        for (int i = 0; i < 3; i++)
                if (dup2(c->stdio[i], i) < 0)
                        _exit(127);
        if (close_range(3, ~0U, 0) < 0 || chdir(c->bundle) < 0)
                _exit(127);
        execve(c->runtime, argv, envp);
        _exit(127);
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

        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                exec_child(c, argv);
        *ret_pid = pid;
        return 0;
}

off_t runtime_log_size(int bundle_fd)
{
        struct stat st;

        if (fstatat(bundle_fd, runtime_log, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return 0;
        return st.st_size;
}

int runtime_read_pid(int bundle_fd, pid_t *ret)
{
        _cleanup_close_ int fd = openat(bundle_fd, pid_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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

/* Reads the runtime log from log_start (at most its last RTLOG_TAIL bytes)
 * into buf. */
static ssize_t read_log_tail(int bundle_fd, off_t log_start, char *buf, size_t size)
{
        _cleanup_close_ int fd =
            openat(bundle_fd, runtime_log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
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

void runtime_error(int bundle_fd, off_t log_start, int wait_status, char *msg, size_t msg_size)
{
        _cleanup_free_ char *buf = malloc(RTLOG_TAIL);
        ssize_t n = buf ? read_log_tail(bundle_fd, log_start, buf, RTLOG_TAIL) : -ENOMEM;

        if (n > 0 && rtlog_last_error(buf, (size_t)n, msg, msg_size) == 0)
                return;
        if (WIFSIGNALED(wait_status))
                snprintf(msg, msg_size, "runtime create was killed by signal %d",
                         WTERMSIG(wait_status));
        else
                snprintf(msg, msg_size, "runtime create exited with status %d",
                         WEXITSTATUS(wait_status));
}
