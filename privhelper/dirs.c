/* dirs.c: owns creating brig's state directories with their owners and
 * modes, and checking that what already exists is what brig expects. */
#include "dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
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

/* An existing directory is used as it is, never re-moded: it may serve
 * more than brig. It must be root's and writable by nobody else, or a
 * local user could swap what root later puts in it. */
static int check_root_owned(const char *path)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return log_error_errno(negative_errno(), "cannot inspect directory", "dir=%s",
                                       path);
        if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
                return log_error_errno(-EPERM,
                                       "directory exists but is not root's, or is writable by "
                                       "group or others; fix it or configure another",
                                       "dir=%s mode=%04o uid=%u", path,
                                       (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
        return 0;
}

/* A new directory gets mode and root:gid explicitly: mkdir's mode is
 * filtered by the umask. */
static int own_new_dir(const char *path, mode_t mode, gid_t gid)
{
        if (chown(path, 0, gid) < 0 || chmod(path, mode) < 0)
                return log_error_errno(negative_errno(), "cannot set owner and mode", "dir=%s",
                                       path);
        return 0;
}

static int ensure_root_dir(const char *path, mode_t mode)
{
        int r = make_path(path, mode);

        if (r < 0)
                return r;
        return r == 1 ? own_new_dir(path, mode, 0) : check_root_owned(path);
}

/* What dirs_prepare() made of a socket directory on an earlier start. */
static bool is_socket_dir(const char *path, gid_t gid)
{
        struct stat st;

        return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && st.st_gid == gid &&
               (st.st_mode & 07777) == 01770;
}

/* brigd's own store: the brig user's alone. An existing one must already
 * be exactly that; it is never re-owned, so a link planted there cannot
 * make root chown something else. */
static int ensure_brig_dir(const char *path, uid_t uid, gid_t gid)
{
        struct stat st;
        int r = make_path(path, 0700);

        if (r < 0)
                return r;
        if (r == 1) {
                if (chown(path, uid, gid) < 0 || chmod(path, 0700) < 0)
                        return log_error_errno(negative_errno(), "cannot set owner and mode",
                                               "dir=%s", path);
                return 0;
        }
        if (lstat(path, &st) < 0)
                return log_error_errno(negative_errno(), "cannot inspect directory", "dir=%s",
                                       path);
        if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077))
                return log_error_errno(-EPERM,
                                       "a directory of brigd's state exists but is not the brig "
                                       "user's alone (mode 0700); fix it or configure another root",
                                       "dir=%s mode=%04o uid=%u want_uid=%u", path,
                                       (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                                       (unsigned)uid);
        return 0;
}

int dirs_prepare(const struct brig_config *config, uid_t uid, gid_t gid)
{
        _cleanup_free_ char *socket_dir = strdup(config->listen + strlen("unix://"));
        bool is_run_root;
        int r;

        if (!socket_dir)
                return -ENOMEM;
        *strrchr(socket_dir, '/') = '\0';
        if (socket_dir[0] == '\0')
                return log_error_errno(-EINVAL, "the CRI socket cannot be in /", "listen=%s",
                                       config->listen);
        is_run_root = strcmp(socket_dir, config->run_root) == 0;

        r = ensure_root_dir(config->root, 0711);
        if (r == 0 && !is_run_root)
                r = ensure_root_dir(config->run_root, 0755);
        if (r < 0)
                return r;
        static const char *const brig_dirs[] = {DIRS_IMAGES, DIRS_PODS};
        for (size_t i = 0; i < ARRAY_SIZE(brig_dirs); i++) {
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, "%s/%s", config->root, brig_dirs[i]) < 0)
                        return -ENOMEM;
                r = ensure_brig_dir(dir, uid, gid);
                if (r < 0)
                        return r;
        }

        r = make_path(socket_dir, 01770);
        if (r < 0)
                return r;
        if (r == 1 || is_socket_dir(socket_dir, gid))
                return own_new_dir(socket_dir, 01770, gid);
        /* run_root is brig's by configuration: it may be handed to brigd's
         * group, once it is shown to be root's alone. */
        if (!is_run_root)
                return log_error_errno(-EEXIST,
                                       "the CRI socket's directory already exists, is not "
                                       "run_root and is not root:brig 01770; brig will not "
                                       "change its mode",
                                       "dir=%s", socket_dir);
        r = check_root_owned(socket_dir);
        return r < 0 ? r : own_new_dir(socket_dir, 01770, gid);
}

/* Runs in a child that has become uid/gid: the first directory on path
 * that the brig user cannot search, or NULL if path is reachable. */
static const char *first_unreachable(char *path)
{
        for (char *p = path + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char c = *p;
                *p = '\0';
                int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return path;
                close(fd);
                *p = c;
                if (c == '\0')
                        return NULL;
        }
}

int dirs_check_reachable(const char *const *paths, size_t n, uid_t uid, gid_t gid)
{
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return log_error_errno(negative_errno(), "cannot fork to check directories", NULL);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
                    setresuid(uid, uid, uid) < 0)
                        _exit(2);
                for (size_t i = 0; i < n; i++) {
                        char copy[4096];
                        snprintf(copy, sizeof(copy), "%s", paths[i]);
                        const char *bad = first_unreachable(copy);
                        if (bad) {
                                log_error_errno(negative_errno(),
                                                "brigd's user cannot reach a directory it needs; "
                                                "give it search permission (x) on every "
                                                "directory above, or configure another place",
                                                "dir=%s blocked_at=%s uid=%u", paths[i], bad,
                                                (unsigned)uid);
                                _exit(1);
                        }
                }
                _exit(0);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
                return log_error_errno(-EPERM, "cannot become brigd's user to check directories",
                                       "uid=%u", (unsigned)uid);
        return -EACCES;
}

int dirs_open_private(int parent_fd, const char *parent_path, const char *name)
{
        struct stat st;
        int fd;

        if (mkdirat(parent_fd, name, 0700) == 0) {
                if (fchownat(parent_fd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
                        return log_error_errno(negative_errno(), "cannot own a state directory",
                                               "dir=%s/%s", parent_path, name);
        } else if (errno != EEXIST) {
                return log_error_errno(negative_errno(), "cannot create a state directory",
                                       "dir=%s/%s", parent_path, name);
        }
        fd = openat_beneath(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (fd < 0)
                return log_error_errno(fd, "cannot open a state directory", "dir=%s/%s",
                                       parent_path, name);
        if (fstat(fd, &st) < 0) {
                int r = negative_errno();

                safe_close(fd);
                return log_error_errno(r, "cannot inspect a state directory", "dir=%s/%s",
                                       parent_path, name);
        }
        if (st.st_uid != 0 || (st.st_mode & 022)) {
                safe_close(fd);
                return log_error_errno(-EPERM,
                                       "a state directory is not root's alone; fix its owner and "
                                       "mode or configure another root or run_root",
                                       "dir=%s/%s uid=%u mode=%04o", parent_path, name,
                                       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        }
        return fd;
}
