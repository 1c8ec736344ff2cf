/* writer.c: owns every change made to the layer directory: path
 * resolution beneath it, creating entries, the io_uring data writes and the
 * order in which metadata is applied (see writer.h). */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <liburing.h>

#include "fsutil.h"
#include "log.h"
#include "util.h"

#define RING_ENTRIES 256
/* Writes in flight per batch: at most the CQ ring (2 * RING_ENTRIES), so
 * completions never overflow before they are reaped. */
#define MAX_OPS     (2 * RING_ENTRIES)
#define MAX_FILES   128
#define ARENA_SIZE  (8u << 20)
#define MAX_CHUNK   (1u << 20)
#define NAME_MAX_C  255
#define CACHE_SLOTS 16

struct xattr {
        char *name;
        void *value;
        size_t size;
};

struct xattrs {
        struct xattr *items;
        size_t n;
};

/* A regular file whose data may still be in flight. */
struct file {
        int fd;
        bool complete;      /* every data block of the entry is queued */
        bool created_exact; /* owner and mode right from creation */
        uid_t uid;
        gid_t gid;
        mode_t mode;
        struct timespec times[2];
        struct xattrs xattrs;
        char *name;
};

struct op {
        int slot;
        const uint8_t *buf;
        uint32_t len;
        uint64_t off;
};

/* An open parent directory: layers list a directory's entries together,
 * but files and subdirectories interleave, so a few are kept. */
struct parent_cache {
        int fd;      /* -1: empty */
        bool setgid; /* new entries there take the directory's group */
        char path[PATH_MAX];
};

struct dir_time {
        char *path;
        struct timespec times[2];
};

struct writer {
        int root_fd;
        uint64_t max_entries;
        uint64_t seen, entries, skipped;
        int error;
        struct io_uring ring;
        bool ring_init;
        uint8_t *arena;
        size_t arena_used;
        struct op ops[MAX_OPS];
        size_t n_ops, unsubmitted;
        struct file files[MAX_FILES];
        size_t n_files;
        /* the last parent directory resolved, since entries of one directory
         * usually come together */
        struct parent_cache cache[CACHE_SLOTS];
        /* the slot get_parent() returned last */
        struct parent_cache *cur;
        struct dir_time *dirs;
        size_t n_dirs, cap_dirs;
        char *opaque;
        size_t opaque_len, opaque_cap;
        char err[WRITER_ERR_MAX];
};

/* An entry name made safe to quote in a message: control bytes become '?'
 * and long names are cut. */
static const char *quote(const char *name, char *buf, size_t size)
{
        size_t i = 0;

        for (; name[i] && i + 4 < size; i++)
                buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
        if (name[i]) {
                memcpy(buf + i, "...", 3);
                i += 3;
        }
        buf[i] = '\0';
        return buf;
}

static int fail(struct writer *w, int error, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct writer *w, int error, const char *name, const char *fmt, ...)
{
        char q[200], why[WRITER_ERR_MAX - sizeof(q) - 16];
        va_list ap;

        if (w->error)
                return w->error;
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        if (name)
                snprintf(w->err, sizeof(w->err), "entry '%s': %s", quote(name, q, sizeof(q)), why);
        else
                snprintf(w->err, sizeof(w->err), "%s", why);
        w->error = error;
        return error;
}

static int fail_errno(struct writer *w, int error, const char *name, const char *what)
{
        return fail(w, error, name, "%s: %s", what, strerror(-error));
}

int writer_clean_path(const char *name, char *out, size_t out_size, const char **why)
{
        size_t len = 0;
        const char *p = name;

        if (strlen(name) >= PATH_MAX) {
                *why = "name is PATH_MAX bytes or longer";
                return -ENAMETOOLONG;
        }
        if (name[0] == '/') {
                *why = "absolute name";
                return -EINVAL;
        }
        while (*p) {
                const char *end = strchrnul(p, '/');
                size_t n = (size_t)(end - p);

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        *why = "name has a '..' component";
                        return -EINVAL;
                }
                if (n > NAME_MAX_C) {
                        *why = "a name component is longer than 255 bytes";
                        return -ENAMETOOLONG;
                }
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (len + (len > 0) + n + 1 > out_size) {
                                *why = "name too long";
                                return -ENAMETOOLONG;
                        }
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, p, n);
                        len += n;
                }
                p = *end ? end + 1 : end;
        }
        out[len] = '\0';
        return 0;
}

static int openat2_dir(int dirfd, const char *path)
{
        /* no O_NOFOLLOW: RESOLVE_NO_SYMLINKS refuses a symlink in any
         * position with ELOOP, where O_NOFOLLOW would say ENOTDIR */
        return openat_beneath(dirfd, path, O_RDONLY | O_DIRECTORY, 0);
}

int writer_new(int root_fd, uint64_t max_entries, struct writer **ret, char *err, size_t err_size)
{
        struct io_uring_restriction res[] = {
            {.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITE},
            {.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = 0},
        };
        struct writer *w = calloc(1, sizeof(*w));
        int r;

        if (!w) {
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        w->root_fd = root_fd;
        w->max_entries = max_entries;
        for (size_t i = 0; i < CACHE_SLOTS; i++)
                w->cache[i].fd = -1;
        w->arena = malloc(ARENA_SIZE);
        if (!w->arena) {
                free(w);
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        /* Created disabled so the restriction is in place before the first
         * submission: io_uring operations bypass seccomp, so this list is
         * what bounds the ring. */
        r = io_uring_queue_init(RING_ENTRIES, &w->ring, IORING_SETUP_R_DISABLED);
        if (r < 0) {
                snprintf(err, err_size, "io_uring setup failed: %s", strerror(-r));
                goto fail;
        }
        w->ring_init = true;
        /* Raw register calls: Debian's liburing 2.3 declares but does not export
         * io_uring_register_restrictions() and io_uring_enable_rings(). */
        r = (int)syscall(SYS_io_uring_register, w->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res,
                         ARRAY_SIZE(res));
        r = r < 0 ? negative_errno() : 0;
        if (r < 0) {
                snprintf(err, err_size, "io_uring restrictions failed: %s", strerror(-r));
                goto fail;
        }
        r = (int)syscall(SYS_io_uring_register, w->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
                         0);
        r = r < 0 ? negative_errno() : 0;
        if (r < 0) {
                snprintf(err, err_size, "io_uring enable failed: %s", strerror(-r));
                goto fail;
        }
        *ret = w;
        return 0;
fail:
        writer_free(w);
        return r;
}

static void xattrs_free(struct xattrs *x)
{
        for (size_t i = 0; i < x->n; i++) {
                free(x->items[i].name);
                free(x->items[i].value);
        }
        free(x->items);
        *x = (struct xattrs){0};
}

void writer_free(struct writer *w)
{
        if (!w)
                return;
        if (w->ring_init)
                io_uring_queue_exit(&w->ring);
        for (size_t i = 0; i < w->n_files; i++) {
                safe_close(w->files[i].fd);
                xattrs_free(&w->files[i].xattrs);
                free(w->files[i].name);
        }
        for (size_t i = 0; i < w->n_dirs; i++)
                free(w->dirs[i].path);
        free(w->dirs);
        free(w->opaque);
        for (size_t i = 0; i < CACHE_SLOTS; i++)
                safe_close(w->cache[i].fd);
        free(w->arena);
        free(w);
}

uint64_t writer_entries(const struct writer *w)
{
        return w->entries;
}

uint64_t writer_skipped(const struct writer *w)
{
        return w->skipped;
}

const char *writer_opaque_dirs(const struct writer *w, size_t *ret_len)
{
        *ret_len = w->opaque_len;
        return w->opaque;
}

const char *writer_error(const struct writer *w)
{
        return w->err;
}

/* Only user.* and security.* (security.capability among them) come from a
 * layer: trusted.* is the overlay's own namespace (and needs CAP_SYS_ADMIN)
 * and system.* holds ACLs, which libarchive reports separately. */
static bool xattr_wanted(const char *name)
{
        return strncmp(name, "user.", 5) == 0 || strncmp(name, "security.", 9) == 0;
}

static int xattrs_collect(struct writer *w, struct archive_entry *e, const char *name,
                          struct xattrs *ret)
{
        size_t n = (size_t)archive_entry_xattr_reset(e);
        const char *xname;
        const void *value;
        size_t size;

        *ret = (struct xattrs){0};
        if (n == 0)
                return 0;
        ret->items = calloc(n, sizeof(*ret->items));
        if (!ret->items)
                return fail(w, -ENOMEM, name, "out of memory for xattrs");
        while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
                struct xattr *x;

                if (ret->n == n)
                        break;
                if (!xattr_wanted(xname)) {
                        log_warn("xattr not restored", "entry=\"%s\" xattr=\"%s\"", name, xname);
                        continue;
                }
                x = &ret->items[ret->n];
                x->name = strdup(xname);
                x->value = malloc(size ? size : 1);
                if (!x->name || !x->value) {
                        free(x->name);
                        free(x->value);
                        xattrs_free(ret);
                        return fail(w, -ENOMEM, name, "out of memory for xattrs");
                }
                if (size)
                        memcpy(x->value, value, size);
                x->size = size;
                ret->n++;
        }
        return 0;
}

static int xattrs_apply(struct writer *w, int fd, const struct xattrs *x, const char *name)
{
        for (size_t i = 0; i < x->n; i++)
                if (fsetxattr(fd, x->items[i].name, x->items[i].value, x->items[i].size, 0) < 0) {
                        char what[300];

                        snprintf(what, sizeof(what), "setting xattr %s", x->items[i].name);
                        return fail_errno(w, negative_errno(), name, what);
                }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        if (archive_entry_atime_is_set(e))
                ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
        else
                ts[0] = ts[1];
}

/* Owner, then mode (chown clears setuid/setgid), then xattrs (chown clears
 * security.capability), then times (the rest change ctime only). */
static int apply_fd_meta(struct writer *w, int fd, uid_t uid, gid_t gid, mode_t mode,
                         bool created_exact, const struct xattrs *x, const struct timespec *times,
                         const char *name)
{
        /* created_exact: the node was created with this owner and mode
         * already, which saves two syscalls on most files of a layer */
        if (!created_exact && fchown(fd, uid, gid) < 0)
                return fail_errno(w, negative_errno(), name, "chown");
        if (!created_exact && fchmod(fd, mode & 07777) < 0)
                return fail_errno(w, negative_errno(), name, "chmod");
        if (x && xattrs_apply(w, fd, x, name) < 0)
                return w->error;
        if (times && futimens(fd, times) < 0)
                return fail_errno(w, negative_errno(), name, "setting times");
        return 0;
}

/* Reaps n completions; a short write is finished synchronously. */
static int reap(struct writer *w, unsigned n)
{
        while (n > 0) {
                struct io_uring_cqe *cqe;
                int r = io_uring_wait_cqe(&w->ring, &cqe);

                if (r == -EINTR)
                        continue;
                if (r < 0)
                        return fail(w, r, NULL, "io_uring wait: %s", strerror(-r));
                struct op *op = &w->ops[cqe->user_data];
                struct file *f = &w->files[op->slot];
                int res = cqe->res;

                io_uring_cqe_seen(&w->ring, cqe);
                n--;
                if (res < 0) {
                        fail_errno(w, res, f->name, "writing data");
                        continue;
                }
                for (size_t done = (size_t)res; done < op->len && !w->error;) {
                        ssize_t k =
                            pwrite(f->fd, op->buf + done, op->len - done, (off_t)(op->off + done));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                fail_errno(w, k < 0 ? negative_errno() : -EIO, f->name,
                                           "writing data");
                        else
                                done += (size_t)k;
                }
        }
        return w->error;
}

static int finalize(struct writer *w, struct file *f)
{
        int r = apply_fd_meta(w, f->fd, f->uid, f->gid, f->mode, f->created_exact, &f->xattrs,
                              f->times, f->name);

        f->fd = safe_close(f->fd);
        xattrs_free(&f->xattrs);
        free(f->name);
        f->name = NULL;
        return r;
}

/* Submits and completes every queued write, frees the arena, and finishes
 * the files whose entries are complete (an incomplete one stays open). */
static int flush(struct writer *w)
{
        size_t keep = 0;
        int r;

        if (w->n_ops > 0) {
                r = io_uring_submit(&w->ring);
                if (r < 0)
                        return fail(w, r, NULL, "io_uring submit: %s", strerror(-r));
                r = reap(w, (unsigned)w->n_ops);
                w->n_ops = 0;
                w->unsubmitted = 0;
                w->arena_used = 0;
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < w->n_files; i++) {
                if (w->files[i].complete) {
                        r = finalize(w, &w->files[i]);
                        if (r < 0)
                                return r;
                } else {
                        w->files[keep++] = w->files[i];
                }
        }
        w->n_files = keep;
        return 0;
}

/* *slot is the file's index, updated when a flush moves it. */
static int queue_write(struct writer *w, int *slot, const void *buf, size_t len, uint64_t off)
{
        while (len > 0) {
                size_t n = len < MAX_CHUNK ? len : MAX_CHUNK;
                struct io_uring_sqe *sqe;
                int r;

                if (w->n_ops == MAX_OPS || ARENA_SIZE - w->arena_used < n) {
                        r = flush(w);
                        if (r < 0)
                                return r;
                        /* the one incomplete file is the last one kept */
                        *slot = (int)w->n_files - 1;
                }
                sqe = io_uring_get_sqe(&w->ring);
                if (!sqe) {
                        r = io_uring_submit(&w->ring);
                        if (r < 0)
                                return fail(w, r, NULL, "io_uring submit: %s", strerror(-r));
                        sqe = io_uring_get_sqe(&w->ring);
                        if (!sqe)
                                return fail(w, -EIO, NULL, "io_uring has no free entry");
                }
                memcpy(w->arena + w->arena_used, buf, n);
                w->ops[w->n_ops] = (struct op){*slot, w->arena + w->arena_used, (uint32_t)n, off};
                io_uring_prep_write(sqe, w->files[*slot].fd, w->arena + w->arena_used, (unsigned)n,
                                    off);
                io_uring_sqe_set_data64(sqe, w->n_ops);
                w->n_ops++;
                w->arena_used += n;
                buf = (const uint8_t *)buf + n;
                len -= n;
                off += n;
        }
        return 0;
}

/* Forgets cached parents that are path or under it, since that entry is
 * about to be replaced. */
static void cache_invalidate(struct writer *w, const char *path)
{
        size_t n = strlen(path);

        for (size_t i = 0; i < CACHE_SLOTS; i++) {
                struct parent_cache *c = &w->cache[i];

                if (c->fd >= 0 && (n == 0 || (strncmp(c->path, path, n) == 0 &&
                                              (c->path[n] == '\0' || c->path[n] == '/')))) {
                        c->fd = safe_close(c->fd);
                        c->path[0] = '\0';
                }
        }
}

static struct parent_cache *cache_slot(struct writer *w, const char *path)
{
        uint32_t h = 2166136261u; /* FNV-1a */

        for (const char *p = path; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        return &w->cache[h % CACHE_SLOTS];
}

/* An fd of the directory at parent (relative, "" for the root), creating
 * missing components 0755. The fd is the writer's (cached). */
static int get_parent(struct writer *w, const char *parent, const char *name, int *ret)
{
        struct parent_cache *c = cache_slot(w, parent);
        char buf[PATH_MAX];
        struct stat st;
        int fd;

        if (c->fd >= 0 && strcmp(c->path, parent) == 0) {
                w->cur = c;
                *ret = c->fd;
                return 0;
        }
        fd = openat2_dir(w->root_fd, parent[0] ? parent : ".");
        if (fd == -ENOENT) {
                char *p = buf, *slash;

                snprintf(buf, sizeof(buf), "%s", parent);
                fd = openat2_dir(w->root_fd, ".");
                while (fd >= 0 && p) {
                        int next;

                        slash = strchr(p, '/');
                        if (slash)
                                *slash = '\0';
                        next = openat2_dir(fd, p);
                        if (next == -ENOENT) {
                                if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST)
                                        next = negative_errno();
                                else
                                        next = openat2_dir(fd, p);
                        }
                        safe_close(fd);
                        fd = next;
                        p = slash ? slash + 1 : NULL;
                }
        }
        if (fd == -ELOOP)
                return fail(w, fd, name,
                            "a parent directory is a symlink; refusing to write "
                            "through it");
        if (fd == -ENOTDIR)
                return fail(w, fd, name, "a parent is not a directory");
        if (fd == -EXDEV)
                return fail(w, fd, name, "the path leaves the layer directory");
        if (fd < 0)
                return fail_errno(w, fd, name, "opening the parent directory");
        if (fstat(fd, &st) < 0) {
                safe_close(fd);
                return fail_errno(w, negative_errno(), name, "stat of the parent directory");
        }
        safe_close(c->fd);
        c->fd = fd;
        c->setgid = st.st_mode & S_ISGID;
        snprintf(c->path, sizeof(c->path), "%s", parent);
        w->cur = c;
        *ret = fd;
        return 0;
}

/* Removes what exists at base in dirfd (never following it). */
static int remove_existing(struct writer *w, int dirfd, const char *base, const char *path,
                           const char *name)
{
        cache_invalidate(w, path);
        if (unlinkat(dirfd, base, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno == EISDIR && unlinkat(dirfd, base, AT_REMOVEDIR) == 0)
                return 0;
        return fail_errno(w, negative_errno(), name, "removing the existing entry");
}

static int record_dir(struct writer *w, const char *path, struct archive_entry *e, const char *name)
{
        if (w->n_dirs == w->cap_dirs) {
                size_t cap = w->cap_dirs ? 2 * w->cap_dirs : 64;
                struct dir_time *d = realloc(w->dirs, cap * sizeof(*d));

                if (!d)
                        return fail(w, -ENOMEM, name, "out of memory");
                w->dirs = d;
                w->cap_dirs = cap;
        }
        w->dirs[w->n_dirs].path = strdup(path[0] ? path : ".");
        if (!w->dirs[w->n_dirs].path)
                return fail(w, -ENOMEM, name, "out of memory");
        entry_times(e, w->dirs[w->n_dirs].times);
        w->n_dirs++;
        return 0;
}

static int add_opaque(struct writer *w, const char *dir, const char *name)
{
        const char *p = dir[0] ? dir : ".";
        size_t n = strlen(p) + 1;

        if (w->opaque_cap - w->opaque_len < n) {
                size_t cap = w->opaque_cap ? 2 * w->opaque_cap : 4096;
                char *o;

                while (cap - w->opaque_len < n)
                        cap *= 2;
                o = realloc(w->opaque, cap);
                if (!o)
                        return fail(w, -ENOMEM, name, "out of memory");
                w->opaque = o;
                w->opaque_cap = cap;
        }
        memcpy(w->opaque + w->opaque_len, p, n);
        w->opaque_len += n;
        return 0;
}

static int do_dir(struct writer *w, int pfd, const char *base, const char *path,
                  struct archive_entry *e, const char *name)
{
        _cleanup_close_ int fd = -1;
        struct xattrs x;
        int r;

        if (!path[0]) {
                fd = openat2_dir(w->root_fd, ".");
        } else {
                if (mkdirat(pfd, base, 0700) < 0) {
                        struct stat st;

                        if (errno != EEXIST)
                                return fail_errno(w, negative_errno(), name, "mkdir");
                        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                return fail_errno(w, negative_errno(), name, "stat");
                        if (!S_ISDIR(st.st_mode)) {
                                if (remove_existing(w, pfd, base, path, name) < 0)
                                        return w->error;
                                if (mkdirat(pfd, base, 0700) < 0)
                                        return fail_errno(w, negative_errno(), name, "mkdir");
                        }
                }
                fd = openat2_dir(pfd, base);
        }
        if (fd < 0)
                return fail_errno(w, fd, name, "opening the directory");
        r = xattrs_collect(w, e, name, &x);
        if (r < 0)
                return r;
        r = apply_fd_meta(w, fd, archive_entry_uid(e), archive_entry_gid(e), archive_entry_perm(e),
                          false, &x, NULL, name);
        xattrs_free(&x);
        if (r < 0)
                return r;
        return record_dir(w, path, e, name);
}

static int do_file(struct writer *w, struct archive *a, int pfd, const char *base, const char *path,
                   struct archive_entry *e, const char *name)
{
        mode_t perm = archive_entry_perm(e);
        uid_t uid = archive_entry_uid(e);
        gid_t gid = archive_entry_gid(e);
        /* With umask 0 the file is created with its final permission bits;
         * setuid/setgid/sticky wait for the data (writes clear them). */
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
        struct file *f;
        int slot, fd, r;

        if (w->n_files == MAX_FILES) {
                r = flush(w);
                if (r < 0)
                        return r;
        }
        fd = openat_beneath(pfd, base, flags, perm & 0777);
        if (fd == -EEXIST) {
                if (remove_existing(w, pfd, base, path, name) < 0)
                        return w->error;
                fd = openat_beneath(pfd, base, flags, perm & 0777);
        }
        if (fd < 0)
                return fail_errno(w, fd, name, "creating the file");
        slot = (int)w->n_files++;
        f = &w->files[slot];
        *f = (struct file){
            .fd = fd,
            .uid = uid,
            .gid = gid,
            .mode = perm,
            .created_exact = uid == 0 && gid == 0 && !w->cur->setgid && !(perm & 07000),
        };
        entry_times(e, f->times);
        f->name = strdup(name);
        if (!f->name)
                return fail(w, -ENOMEM, name, "out of memory");
        r = xattrs_collect(w, e, name, &f->xattrs);
        if (r < 0)
                return r;
        /* A sparse file's holes are never written: give it its full size
         * first so a trailing hole exists too. */
        if (archive_entry_sparse_count(e) > 0 && ftruncate(fd, archive_entry_size(e)) < 0)
                return fail_errno(w, negative_errno(), name, "setting the size");
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t off;

                r = archive_read_data_block(a, &buf, &size, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return fail(w, -EBADMSG, name, "reading data: %s",
                                    archive_error_string(a) ? archive_error_string(a)
                                                            : "unknown error");
                if (off < 0)
                        return fail(w, -EBADMSG, name, "negative data offset");
                if (size > 0) {
                        r = queue_write(w, &slot, buf, size, (uint64_t)off);
                        if (r < 0)
                                return r;
                }
        }
        w->files[slot].complete = true;
        return 0;
}

/* Applies owner and times to a node that cannot be opened for writing
 * (symlink, FIFO, whiteout). */
static int node_meta(struct writer *w, int pfd, const char *base, struct archive_entry *e,
                     bool times, bool chmod, const char *name)
{
        struct timespec ts[2];

        if (fchownat(pfd, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) <
            0)
                return fail_errno(w, negative_errno(), name, "chown");
        if (chmod && fchmodat(pfd, base, archive_entry_perm(e), 0) < 0)
                return fail_errno(w, negative_errno(), name, "chmod");
        entry_times(e, ts);
        if (times && utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return fail_errno(w, negative_errno(), name, "setting times");
        return 0;
}

static int do_hardlink(struct writer *w, int pfd, const char *base, const char *path,
                       const char *target, const char *name)
{
        char clean[PATH_MAX];
        const char *why, *tbase;
        _cleanup_close_ int tfd = -1;
        int r = writer_clean_path(target, clean, sizeof(clean), &why);

        if (r < 0)
                return fail(w, r, name, "hardlink target: %s", why);
        if (!clean[0])
                return fail(w, -EINVAL, name, "hardlink to the layer root");
        if (strcmp(clean, path) == 0)
                return fail(w, -EINVAL, name, "hardlink to itself");
        tbase = strrchr(clean, '/');
        if (tbase) {
                clean[tbase - clean] = '\0';
                tbase++;
                tfd = openat2_dir(w->root_fd, clean);
        } else {
                tbase = clean;
                tfd = openat2_dir(w->root_fd, ".");
        }
        if (tfd == -ENOENT)
                return fail(w, -ENOENT, name, "hardlink target is not an earlier entry");
        if (tfd == -ELOOP)
                return fail(w, -ELOOP, name, "hardlink target path goes through a symlink");
        if (tfd < 0)
                return fail_errno(w, tfd, name, "opening the hardlink target's directory");
        if (remove_existing(w, pfd, base, path, name) < 0)
                return w->error;
        /* No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink. */
        if (linkat(tfd, tbase, pfd, base, 0) < 0) {
                if (errno == ENOENT)
                        return fail(w, -ENOENT, name, "hardlink target is not an earlier entry");
                return fail_errno(w, negative_errno(), name, "hardlink");
        }
        return 0;
}

static int do_whiteout(struct writer *w, int pfd, const char *parent, const char *base,
                       struct archive_entry *e, const char *name)
{
        const char *target = base + 4;
        char path[PATH_MAX];

        if (strcmp(base, ".wh..wh..opq") == 0)
                return add_opaque(w, parent, name);
        if (strncmp(base, ".wh..wh.", 8) == 0) {
                log_info("reserved whiteout name skipped", "entry=\"%s\"", name);
                w->skipped++;
                w->entries--;
                return 0;
        }
        if (!target[0] || strcmp(target, ".") == 0 || strcmp(target, "..") == 0)
                return fail(w, -EINVAL, name, "whiteout of an invalid name");
        snprintf(path, sizeof(path), "%s%s%s", parent, parent[0] ? "/" : "", target);
        if (remove_existing(w, pfd, target, path, name) < 0)
                return w->error;
        if (mknodat(pfd, target, S_IFCHR | 0, makedev(0, 0)) < 0)
                return fail_errno(w, negative_errno(), name, "creating the whiteout device");
        return node_meta(w, pfd, target, e, false, false, name);
}

int writer_entry(struct writer *w, struct archive *a, struct archive_entry *e)
{
        const char *name = archive_entry_pathname(e), *hardlink = archive_entry_hardlink(e);
        char path[PATH_MAX], parent[PATH_MAX];
        const char *why, *base;
        mode_t type = archive_entry_filetype(e);
        int pfd = -1, r;

        if (w->error)
                return w->error;
        if (!name)
                return fail(w, -EINVAL, NULL,
                            "a tar entry has no name (or a name libarchive "
                            "cannot convert)");
        if (++w->seen > w->max_entries)
                return fail(w, -E2BIG, name, "the layer has more than %" PRIu64 " entries",
                            w->max_entries);
        r = writer_clean_path(name, path, sizeof(path), &why);
        if (r < 0)
                return fail(w, r, name, "%s", why);
        w->entries++;
        if (!path[0]) {
                if (hardlink || type != AE_IFDIR)
                        return fail(w, -EINVAL, name, "only a directory may name the layer root");
                return do_dir(w, -1, "", "", e, name);
        }
        base = strrchr(path, '/');
        if (base) {
                memcpy(parent, path, (size_t)(base - path));
                parent[base - path] = '\0';
                base++;
        } else {
                parent[0] = '\0';
                base = path;
        }
        r = get_parent(w, parent, name, &pfd);
        if (r < 0)
                return r;
        if (strncmp(base, ".wh.", 4) == 0)
                return do_whiteout(w, pfd, parent, base, e, name);
        if (hardlink)
                return do_hardlink(w, pfd, base, path, hardlink, name);
        switch (type) {
        case AE_IFREG:
                return do_file(w, a, pfd, base, path, e, name);
        case AE_IFDIR:
                return do_dir(w, pfd, base, path, e, name);
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);

                if (!target || !target[0])
                        return fail(w, -EINVAL, name, "symlink without a target");
                if (symlinkat(target, pfd, base) < 0) {
                        if (errno != EEXIST)
                                return fail_errno(w, negative_errno(), name, "symlink");
                        if (remove_existing(w, pfd, base, path, name) < 0)
                                return w->error;
                        if (symlinkat(target, pfd, base) < 0)
                                return fail_errno(w, negative_errno(), name, "symlink");
                }
                return node_meta(w, pfd, base, e, true, false, name);
        }
        case AE_IFIFO:
                if (remove_existing(w, pfd, base, path, name) < 0)
                        return w->error;
                if (mknodat(pfd, base, S_IFIFO | 0600, 0) < 0)
                        return fail_errno(w, negative_errno(), name, "mkfifo");
                return node_meta(w, pfd, base, e, true, true, name);
        default:
                /* Device nodes (other than whiteouts) and sockets have no
                 * place in an image layer a container may use. */
                log_info("entry skipped", "entry=\"%s\" type=0%o", name, (unsigned)type);
                w->entries--;
                w->skipped++;
                return 0;
        }
}

int writer_finish(struct writer *w)
{
        int r;

        if (w->error)
                return w->error;
        r = flush(w);
        if (r < 0)
                return r;
        /* After all content, so nothing written later moves a dir's mtime. */
        for (size_t i = w->n_dirs; i-- > 0;) {
                _cleanup_close_ int fd = openat2_dir(w->root_fd, w->dirs[i].path);

                /* A later entry may have replaced or removed it. */
                if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
                        continue;
                if (fd < 0)
                        return fail_errno(w, fd, w->dirs[i].path, "opening the directory");
                if (futimens(fd, w->dirs[i].times) < 0)
                        return fail_errno(w, negative_errno(), w->dirs[i].path, "setting times");
        }
        return 0;
}
