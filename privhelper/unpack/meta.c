/* meta.c: owns replacing and creating a tar entry's node and applying its
 * owner, mode, xattrs and times, in the one order that keeps setuid bits
 * and file capabilities (see meta.h). */
#include "meta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fsutil.h"
#include "util.h"

int meta_remove_entry(int dirfd, const char *name)
{
        if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno == EISDIR && unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
                return 0;
        return negative_errno();
}

int meta_create_file(int dirfd, const char *name, mode_t mode, const char **what)
{
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
        int fd = openat_beneath(dirfd, name, flags, mode & 0777);

        if (fd == -EEXIST) {
                fd = meta_remove_entry(dirfd, name);
                if (fd < 0) {
                        *what = "removing the existing entry";
                        return fd;
                }
                fd = openat_beneath(dirfd, name, flags, mode & 0777);
        }
        if (fd < 0)
                *what = "creating the file";
        return fd;
}

void meta_entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        if (archive_entry_atime_is_set(e))
                ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
        else
                ts[0] = ts[1];
}

void meta_from_entry(struct archive_entry *e, struct node_meta *m)
{
        *m = (struct node_meta){
            .uid = archive_entry_uid(e),
            .gid = archive_entry_gid(e),
            .mode = archive_entry_perm(e),
        };
        meta_entry_times(e, m->times);
}

void meta_free_xattrs(struct xattrs *x)
{
        for (size_t i = 0; i < x->n; i++) {
                free(x->items[i].name);
                free(x->items[i].value);
        }
        free(x->items);
        *x = (struct xattrs){0};
}

static bool xattr_wanted(const char *name)
{
        return strncmp(name, "user.", 5) == 0 || strncmp(name, "security.", 9) == 0;
}

int meta_collect_xattrs(struct archive_entry *e, struct xattrs *x,
                        void (*skipped)(const char *xattr, void *data), void *data)
{
        size_t n = (size_t)archive_entry_xattr_reset(e);
        const char *name;
        const void *value;
        size_t size;

        *x = (struct xattrs){0};
        if (n == 0)
                return 0;
        x->items = calloc(n, sizeof(*x->items));
        if (!x->items)
                return -ENOMEM;
        while (x->n < n && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                struct xattr *it = &x->items[x->n];

                if (!xattr_wanted(name)) {
                        skipped(name, data);
                        continue;
                }
                it->name = strdup(name);
                it->value = malloc(size ? size : 1);
                if (!it->name || !it->value) {
                        free(it->name);
                        free(it->value);
                        meta_free_xattrs(x);
                        return -ENOMEM;
                }
                if (size)
                        memcpy(it->value, value, size);
                it->size = size;
                x->n++;
        }
        return 0;
}

int meta_apply(int fd, const struct node_meta *m, bool set_times, const char **what,
               char *xattr_buf, size_t xattr_buf_size)
{
        if (!m->created_exact && fchown(fd, m->uid, m->gid) < 0) {
                *what = "chown";
                return negative_errno();
        }
        if (!m->created_exact && fchmod(fd, m->mode & 07777) < 0) {
                *what = "chmod";
                return negative_errno();
        }
        for (size_t i = 0; i < m->xattrs.n; i++) {
                const struct xattr *x = &m->xattrs.items[i];

                if (fsetxattr(fd, x->name, x->value, x->size, 0) < 0) {
                        int r = negative_errno();

                        snprintf(xattr_buf, xattr_buf_size, "setting xattr %s", x->name);
                        *what = xattr_buf;
                        return r;
                }
        }
        if (set_times && futimens(fd, m->times) < 0) {
                *what = "setting times";
                return negative_errno();
        }
        return 0;
}
