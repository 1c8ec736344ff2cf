/* confine.h: brig-cni's confinement, applied once, first thing, while it
 * still runs as root with every capability and before it reads a byte from
 * the channel. After cni_confine() returns 0 the process:
 *   - runs as uid and gid 65534 (nobody/nogroup) with no supplementary
 *     groups, so no file owned by root (or by brig) is writable by it;
 *   - holds no capability in any set (effective, permitted, inheritable,
 *     ambient, bounding) and has no_new_privs, so nothing it could exec
 *     would gain any;
 *   - is not dumpable, has RLIMIT_CORE 0, RLIMIT_NPROC 0 (no fork),
 *     RLIMIT_NOFILE CNI_CONFINE_MAX_FDS and, outside ASan builds, an address
 *     space of CNI_CONFINE_MAX_AS bytes;
 *   - has only fds 0-3 open;
 *   - can make only the system calls of the seccomp allow-list in
 *     confine.c; any other kills it (SECCOMP_RET_KILL_PROCESS, logged).
 * docs/brig-cni.md is the auditors' copy. */
#pragma once

#include <stddef.h>

#define CNI_CONFINE_UID     65534
#define CNI_CONFINE_GID     65534
#define CNI_CONFINE_MAX_FDS 8
#define CNI_CONFINE_MAX_AS  (256ul << 20)

/* Confines the process as above; channel_fd must be an open
 * SOCK_SEQPACKET socket, checked before the filter forbids the check.
 * Returns 0, or a negative errno with the step that failed in err (then
 * the process may be half confined and must exit). */
int cni_confine(int channel_fd, char *err, size_t err_size);
