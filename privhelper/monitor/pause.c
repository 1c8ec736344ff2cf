/* pause.c: owns the pause process: its PID namespace and its one loop of
 * reaping and waiting for SIGTERM (pause.h). */
#include "pause.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static __attribute__((noreturn)) void pause_main(void)
{
        sigset_t all, wanted;

        /* The pod's PID namespace lives as long as its monitor: one that
         * is killed must not leave its pause behind on the node. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        close_range(3, ~0U, 0);
        prctl(PR_SET_NAME, "brig-pause");
        /* A namespace's init drops signals it has no handler for, but a
         * blocked signal is always queued: sigwaitinfo() takes SIGTERM. */
        sigemptyset(&wanted);
        sigaddset(&wanted, SIGCHLD);
        sigaddset(&wanted, SIGTERM);
        for (;;) {
                siginfo_t si;
                if (sigwaitinfo(&wanted, &si) < 0)
                        continue;
                if (si.si_signo == SIGTERM)
                        _exit(0);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
        }
}

int pause_start(pid_t *ret_pid)
{
        _cleanup_close_ int own_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        pid_t pid;
        int r = 0;

        if (own_ns < 0)
                return negative_errno();
        if (unshare(CLONE_NEWPID) < 0)
                return negative_errno();
        pid = fork();
        if (pid == 0)
                pause_main();
        if (pid < 0)
                r = negative_errno();
        /* unshare() moved the namespace of all later children, not ours:
         * put it back so runtimes are not started inside the pod's. */
        if (setns(own_ns, CLONE_NEWPID) < 0) {
                int e = negative_errno();
                if (pid > 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                }
                return e;
        }
        if (r < 0)
                return r;
        *ret_pid = pid;
        return 0;
}
