/* layers.c: owns <root>/layers on the root side: the UNPACK command (its
 * checks, the temporary directory, running brig-unpack as a job, applying
 * the opaque-directory marks brig-unpack may not set itself, publishing the
 * layer by rename) and removing failed or stale temporary directories. */
#include "layers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dirs.h"
#include "fsutil.h"
#include "hproto.h"
#include "jobs.h"
#include "log.h"
#include "rmtree.h"
#include "tlv.h"
#include "util.h"

#define LAYERS_DIR "layers"
#define TMP_PREFIX ".tmp-"
#define SHA256_HEX 64
/* The opaque-directory list brig-unpack hands back: bounded, since the
 * helper applies it in its loop. */
#define OPAQUE_LIST_MAX (1024 * 1024)
#define OPAQUE_XATTR    "trusted.overlay.opaque"
#define USAGE_FILE      "usage"

/* Media types brig-unpack knows; anything else is refused here already. */
static const char *const layer_media_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

/* One request waiting for an unpack (the first, or a later one for the
 * same chain id, which shares the work). */
struct waiter {
        struct waiter *next;
        struct helper_conn *conn;
        uint64_t serial;
        uint32_t request_id;
};

struct unpack {
        struct unpack *next;
        char hex[SHA256_HEX + 1];
        char tmp_name[64];
        int result_fd; /* the helper's end of brig-unpack's result socket */
        struct waiter *waiters;
};

static int root_fd = -1;
static int layers_fd = -1;
static int unpack_exe = -1;
static char *unpack_path;
static struct unpack *running;
static unsigned tmp_counter;

static bool valid_id(const char *id)
{
        if (strncmp(id, "sha256:", 7) != 0 || strlen(id) != 7 + SHA256_HEX)
                return false;
        for (const char *p = id + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static bool known_media_type(const char *mt)
{
        for (size_t i = 0; i < ARRAY_SIZE(layer_media_types); i++)
                if (strcmp(mt, layer_media_types[i]) == 0)
                        return true;
        return false;
}

/* A published layer is a real directory named by its hex. */
static bool layer_present(const char *hex)
{
        struct stat st;

        return fstatat(layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int layers_dir_fd(void)
{
        return layers_fd;
}

bool layers_present(const char *chain_id)
{
        return valid_id(chain_id) && layer_present(chain_id + strlen("sha256:"));
}

int layers_init(const char *root, const char *unpack)
{
        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return log_error_errno(negative_errno(), "cannot open the root directory", "dir=%s",
                                       root);
        /* brigd runs as another user: if it could write here it could swap
         * a layer root later mounts. */
        layers_fd = dirs_open_private(root_fd, root, LAYERS_DIR);
        if (layers_fd < 0)
                return layers_fd;

        unpack_path = strdup(unpack);
        if (!unpack_path)
                return -ENOMEM;
        unpack_exe = open(unpack, O_PATH | O_CLOEXEC);
        if (unpack_exe < 0)
                log_warn_errno(negative_errno(), "brig-unpack not found: UNPACK will fail",
                               "path=%s", unpack);
        return 0;
}

void layers_free(void)
{
        root_fd = safe_close(root_fd);
        layers_fd = safe_close(layers_fd);
        unpack_exe = safe_close(unpack_exe);
        free(unpack_path);
        unpack_path = NULL;
}

/* ---- removal ---------------------------------------------------------- */

struct removal {
        char name[64];
};

static int raise_fd_limit(void)
{
        /* rmtree holds two fds per level of a tree up to its depth limit. */
        struct rlimit rl = {.rlim_cur = 16384, .rlim_max = 16384};

        return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? negative_errno() : 0;
}

static int remove_one(void *arg)
{
        const struct removal *rm = arg;

        raise_fd_limit();
        return rmtree_at(layers_fd, rm->name);
}

static void removal_done(void *data, int status)
{
        struct removal *rm = data;

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                log_warn("could not remove a temporary layer directory; it is retried at the "
                         "next start",
                         "dir=" LAYERS_DIR "/%s status=%d", rm->name, status);
        free(rm);
}

static void remove_later(const char *name)
{
        struct removal *rm = calloc(1, sizeof(*rm));
        int r;

        if (!rm)
                return;
        snprintf(rm->name, sizeof(rm->name), "%s", name);
        r = job_spawn_fn("rmtree", remove_one, rm, removal_done, rm);
        if (r < 0) {
                log_warn_errno(r, "cannot start removing a temporary layer directory",
                               "dir=" LAYERS_DIR "/%s", name);
                free(rm);
        }
}

/* Runs in a job: every .tmp-* not made by this helper process. */
static int remove_leftovers(void *arg)
{
        char mine[32];
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *e;
        int r = 0;

        (void)arg;
        raise_fd_limit();
        snprintf(mine, sizeof(mine), TMP_PREFIX "%d-", (int)getppid());
        d = opendir_at(layers_fd);
        if (!d)
                return negative_errno();
        while ((e = readdir(d))) {
                if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 ||
                    strncmp(e->d_name, mine, strlen(mine)) == 0)
                        continue;
                log_info("removing an interrupted unpack", "dir=" LAYERS_DIR "/%s", e->d_name);
                if (rmtree_at(layers_fd, e->d_name) < 0)
                        r = -EIO;
        }
        return r;
}

static void leftovers_done(void *data, int status)
{
        (void)data;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                log_warn("could not remove every interrupted unpack", "status=%d", status);
}

void layers_cleanup_leftovers(void)
{
        int r = job_spawn_fn("layer-leftovers", remove_leftovers, NULL, leftovers_done, NULL);

        if (r < 0)
                log_warn_errno(r, "cannot start removing interrupted unpacks", NULL);
}

/* ---- UNPACK ----------------------------------------------------------- */

static struct unpack *find_running(const char *hex)
{
        for (struct unpack *u = running; u; u = u->next)
                if (strcmp(u->hex, hex) == 0)
                        return u;
        return NULL;
}

static int add_waiter(struct unpack *u, struct helper_conn *c, uint32_t request_id)
{
        struct waiter *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        *w = (struct waiter){
            .next = u->waiters, .conn = c, .serial = c->serial, .request_id = request_id};
        u->waiters = w;
        return 0;
}

static void unlink_running(struct unpack *u)
{
        for (struct unpack **p = &running; *p; p = &(*p)->next)
                if (*p == u) {
                        *p = u->next;
                        return;
                }
}

static void free_unpack(struct unpack *u)
{
        while (u->waiters) {
                struct waiter *w = u->waiters;
                u->waiters = w->next;
                free(w);
        }
        safe_close(u->result_fd);
        free(u);
}

/* The blob must be something to read from, never a directory (brig-unpack
 * is root: a directory fd would be a way out of its mount namespace). */
static int check_blob_fd(int fd, char *reason, size_t reason_size)
{
        struct stat st;
        int fl = fcntl(fd, F_GETFL);

        if (fstat(fd, &st) < 0 || fl < 0)
                return -EBADF;
        if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
                snprintf(reason, reason_size, "UNPACK: the blob fd is not a regular file or pipe");
                return -EINVAL;
        }
        if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY) {
                snprintf(reason, reason_size, "UNPACK: the blob fd is not open for reading");
                return -EBADF;
        }
        return 0;
}

/* Makes .tmp-<pid>-<n>/diff; returns the diff fd, name in u->tmp_name. */
static int make_tmp(struct unpack *u)
{
        _cleanup_close_ int tmp = -1;
        int diff;

        snprintf(u->tmp_name, sizeof(u->tmp_name), TMP_PREFIX "%d-%u", (int)getpid(),
                 ++tmp_counter);
        if (mkdirat(layers_fd, u->tmp_name, 0700) < 0)
                return negative_errno();
        tmp = openat_beneath(layers_fd, u->tmp_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (tmp < 0)
                return tmp;
        if (mkdirat(tmp, "diff", 0755) < 0)
                return negative_errno();
        diff = openat_beneath(tmp, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        return diff;
}

static void reply_all(struct unpack *u, int32_t status, const char *message, const void *payload,
                      size_t len)
{
        for (struct waiter *w = u->waiters; w; w = w->next)
                helper_conn_finish(w->conn, w->serial, BRIG_CMD_UNPACK, w->request_id, status,
                                   message, payload, len, NULL, 0);
}

/* Sets the opaque mark on each directory of the NUL-separated list in the
 * memfd brig-unpack made. Paths are opened beneath the layer's diff
 * directory, so a hostile list can mark nothing else. */
static int apply_opaque_list(int diff_fd, int list_fd, char *reason, size_t reason_size)
{
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t off = 0;
        ssize_t n;

        if (fstat(list_fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > OPAQUE_LIST_MAX) {
                snprintf(reason, reason_size, "brig-unpack sent an unusable opaque-directory list");
                return -EPROTO;
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        n = pread(list_fd, buf, (size_t)st.st_size, 0);
        if (n != st.st_size) {
                snprintf(reason, reason_size, "cannot read brig-unpack's opaque-directory list");
                return -EIO;
        }
        buf[n] = '\0';
        while (off < (size_t)n) {
                const char *path = buf + off;
                size_t len = strlen(path);
                _cleanup_close_ int dir = -1;

                off += len + 1;
                if (len == 0)
                        continue;
                dir = openat_beneath(diff_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
                if (dir < 0 || fsetxattr(dir, OPAQUE_XATTR, "y", 1, 0) < 0) {
                        int r = dir < 0 ? dir : negative_errno();
                        snprintf(reason, reason_size,
                                 "cannot mark an opaque directory of the layer: %s", strerror(-r));
                        return r;
                }
        }
        return 0;
}

/* <layer>/usage: the size brig-unpack reported, kept so that a later
 * UNPACK of a present layer can report it too (brigd sums it up for
 * ImageFsInfo). The helper's own file; losing it only loses the figure. */
static void write_usage(const char *dir_name, uint64_t bytes, uint64_t entries)
{
        _cleanup_close_ int dir = openat_beneath(layers_fd, dir_name, O_RDONLY | O_DIRECTORY, 0);
        _cleanup_close_ int fd = -1;
        char text[64];
        int len = snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64 "\n", bytes, entries);

        if (dir >= 0)
                fd = openat(dir, USAGE_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            0600);
        if (fd < 0 || write(fd, text, (size_t)len) != len)
                log_warn("cannot record a layer's size", "dir=" LAYERS_DIR "/%s", dir_name);
}

static void read_usage(const char *hex, uint64_t *bytes, uint64_t *entries)
{
        _cleanup_close_ int dir = openat_beneath(layers_fd, hex, O_RDONLY | O_DIRECTORY, 0);
        _cleanup_close_ int fd = -1;
        char text[64] = "";
        ssize_t n;

        *bytes = *entries = 0;
        if (dir >= 0)
                fd = openat(dir, USAGE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || (n = read(fd, text, sizeof(text) - 1)) <= 0)
                return;
        text[n] = '\0';
        if (sscanf(text, "%" SCNu64 " %" SCNu64, bytes, entries) != 2)
                *bytes = *entries = 0;
}

/* brig-unpack's one result message, checked against the UNPACK reply
 * schema. On success the reply for brigd is in payload. */
static int read_result(struct unpack *u, int status, uint8_t *payload, size_t size, size_t *len,
                       char *reason, size_t reason_size)
{
        static uint8_t buf[BRIG_HELPER_RECV_SIZE];
        _cleanup_close_ int diff_fd = -1, tmp_fd = -1;
        struct brig_recv rv;
        struct brig_msg msg;
        struct brig_msg_error err;
        struct tlv_writer w;
        const char *message = NULL;
        uint64_t v;
        int r, list_fd = -1;
        ssize_t n = brig_msg_recv(u->result_fd, buf, sizeof(buf), &rv);

        if (n <= 0) {
                if (WIFSIGNALED(status))
                        snprintf(reason, reason_size, "brig-unpack was killed by signal %d",
                                 WTERMSIG(status));
                else
                        snprintf(reason, reason_size,
                                 "brig-unpack exited with status %d and no result",
                                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                return -EIO;
        }
        r = brig_msg_decode(buf, rv.len, rv.n_fds, BRIG_DIR_REPLY, &msg, &err);
        if (r < 0 || msg.hdr.command != (BRIG_CMD_UNPACK | BRIG_HELPER_REPLY_FLAG)) {
                brig_close_fds(rv.fds, rv.n_fds);
                snprintf(reason, reason_size, "brig-unpack sent an invalid result: %s",
                         r < 0 ? err.reason : "wrong command");
                return -EPROTO;
        }
        if (msg.hdr.status < 0) {
                brig_close_fds(rv.fds, rv.n_fds);
                (void)tlv_get_string(&msg.fields, BRIG_TAG_ERROR_MESSAGE, &message);
                snprintf(reason, reason_size, "%s", message ? message : strerror(-msg.hdr.status));
                return msg.hdr.status;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                brig_close_fds(rv.fds, rv.n_fds);
                snprintf(reason, reason_size, "brig-unpack reported success but exited with %d",
                         status);
                return -EIO;
        }
        (void)brig_msg_take_fd(&msg, rv.fds, BRIG_TAG_OPAQUE_DIRS_FD, &list_fd);
        brig_close_fds(rv.fds, rv.n_fds);
        if (list_fd >= 0) {
                _cleanup_close_ int owned = list_fd;
                tmp_fd = openat_beneath(layers_fd, u->tmp_name, O_RDONLY | O_DIRECTORY, 0);
                diff_fd =
                    tmp_fd < 0 ? tmp_fd : openat_beneath(tmp_fd, "diff", O_RDONLY | O_DIRECTORY, 0);
                if (diff_fd < 0) {
                        snprintf(reason, reason_size, "cannot open the unpacked layer: %s",
                                 strerror(-diff_fd));
                        return diff_fd;
                }
                r = apply_opaque_list(diff_fd, owned, reason, reason_size);
                if (r < 0)
                        return r;
        }

        tlv_writer_init(&w, payload, size);
        uint64_t bytes = 0, entries = 0;
        if (tlv_get_u64(&msg.fields, BRIG_TAG_LAYER_BYTES, &bytes) == 0)
                tlv_put_u64(&w, BRIG_TAG_LAYER_BYTES, bytes);
        if (tlv_get_u64(&msg.fields, BRIG_TAG_LAYER_ENTRIES, &entries) == 0)
                tlv_put_u64(&w, BRIG_TAG_LAYER_ENTRIES, entries);
        write_usage(u->tmp_name, bytes, entries);
        if (tlv_get_u64(&msg.fields, BRIG_TAG_LAYER_SKIPPED, &v) == 0)
                tlv_put_u64(&w, BRIG_TAG_LAYER_SKIPPED, v);
        tlv_put_u32(&w, BRIG_TAG_LAYER_EXISTED, 0);
        return tlv_writer_finish(&w, len);
}

static void unpack_done(void *data, int status)
{
        struct unpack *u = data;
        uint8_t payload[256];
        char reason[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        size_t len = 0;
        int r;

        unlink_running(u);
        r = read_result(u, status, payload, sizeof(payload), &len, reason, sizeof(reason));
        if (r == 0) {
                if (renameat2(layers_fd, u->tmp_name, layers_fd, u->hex, RENAME_NOREPLACE) < 0) {
                        r = negative_errno();
                        snprintf(reason, sizeof(reason), "cannot publish layer sha256:%s: %s",
                                 u->hex, strerror(-r));
                } else {
                        fsync(layers_fd);
                        log_info("layer unpacked", "chain_id=sha256:%s", u->hex);
                }
        }
        if (r < 0) {
                log_warn("unpack failed", "chain_id=sha256:%s errno=%d reason=\"%s\"", u->hex, -r,
                         reason);
                remove_later(u->tmp_name);
                reply_all(u, r, reason, NULL, 0);
        } else {
                reply_all(u, 0, NULL, payload, len);
        }
        free_unpack(u);
}

static int start_unpack(struct unpack *u, const char *chain, const char *parent,
                        const char *diff_id, const char *media_type, int blob_fd, char *reason,
                        size_t reason_size)
{
        _cleanup_close_ int diff_fd = -1, child_end = -1;
        int pair[2], r;
        char *argv[16];
        size_t n = 0;

        diff_fd = make_tmp(u);
        if (diff_fd < 0) {
                snprintf(reason, reason_size, "UNPACK: cannot make a temporary layer directory: %s",
                         strerror(-diff_fd));
                remove_later(u->tmp_name);
                return diff_fd;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                r = negative_errno();
                remove_later(u->tmp_name);
                return r;
        }
        u->result_fd = pair[0];
        child_end = pair[1];
        fcntl(u->result_fd, F_SETFL, O_NONBLOCK);

        argv[n++] = "brig-unpack";
        argv[n++] = "--layer-fd";
        argv[n++] = "3";
        argv[n++] = "--blob-fd";
        argv[n++] = "4";
        argv[n++] = "--result-fd";
        argv[n++] = "5";
        argv[n++] = "--media-type";
        argv[n++] = (char *)media_type;
        argv[n++] = "--diff-id";
        argv[n++] = (char *)diff_id;
        argv[n++] = "--chain-id";
        argv[n++] = (char *)chain;
        if (parent) {
                argv[n++] = "--parent-chain-id";
                argv[n++] = (char *)parent;
        }
        argv[n] = NULL;

        const struct job_fd fds[] = {{diff_fd, 3}, {blob_fd, 4}, {child_end, 5}};
        r = job_spawn_exec("brig-unpack", unpack_exe, argv, fds, ARRAY_SIZE(fds), unpack_done, u);
        if (r < 0) {
                snprintf(reason, reason_size, "UNPACK: cannot start brig-unpack: %s",
                         r == -EBUSY ? "too many children running" : strerror(-r));
                remove_later(u->tmp_name);
                return r;
        }
        return 0;
}

int layers_handle_unpack(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                         struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *chain = NULL, *parent = NULL, *diff_id = NULL, *media_type = NULL;
        _cleanup_close_ int blob_fd = -1;
        struct unpack *u;
        int r;

        /* The schema guarantees the required fields are present once. */
        tlv_get_string(&msg->fields, BRIG_TAG_CHAIN_ID, &chain);
        (void)tlv_get_string(&msg->fields, BRIG_TAG_PARENT_CHAIN_ID, &parent);
        tlv_get_string(&msg->fields, BRIG_TAG_DIFF_ID, &diff_id);
        tlv_get_string(&msg->fields, BRIG_TAG_MEDIA_TYPE, &media_type);
        if (!valid_id(chain) || (parent && !valid_id(parent)) || !valid_id(diff_id)) {
                snprintf(reason, reason_size,
                         "UNPACK: chain, parent and diff ids must be sha256: and 64 lowercase hex");
                return -EINVAL;
        }
        if (!parent && strcmp(chain, diff_id) != 0) {
                snprintf(reason, reason_size,
                         "UNPACK: a first layer's chain id must equal its diff id");
                return -EINVAL;
        }
        if (!known_media_type(media_type)) {
                snprintf(reason, reason_size, "UNPACK: unsupported layer media type");
                return -EMEDIUMTYPE;
        }
        r = brig_msg_take_fd(msg, fds, BRIG_TAG_BLOB_FD, &blob_fd);
        if (r < 0)
                return r;
        r = check_blob_fd(blob_fd, reason, reason_size);
        if (r < 0)
                return r;
        if (layers_fd < 0) {
                snprintf(reason, reason_size, "UNPACK: the layer store is not open");
                return -ENODEV;
        }

        if (layer_present(chain + 7)) {
                uint64_t bytes, entries;
                read_usage(chain + 7, &bytes, &entries);
                tlv_put_u64(reply, BRIG_TAG_LAYER_BYTES, bytes);
                tlv_put_u64(reply, BRIG_TAG_LAYER_ENTRIES, entries);
                tlv_put_u32(reply, BRIG_TAG_LAYER_EXISTED, 1);
                return 0;
        }
        /* Layers are separate directories: a child may be unpacked while
         * its parent still is, but never on top of nothing. */
        if (parent && !layer_present(parent + 7) && !find_running(parent + 7)) {
                snprintf(reason, reason_size,
                         "UNPACK: parent layer %s is neither present nor being unpacked", parent);
                return -ENOENT;
        }
        u = find_running(chain + 7);
        if (u) {
                r = add_waiter(u, c, msg->hdr.request_id);
                return r < 0 ? r : HANDLER_DEFERRED;
        }
        if (unpack_exe < 0) {
                snprintf(reason, reason_size, "UNPACK: brig-unpack is not installed at %s",
                         unpack_path ? unpack_path : "?");
                return -ENOEXEC;
        }

        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->result_fd = -1;
        memcpy(u->hex, chain + 7, SHA256_HEX + 1);
        r = add_waiter(u, c, msg->hdr.request_id);
        if (r == 0)
                r = start_unpack(u, chain, parent, diff_id, media_type, blob_fd, reason,
                                 reason_size);
        if (r < 0) {
                free_unpack(u);
                return r;
        }
        u->next = running;
        running = u;
        log_info("unpacking layer", "conn=%s req=%" PRIu32 " chain_id=%s media_type=%s", c->label,
                 msg->hdr.request_id, chain, media_type);
        return HANDLER_DEFERRED;
}

int layers_handle_remove(struct helper_conn *c, const struct brig_msg *msg, int *fds,
                         struct tlv_writer *reply, char *reason, size_t reason_size)
{
        const char *chain = NULL;
        char tmp_name[64];

        (void)fds, (void)reply;
        tlv_get_string(&msg->fields, BRIG_TAG_CHAIN_ID, &chain);
        if (!valid_id(chain)) {
                snprintf(reason, reason_size,
                         "REMOVE_LAYER: the chain id must be sha256: and 64 lowercase hex");
                return -EINVAL;
        }
        if (layers_fd < 0) {
                snprintf(reason, reason_size, "REMOVE_LAYER: the layer store is not open");
                return -ENODEV;
        }
        if (find_running(chain + 7)) {
                snprintf(reason, reason_size, "REMOVE_LAYER: layer %s is being unpacked", chain);
                return -EBUSY;
        }
        if (!layer_present(chain + 7))
                return 0;
        /* Out of sight at once, so no later UNPACK sees a half-removed layer
         * as present; the deletion itself is long work for a child. */
        snprintf(tmp_name, sizeof(tmp_name), TMP_PREFIX "%d-%u", (int)getpid(), ++tmp_counter);
        if (renameat2(layers_fd, chain + 7, layers_fd, tmp_name, RENAME_NOREPLACE) < 0) {
                int r = negative_errno();
                snprintf(reason, reason_size, "REMOVE_LAYER: cannot move layer %s away: %s", chain,
                         strerror(-r));
                return r;
        }
        log_info("removing layer", "conn=%s chain_id=%s", c->label, chain);
        remove_later(tmp_name);
        return 0;
}
