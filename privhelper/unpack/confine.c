/* confine.c: owns what brig-unpack can see and do once confined: its mount
 * namespace, capabilities, limits and syscall allow-list (see confine.h). */
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>

#include "util.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static int step_failed(const char *what, char *err, size_t err_size)
{
        int r = negative_errno();

        snprintf(err, err_size, "confinement: %s failed: %s", what, strerror(-r));
        return r;
}

int confine_root(int layer_fd, int *ret_root_fd, char *err, size_t err_size)
{
        _cleanup_close_ int tree = -1;
        int root;

        /* The fd's mount belongs to the old namespace; the cwd is carried
         * over into the new one by unshare(), so it is the way in. */
        if (fchdir(layer_fd) < 0)
                return step_failed("entering the layer directory", err, err_size);
        if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
                return step_failed("unshare", err, err_size);
        /* Nothing done here may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return step_failed("making mounts private", err, err_size);
        /* A bind mount of the layer directory onto itself, made from the
         * cwd so no path string is trusted, and the new mount's root fd to
         * pivot into (the cwd itself stays under the new mount). */
        tree = (int)syscall(SYS_open_tree, AT_FDCWD, ".", OPEN_TREE_CLONE | O_CLOEXEC);
        if (tree < 0)
                return step_failed("open_tree of the layer directory", err, err_size);
        if (syscall(SYS_move_mount, tree, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return step_failed("bind-mounting the layer directory", err, err_size);
        if (fchdir(tree) < 0)
                return step_failed("entering the layer mount", err, err_size);
        if (mount(NULL, ".", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC, NULL) < 0)
                return step_failed("remounting the layer nosuid,noexec", err, err_size);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return step_failed("pivot_root", err, err_size);
        /* The old root is stacked on the new one: detach it, leaving the
         * layer directory the only thing in this namespace. */
        if (umount2(".", MNT_DETACH) < 0)
                return step_failed("detaching the old root", err, err_size);
        if (chdir("/") < 0)
                return step_failed("chdir to the new root", err, err_size);
        root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return step_failed("opening the new root", err, err_size);
        *ret_root_fd = root;
        return 0;
}

int confine_privileges(char *err, size_t err_size)
{
        static const struct {
                int resource;
                rlim_t value;
        } limits[] = {
            {RLIMIT_CORE, 0},
            {RLIMIT_NPROC, 0},
            {RLIMIT_NOFILE, CONFINE_MAX_FDS},
        };

        capng_clear(CAPNG_SELECT_ALL);
        if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
                          CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_DAC_OVERRIDE, CAP_SETFCAP,
                          -1) < 0) {
                snprintf(err, err_size, "confinement: capng_updatev failed");
                return -EINVAL;
        }
        if (capng_apply(CAPNG_SELECT_BOTH | CAPNG_SELECT_BOUNDS) < 0) {
                snprintf(err, err_size, "confinement: applying capabilities failed");
                return -EPERM;
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return step_failed("clearing ambient capabilities", err, err_size);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return step_failed("no_new_privs", err, err_size);
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return step_failed("clearing dumpable", err, err_size);
        for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
                struct rlimit rl = {limits[i].value, limits[i].value};

                if (setrlimit(limits[i].resource, &rl) < 0)
                        return step_failed("setrlimit", err, err_size);
        }
        return 0;
}

int confine_seccomp(char *err, size_t err_size)
{
        /* Exactly what unpacking, logging and the reply use; io_uring_enter
         * runs the ring, whose opcodes writer.c restricts separately. */
        static const char *const allowed[] = {
            /* reading the blob, logging, the reply */
            "read", "write", "pwrite64", "sendmsg", "fcntl", "lseek",
            /* the layer */
            "openat2", "mkdirat", "symlinkat", "linkat", "unlinkat", "fchown", "fchownat", "fchmod",
            "fchmodat", "fsetxattr", "utimensat", "ftruncate", "newfstatat", "fstat", "close",
            "io_uring_enter", "syncfs",
            /* memory and time */
            "brk", "mmap", "munmap", "mremap", "madvise", "futex", "clock_gettime", "getpid",
            "gettid",
            /* leaving */
            "rt_sigreturn", "rt_sigprocmask", "exit", "exit_group"};
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        int r = ctx ? 0 : -ENOMEM;

        if (r == 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
        /* The file workers already run: the filter must bind them too. */
        if (r == 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(allowed); i++) {
                int nr = seccomp_syscall_resolve_name(allowed[i]);

                if (nr == __NR_SCMP_ERROR) {
                        snprintf(err, err_size, "confinement: unknown syscall %s", allowed[i]);
                        seccomp_release(ctx);
                        return -EINVAL;
                }
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        }
        /* Only the two node kinds the writer makes: FIFOs and 0:0 whiteouts.
         * The kernel lets a whiteout be made without CAP_MKNOD (5.8+). */
        static const struct scmp_arg_cmp is_fifo = {2, SCMP_CMP_MASKED_EQ, S_IFMT, S_IFIFO},
                                         is_char = {2, SCMP_CMP_MASKED_EQ, S_IFMT, S_IFCHR},
                                         dev_0_0 = {3, SCMP_CMP_EQ, 0, 0};
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mknodat), 1, is_fifo);
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mknodat), 2, is_char, dev_0_0);
        if (r == 0)
                r = seccomp_load(ctx);
        if (ctx)
                seccomp_release(ctx);
        if (r < 0)
                snprintf(err, err_size, "confinement: seccomp filter failed: %s", strerror(-r));
        return r;
}
