/* userdb.c: owns user resolution against a container's own etc/passwd and
 * etc/group (see userdb.h): reading the two files safely from inside the
 * container's root, parsing them line by line, and the precedence rules
 * between CRI's fields and the image's User. */
#include "userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* (uid_t)-1 and (gid_t)-1 mean "no change" to the kernel */
#define ID_INVALID 4294967295u

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t err_size, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return r;
}

/* ---- parsing ---------------------------------------------------------- */

/* A length-delimited byte string: file fields are not NUL-terminated. */
struct span {
        const char *p;
        size_t n;
};

static bool span_eq(struct span s, const char *z)
{
        return strlen(z) == s.n && memcmp(s.p, z, s.n) == 0;
}

/* Decimal digits only, below ID_INVALID. Returns false otherwise. */
static bool parse_id(struct span s, uint32_t *ret)
{
        uint64_t v = 0;

        if (s.n == 0)
                return false;
        for (size_t i = 0; i < s.n; i++) {
                if (s.p[i] < '0' || s.p[i] > '9')
                        return false;
                v = v * 10 + (uint64_t)(s.p[i] - '0');
                if (v >= ID_INVALID)
                        return false;
        }
        *ret = (uint32_t)v;
        return true;
}

/* Walks a file's lines: *pos is the offset of the next one. Returns false
 * at the end. The line excludes its '\n'. */
static bool next_line(const char *buf, size_t len, size_t *pos, struct span *line)
{
        const char *nl;

        if (!buf || *pos >= len)
                return false;
        line->p = buf + *pos;
        nl = memchr(line->p, '\n', len - *pos);
        line->n = nl ? (size_t)(nl - line->p) : len - *pos;
        *pos += line->n + 1;
        return true;
}

/* Splits an entry line into exactly n ':'-separated fields; false for a
 * line glibc would skip: blank, a comment, a NIS entry, a NUL byte, an
 * empty name or another field count. */
static bool split_entry(struct span line, struct span *f, size_t n)
{
        size_t i = 0, k = 0;

        while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t'))
                i++;
        if (i == line.n || line.p[i] == '#' || line.p[i] == '+' || line.p[i] == '-' ||
            memchr(line.p, '\0', line.n))
                return false;
        f[0].p = line.p + i;
        for (; i < line.n; i++)
                if (line.p[i] == ':') {
                        f[k].n = (size_t)(line.p + i - f[k].p);
                        if (++k == n)
                                return false;
                        f[k].p = line.p + i + 1;
                }
        f[k].n = (size_t)(line.p + line.n - f[k].p);
        return k == n - 1 && f[0].n > 0;
}

/* A passwd(5) entry: name:password:uid:gid:gecos:directory:shell */
struct pw_entry {
        struct span name;
        uint32_t uid, gid;
};

static bool parse_passwd_line(struct span line, struct pw_entry *e)
{
        struct span f[7];

        if (!split_entry(line, f, 7) || !parse_id(f[2], &e->uid) || !parse_id(f[3], &e->gid))
                return false;
        e->name = f[0];
        return true;
}

/* The first entry named name (when name) or with uid (otherwise). */
static bool passwd_find(const char *buf, size_t len, const char *name, uint32_t uid,
                        struct pw_entry *ret)
{
        struct span line;
        size_t pos = 0;

        while (next_line(buf, len, &pos, &line))
                if (parse_passwd_line(line, ret) &&
                    (name ? span_eq(ret->name, name) : ret->uid == uid))
                        return true;
        return false;
}

/* A group(5) entry: name:password:gid:member,member,... */
struct gr_entry {
        struct span name, members;
        uint32_t gid;
};

static bool parse_group_line(struct span line, struct gr_entry *e)
{
        struct span f[4];

        if (!split_entry(line, f, 4) || !parse_id(f[2], &e->gid))
                return false;
        e->name = f[0];
        e->members = f[3];
        return true;
}

static bool group_find(const char *buf, size_t len, const char *name, uint32_t *ret)
{
        struct gr_entry e;
        struct span line;
        size_t pos = 0;

        while (next_line(buf, len, &pos, &line))
                if (parse_group_line(line, &e) && span_eq(e.name, name)) {
                        *ret = e.gid;
                        return true;
                }
        return false;
}

static bool has_member(struct span members, struct span user)
{
        const char *p = members.p, *end = members.p + members.n;

        while (p <= end) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);

                if (n == user.n && memcmp(p, user.p, n) == 0)
                        return true;
                if (!comma)
                        break;
                p = comma + 1;
        }
        return false;
}

/* ---- the gid list ----------------------------------------------------- */

struct gids {
        uint32_t *v;
        size_t n, cap;
};

static int gids_add(struct gids *g, uint32_t gid)
{
        if (g->n == USERDB_MAX_GROUPS)
                return -E2BIG;
        if (g->n == g->cap) {
                size_t cap = g->cap ? g->cap * 2 : 16;
                uint32_t *v = reallocarray(g->v, cap, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                g->v = v;
                g->cap = cap;
        }
        g->v[g->n++] = gid;
        return 0;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return (x > y) - (x < y);
}

/* Sorts v[1..] and drops its duplicates and its copies of v[0]. */
static void gids_normalize(struct gids *g)
{
        size_t out = 1;

        if (g->n < 2)
                return;
        qsort(g->v + 1, g->n - 1, sizeof(g->v[0]), cmp_u32);
        for (size_t i = 1; i < g->n; i++)
                if (g->v[i] != g->v[0] && (out == 1 || g->v[i] != g->v[out - 1]))
                        g->v[out++] = g->v[i];
        g->n = out;
}

/* ---- resolution ------------------------------------------------------- */

/* s as printable ASCII for a message: at most 64 bytes, others as '?'. */
static const char *printable(const char *s, char buf[static 72])
{
        size_t i = 0;

        for (; s[i] && i < 64; i++)
                buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
        if (s[i])
                buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
        buf[i] = '\0';
        return buf;
}

static bool all_digits(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

struct db {
        const char *passwd, *group;
        size_t passwd_len, group_len;
        char *err;
        size_t err_size;
};

/* A number from a CRI field (uint64 on the wire). */
static int cri_id(const struct db *db, uint64_t v, const char *field, uint32_t *ret)
{
        if (v >= ID_INVALID)
                return fail(db->err, db->err_size, -ERANGE,
                            "%s %llu is out of range (ids must be below 4294967295)", field,
                            (unsigned long long)v);
        *ret = (uint32_t)v;
        return 0;
}

/* The user part of a spelling (NUL-terminated copy in name): sets *uid, and
 * *gid, *pw_name when etc/passwd has the user. */
static int resolve_user_part(const struct db *db, const char *spelled, const char *name,
                             uint32_t *uid, uint32_t *gid, bool *found, struct span *pw_name)
{
        struct pw_entry e;
        uint32_t n;

        if (all_digits(name, strlen(name))) {
                if (!parse_id((struct span){name, strlen(name)}, &n))
                        return fail(db->err, db->err_size, -ERANGE,
                                    "%s: uid %s is out of range (it must be below 4294967295)",
                                    spelled, name);
                *uid = n;
                *found = passwd_find(db->passwd, db->passwd_len, NULL, n, &e);
        } else {
                if (name[0] == '+' || name[0] == '-' || name[0] == '\0')
                        return fail(db->err, db->err_size, -EINVAL,
                                    "%s: the user is neither a name nor a uid", spelled);
                *found = passwd_find(db->passwd, db->passwd_len, name, 0, &e);
                if (!*found)
                        return fail(db->err, db->err_size, -ENOENT,
                                    "%s: no such user in the container's %s", spelled,
                                    db->passwd ? "/etc/passwd" : "image (it has no /etc/passwd)");
                *uid = e.uid;
        }
        if (*found) {
                *gid = e.gid;
                *pw_name = e.name;
        }
        return 0;
}

static int resolve_group_part(const struct db *db, const char *spelled, const char *name,
                              uint32_t *gid)
{
        if (all_digits(name, strlen(name))) {
                if (!parse_id((struct span){name, strlen(name)}, gid))
                        return fail(db->err, db->err_size, -ERANGE,
                                    "%s: gid %s is out of range (it must be below 4294967295)",
                                    spelled, name);
                return 0;
        }
        if (name[0] == '+' || name[0] == '-' || name[0] == '\0')
                return fail(db->err, db->err_size, -EINVAL,
                            "%s: the group is neither a name nor a gid", spelled);
        if (!group_find(db->group, db->group_len, name, gid))
                return fail(db->err, db->err_size, -ENOENT,
                            "%s: no such group in the container's %s", spelled,
                            db->group ? "/etc/group" : "image (it has no /etc/group)");
        return 0;
}

static int add_gid(const struct db *db, struct gids *g, uint32_t gid)
{
        int r = gids_add(g, gid);

        if (r == -E2BIG)
                return fail(db->err, db->err_size, r, "the user has more than %d groups",
                            USERDB_MAX_GROUPS);
        if (r < 0)
                return fail(db->err, db->err_size, r, "out of memory listing the user's groups");
        return 0;
}

static int resolve(const struct db *db, const struct ctr_spec *spec, struct resolved_user *u,
                   struct gids *g)
{
        char shown[72], user[USERDB_SPELLED_MAX], *group = NULL;
        struct span pw_name = {NULL, 0};
        struct pw_entry e;
        bool found = false;
        int r;

        u->uid = u->gid = 0;
        if (spec->run_as_user.has) {
                snprintf(u->spelled, sizeof(u->spelled), "run_as_user %llu",
                         (unsigned long long)spec->run_as_user.v);
                if ((r = cri_id(db, spec->run_as_user.v, "run_as_user", &u->uid)) < 0)
                        return r;
                found = passwd_find(db->passwd, db->passwd_len, NULL, u->uid, &e);
                if (found) {
                        u->gid = e.gid;
                        pw_name = e.name;
                }
        } else {
                /* CRI's empty string is "not set" */
                const char *username = spec->run_as_username && spec->run_as_username[0]
                                           ? spec->run_as_username
                                           : NULL;
                const char *from = username ? username : spec->image_user;

                if (username)
                        snprintf(u->spelled, sizeof(u->spelled), "run_as_username \"%s\"",
                                 printable(from, shown));
                else if (from && from[0])
                        snprintf(u->spelled, sizeof(u->spelled), "image user \"%s\"",
                                 printable(from, shown));
                else
                        snprintf(u->spelled, sizeof(u->spelled),
                                 "the default user (the image names none)");
                if (!from || !from[0])
                        from = "0";
                if (strlen(from) >= sizeof(user))
                        return fail(db->err, db->err_size, -EINVAL, "%s is too long", u->spelled);
                strcpy(user, from);
                /* only the image's User carries a group part */
                if (!username && (group = strchr(user, ':')))
                        *group++ = '\0';
                if ((r = resolve_user_part(db, u->spelled, user, &u->uid, &u->gid, &found,
                                           &pw_name)) < 0)
                        return r;
                if (group && (r = resolve_group_part(db, u->spelled, group, &u->gid)) < 0)
                        return r;
        }
        if (spec->run_as_group.has &&
            (r = cri_id(db, spec->run_as_group.v, "run_as_group", &u->gid)) < 0)
                return r;

        if ((r = add_gid(db, g, u->gid)) < 0)
                return r;
        if (found) {
                struct gr_entry ge;
                struct span line;
                size_t pos = 0;

                while (next_line(db->group, db->group_len, &pos, &line))
                        if (parse_group_line(line, &ge) && has_member(ge.members, pw_name) &&
                            (r = add_gid(db, g, ge.gid)) < 0)
                                return r;
        }
        for (size_t i = 0; i < spec->n_supplemental_groups; i++) {
                uint32_t gid = 0;

                if ((r = cri_id(db, spec->supplemental_groups[i], "supplemental group", &gid)) <
                        0 ||
                    (r = add_gid(db, g, gid)) < 0)
                        return r;
        }
        return 0;
}

int userdb_resolve_from(const char *passwd, size_t passwd_len, const char *group, size_t group_len,
                        const struct ctr_spec *spec, struct resolved_user *ret, char *err,
                        size_t err_size)
{
        const struct db db = {passwd, group, passwd_len, group_len, err, err_size};
        struct resolved_user u = {0};
        struct gids g = {0};
        int r = resolve(&db, spec, &u, &g);

        if (r < 0) {
                free(g.v);
                return r;
        }
        gids_normalize(&g);
        u.additional_gids = g.v;
        u.n_additional_gids = g.n;
        *ret = u;
        return 0;
}

void userdb_user_free(struct resolved_user *u)
{
        free(u->additional_gids);
        u->additional_gids = NULL;
        u->n_additional_gids = 0;
}

int userdb_check_non_root(const struct resolved_user *u, bool run_as_non_root, char *err,
                          size_t err_size)
{
        if (run_as_non_root && u->uid == 0)
                return fail(err, err_size, -EPERM,
                            "%s resolves to uid 0, but the container must run as non-root "
                            "(run_as_non_root)",
                            u->spelled);
        return 0;
}

/* ---- reading the files ------------------------------------------------ */

/* Reads path below rootfd into *ret (NUL-terminated for the reader's
 * convenience; NULL when the file is absent). */
static int read_db(int rootfd, const char *path, char **ret, size_t *ret_len, char *err,
                   size_t err_size)
{
        struct open_how how = {
            .flags = O_PATH | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int pathfd = -1, fd = -1;
        _cleanup_free_ char *buf = NULL;
        char proc[64];
        struct stat st, st2;
        size_t len = 0;

        *ret = NULL;
        *ret_len = 0;
        pathfd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        if (pathfd < 0 && (errno == ENOENT || errno == ENOTDIR))
                return 0;
        if (pathfd < 0)
                return fail(err, err_size, negative_errno(), "cannot open the container's /%s: %m",
                            path);
        if (fstat(pathfd, &st) < 0)
                return fail(err, err_size, negative_errno(), "cannot stat the container's /%s: %m",
                            path);
        /* checked before opening for reading: opening a FIFO could block
         * and opening a device node can have effects of its own */
        if (!S_ISREG(st.st_mode))
                return fail(err, err_size, -EINVAL, "the container's /%s is not a regular file",
                            path);
        if (st.st_size > (off_t)USERDB_MAX_FILE)
                return fail(err, err_size, -EFBIG,
                            "the container's /%s is larger than %u bytes (%lld)", path,
                            USERDB_MAX_FILE, (long long)st.st_size);
        /* reopening the O_PATH handle reaches the same inode, with no
         * second path walk to race */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
        fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return fail(err, err_size, negative_errno(), "cannot open the container's /%s: %m",
                            path);
        if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
                return fail(err, err_size, -EIO,
                            "reopening the container's /%s reached another file", path);
        buf = malloc(USERDB_MAX_FILE + 1);
        if (!buf)
                return fail(err, err_size, -ENOMEM, "out of memory reading /%s", path);
        /* the size may have changed since fstat: read one byte past the limit to know */
        for (;;) {
                ssize_t n = read(fd, buf + len, USERDB_MAX_FILE + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return fail(err, err_size, negative_errno(),
                                    "cannot read the container's /%s: %m", path);
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > USERDB_MAX_FILE)
                        return fail(err, err_size, -EFBIG,
                                    "the container's /%s is larger than %u bytes", path,
                                    USERDB_MAX_FILE);
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int userdb_resolve(int rootfd, const struct ctr_spec *spec, struct resolved_user *ret, char *err,
                   size_t err_size)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        size_t passwd_len, group_len;
        int r;

        if ((r = read_db(rootfd, "etc/passwd", &passwd, &passwd_len, err, err_size)) < 0 ||
            (r = read_db(rootfd, "etc/group", &group, &group_len, err, err_size)) < 0)
                return r;
        return userdb_resolve_from(passwd, passwd_len, group, group_len, spec, ret, err, err_size);
}
