/* dirs.c: owns creating brig's state directories with their owners and
 * modes, and checking that what already exists is what brig expects. */
#include "dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* mkdir -p for an absolute, already validated path; new directories get
 * mode (parents 0755). Returns 1 if path itself was created, 0 if it
 * existed as a directory. */
static int make_path(const char *path, mode_t mode)
{
        _cleanup_free_ char *copy = strdup(path);
        struct stat st;

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(negative_errno(), "cannot create directory",
                                               "dir=%s", copy);
                *p = '/';
        }
        if (mkdir(path, mode) == 0)
                return 1;
        if (errno != EEXIST)
                return log_error_errno(negative_errno(), "cannot create directory", "dir=%s", path);
        if (lstat(path, &st) < 0)
                return log_error_errno(negative_errno(), "cannot inspect directory", "dir=%s",
                                       path);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(-ENOTDIR, "exists and is not a directory", "dir=%s", path);
        return 0;
}

/* The mode is set explicitly: mkdir's is filtered by the umask. */
static int own_dir(const char *path, mode_t mode)
{
        int r = make_path(path, mode);

        if (r < 0)
                return r;
        if (chown(path, 0, 0) < 0 || chmod(path, mode) < 0)
                return log_error_errno(negative_errno(), "cannot set owner and mode", "dir=%s",
                                       path);
        return 0;
}

/* What dirs_prepare() made of a socket directory on an earlier start. */
static bool is_socket_dir(const char *path, gid_t gid)
{
        struct stat st;

        return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && st.st_gid == gid &&
               (st.st_mode & 07777) == 01770;
}

int dirs_prepare(const struct brig_config *config, gid_t gid)
{
        _cleanup_free_ char *socket_dir = strdup(config->listen + strlen("unix://"));
        int r;

        if (!socket_dir)
                return -ENOMEM;
        *strrchr(socket_dir, '/') = '\0';
        if (socket_dir[0] == '\0')
                return log_error_errno(-EINVAL, "the CRI socket cannot be in /", "listen=%s",
                                       config->listen);

        r = own_dir(config->root, 0711);
        if (r < 0)
                return r;
        r = own_dir(config->run_root, 0755);
        if (r < 0)
                return r;

        bool is_run_root = strcmp(socket_dir, config->run_root) == 0;
        r = make_path(socket_dir, 0755);
        if (r < 0)
                return r;
        if (r == 0 && !is_run_root && !is_socket_dir(socket_dir, gid))
                return log_error_errno(-EEXIST,
                                       "the CRI socket's directory already exists, is not "
                                       "run_root and is not root:brig 01770; brig will not "
                                       "change its mode",
                                       "dir=%s", socket_dir);
        if (chown(socket_dir, 0, gid) < 0 || chmod(socket_dir, 01770) < 0)
                return log_error_errno(negative_errno(), "cannot set owner and mode", "dir=%s",
                                       socket_dir);
        return 0;
}
