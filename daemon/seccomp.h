/* seccomp.h: brigd's system call filter. */
#pragma once

/* Installs the filter on every thread of the process (TSYNC). The calls
 * brigd must never make (execve, mount, ptrace, module and keyring calls,
 * namespace changes) fail with EPERM; the calls it is known to make are
 * allowed; anything else fails with EPERM as well. Every refusal is logged
 * by the kernel's audit.
 * See docs/operations.md, "brigd's seccomp filter". Returns 0 or -errno. */
int brigd_seccomp_install(void);
