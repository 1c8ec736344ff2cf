/* seccomp.c: owns the list of system calls brigd is allowed and denied,
 * and installs it with libseccomp. Anything on neither list is refused
 * with EPERM, as the denied ones are. */
#include "seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

#include "log.h"
#include "util.h"

/* Never needed by a daemon that only parses, serves and delegates; each
 * would let a compromised brigd reach further than its socket and files.
 * The default refuses them too: listing them keeps them refused whatever
 * the default becomes, and says which refusals are a decision rather than
 * an omission from the allowed list. */
static const char *const denied[] = {
    "execve",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "init_module",
    "finit_module",
    "delete_module",
    "add_key",
    "request_key",
    "keyctl",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    "perf_event_open",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "quotactl",
    "lookup_dcookie",
    "fanotify_init",
    "move_mount",
    "fsopen",
    "fsmount",
    "fspick",
    "open_tree",
    "mount_setattr",
};

/* What glibc, the grpc core and brigd itself use. A call missing here
 * fails with EPERM: the kernel logs it (see docs/operations.md, "brigd's
 * seccomp filter"), and the test suite checks no record appears while
 * brigd serves pods, containers and images. */
static const char *const allowed[] = {
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "close",
    "close_range",
    "fstat",
    "newfstatat",
    "statx",
    "lseek",
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "brk",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigtimedwait",
    "sigaltstack",
    "ioctl",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "pipe2",
    "socket",
    "socketpair",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "sendmsg",
    "recvmsg",
    "sendto",
    "recvfrom",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "poll",
    "ppoll",
    "pselect6",
    "futex",
    "set_robust_list",
    "get_robust_list",
    "clone",
    "clone3",
    "exit",
    "exit_group",
    "gettid",
    "getpid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "sched_yield",
    "sched_getaffinity",
    "prctl",
    "set_tid_address",
    "rseq",
    "getrandom",
    "openat",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
    "rename",
    "renameat",
    "renameat2",
    "fsync",
    "fdatasync",
    "ftruncate",
    "fallocate",
    "fchmod",
    "fchmodat",
    "chmod",
    "getdents64",
    "readlink",
    "readlinkat",
    "access",
    "faccessat",
    "faccessat2",
    "uname",
    "getrlimit",
    "prlimit64",
    "sysinfo",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "signalfd4",
    "memfd_create",
    "getcwd",
    "umask",
    "membarrier",
    "restart_syscall",
    "statfs",
    "fstatfs",
    "flock",
    "tgkill",
    "sched_getparam",
    "sched_getscheduler",
    "getpriority",
    "wait4",
    /* The sanitizer runtime of the test build still uses the legacy calls. */
    "open",
    "getdents",
};

int brigd_seccomp_install(void)
{
        /* EPERM rather than a kill: a call the list lacks, on a rare path
         * in glibc or the grpc core, then fails that one request instead
         * of crashing the node's CRI daemon into a restart loop. EPERM
         * rather than ENOSYS: glibc takes ENOSYS as "old kernel" and falls
         * back to other calls, which would hide the refusal. */
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        int r;

        if (!ctx)
                return log_error_errno(-ENOMEM, "cannot create the seccomp filter", NULL);
        /* Every refusal gets an audit record, so a missing entry shows. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
        if (r == 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
        if (r < 0) {
                log_error_errno(r, "cannot set seccomp filter attributes", NULL);
                goto out;
        }
        for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
                int nr = seccomp_syscall_resolve_name(denied[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                /* libseccomp will not add a rule that repeats the default
                 * (-EACCES): the default refuses the call the same way. */
                if (r < 0 && r != -EACCES) {
                        log_error_errno(r, "cannot add seccomp rule", "syscall=%s", denied[i]);
                        goto out;
                }
        }
        for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
                int nr = seccomp_syscall_resolve_name(allowed[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue;
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0 && r != -EEXIST) {
                        log_error_errno(r, "cannot add seccomp rule", "syscall=%s", allowed[i]);
                        goto out;
                }
        }
        r = seccomp_load(ctx);
        if (r < 0)
                log_error_errno(r, "cannot load the seccomp filter", NULL);
        else
                log_info("seccomp filter installed", "denied=%zu allowed=%zu default=eperm",
                         ARRAY_SIZE(denied), ARRAY_SIZE(allowed));
out:
        seccomp_release(ctx);
        return r;
}
