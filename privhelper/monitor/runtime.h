/* runtime.h: running the OCI runtime's `create` and `exec` for a container
 * and reading what they leave in the bundle (channel.h gives the command
 * lines).
 *
 * Contract:
 * - runtime_spawn() and runtime_spawn_exec() fork a child that gets stdio
 *   (stdin, stdout, stderr as given) and no other fd, the default signal
 *   mask and dispositions, the bundle as its working directory and only
 *   PATH in its environment, and executes the runtime with execv semantics
 *   (no PATH search). They return once the child has executed the runtime
 *   (the child is then the caller's to reap), or the negative errno of a
 *   failed fork or execve (the failed child is reaped).
 * - runtime_log_size() is where the runtime's log ends before a create, so
 *   runtime_error() reads only what this create wrote.
 * - runtime_read_pid() reads <bundle>/pid, runtime_read_exec_pid()
 *   <bundle>/exec-<n>.pid (rtlog.h rules).
 * - runtime_error() always fills msg: the runtime's last error line in
 *   runtime.log since log_start, or "runtime create exited with status N" /
 *   "... was killed by signal N". runtime_exec_error() does the same with
 *   <bundle>/exec-<n>.log and "runtime exec ...".
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct runtime_create {
        const char *runtime;
        const char *root;
        const char *bundle;
        const char *ctr_id;
        const char *console_socket; /* NULL without a tty */
        int stdio[3];
};

struct runtime_exec {
        const char *runtime;
        const char *root;
        const char *bundle;
        const char *ctr_id;
        unsigned n; /* names the pid and log files */
        const char *const *args;
        size_t n_args; /* at most MON_MAX_EXEC_ARGS */
        int stdio[3];
};

int runtime_spawn(const struct runtime_create *c, pid_t *ret_pid);
int runtime_spawn_exec(const struct runtime_exec *e, pid_t *ret_pid);
off_t runtime_log_size(int bundle_fd);
int runtime_read_pid(int bundle_fd, pid_t *ret);
int runtime_read_exec_pid(int bundle_fd, unsigned n, pid_t *ret);
/* Removes <bundle>/exec-<n>.pid and exec-<n>.log; a missing file is no
 * error. */
int runtime_unlink_exec_files(int bundle_fd, unsigned n);
void runtime_error(int bundle_fd, off_t log_start, int wait_status, char *msg, size_t msg_size);
void runtime_exec_error(int bundle_fd, unsigned n, int wait_status, char *msg, size_t msg_size);
