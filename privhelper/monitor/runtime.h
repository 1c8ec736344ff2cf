/* runtime.h: running the OCI runtime's `create` for a container and reading
 * what it leaves in the bundle (channel.h gives the command line).
 *
 * Contract:
 * - runtime_spawn() forks a child that gets stdio (stdin, stdout, stderr as
 *   given) and no other fd, the default signal mask and dispositions, the
 *   bundle as its working directory and only PATH in its environment, and
 *   executes the runtime with execv semantics (no PATH search). The child
 *   is the caller's to reap; an exec failure is exit status 127.
 * - runtime_log_size() is where the runtime's log ends before a create, so
 *   runtime_error() reads only what this create wrote.
 * - runtime_read_pid() reads <bundle>/pid (rtlog.h rules).
 * - runtime_error() always fills msg: the runtime's last error line since
 *   log_start, or "runtime create exited with status N" / "... was killed by
 *   signal N".
 */
#pragma once

#include <sys/types.h>

struct runtime_create {
        const char *runtime;
        const char *root;
        const char *bundle;
        const char *ctr_id;
        const char *console_socket; /* NULL without a tty */
        int stdio[3];
};

int runtime_spawn(const struct runtime_create *c, pid_t *ret_pid);
off_t runtime_log_size(int bundle_fd);
int runtime_read_pid(int bundle_fd, pid_t *ret);
void runtime_error(int bundle_fd, off_t log_start, int wait_status, char *msg, size_t msg_size);
