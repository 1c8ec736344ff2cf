/* privdrop.c: owns creating the brig user and dropping to it, including
 * the read-back that proves the drop happened. */
#include "privdrop.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int lookup(const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
        struct passwd pw, *result = NULL;
        char buf[4096];
        int r = getpwnam_r(name, &pw, buf, sizeof(buf), &result);

        if (r != 0)
                return -r;
        if (!result)
                return -ENOENT;
        *ret_uid = pw.pw_uid;
        *ret_gid = pw.pw_gid;
        return 0;
}

static int run_useradd(const char *name)
{
        char *const argv[] = {
            "useradd",      "--system",
            "--user-group", "--no-create-home",
            "--home-dir",   "/nonexistent",
            "--shell",      "/usr/sbin/nologin",
            "--comment",    "brig CRI daemon (brigd)",
            (char *)name,   NULL,
        };
        char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        pid_t pid;
        int status, r;

        r = posix_spawnp(&pid, "useradd", NULL, NULL, argv, envp);
        if (r != 0)
                return log_error_errno(-r, "cannot run useradd", "user=%s", name);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(-EIO, "useradd failed", "user=%s status=%d", name, status);
        return 0;
}

int brig_user_ensure(const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
        int r = lookup(name, ret_uid, ret_gid);

        if (r == -ENOENT) {
                log_info("creating the unprivileged user", "user=%s", name);
                r = run_useradd(name);
                if (r < 0)
                        return r;
                r = lookup(name, ret_uid, ret_gid);
                if (r < 0)
                        return log_error_errno(r, "user still missing after useradd", "user=%s",
                                               name);
        } else if (r < 0) {
                return log_error_errno(r, "cannot look up user", "user=%s", name);
        }
        if (*ret_uid == 0 || *ret_gid == 0)
                return log_error_errno(-EPERM, "refusing to run brigd as uid or gid 0", "user=%s",
                                       name);
        return 0;
}

/* Every capability number the running kernel knows, bounding set included. */
static int check_no_capabilities(void)
{
        capng_clear(CAPNG_SELECT_ALL);
        if (capng_get_caps_process() < 0)
                return -EIO;
        if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
                return -EPERM;
        for (int cap = 0; cap < 64; cap++) { /* beyond the last cap the kernel answers EINVAL */
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
                        return -EPERM;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
                        return -EPERM;
        }
        return 0;
}

int privdrop_to(uid_t uid, gid_t gid, const char **ret_what)
{
        uid_t ru, eu, su;
        gid_t rg, eg, sg;

        if (uid == 0) {
                *ret_what = "target uid is 0";
                return -EPERM;
        }
        /* Empty every set in libcap-ng's state, then let change_id apply it
         * across the uid change: it drops supplementary groups, sets the
         * gid, clears the bounding set while it still may, and sets the uid. */
        capng_clear(CAPNG_SELECT_ALL);
        if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0) {
                *ret_what = "capng_change_id";
                return -EPERM;
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
                *ret_what = "clearing ambient capabilities";
                return negative_errno();
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                *ret_what = "PR_SET_NO_NEW_PRIVS";
                return negative_errno();
        }

        /* Read everything back: a drop that silently did less must not exec. */
        if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid) {
                *ret_what = "uid read-back";
                return -EPERM;
        }
        if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid) {
                *ret_what = "gid read-back";
                return -EPERM;
        }
        if (getgroups(0, NULL) != 0) {
                *ret_what = "supplementary groups read-back";
                return -EPERM;
        }
        if (check_no_capabilities() < 0) {
                *ret_what = "capability read-back";
                return -EPERM;
        }
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
                *ret_what = "no_new_privs read-back";
                return -EPERM;
        }
        return 0;
}
