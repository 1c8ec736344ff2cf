/* writer.c: owns every change made to the layer directory: path
 * resolution beneath it, creating entries, handing small files to the file
 * workers and keeping every other change ordered after the pending files it
 * could touch, the io_uring writes of large files, and directory times
 * (see writer.h). */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <liburing.h>

#include "fileq.h"
#include "fsutil.h"
#include "log.h"
#include "meta.h"
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
/* Small files go to the file workers, their data held in memory until
 * written; larger and sparse ones stream through the main thread's ring. */
#define JOB_MAX_FILE  (256u << 10)
#define JOBS_MAX      1024
#define JOBS_MAX_DATA (32u << 20)
#define LANE_BATCH    8
/* Pending paths are counted in tables indexed by a hash of the path; a
 * collision only makes the writer wait when it did not need to. */
#define PEND_BITS 16

/* A large or sparse regular file, written by the main thread, whose data
 * may still be in flight. */
struct file {
        int fd;
        bool complete; /* every data block of the entry is queued */
        struct node_meta meta;
        char *name;
};

struct op {
        int slot;
        const uint8_t *buf;
        uint32_t len;
        uint64_t off;
};

/* An open directory, shared by the parent cache and the file jobs that
 * create entries in it; closed when the last of them lets go. */
struct dirref {
        int fd;
        unsigned refs;
        uint64_t hash; /* path_hash() of its path: its files' lane and slot */
        bool setgid;   /* new entries there take the directory's group */
};

/* An open parent directory: layers list a directory's entries together,
 * but files and subdirectories interleave, so a few are kept. */
struct parent_cache {
        struct dirref *dir; /* NULL: empty */
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
        uint64_t error_seq; /* the entry (by w->seen) the error belongs to */
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
        /* the directory get_parent() returned last */
        struct dirref *cur;
        /* Small files in the workers' hands. A change the main thread makes
         * at a path waits for the pending files it could touch: a file at
         * that path, or files in that directory. */
        struct fileq *q;
        size_t jobs_out, data_out;
        uint32_t *pend_files; /* by hash of a pending file's path */
        uint32_t *pend_dirs;  /* by hash of its parent directory's path */
        /* jobs not yet handed to their lane: pushed a few at a time, so a
         * lane wakes once for several files */
        struct lane_batch {
                struct file_job *first, *last;
                unsigned n;
        } batch[FILEQ_MAX_LANES];
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
        w->error_seq = w->seen;
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

static void dirref_unref(struct dirref *d)
{
        if (d && --d->refs == 0) {
                safe_close(d->fd);
                free(d);
        }
}

/* A small file handed to the workers, with what the writer needs back:
 * the parent it holds open and the pending-table slots it counts in. */
struct pending_file {
        struct file_job job;
        uint64_t seq; /* its entry's number */
        struct dirref *dir;
        size_t file_slot, dir_slot;
        char strings[]; /* the entry name, the base name, the data */
};

static void job_free(struct file_job *j)
{
        struct pending_file *p = container_of(j, struct pending_file, job);

        dirref_unref(p->dir);
        meta_free_xattrs(&j->meta.xattrs);
        free(p);
}

int writer_new(int root_fd, uint64_t max_entries, unsigned workers, struct writer **ret, char *err,
               size_t err_size)
{
        struct writer *w = calloc(1, sizeof(*w));
        int r;

        if (!w) {
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        w->root_fd = root_fd;
        w->max_entries = max_entries;
        w->arena = malloc(ARENA_SIZE);
        w->pend_files = calloc(1u << PEND_BITS, sizeof(*w->pend_files));
        w->pend_dirs = calloc(1u << PEND_BITS, sizeof(*w->pend_dirs));
        if (!w->arena || !w->pend_files || !w->pend_dirs) {
                snprintf(err, err_size, "out of memory");
                r = -ENOMEM;
                goto fail;
        }
        r = fileq_ring_init(&w->ring, RING_ENTRIES, 0, err, err_size);
        if (r < 0)
                goto fail;
        w->ring_init = true;
        if (workers > 0) {
                r = fileq_new(workers, &w->q, err, err_size);
                if (r < 0)
                        goto fail;
        }
        *ret = w;
        return 0;
fail:
        writer_free(w);
        return r;
}

static void push_batch(struct writer *w, unsigned lane)
{
        struct lane_batch *b = &w->batch[lane];

        if (b->n > 0)
                fileq_push(w->q, lane, b->first, b->last);
        *b = (struct lane_batch){0};
}

void writer_free(struct writer *w)
{
        if (!w)
                return;
        if (w->q) {
                struct file_job *j;

                for (unsigned i = 0; i < FILEQ_MAX_LANES; i++)
                        push_batch(w, i);
                j = fileq_stop(w->q);

                while (j) {
                        struct file_job *next = j->next;

                        job_free(j);
                        j = next;
                }
                fileq_free(w->q);
        }
        if (w->ring_init)
                io_uring_queue_exit(&w->ring);
        for (size_t i = 0; i < w->n_files; i++) {
                safe_close(w->files[i].fd);
                meta_free_xattrs(&w->files[i].meta.xattrs);
                free(w->files[i].name);
        }
        for (size_t i = 0; i < w->n_dirs; i++)
                free(w->dirs[i].path);
        free(w->dirs);
        free(w->opaque);
        for (size_t i = 0; i < CACHE_SLOTS; i++)
                dirref_unref(w->cache[i].dir);
        free(w->pend_files);
        free(w->pend_dirs);
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

static void xattr_skipped(const char *xattr, void *data)
{
        log_warn("xattr not restored", "entry=\"%s\" xattr=\"%s\"", (const char *)data, xattr);
}

static int collect_xattrs(struct writer *w, struct archive_entry *e, const char *name,
                          struct xattrs *x)
{
        if (meta_collect_xattrs(e, x, xattr_skipped, (void *)name) < 0)
                return fail(w, -ENOMEM, name, "out of memory for xattrs");
        return 0;
}

static int apply_meta(struct writer *w, int fd, const struct node_meta *m, bool set_times,
                      const char *name)
{
        const char *what = NULL;
        char buf[300];
        int r = meta_apply(fd, m, set_times, &what, buf, sizeof(buf));

        return r < 0 ? fail_errno(w, r, name, what) : 0;
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
        int r = apply_meta(w, f->fd, &f->meta, true, f->name);

        f->fd = safe_close(f->fd);
        meta_free_xattrs(&f->meta.xattrs);
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

static uint64_t path_hash(const char *p, size_t n)
{
        uint64_t h = 14695981039346656037ull; /* FNV-1a */

        for (size_t i = 0; i < n; i++)
                h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
        /* FNV barely moves the high bits on the last bytes, which is where
         * sibling paths differ: mix them in (MurmurHash3's finaliser). */
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 33;
        return h;
}

static size_t pend_index(uint64_t h)
{
        return (size_t)(h >> (64 - PEND_BITS));
}

/* Takes back finished file jobs (waiting for one with wait, after handing
 * every batched job to its lane) and records the first error. */
static void take_done(struct writer *w, bool wait)
{
        struct file_job *j;

        if (wait)
                for (unsigned i = 0; i < FILEQ_MAX_LANES; i++)
                        push_batch(w, i);
        j = w->jobs_out > 0 ? fileq_take_done(w->q, wait) : NULL;

        while (j) {
                struct file_job *next = j->next;
                struct pending_file *p = container_of(j, struct pending_file, job);

                w->pend_files[p->file_slot]--;
                w->pend_dirs[p->dir_slot]--;
                w->jobs_out--;
                w->data_out -= j->size;
                /* The error of the earliest entry wins, as in a serial
                 * unpack, whatever order the lanes finished in. */
                if (j->error && (!w->error || p->seq < w->error_seq)) {
                        char q[200];

                        snprintf(w->err, sizeof(w->err), "entry '%s': %s",
                                 quote(j->name, q, sizeof(q)), j->err);
                        w->error = j->error;
                        w->error_seq = p->seq;
                }
                job_free(j);
                j = next;
        }
}

/* Waits until no file job is pending at path (its length n), nor, with
 * children, in the directory at path. */
static int wait_path(struct writer *w, const char *path, size_t n, bool children)
{
        uint64_t h = path_hash(path, n);

        while (w->jobs_out > 0 &&
               (w->pend_files[pend_index(h)] > 0 || (children && w->pend_dirs[pend_index(h)] > 0)))
                take_done(w, true);
        return w->error;
}

static int wait_all(struct writer *w)
{
        while (w->jobs_out > 0)
                take_done(w, true);
        return w->error;
}

/* Forgets cached parents that are path or under it, since that entry is
 * about to be replaced. */
static void cache_invalidate(struct writer *w, const char *path)
{
        size_t n = strlen(path);

        for (size_t i = 0; i < CACHE_SLOTS; i++) {
                struct parent_cache *c = &w->cache[i];

                if (c->dir && (n == 0 || (strncmp(c->path, path, n) == 0 &&
                                          (c->path[n] == '\0' || c->path[n] == '/')))) {
                        dirref_unref(c->dir);
                        c->dir = NULL;
                        c->path[0] = '\0';
                }
        }
}

static struct parent_cache *cache_slot(struct writer *w, uint64_t hash)
{
        return &w->cache[hash % CACHE_SLOTS];
}

/* Caches fd (taken, closed on failure) as the directory at path. */
static struct dirref *cache_put(struct writer *w, const char *path, int fd, bool setgid)
{
        uint64_t hash = path_hash(path, strlen(path));
        struct parent_cache *c = cache_slot(w, hash);
        struct dirref *d = malloc(sizeof(*d));

        if (!d) {
                safe_close(fd);
                return NULL;
        }
        *d = (struct dirref){.fd = fd, .refs = 1, .hash = hash, .setgid = setgid};
        dirref_unref(c->dir);
        c->dir = d;
        snprintf(c->path, sizeof(c->path), "%s", path);
        return d;
}

/* The directory at parent (relative, "" for the root), creating missing
 * components 0755; it becomes w->cur. A pending file at parent or at a
 * component to create is waited for first, so the outcome (ENOTDIR) is
 * the one a serial unpack gives. */
static int get_parent(struct writer *w, const char *parent, const char *name, int *ret)
{
        const struct parent_cache *c = cache_slot(w, path_hash(parent, strlen(parent)));
        char buf[PATH_MAX];
        struct stat st;
        struct dirref *d;
        int fd;

        if (c->dir && strcmp(c->path, parent) == 0) {
                w->cur = c->dir;
                *ret = c->dir->fd;
                return 0;
        }
        if (wait_path(w, parent, strlen(parent), false) < 0)
                return w->error;
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
                        if (wait_path(w, buf, strlen(buf), false) < 0) {
                                safe_close(fd);
                                return w->error;
                        }
                        next = openat2_dir(fd, p);
                        if (next == -ENOENT) {
                                if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST)
                                        next = negative_errno();
                                else
                                        next = openat2_dir(fd, p);
                        }
                        safe_close(fd);
                        fd = next;
                        if (slash)
                                *slash = '/';
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
        d = cache_put(w, parent, fd, st.st_mode & S_ISGID);
        if (!d)
                return fail(w, -ENOMEM, name, "out of memory");
        w->cur = d;
        *ret = fd;
        return 0;
}

/* Removes what exists at base in dirfd (never following it). */
static int remove_existing(struct writer *w, int dirfd, const char *base, const char *path,
                           const char *name)
{
        int r;

        cache_invalidate(w, path);
        r = meta_remove_entry(dirfd, base);
        return r < 0 ? fail_errno(w, r, name, "removing the existing entry") : 0;
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
        meta_entry_times(e, w->dirs[w->n_dirs].times);
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

/* Root-owned nodes without special bits in a directory without setgid are
 * created exactly right: no chown or chmod needed. */
static bool created_exact(const struct writer *w, const struct node_meta *m)
{
        return m->uid == 0 && m->gid == 0 && !w->cur->setgid && !(m->mode & 07000);
}

/* A directory entry. Like a file, a root-owned one without special bits
 * in a directory without setgid is created exactly right; the new
 * directory goes into the parent cache, since its entries usually follow. */
static int do_dir(struct writer *w, int pfd, const char *base, const char *path,
                  struct archive_entry *e, const char *name)
{
        _cleanup_close_ int fd = -1;
        struct node_meta m;
        struct dirref *d;
        struct stat st;
        int r;

        meta_from_entry(e, &m);
        if (!path[0]) {
                fd = openat2_dir(w->root_fd, ".");
        } else {
                m.created_exact = created_exact(w, &m);
                if (mkdirat(pfd, base, m.mode & 0777) < 0) {
                        if (errno != EEXIST)
                                return fail_errno(w, negative_errno(), name, "mkdir");
                        m.created_exact = false;
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
        r = collect_xattrs(w, e, name, &m.xattrs);
        if (r < 0)
                return r;
        r = apply_meta(w, fd, &m, false, name);
        meta_free_xattrs(&m.xattrs);
        if (r < 0)
                return r;
        r = record_dir(w, path, e, name);
        if (r < 0 || !path[0])
                return r;
        /* The cache takes the fd: setgid as applied (chmod keeps it). */
        cache_invalidate(w, path);
        /* the parent's slot may be the one reused: w->cur is not valid
         * past this entry anyway */
        w->cur = NULL;
        d = cache_put(w, path, fd, m.mode & S_ISGID);
        fd = -1;
        return d ? 0 : fail(w, -ENOMEM, name, "out of memory");
}

/* A small regular file: its data is read into memory and the whole file
 * goes to the worker lane of its parent directory. */
static int queue_file(struct writer *w, struct archive *a, const char *base, const char *path,
                      struct archive_entry *e, const char *name)
{
        size_t size = (size_t)archive_entry_size(e), name_len = strlen(name) + 1,
               base_len = strlen(base) + 1;
        struct pending_file *p;
        struct lane_batch *b;
        unsigned lane;
        uint8_t *data;
        size_t filled = 0;
        int r;

        while (w->jobs_out >= JOBS_MAX || w->data_out + size > JOBS_MAX_DATA)
                take_done(w, true);
        take_done(w, false);
        if (w->error)
                return w->error;
        /* not calloc: zeroing every file's buffer showed in profiles; only
         * holes are zeroed */
        p = malloc(sizeof(*p) + name_len + base_len + size);
        if (!p)
                return fail(w, -ENOMEM, name, "out of memory");
        *p = (struct pending_file){0};
        memcpy(p->strings, name, name_len);
        memcpy(p->strings + name_len, base, base_len);
        data = (uint8_t *)p->strings + name_len + base_len;
        p->job = (struct file_job){
            .dir_fd = w->cur->fd,
            .name = p->strings,
            .base = p->strings + name_len,
            .data = data,
            .size = size,
        };
        meta_from_entry(e, &p->job.meta);
        p->job.meta.created_exact = created_exact(w, &p->job.meta);
        r = collect_xattrs(w, e, name, &p->job.meta.xattrs);
        for (; r == 0;) {
                const void *buf;
                size_t len;
                la_int64_t off;

                r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF) {
                        r = 0;
                        break;
                }
                if (r < ARCHIVE_WARN)
                        r = fail(w, -EBADMSG, name, "reading data: %s",
                                 archive_error_string(a) ? archive_error_string(a)
                                                         : "unknown error");
                else if (off < 0 || (uint64_t)off > size || len > size - (size_t)off)
                        r = fail(w, -EBADMSG, name, "data past the entry's size");
                else {
                        /* holes become zeros: the content is exact, only
                         * sparseness is lost on these small files */
                        if ((size_t)off > filled)
                                memset(data + filled, 0, (size_t)off - filled);
                        memcpy(data + off, buf, len);
                        if ((size_t)off + len > filled)
                                filled = (size_t)off + len;
                        r = 0;
                }
        }
        if (r == 0 && filled < size)
                memset(data + filled, 0, size - filled);
        if (r < 0) {
                meta_free_xattrs(&p->job.meta.xattrs);
                free(p);
                return r;
        }
        /* A directory cached at this path is about to be replaced. */
        cache_invalidate(w, path);
        p->seq = w->seen;
        p->dir = w->cur;
        p->dir->refs++;
        p->file_slot = pend_index(path_hash(path, strlen(path)));
        p->dir_slot = pend_index(p->dir->hash);
        w->pend_files[p->file_slot]++;
        w->pend_dirs[p->dir_slot]++;
        w->jobs_out++;
        w->data_out += size;
        lane = (unsigned)(p->dir->hash >> 32) % fileq_lanes(w->q);
        b = &w->batch[lane];
        if (b->n++ == 0)
                b->first = &p->job;
        else
                b->last->next = &p->job;
        b->last = &p->job;
        if (b->n == LANE_BATCH)
                push_batch(w, lane);
        return 0;
}

static int do_file(struct writer *w, struct archive *a, int pfd, const char *base, const char *path,
                   struct archive_entry *e, const char *name)
{
        const char *what = NULL;
        struct file *f;
        int slot, fd, r;

        if (w->n_files == MAX_FILES) {
                r = flush(w);
                if (r < 0)
                        return r;
        }
        /* A directory cached at this path is about to be replaced. */
        cache_invalidate(w, path);
        fd = meta_create_file(pfd, base, archive_entry_perm(e), &what);
        if (fd < 0)
                return fail_errno(w, fd, name, what);
        slot = (int)w->n_files++;
        f = &w->files[slot];
        *f = (struct file){.fd = fd};
        meta_from_entry(e, &f->meta);
        f->meta.created_exact = created_exact(w, &f->meta);
        f->name = strdup(name);
        if (!f->name)
                return fail(w, -ENOMEM, name, "out of memory");
        r = collect_xattrs(w, e, name, &f->meta.xattrs);
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
        meta_entry_times(e, ts);
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
        if (wait_path(w, clean, strlen(clean), false) < 0)
                return w->error;
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
        if (wait_path(w, path, strlen(path), true) < 0)
                return w->error;
        if (remove_existing(w, pfd, target, path, name) < 0)
                return w->error;
        if (mknodat(pfd, target, S_IFCHR | 0, makedev(0, 0)) < 0)
                return fail_errno(w, negative_errno(), name, "creating the whiteout device");
        return node_meta(w, pfd, target, e, false, false, name);
}

static int entry(struct writer *w, struct archive *a, struct archive_entry *e)
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
                if (wait_path(w, "", 0, true) < 0)
                        return w->error;
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
        if (!hardlink && type == AE_IFREG && w->q && archive_entry_size(e) >= 0 &&
            archive_entry_size(e) <= JOB_MAX_FILE && archive_entry_sparse_count(e) == 0)
                return queue_file(w, a, base, path, e, name);
        /* Everything else is done here and now, once the pending files it
         * could replace or whose directory it could change are done. */
        if (wait_path(w, path, strlen(path), true) < 0)
                return w->error;
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

int writer_entry(struct writer *w, struct archive *a, struct archive_entry *e)
{
        int r = entry(w, a, e);

        /* A pending file of an earlier entry may have failed too: wait, so
         * the error reported is the first in tar order. */
        if (r < 0 && w->q)
                wait_all(w);
        return r < 0 && w->error ? w->error : r;
}

int writer_finish(struct writer *w)
{
        int r;

        if (w->error)
                return w->error;
        r = w->q ? wait_all(w) : 0;
        if (r == 0)
                r = flush(w);
        if (r < 0)
                return r;
        /* After all content, since creating an entry moves its directory's
         * mtime; a directory listed twice takes the later entry's. */
        for (size_t i = 0; i < w->n_dirs; i++) {
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
