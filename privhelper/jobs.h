/* jobs.h: the helper's long work, done by child processes that its poll
 * loop watches through pidfds, so the loop itself never waits on it.
 *
 * A job is a child that either execs a brig program (brig-unpack) or runs
 * a function of the helper's own (removing a directory tree). When the
 * child has exited, its done callback runs in the loop with the wait
 * status. Jobs are never waited for anywhere else: the supervisor reaps
 * brigd by pid, never with waitpid(-1).
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Children running at once, over all connections; the next is refused with
 * EBUSY. */
#define JOBS_MAX 256

/* status is the waitid() si_code/si_status folded into a wait status
 * (WIFEXITED/WEXITSTATUS and WIFSIGNALED/WTERMSIG work on it). */
typedef void (*job_done_fn)(void *data, int status);

/* One fd the exec'd child gets: from (the helper's, left open) becomes to. */
struct job_fd {
        int from;
        int to;
};

/* In a child about to exec: makes each fds[i].from its fds[i].to, open
 * across exec, and every other fd above 2 close-on-exec (fds 0-2 that are
 * no target stay as they are). Sources may be targets of others. At most
 * 16 fds. Returns false on failure (the child should _exit then). */
bool job_child_place_fds(const struct job_fd *fds, size_t n);

/* Forks a child that gets fds (its stdin is /dev/null, stdout and stderr
 * are the helper's stderr, every other fd is closed), a minimal
 * environment, SIGKILL when the helper dies, and executes exe_fd (an
 * O_PATH fd of the program, opened by the helper at start) with argv.
 * Returns 0 and calls done(data, status) when it ends, or a negative errno
 * (done is then never called). */
int job_spawn_exec(const char *name, int exe_fd, char *const argv[], const struct job_fd *fds,
                   size_t n_fds, job_done_fn done, void *data);

/* As job_spawn_exec(), for a runtime command (runc start, kill, update)
 * that must not be cut short: the child is in a session of its own and
 * gets no death signal, so it finishes even when the helper is killed (a
 * runc start killed half-way kills the container), and jobs_kill_all()
 * waits for it instead of killing it. */
int job_spawn_exec_lasting(const char *name, int exe_fd, char *const argv[],
                           const struct job_fd *fds, size_t n_fds, job_done_fn done, void *data);

/* Forks a child that runs fn(arg) and exits with its result (0 -> 0,
 * anything else -> 1). For the helper's own plain work only: the child has
 * the helper's memory and privileges. Same return and callback rules. */
int job_spawn_fn(const char *name, int (*fn)(void *arg), void *arg, job_done_fn done, void *data);

/* Number of jobs running. */
size_t jobs_running(void);

/* Fills pfd[0..n) with the pidfds of running jobs (n <= max); the loop
 * passes those entries back to jobs_handle() after poll(). */
size_t jobs_fill_pollfds(struct pollfd *pfd, size_t max);

/* Reaps the jobs whose pidfd is readable among pfd[0..n) and runs their
 * done callbacks. */
void jobs_handle(const struct pollfd *pfd, size_t n);

/* At stop: SIGKILLs every job but the lasting ones, reaps them all and
 * runs their callbacks (which see the signal). Blocks for the kernel to
 * deliver SIGKILL and for the lasting jobs to end. From then on no job can
 * be started (-ESHUTDOWN). */
void jobs_kill_all(void);
