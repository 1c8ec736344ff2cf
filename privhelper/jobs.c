/* jobs.c: owns the helper's child processes for long work: spawning them
 * (fd layout, environment, death signal), watching them by pidfd in the
 * poll loop, reaping them and calling their completion. */
#include "jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct job {
        pid_t pid; /* 0: free slot */
        int pidfd;
        bool lasting; /* outlives the helper: never killed by it */
        const char *name;
        job_done_fn done;
        void *data;
};

static struct job jobs[JOBS_MAX];
static size_t n_running;
/* Set at stop: callbacks that would start more work (removals) fail. */
static bool stopping;

size_t jobs_running(void)
{
        return n_running;
}

static struct job *free_slot(void)
{
        for (size_t i = 0; i < JOBS_MAX; i++)
                if (jobs[i].pid == 0)
                        return &jobs[i];
        return NULL;
}

/* Child side, common to both kinds: no signal blocked or ignored, killed
 * with the helper unless lasting. Returns false if the helper is already
 * gone. */
static bool child_reset(pid_t helper, bool lasting)
{
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        if (lasting)
                return setsid() >= 0;
        return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 && getppid() == helper;
}

bool job_child_place_fds(const struct job_fd *fds, size_t n)
{
        int high[16];

        if (n > ARRAY_SIZE(high))
                return false;
        /* Every source moves above every target first, so that no dup2 below
         * overwrites a source still to be placed. */
        for (size_t i = 0; i < n; i++) {
                high[i] = fcntl(fds[i].from, F_DUPFD_CLOEXEC, 64);
                if (high[i] < 0)
                        return false;
        }
        for (size_t i = 0; i < n; i++)
                if (dup2(high[i], fds[i].to) < 0)
                        return false;
        /* The copies and everything else the helper holds go at exec. */
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (fcntl(fds[i].to, F_SETFD, 0) < 0)
                        return false;
        return true;
}

/* Runs in the forked child only: never returns. */
static void exec_child(pid_t helper, bool lasting, int exe_fd, char *const argv[],
                       const struct job_fd *fds, size_t n_fds)
{
        static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        struct job_fd all[16] = {{.to = STDIN_FILENO}, {STDERR_FILENO, STDOUT_FILENO}};

        if (!child_reset(helper, lasting) || n_fds > ARRAY_SIZE(all) - 2)
                _exit(127);
        all[0].from = open("/dev/null", O_RDONLY | O_CLOEXEC);
        memcpy(all + 2, fds, n_fds * sizeof(*fds));
        /* exe_fd moves too: it may well be one of the target numbers. */
        exe_fd = fcntl(exe_fd, F_DUPFD_CLOEXEC, 64);
        if (exe_fd < 0 || all[0].from < 0 || !job_child_place_fds(all, n_fds + 2))
                _exit(127);
        execveat(exe_fd, "", argv, envp, AT_EMPTY_PATH);
        log_error_errno(negative_errno(), "cannot execute child", "program=%s", argv[0]);
        _exit(127);
}

static int track(struct job *j, const char *name, pid_t pid, bool lasting, job_done_fn done,
                 void *data)
{
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

        if (pidfd < 0) {
                int r = negative_errno();
                /* Without a pidfd the loop cannot watch it: end it now. */
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return log_error_errno(r, "cannot open a pidfd for a child", "job=%s", name);
        }
        fcntl(pidfd, F_SETFD, FD_CLOEXEC);
        *j = (struct job){.pid = pid,
                          .pidfd = pidfd,
                          .lasting = lasting,
                          .name = name,
                          .done = done,
                          .data = data};
        n_running++;
        log_debug("job started", "job=%s pid=%d running=%zu", name, (int)pid, n_running);
        return 0;
}

/* Forks for a new job: returns 0 in the child, the child's pid in the
 * parent with its slot in *ret_slot, or a negative errno. */
static pid_t fork_job(const char *name, struct job **ret_slot)
{
        pid_t pid;

        if (stopping)
                return -ESHUTDOWN;
        *ret_slot = free_slot();
        if (!*ret_slot)
                return -EBUSY;
        pid = fork();
        if (pid < 0)
                return log_error_errno(negative_errno(), "cannot fork a child", "job=%s", name);
        return pid;
}

static int spawn_exec(const char *name, bool lasting, int exe_fd, char *const argv[],
                      const struct job_fd *fds, size_t n_fds, job_done_fn done, void *data)
{
        pid_t helper = getpid();
        struct job *j;
        pid_t pid = fork_job(name, &j);

        if (pid < 0)
                return pid;
        if (pid == 0)
                exec_child(helper, lasting, exe_fd, argv, fds, n_fds);
        return track(j, name, pid, lasting, done, data);
}

int job_spawn_exec(const char *name, int exe_fd, char *const argv[], const struct job_fd *fds,
                   size_t n_fds, job_done_fn done, void *data)
{
        return spawn_exec(name, false, exe_fd, argv, fds, n_fds, done, data);
}

int job_spawn_exec_lasting(const char *name, int exe_fd, char *const argv[],
                           const struct job_fd *fds, size_t n_fds, job_done_fn done, void *data)
{
        return spawn_exec(name, true, exe_fd, argv, fds, n_fds, done, data);
}

int job_spawn_fn(const char *name, int (*fn)(void *arg), void *arg, job_done_fn done, void *data)
{
        pid_t helper = getpid();
        struct job *j;
        pid_t pid = fork_job(name, &j);

        if (pid < 0)
                return pid;
        if (pid == 0) {
                if (!child_reset(helper, false))
                        _exit(127);
                _exit(fn(arg) == 0 ? 0 : 1);
        }
        return track(j, name, pid, false, done, data);
}

size_t jobs_fill_pollfds(struct pollfd *pfd, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; i < JOBS_MAX && n < max; i++)
                if (jobs[i].pid != 0)
                        pfd[n++] = (struct pollfd){.fd = jobs[i].pidfd, .events = POLLIN};
        return n;
}

static int fold_status(const siginfo_t *si)
{
        if (si->si_code == CLD_EXITED)
                return W_EXITCODE(si->si_status, 0);
        return si->si_status & 0x7f;
}

/* Reaps j if it has exited; with block, waits for it. */
static bool reap(struct job *j, bool block)
{
        siginfo_t si = {0};
        struct job done;

        if (waitid((idtype_t)P_PIDFD, (id_t)j->pidfd, &si, WEXITED | (block ? 0 : WNOHANG)) < 0 ||
            si.si_pid == 0)
                return false;
        done = *j;
        safe_close(j->pidfd);
        *j = (struct job){0};
        n_running--;
        log_debug("job ended", "job=%s pid=%d code=%d status=%d", done.name, (int)done.pid,
                  si.si_code, si.si_status);
        done.done(done.data, fold_status(&si));
        return true;
}

void jobs_handle(const struct pollfd *pfd, size_t n)
{
        for (size_t k = 0; k < n; k++) {
                if (!pfd[k].revents)
                        continue;
                for (size_t i = 0; i < JOBS_MAX; i++)
                        if (jobs[i].pid != 0 && jobs[i].pidfd == pfd[k].fd) {
                                reap(&jobs[i], false);
                                break;
                        }
        }
}

void jobs_kill_all(void)
{
        stopping = true;
        /* By pidfd: the pid of a child that exited unseen could be reused.
         * A lasting job is waited for, not killed: it is a runtime command
         * that must not be cut short. */
        for (size_t i = 0; i < JOBS_MAX; i++)
                if (jobs[i].pid != 0 && !jobs[i].lasting)
                        syscall(SYS_pidfd_send_signal, jobs[i].pidfd, SIGKILL, NULL, 0);
        for (size_t i = 0; i < JOBS_MAX; i++)
                if (jobs[i].pid != 0)
                        reap(&jobs[i], true);
}
