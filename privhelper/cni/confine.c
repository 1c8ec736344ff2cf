/* confine.c: owns what brig-cni may be and do once confined: its ids,
 * capabilities, limits and system call allow-list (see confine.h). */
#include "confine.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>

#include "util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CNI_ASAN 1
#endif
#endif

static int step_failed(const char *what, char *err, size_t err_size)
{
        int r = negative_errno();

        snprintf(err, err_size, "confinement: %s failed: %s", what, strerror(-r));
        return r;
}

static int set_limit(int resource, rlim_t value, const char *what, char *err, size_t err_size)
{
        struct rlimit rl = {value, value};

        if (setrlimit(resource, &rl) < 0)
                return step_failed(what, err, err_size);
        return 0;
}

static int check_channel(int fd, char *err, size_t err_size)
{
        int type = 0;
        socklen_t len = sizeof(type);

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return step_failed("checking the channel fd", err, err_size);
        if (type != SOCK_SEQPACKET) {
                snprintf(err, err_size, "confinement: fd %d is not a SOCK_SEQPACKET socket", fd);
                return -ENOTSOCK;
        }
        return 0;
}

/* Every capability goes while CAP_SETPCAP still works for the bounding
 * set; the uid change then empties permitted and effective, and the last
 * capset empties inheritable, which a uid change keeps. */
static int drop_identity(char *err, size_t err_size)
{
        static const gid_t none[1];

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return step_failed("clearing ambient capabilities", err, err_size);
        capng_clear(CAPNG_SELECT_ALL);
        if (capng_apply(CAPNG_SELECT_BOUNDS) < 0) {
                snprintf(err, err_size, "confinement: emptying the bounding set failed");
                return -EPERM;
        }
        if (setgroups(0, none) < 0)
                return step_failed("setgroups", err, err_size);
        if (setresgid(CNI_CONFINE_GID, CNI_CONFINE_GID, CNI_CONFINE_GID) < 0)
                return step_failed("setresgid", err, err_size);
        if (setresuid(CNI_CONFINE_UID, CNI_CONFINE_UID, CNI_CONFINE_UID) < 0)
                return step_failed("setresuid", err, err_size);
        capng_clear(CAPNG_SELECT_CAPS);
        if (capng_apply(CAPNG_SELECT_CAPS) < 0) {
                snprintf(err, err_size, "confinement: clearing capabilities failed");
                return -EPERM;
        }
        return 0;
}

/* Reads back what drop_identity() set: a step that silently did nothing
 * must not leave root behind. */
static int verify_identity(char *err, size_t err_size)
{
        uid_t ru, eu, su;
        gid_t rg, eg, sg;

        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != CNI_CONFINE_UID ||
            eu != CNI_CONFINE_UID || su != CNI_CONFINE_UID || rg != CNI_CONFINE_GID ||
            eg != CNI_CONFINE_GID || sg != CNI_CONFINE_GID || getgroups(0, NULL) != 0) {
                snprintf(err, err_size, "confinement: ids are not %d:%d after the change",
                         CNI_CONFINE_UID, CNI_CONFINE_GID);
                return -EPERM;
        }
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

        if (syscall(SYS_capget, &hdr, data) < 0)
                return step_failed("reading capabilities back", err, err_size);
        for (size_t i = 0; i < ARRAY_SIZE(data); i++)
                if (data[i].effective || data[i].permitted || data[i].inheritable) {
                        snprintf(err, err_size,
                                 "confinement: capabilities remain after the change");
                        return -EPERM;
                }
        for (int cap = 0; cap < 64; cap++) {
                int in_bounds = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

                if (in_bounds < 0)
                        break;
                if (in_bounds > 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0) {
                        snprintf(err, err_size,
                                 "confinement: capability %d remains in the bounding or "
                                 "ambient set",
                                 cap);
                        return -EPERM;
                }
        }
        return 0;
}

static int load_filter(int channel_fd, char *err, size_t err_size)
{
        /* No file, no socket, no process, no exec: reading and writing the
         * channel, logging, memory and leaving. */
        static const char *const plain[] = {
            "brk",    "munmap", "mremap",       "madvise", "clock_gettime",
            "getpid", "gettid", "rt_sigreturn", "exit",    "exit_group",
        };
        const struct scmp_arg_cmp on_channel = {0, SCMP_CMP_EQ, (scmp_datum_t)channel_fd, 0},
                                  on_stderr = {0, SCMP_CMP_EQ, STDERR_FILENO, 0},
                                  no_exec = {2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0};
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        int r = ctx ? 0 : -ENOMEM;

        if (r == 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(plain); i++) {
                int nr = seccomp_syscall_resolve_name(plain[i]);

                if (nr == __NR_SCMP_ERROR) {
                        snprintf(err, err_size, "confinement: unknown syscall %s", plain[i]);
                        seccomp_release(ctx);
                        return -EINVAL;
                }
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        }
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvmsg), 1, on_channel);
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1, on_channel);
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, on_stderr);
        /* Memory, never code: nothing mapped here is executable. */
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, no_exec);
        if (r == 0)
                r = seccomp_load(ctx);
        if (ctx)
                seccomp_release(ctx);
        if (r < 0)
                snprintf(err, err_size, "confinement: seccomp filter failed: %s", strerror(-r));
        return r;
}

int cni_confine(int channel_fd, char *err, size_t err_size)
{
        int r = check_channel(channel_fd, err, err_size);

        /* Whatever else the runner left open is not ours to keep. */
        if (r == 0 && close_range((unsigned)channel_fd + 1, ~0u, 0) < 0)
                r = step_failed("closing inherited fds", err, err_size);
        if (r == 0)
                r = set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE", err, err_size);
        if (r == 0)
                r = set_limit(RLIMIT_NOFILE, CNI_CONFINE_MAX_FDS, "RLIMIT_NOFILE", err, err_size);
#ifndef CNI_ASAN
        /* ASan reserves terabytes of shadow address space. */
        if (r == 0)
                r = set_limit(RLIMIT_AS, CNI_CONFINE_MAX_AS, "RLIMIT_AS", err, err_size);
#endif
        if (r == 0)
                r = drop_identity(err, err_size);
        if (r == 0)
                r = verify_identity(err, err_size);
        if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = step_failed("no_new_privs", err, err_size);
        if (r == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                r = step_failed("clearing dumpable", err, err_size);
        /* After the uid change: set_user() marks a process whose new uid is
         * over RLIMIT_NPROC, which is not what is meant here. */
        if (r == 0)
                r = set_limit(RLIMIT_NPROC, 0, "RLIMIT_NPROC", err, err_size);
        if (r == 0)
                r = load_filter(channel_fd, err, err_size);
        return r;
}
