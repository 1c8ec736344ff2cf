/* confine.h: brig-unpack's confinement, applied in this order while it
 * still runs as full root and before it reads a byte of the blob:
 *   confine_root()        private mount/net/ipc/uts namespaces whose only
 *                         visible directory is the layer directory
 *   confine_privileges()  six capabilities, no_new_privs, rlimits
 *   confine_seccomp()     the syscall allow-list (after the io_uring is
 *                         set up, since io_uring_setup is not on it)
 * docs/brig-unpack.md explains each capability. */
#pragma once

#include <stddef.h>

/* Makes the directory of layer_fd the root and cwd of a fresh mount
 * namespace (nosuid, noexec) and returns an O_DIRECTORY fd of it in
 * *ret_root_fd. layer_fd stays the caller's. Returns 0 or a negative errno
 * with the step that failed in err. */
int confine_root(int layer_fd, int *ret_root_fd, char *err, size_t err_size);

/* Capabilities (bounding, permitted, effective) reduced to exactly CHOWN,
 * FOWNER, FSETID, DAC_OVERRIDE, MKNOD and SETFCAP (FSETID: chmod keeps a
 * setgid bit only for a group the caller is in, or with FSETID); inheritable and ambient empty;
 * no_new_privs; not dumpable; RLIMIT_CORE 0, RLIMIT_NPROC 0 (no fork),
 * RLIMIT_NOFILE CONFINE_MAX_FDS. Returns 0 or a negative errno with err. */
#define CONFINE_MAX_FDS 512
int confine_privileges(char *err, size_t err_size);

/* Loads the allow-list; anything else kills the process and is logged by
 * the kernel (audit). Returns 0 or a negative errno with err. */
int confine_seccomp(char *err, size_t err_size);
