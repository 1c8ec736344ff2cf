/* pause.h: the pod's pause process (brig-monitor --pause).
 *
 * Contract: pause_start() forks a child that is pid 1 of a new PID
 * namespace; the caller's own later children stay in the caller's
 * namespace. The child keeps only fds 0-2, blocks every signal, reaps
 * whatever the namespace leaves to it and exits 0 on SIGTERM (SIGKILL ends
 * it anyway). *ret_pid is its pid in the caller's namespace; the caller
 * reaps it.
 */
#pragma once

#include <sys/types.h>

int pause_start(pid_t *ret_pid);
