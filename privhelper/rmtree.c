/* rmtree.c: owns recursive removal below a directory fd (failed or stale
 * layer directories). Every step is relative to an fd this code opened with
 * O_NOFOLLOW, so a symlink planted in the tree is unlinked, never followed. */
#include "rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "util.h"

/* Deeper than any tree brig-unpack can make (PATH_MAX bounds entry names). */
#define RMTREE_MAX_DEPTH 4096

static int remove_entry(int dfd, const char *name, dev_t dev, unsigned depth);

/* Empties the directory open at dfd. Entries removed while readdir runs may
 * hide others, so it scans again until a pass finds nothing. */
static int empty_dir(int dfd, dev_t dev, unsigned depth)
{
        _cleanup_closedir_ DIR *d = opendir_at(dfd);

        if (!d)
                return negative_errno();
        for (;;) {
                bool removed = false;
                struct dirent *e;

                errno = 0;
                while ((e = readdir(d))) {
                        int r;

                        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                                continue;
                        r = remove_entry(dfd, e->d_name, dev, depth + 1);
                        if (r < 0)
                                return r;
                        removed = true;
                }
                if (errno != 0)
                        return negative_errno();
                if (!removed)
                        return 0;
                rewinddir(d);
        }
}

static int remove_entry(int dfd, const char *name, dev_t dev, unsigned depth)
{
        _cleanup_close_ int child = -1;
        struct stat st;
        int r;

        if (depth > RMTREE_MAX_DEPTH)
                return log_error_errno(-ELOOP, "directory tree too deep to remove", "entry=%s",
                                       name);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                        return log_error_errno(negative_errno(), "cannot remove", "entry=%s", name);
                return 0;
        }
        if (st.st_dev != dev)
                return log_error_errno(-EXDEV, "refusing to remove a mounted directory", "entry=%s",
                                       name);
        child = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0)
                return log_error_errno(negative_errno(), "cannot open directory to remove",
                                       "entry=%s", name);
        r = empty_dir(child, dev, depth);
        if (r < 0)
                return log_error_errno(r, "cannot empty directory", "entry=%s", name);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return log_error_errno(negative_errno(), "cannot remove directory", "entry=%s",
                                       name);
        return 0;
}

int rmtree_at(int dirfd, const char *name)
{
        struct stat st;

        if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || !name[0])
                return -EINVAL;
        if (fstat(dirfd, &st) < 0)
                return negative_errno();
        return remove_entry(dirfd, name, st.st_dev, 0);
}
