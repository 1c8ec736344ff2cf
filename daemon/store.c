/* store.c: owns brigd's image store directory: verified blobs, resumable
 * ingests, and the image records with their in-memory index. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "errbuf.h"
#include "recfile.h"
#include "fsutil.h"
#include "jsondoc.h"
#include "util.h"

#define MAX_JSON_SIZE_T (UINT64_C(1) << 53)
#define RECORD_VERSION  1

struct store {
        int root_fd;
        int blobs_fd[2]; /* indexed by enum digest_algo */
        int ingest_fd;
        int images_fd;
        pthread_mutex_t lock;
        struct store_image **images; /* under lock */
        size_t n_images;
        size_t cap_images;
};

struct store_ingest {
        struct store *s;
        int fd;
        char digest[DIGEST_STRING_MAX + 1];
        char name[DIGEST_STRING_MAX + 1]; /* "<algo>-<hex>" */
        enum digest_algo algo;
        uint64_t expected;
        struct digest_hasher h;
        /* A write failed part way: the file may hold bytes the hasher did
         * not see, so only a resume (which re-hashes the file) may go on. */
        bool broken;
};

/* "sha256:<hex>" -> "sha256-<hex>": the same digest as a file name. */
static void digest_file_name(const char *digest, char out[static DIGEST_STRING_MAX + 1])
{
        snprintf(out, DIGEST_STRING_MAX + 1, "%s", digest);
        char *colon = strchr(out, ':');
        if (colon)
                *colon = '-';
}

static int open_subdir(int parent, const char *name)
{
        if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? negative_errno() : fd;
}

/* A new open file description for a directory: a dup() would share the
 * read position, and a second walk would see nothing. */
/* --- blobs ----------------------------------------------------------- */

/* Deletes ingest files nobody holds that are older than the limit, and
 * anything in ingest/ that is not named like an ingest. */
static void collect_stale_ingests(struct store *s)
{
        _cleanup_closedir_ DIR *d = opendir_at(s->ingest_fd);
        if (!d)
                return;
        time_t now = time(NULL);
        struct dirent *de;
        while ((de = readdir(d))) {
                char digest[DIGEST_STRING_MAX + 1];
                struct stat st;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(s->ingest_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                size_t len = strlen(de->d_name);
                bool junk = !S_ISREG(st.st_mode) || len >= sizeof(digest);
                if (!junk) {
                        memcpy(digest, de->d_name, len + 1);
                        char *dash = strchr(digest, '-');
                        if (dash)
                                *dash = ':';
                        junk = !digest_valid(digest);
                }
                if (!junk && now - st.st_mtime < STORE_INGEST_MAX_AGE)
                        continue;
                if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int fd =
                            openat(s->ingest_fd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                                continue;
                        unlinkat(s->ingest_fd, de->d_name, 0);
                } else {
                        unlinkat(s->ingest_fd, de->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
                }
                log_info("removed stale ingest file", "file=%s", de->d_name);
        }
}

bool store_blob_exists(struct store *s, const char *digest, uint64_t *ret_size)
{
        enum digest_algo algo;
        struct stat st;

        if (digest_parse(digest, &algo, NULL, 0) < 0)
                return false;
        if (fstatat(s->blobs_fd[algo], digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode))
                return false;
        if (ret_size)
                *ret_size = (uint64_t)st.st_size;
        return true;
}

int store_blob_open(struct store *s, const char *digest)
{
        enum digest_algo algo;

        if (digest_parse(digest, &algo, NULL, 0) < 0)
                return -EINVAL;
        int fd = openat(s->blobs_fd[algo], digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? negative_errno() : fd;
}

int store_blob_read(struct store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
                    char *err, size_t err_size)
{
        struct stat st;

        *ret = NULL;
        *ret_len = 0;
        _cleanup_close_ int fd = store_blob_open(s, digest);
        if (fd < 0)
                return errbuf_fail(err, err_size, fd, "cannot open blob %s: %s", digest,
                                   strerror(-fd));
        if (fstat(fd, &st) < 0)
                return errbuf_fail(err, err_size, negative_errno(), "cannot stat blob %s", digest);
        if ((uint64_t)st.st_size > max)
                return errbuf_fail(err, err_size, -EFBIG, "blob %s is %lld bytes, more than %zu",
                                   digest, (long long)st.st_size, max);
        size_t len = (size_t)st.st_size;
        _cleanup_free_ char *buf = malloc(len + 1);
        if (!buf)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory reading blob %s", digest);
        size_t got = 0;
        while (got < len) {
                ssize_t n = read(fd, buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errbuf_fail(err, err_size, negative_errno(),
                                           "cannot read blob %s: %m", digest);
                if (n == 0)
                        return errbuf_fail(err, err_size, -EIO, "blob %s shrank while being read",
                                           digest);
                got += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int store_blob_delete(struct store *s, const char *digest)
{
        enum digest_algo algo;

        if (digest_parse(digest, &algo, NULL, 0) < 0)
                return -EINVAL;
        if (unlinkat(s->blobs_fd[algo], digest_hex(digest), 0) < 0)
                return negative_errno();
        return 0;
}

/* Feeds the bytes already in the ingest file to the hasher. */
static int rehash_existing(struct store_ingest *in, uint64_t *ret_len)
{
        char buf[64 * 1024];
        uint64_t total = 0;

        if (lseek(in->fd, 0, SEEK_SET) < 0)
                return negative_errno();
        for (;;) {
                ssize_t n = read(in->fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                int r = digest_hasher_update(&in->h, buf, (size_t)n);
                if (r < 0)
                        return r;
                total += (uint64_t)n;
        }
        *ret_len = total;
        return 0;
}

/* Opens and locks the ingest file, making sure the locked inode is still
 * the one named in ingest/ (a writer before us may have committed it). */
static int lock_ingest_file(struct store_ingest *in, bool wait)
{
        for (int attempt = 0; attempt < 100; attempt++) {
                struct stat a, b;
                if (store_blob_exists(in->s, in->digest, NULL))
                        return -EEXIST;
                int fd = openat(in->s->ingest_fd, in->name,
                                O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return negative_errno();
                int r;
                do
                        r = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
                while (r < 0 && errno == EINTR);
                if (r < 0) {
                        r = errno == EWOULDBLOCK ? -EBUSY : negative_errno();
                        close(fd);
                        return r;
                }
                if (fstat(fd, &a) == 0 &&
                    fstatat(in->s->ingest_fd, in->name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
                    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                        if (store_blob_exists(in->s, in->digest, NULL)) {
                                /* Recreated by us after the other writer committed. */
                                unlinkat(in->s->ingest_fd, in->name, 0);
                                close(fd);
                                return -EEXIST;
                        }
                        in->fd = fd;
                        return 0;
                }
                close(fd);
        }
        return -EAGAIN;
}

int store_ingest_open(struct store *s, const char *digest, uint64_t expected_size, bool wait,
                      struct store_ingest **ret, uint64_t *ret_offset, char *err, size_t err_size)
{
        uint64_t have = 0;
        int r;

        *ret = NULL;
        *ret_offset = 0;
        struct store_ingest *in = calloc(1, sizeof(*in));
        if (!in)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        in->s = s;
        in->fd = -1;
        in->expected = expected_size;
        r = digest_parse(digest, &in->algo, err, err_size);
        if (r < 0)
                goto out;
        snprintf(in->digest, sizeof(in->digest), "%s", digest);
        digest_file_name(digest, in->name);

        r = lock_ingest_file(in, wait);
        if (r == -EEXIST) {
                errbuf_fail(err, err_size, r, "blob %s is already in the store", digest);
                goto out;
        }
        if (r == -EBUSY) {
                errbuf_fail(err, err_size, r, "blob %s is being written by another pull", digest);
                goto out;
        }
        if (r < 0) {
                errbuf_fail(err, err_size, r, "cannot open ingest file for blob %s: %s", digest,
                            strerror(-r));
                goto out;
        }
        r = digest_hasher_init(&in->h, in->algo);
        if (r == 0)
                r = rehash_existing(in, &have);
        if (r == 0 && expected_size != STORE_SIZE_UNKNOWN && have > expected_size) {
                /* More than the blob can hold: nothing in it is usable. */
                if (ftruncate(in->fd, 0) < 0)
                        r = negative_errno();
                else
                        r = digest_hasher_init(&in->h, in->algo);
                have = 0;
        }
        if (r == 0 && lseek(in->fd, 0, SEEK_END) < 0)
                r = negative_errno();
        if (r < 0) {
                errbuf_fail(err, err_size, r, "cannot resume ingest of blob %s: %s", digest,
                            strerror(-r));
                goto out;
        }
        *ret_offset = have;
        *ret = TAKE_PTR(in);
out:
        store_ingest_close(in, true);
        return r;
}

uint64_t store_ingest_offset(const struct store_ingest *in)
{
        return in->h.bytes;
}

int store_ingest_write(struct store_ingest *in, const void *buf, size_t len, char *err,
                       size_t err_size)
{
        if (in->broken)
                return errbuf_fail(err, err_size, -EIO,
                                   "blob %s: an earlier write failed; close and resume the ingest",
                                   in->digest);
        if (in->expected != STORE_SIZE_UNKNOWN &&
            (len > in->expected || in->h.bytes > in->expected - len))
                return errbuf_fail(err, err_size, -EFBIG,
                                   "blob %s is bigger than the %llu bytes its descriptor says",
                                   in->digest, (unsigned long long)in->expected);
        int r = recfile_write_fd(in->fd, buf, len);
        if (r < 0) {
                in->broken = true;
                return errbuf_fail(err, err_size, r, "cannot write blob %s: %s", in->digest,
                                   strerror(-r));
        }
        r = digest_hasher_update(&in->h, buf, len);
        if (r < 0) {
                in->broken = true;
                return errbuf_fail(err, err_size, r, "cannot hash blob %s", in->digest);
        }
        return 0;
}

int store_ingest_commit(struct store_ingest *in, char *err, size_t err_size)
{
        char got[DIGEST_STRING_MAX + 1];
        uint64_t bytes = in->h.bytes;
        bool keep = true;
        int r;

        if (in->broken) {
                r = errbuf_fail(err, err_size, -EIO,
                                "blob %s: an earlier write failed; resume the ingest to finish it",
                                in->digest);
                goto out;
        }
        if (in->expected != STORE_SIZE_UNKNOWN && bytes < in->expected) {
                r = errbuf_fail(err, err_size, -EAGAIN, "blob %s is incomplete: %llu of %llu bytes",
                                in->digest, (unsigned long long)bytes,
                                (unsigned long long)in->expected);
                goto out;
        }
        r = digest_hasher_final(&in->h, got);
        if (r < 0) {
                errbuf_fail(err, err_size, r, "cannot hash blob %s", in->digest);
                goto out;
        }
        if (!digest_equal(got, in->digest)) {
                keep = false;
                r = errbuf_fail(err, err_size, -EBADMSG,
                                "blob %s failed verification: its %llu bytes hash to %s; discarded",
                                in->digest, (unsigned long long)bytes, got);
                goto out;
        }
        if (fsync(in->fd) < 0 ||
            renameat(in->s->ingest_fd, in->name, in->s->blobs_fd[in->algo],
                     digest_hex(in->digest)) < 0 ||
            fsync(in->s->blobs_fd[in->algo]) < 0) {
                r = errbuf_fail(err, err_size, negative_errno(), "cannot commit blob %s: %m",
                                in->digest);
                goto out;
        }
        r = 0;
out:
        store_ingest_close(in, keep);
        return r;
}

void store_ingest_close(struct store_ingest *in, bool keep)
{
        if (!in)
                return;
        /* Unlink before close: the lock still keeps other writers out. */
        if (!keep && in->fd >= 0)
                unlinkat(in->s->ingest_fd, in->name, 0);
        safe_close(in->fd);
        digest_hasher_done(&in->h);
        free(in);
}

/* --- image values ------------------------------------------------------ */

static void free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void store_image_free(struct store_image *img)
{
        if (!img)
                return;
        free_strv(img->repo_tags, img->n_repo_tags);
        free_strv(img->repo_digests, img->n_repo_digests);
        free(img->layers);
        free(img->username);
        free(img);
}

static char **dup_strv(char *const *v, size_t n)
{
        char **out = calloc(n ? n : 1, sizeof(char *));
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(out[i] = strdup(v[i]))) {
                        free_strv(out, i);
                        return NULL;
                }
        return out;
}

struct store_image *store_image_dup(const struct store_image *img)
{
        struct store_image *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        *c = *img;
        c->repo_tags = NULL;
        c->repo_digests = NULL;
        c->layers = NULL;
        c->username = NULL;
        c->n_repo_tags = c->n_repo_digests = c->n_layers = 0;
        if (!(c->repo_tags = dup_strv(img->repo_tags, img->n_repo_tags)))
                goto fail;
        c->n_repo_tags = img->n_repo_tags;
        if (!(c->repo_digests = dup_strv(img->repo_digests, img->n_repo_digests)))
                goto fail;
        c->n_repo_digests = img->n_repo_digests;
        c->layers = calloc(img->n_layers ? img->n_layers : 1, sizeof(*c->layers));
        if (!c->layers)
                goto fail;
        if (img->n_layers)
                memcpy(c->layers, img->layers, img->n_layers * sizeof(*c->layers));
        c->n_layers = img->n_layers;
        if (img->username && !(c->username = strdup(img->username)))
                goto fail;
        return c;
fail:
        store_image_free(c);
        return NULL;
}

/* --- record codec ------------------------------------------------------ */

static int rec_string(json_t *obj, const char *key, bool required, char *buf, size_t size,
                      char *err, size_t err_size)
{
        json_t *v = json_object_get(obj, key);
        buf[0] = '\0';
        if (!v) {
                if (required)
                        return errbuf_fail(err, err_size, -EINVAL, "record: missing \"%s\"", key);
                return 0;
        }
        if (!json_is_string(v) || json_string_length(v) >= size)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "record: \"%s\" is not a string of at most %zu bytes", key,
                                   size - 1);
        memcpy(buf, json_string_value(v), json_string_length(v) + 1);
        return 0;
}

static int rec_digest(json_t *obj, const char *key, char buf[static DIGEST_STRING_MAX + 1],
                      char *err, size_t err_size)
{
        char derr[200];
        int r = rec_string(obj, key, true, buf, DIGEST_STRING_MAX + 1, err, err_size);
        if (r < 0)
                return r;
        if (digest_parse(buf, NULL, derr, sizeof(derr)) < 0)
                return errbuf_fail(err, err_size, -EINVAL, "record: \"%s\": %s", key, derr);
        return 0;
}

static int rec_uint(json_t *obj, const char *key, uint64_t max, uint64_t *ret, char *err,
                    size_t err_size)
{
        json_t *v = json_object_get(obj, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (uint64_t)json_integer_value(v) > max)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "record: \"%s\" is missing or not an integer in 0..%llu", key,
                                   (unsigned long long)max);
        *ret = (uint64_t)json_integer_value(v);
        return 0;
}

static bool name_ok(const char *s, size_t len)
{
        if (len == 0 || len > STORE_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static int rec_names(json_t *obj, const char *key, char ***ret, size_t *ret_n, char *err,
                     size_t err_size)
{
        json_t *v = json_object_get(obj, key);
        if (!json_is_array(v) || json_array_size(v) > STORE_MAX_NAMES)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "record: \"%s\" is not an array of at most %d names", key,
                                   STORE_MAX_NAMES);
        size_t n = json_array_size(v);
        *ret = calloc(n ? n : 1, sizeof(char *));
        if (!*ret)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(v, i);
                if (!json_is_string(e) || !name_ok(json_string_value(e), json_string_length(e)))
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "record: %s[%zu] is not a valid name", key, i);
                for (size_t j = 0; j < i; j++)
                        if (strcmp((*ret)[j], json_string_value(e)) == 0)
                                return errbuf_fail(err, err_size, -EINVAL,
                                                   "record: %s lists '%s' twice", key, (*ret)[j]);
                if (!((*ret)[i] = strdup(json_string_value(e))))
                        return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
                (*ret_n)++;
        }
        return 0;
}

static int rec_layers(json_t *obj, struct store_image *img, char *err, size_t err_size)
{
        json_t *v = json_object_get(obj, "layers");
        if (!json_is_array(v) || json_array_size(v) > STORE_MAX_LAYERS)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "record: \"layers\" is not an array of at most %d layers",
                                   STORE_MAX_LAYERS);
        size_t n = json_array_size(v);
        img->layers = calloc(n ? n : 1, sizeof(*img->layers));
        if (!img->layers)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        _cleanup_free_ const char **diff_ids = calloc(n ? n : 1, sizeof(char *));
        _cleanup_free_ char(*chain)[DIGEST_STRING_MAX + 1] = calloc(n ? n : 1, sizeof(*chain));
        if (!diff_ids || !chain)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                json_t *l = json_array_get(v, i);
                struct store_layer *sl = &img->layers[i];
                int r;
                if (!json_is_object(l))
                        return errbuf_fail(err, err_size, -EINVAL,
                                           "record: layers[%zu] is not an object", i);
                if ((r = rec_digest(l, "digest", sl->digest, err, err_size)) < 0 ||
                    (r = rec_string(l, "media_type", true, sl->media_type, sizeof(sl->media_type),
                                    err, err_size)) < 0 ||
                    (r = rec_uint(l, "size", MAX_JSON_SIZE_T, &sl->size, err, err_size)) < 0 ||
                    (r = rec_digest(l, "diff_id", sl->diff_id, err, err_size)) < 0 ||
                    (r = rec_digest(l, "chain_id", sl->chain_id, err, err_size)) < 0)
                        return r;
                /* Optional: records written before brig kept them lack both. */
                if (json_object_get(l, "unpacked_bytes") &&
                    ((r = rec_uint(l, "unpacked_bytes", MAX_JSON_SIZE_T, &sl->unpacked_bytes, err,
                                   err_size)) < 0 ||
                     (r = rec_uint(l, "unpacked_inodes", MAX_JSON_SIZE_T, &sl->unpacked_inodes, err,
                                   err_size)) < 0))
                        return r;
                diff_ids[i] = sl->diff_id;
                img->n_layers++;
        }
        int r = digest_chain_ids(diff_ids, n, chain, err, err_size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (!digest_equal(chain[i], img->layers[i].chain_id))
                        return errbuf_fail(
                            err, err_size, -EINVAL,
                            "record: layers[%zu] chain id %s does not follow from the "
                            "diff ids (expected %s)",
                            i, img->layers[i].chain_id, chain[i]);
        return 0;
}

static int rec_image(json_t *root, struct store_image *img, char *err, size_t err_size)
{
        uint64_t version = 0, size = 0, pulled = 0, uid = 0;
        int r;

        if (!json_is_object(root))
                return errbuf_fail(err, err_size, -EINVAL, "record is not a JSON object");
        if ((r = rec_uint(root, "version", UINT32_MAX, &version, err, err_size)) < 0)
                return r;
        if (version != RECORD_VERSION)
                return errbuf_fail(err, err_size, -EINVAL, "record version %llu is not %d",
                                   (unsigned long long)version, RECORD_VERSION);
        if ((r = rec_digest(root, "id", img->id, err, err_size)) < 0 ||
            (r = rec_names(root, "repo_tags", &img->repo_tags, &img->n_repo_tags, err, err_size)) <
                0 ||
            (r = rec_names(root, "repo_digests", &img->repo_digests, &img->n_repo_digests, err,
                           err_size)) < 0 ||
            (r = rec_digest(root, "manifest_digest", img->manifest_digest, err, err_size)) < 0 ||
            (r = rec_string(root, "manifest_media_type", true, img->manifest_media_type,
                            sizeof(img->manifest_media_type), err, err_size)) < 0 ||
            (r = rec_digest(root, "config_digest", img->config_digest, err, err_size)) < 0 ||
            (r = rec_layers(root, img, err, err_size)) < 0 ||
            (r = rec_uint(root, "size", INT64_MAX, &size, err, err_size)) < 0 ||
            (r = rec_uint(root, "pulled_at", INT64_MAX, &pulled, err, err_size)) < 0)
                return r;
        if (!digest_equal(img->id, img->config_digest))
                return errbuf_fail(err, err_size, -EINVAL,
                                   "record: id %s is not its config digest %s", img->id,
                                   img->config_digest);
        img->size = size;
        img->pulled_at = (int64_t)pulled;
        json_t *pinned = json_object_get(root, "pinned");
        if (!json_is_boolean(pinned))
                return errbuf_fail(err, err_size, -EINVAL, "record: \"pinned\" is not a boolean");
        img->pinned = json_is_true(pinned);
        json_t *u = json_object_get(root, "uid"), *name = json_object_get(root, "username");
        if (u && name)
                return errbuf_fail(err, err_size, -EINVAL, "record has both uid and username");
        if (u) {
                if ((r = rec_uint(root, "uid", UINT32_MAX - 1, &uid, err, err_size)) < 0)
                        return r;
                img->has_uid = true;
                img->uid = (int64_t)uid;
        } else if (name) {
                char buf[257];
                if ((r = rec_string(root, "username", true, buf, sizeof(buf), err, err_size)) < 0)
                        return r;
                if (!buf[0])
                        return errbuf_fail(err, err_size, -EINVAL, "record: empty username");
                if (!(img->username = strdup(buf)))
                        return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        } else {
                return errbuf_fail(err, err_size, -EINVAL, "record has neither uid nor username");
        }
        return 0;
}

int store_record_parse(const void *buf, size_t len, struct store_image **ret, char *err,
                       size_t err_size)
{
        json_t *root;

        *ret = NULL;
        int r = jsondoc_load(buf, len, STORE_RECORD_MAX_SIZE, "record", &root, err, err_size);
        if (r < 0)
                return r;
        struct store_image *img = calloc(1, sizeof(*img));
        r = img ? rec_image(root, img, err, err_size) : errbuf_fail(err, err_size, -ENOMEM, "oom");
        json_decref(root);
        if (r < 0) {
                store_image_free(img);
                return r;
        }
        *ret = img;
        return 0;
}

static json_t *names_json(char *const *v, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

int store_record_format(const struct store_image *img, char **ret, size_t *ret_len)
{
        json_t *layers = json_array();
        *ret = NULL;
        for (size_t i = 0; layers && i < img->n_layers; i++) {
                const struct store_layer *l = &img->layers[i];
                json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:I}", "digest", l->digest,
                                      "media_type", l->media_type, "size", (json_int_t)l->size,
                                      "diff_id", l->diff_id, "chain_id", l->chain_id,
                                      "unpacked_bytes", (json_int_t)l->unpacked_bytes,
                                      "unpacked_inodes", (json_int_t)l->unpacked_inodes);
                if (!o || json_array_append_new(layers, o) < 0) {
                        json_decref(layers);
                        layers = NULL;
                }
        }
        json_t *tags = names_json(img->repo_tags, img->n_repo_tags);
        json_t *digests = names_json(img->repo_digests, img->n_repo_digests);
        if (!layers || !tags || !digests) {
                json_decref(layers);
                json_decref(tags);
                json_decref(digests);
                return -ENOMEM;
        }
        json_t *root = json_pack(
            "{s:i, s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:I, s:I, s:b}", "version", RECORD_VERSION,
            "id", img->id, "repo_tags", tags, "repo_digests", digests, "manifest_digest",
            img->manifest_digest, "manifest_media_type", img->manifest_media_type, "config_digest",
            img->config_digest, "layers", layers, "size", (json_int_t)img->size, "pulled_at",
            (json_int_t)img->pulled_at, "pinned", img->pinned);
        if (!root)
                return -EINVAL;
        int r = img->has_uid ? json_object_set_new(root, "uid", json_integer(img->uid))
                             : json_object_set_new(root, "username",
                                                   json_string(img->username ? img->username : ""));
        char *s = r == 0 ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(root);
        if (!s)
                return -EINVAL;
        *ret = s;
        *ret_len = strlen(s);
        return 0;
}

/* --- records on disk ----------------------------------------------------- */

static void record_file_name(const char *id, char *buf, size_t size)
{
        char name[DIGEST_STRING_MAX + 1];
        digest_file_name(id, name);
        snprintf(buf, size, "%s.json", name);
}

/* Crash safe (recfile.h): a crash leaves the old record or the new one. */
static int write_record(struct store *s, const struct store_image *img, char *err, size_t err_size)
{
        char final[DIGEST_STRING_MAX + 16];
        _cleanup_free_ char *json = NULL;
        size_t len = 0;

        int r = store_record_format(img, &json, &len);
        if (r < 0)
                return errbuf_fail(err, err_size, r, "cannot encode the record of image %s",
                                   img->id);
        record_file_name(img->id, final, sizeof(final));
        r = recfile_write(s->images_fd, final, json, len);
        if (r < 0)
                return errbuf_fail(err, err_size, r, "cannot write the record of image %s: %s",
                                   img->id, strerror(-r));
        return 0;
}

static int delete_record(struct store *s, const char *id)
{
        char final[DIGEST_STRING_MAX + 16];

        record_file_name(id, final, sizeof(final));
        return recfile_delete(s->images_fd, final);
}

static int read_record_file(struct store *s, const char *name, struct store_image **ret, char *err,
                            size_t err_size)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = recfile_read(s->images_fd, name, STORE_RECORD_MAX_SIZE, &buf, &len, err, err_size);

        if (r < 0)
                return r;
        r = store_record_parse(buf, len, ret, err, err_size);
        if (r < 0)
                return r;
        char expected[DIGEST_STRING_MAX + 16];
        record_file_name((*ret)->id, expected, sizeof(expected));
        if (strcmp(expected, name) != 0) {
                store_image_free(*ret);
                *ret = NULL;
                return errbuf_fail(err, err_size, -EINVAL, "holds image %s under another name",
                                   expected);
        }
        return 0;
}

static int images_append(struct store *s, struct store_image *img)
{
        if (s->n_images == s->cap_images) {
                size_t cap = s->cap_images ? s->cap_images * 2 : 16;
                struct store_image **n = realloc(s->images, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                s->images = n;
                s->cap_images = cap;
        }
        s->images[s->n_images++] = img;
        return 0;
}

static bool has_name(char *const *v, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], name) == 0)
                        return true;
        return false;
}

static void drop_name(char **v, size_t *n, const char *name)
{
        for (size_t i = 0; i < *n; i++)
                if (strcmp(v[i], name) == 0) {
                        free(v[i]);
                        memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
                        (*n)--;
                        return;
                }
}

static int newest_first(const void *a, const void *b)
{
        const struct store_image *x = *(struct store_image *const *)a;
        const struct store_image *y = *(struct store_image *const *)b;
        if (x->pulled_at != y->pulled_at)
                return x->pulled_at > y->pulled_at ? -1 : 1;
        return strcmp(x->id, y->id);
}

/* Two records can claim one tag after a crash between writing a new image
 * and untagging the old one: the newer pull keeps it. */
static void resolve_tag_conflicts(struct store *s)
{
        if (s->n_images > 1)
                qsort(s->images, s->n_images, sizeof(*s->images), newest_first);
        for (size_t a = 0; a < s->n_images; a++)
                for (size_t t = 0; t < s->images[a]->n_repo_tags; t++)
                        for (size_t b = a + 1; b < s->n_images; b++) {
                                struct store_image *older = s->images[b];
                                const char *tag = s->images[a]->repo_tags[t];
                                if (!has_name(older->repo_tags, older->n_repo_tags, tag))
                                        continue;
                                log_warn("tag claimed by two images; the older loses it",
                                         "tag=%s image=%s", tag, older->id);
                                drop_name(older->repo_tags, &older->n_repo_tags, tag);
                        }
}

static void load_records(struct store *s)
{
        _cleanup_closedir_ DIR *d = opendir_at(s->images_fd);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                char err[512], corrupt[NAME_MAX + 16];
                struct store_image *img = NULL;
                size_t len = strlen(de->d_name);
                if (recfile_is_temp(de->d_name)) {
                        /* A write that never reached its rename. */
                        unlinkat(s->images_fd, de->d_name, 0);
                        continue;
                }
                if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                int r = read_record_file(s, de->d_name, &img, err, sizeof(err));
                if (r == 0 && images_append(s, img) < 0) {
                        store_image_free(img);
                        snprintf(err, sizeof(err), "out of memory");
                        r = -ENOMEM;
                }
                if (r == 0)
                        continue;
                snprintf(corrupt, sizeof(corrupt), "%s.corrupt", de->d_name);
                log_warn_errno(r, "skipping unreadable image record; renamed for inspection",
                               "file=%s renamed=%s reason=\"%s\"", de->d_name, corrupt, err);
                renameat(s->images_fd, de->d_name, s->images_fd, corrupt);
        }
        resolve_tag_conflicts(s);
}

int store_open(const char *root, struct store **ret, char *err, size_t err_size)
{
        int r;

        *ret = NULL;
        struct store *s = calloc(1, sizeof(*s));
        if (!s)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        s->root_fd = s->blobs_fd[0] = s->blobs_fd[1] = s->ingest_fd = s->images_fd = -1;
        pthread_mutex_init(&s->lock, NULL);
        s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0) {
                r = errbuf_fail(err, err_size, negative_errno(), "cannot open image store %s: %m",
                                root);
                goto out;
        }
        int blobs = open_subdir(s->root_fd, "blobs");
        if (blobs < 0) {
                r = blobs;
                goto sub;
        }
        s->blobs_fd[DIGEST_SHA256] = open_subdir(blobs, digest_algo_name(DIGEST_SHA256));
        s->blobs_fd[DIGEST_SHA512] = open_subdir(blobs, digest_algo_name(DIGEST_SHA512));
        close(blobs);
        s->ingest_fd = open_subdir(s->root_fd, "ingest");
        s->images_fd = open_subdir(s->root_fd, "images");
        int fds[] = {s->blobs_fd[0], s->blobs_fd[1], s->ingest_fd, s->images_fd};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (fds[i] < 0) {
                        r = fds[i];
                        goto sub;
                }
        collect_stale_ingests(s);
        load_records(s);
        *ret = TAKE_PTR(s);
        return 0;
sub:
        errbuf_fail(err, err_size, r, "cannot set up the directories of image store %s: %s", root,
                    strerror(-r));
out:
        store_close(s);
        return r;
}

void store_close(struct store *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_images; i++)
                store_image_free(s->images[i]);
        free(s->images);
        safe_close(s->root_fd);
        safe_close(s->blobs_fd[0]);
        safe_close(s->blobs_fd[1]);
        safe_close(s->ingest_fd);
        safe_close(s->images_fd);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

/* --- image index -------------------------------------------------------- */

static bool is_hex(const char *s)
{
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* Index of the image ref names in s->images; s->lock held. */
static int find_locked(struct store *s, const char *ref, size_t *ret, char *err, size_t err_size)
{
        if (!ref || !*ref)
                return errbuf_fail(err, err_size, -EINVAL, "empty image reference");
        if (digest_valid(ref))
                for (size_t i = 0; i < s->n_images; i++)
                        if (strcmp(s->images[i]->id, ref) == 0) {
                                *ret = i;
                                return 0;
                        }
        for (size_t i = 0; i < s->n_images; i++) {
                const struct store_image *img = s->images[i];
                if (has_name(img->repo_tags, img->n_repo_tags, ref) ||
                    has_name(img->repo_digests, img->n_repo_digests, ref)) {
                        *ret = i;
                        return 0;
                }
        }
        const char *prefix = ref, *algo = NULL;
        const char *colon = strchr(ref, ':');
        if (colon) {
                if (strncmp(ref, "sha256:", 7) == 0)
                        algo = "sha256";
                else if (strncmp(ref, "sha512:", 7) == 0)
                        algo = "sha512";
                else
                        return errbuf_fail(err, err_size, -ENOENT, "image '%.600s' not found", ref);
                prefix = colon + 1;
        }
        size_t plen = strlen(prefix), found = 0, hit = 0;
        if (plen == 0 || plen > 128 || !is_hex(prefix))
                return errbuf_fail(err, err_size, -ENOENT, "image '%.600s' not found", ref);
        for (size_t i = 0; i < s->n_images; i++) {
                const char *id = s->images[i]->id;
                if (algo && strncmp(id, algo, 6) != 0)
                        continue;
                if (strncmp(digest_hex(id), prefix, plen) == 0) {
                        found++;
                        hit = i;
                }
        }
        if (found == 0)
                return errbuf_fail(err, err_size, -ENOENT, "image '%.600s' not found", ref);
        if (found > 1)
                return errbuf_fail(
                    err, err_size, -EINVAL,
                    "image id prefix '%s' is ambiguous: it matches %zu images; give more "
                    "of the id",
                    ref, found);
        *ret = hit;
        return 0;
}

int store_image_get(struct store *s, const char *ref, struct store_image **ret, char *err,
                    size_t err_size)
{
        size_t i;

        *ret = NULL;
        pthread_mutex_lock(&s->lock);
        int r = find_locked(s, ref, &i, err, err_size);
        if (r == 0 && !(*ret = store_image_dup(s->images[i])))
                r = errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        pthread_mutex_unlock(&s->lock);
        return r;
}

static int add_names(char ***v, size_t *n, char *const *add, size_t n_add)
{
        for (size_t i = 0; i < n_add; i++) {
                if (has_name(*v, *n, add[i]))
                        continue;
                if (*n >= STORE_MAX_NAMES)
                        return -E2BIG;
                char **nv = realloc(*v, (*n + 1) * sizeof(char *));
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                if (!(nv[*n] = strdup(add[i])))
                        return -ENOMEM;
                (*n)++;
        }
        return 0;
}

int store_image_put(struct store *s, const struct store_image *img, char *err, size_t err_size)
{
        _cleanup_free_ char *json = NULL;
        struct store_image *merged = NULL;
        size_t len, existing = SIZE_MAX;
        int r;

        /* Encoding and re-parsing checks every field exactly as a load at
         * the next start will, so nothing is stored that cannot be read. */
        r = store_record_format(img, &json, &len);
        if (r < 0)
                return errbuf_fail(err, err_size, r, "image %.200s cannot be encoded", img->id);
        r = store_record_parse(json, len, &merged, err, err_size);
        if (r < 0)
                return r;

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_images; i++)
                if (strcmp(s->images[i]->id, merged->id) == 0)
                        existing = i;
        if (existing != SIZE_MAX) {
                const struct store_image *old = s->images[existing];
                r = add_names(&merged->repo_tags, &merged->n_repo_tags, old->repo_tags,
                              old->n_repo_tags);
                if (r == 0)
                        r = add_names(&merged->repo_digests, &merged->n_repo_digests,
                                      old->repo_digests, old->n_repo_digests);
                if (r < 0) {
                        errbuf_fail(err, err_size, r, "cannot merge the names of image %s",
                                    merged->id);
                        goto out;
                }
        } else if ((r = images_append(s, NULL)) < 0) {
                errbuf_fail(err, err_size, r, "out of memory");
                goto out;
        } else {
                existing = s->n_images - 1;
        }
        r = write_record(s, merged, err, err_size);
        if (r < 0) {
                if (!s->images[existing])
                        s->n_images--;
                goto out;
        }
        store_image_free(s->images[existing]);
        s->images[existing] = TAKE_PTR(merged);

        /* Move the tags: a failed rewrite here is repaired at the next
         * load, where the newer image keeps a contested tag. */
        const struct store_image *now = s->images[existing];
        for (size_t i = 0; i < s->n_images; i++) {
                struct store_image *other = s->images[i];
                bool changed = false;
                if (i == existing)
                        continue;
                for (size_t t = 0; t < now->n_repo_tags; t++)
                        if (has_name(other->repo_tags, other->n_repo_tags, now->repo_tags[t])) {
                                drop_name(other->repo_tags, &other->n_repo_tags, now->repo_tags[t]);
                                changed = true;
                        }
                char werr[256];
                if (changed && write_record(s, other, werr, sizeof(werr)) < 0)
                        log_warn("cannot untag image record", "image=%s reason=\"%s\"", other->id,
                                 werr);
        }
        r = 0;
out:
        pthread_mutex_unlock(&s->lock);
        store_image_free(merged);
        return r;
}

static bool referenced(struct store *s, const char *digest, bool chain)
{
        for (size_t i = 0; i < s->n_images; i++) {
                const struct store_image *img = s->images[i];
                if (!chain && (digest_equal(img->config_digest, digest) ||
                               digest_equal(img->manifest_digest, digest)))
                        return true;
                for (size_t l = 0; l < img->n_layers; l++)
                        if (digest_equal(chain ? img->layers[l].chain_id : img->layers[l].digest,
                                         digest))
                                return true;
        }
        return false;
}

static void unref_add(char (*list)[DIGEST_STRING_MAX + 1], size_t *n, const char *digest)
{
        for (size_t i = 0; i < *n; i++)
                if (strcmp(list[i], digest) == 0)
                        return;
        snprintf(list[(*n)++], DIGEST_STRING_MAX + 1, "%s", digest);
}

int store_image_remove(struct store *s, const char *ref, struct store_unref *ret, char *err,
                       size_t err_size)
{
        struct store_unref u = {0};
        size_t i;

        if (ret)
                *ret = u;
        pthread_mutex_lock(&s->lock);
        int r = find_locked(s, ref, &i, err, err_size);
        if (r < 0)
                goto out;
        struct store_image *img = s->images[i];
        r = delete_record(s, img->id);
        if (r < 0) {
                errbuf_fail(err, err_size, r, "cannot delete the record of image %s: %s", img->id,
                            strerror(-r));
                goto out;
        }
        s->images[i] = s->images[--s->n_images];
        if (ret) {
                u.chain_ids = calloc(img->n_layers + 1, sizeof(*u.chain_ids));
                u.blobs = calloc(img->n_layers + 2, sizeof(*u.blobs));
                if (!u.chain_ids || !u.blobs) {
                        /* The image is gone; only the list of leftovers is lost. */
                        store_unref_done(&u);
                        store_image_free(img);
                        r = errbuf_fail(err, err_size, -ENOMEM, "out of memory");
                        goto out;
                }
                for (size_t l = 0; l < img->n_layers; l++) {
                        if (!referenced(s, img->layers[l].chain_id, true))
                                unref_add(u.chain_ids, &u.n_chain_ids, img->layers[l].chain_id);
                        if (!referenced(s, img->layers[l].digest, false))
                                unref_add(u.blobs, &u.n_blobs, img->layers[l].digest);
                }
                if (!referenced(s, img->config_digest, false))
                        unref_add(u.blobs, &u.n_blobs, img->config_digest);
                if (!referenced(s, img->manifest_digest, false))
                        unref_add(u.blobs, &u.n_blobs, img->manifest_digest);
                *ret = u;
        }
        store_image_free(img);
out:
        pthread_mutex_unlock(&s->lock);
        return r;
}

void store_unref_done(struct store_unref *u)
{
        free(u->chain_ids);
        free(u->blobs);
        *u = (struct store_unref){0};
}

static int by_id(const void *a, const void *b)
{
        return strcmp((*(struct store_image *const *)a)->id, (*(struct store_image *const *)b)->id);
}

int store_image_list(struct store *s, struct store_image ***ret, size_t *ret_n)
{
        int r = 0;

        *ret = NULL;
        *ret_n = 0;
        pthread_mutex_lock(&s->lock);
        size_t n = s->n_images;
        struct store_image **list = calloc(n ? n : 1, sizeof(*list));
        for (size_t i = 0; list && i < n; i++)
                if (!(list[i] = store_image_dup(s->images[i]))) {
                        store_image_list_free(list, i);
                        list = NULL;
                }
        pthread_mutex_unlock(&s->lock);
        if (!list)
                return -ENOMEM;
        qsort(list, n, sizeof(*list), by_id);
        *ret = list;
        *ret_n = n;
        return r;
}

void store_image_list_free(struct store_image **list, size_t n)
{
        for (size_t i = 0; list && i < n; i++)
                store_image_free(list[i]);
        free(list);
}

static void usage_add(const struct stat *st, uint64_t *bytes, uint64_t *inodes)
{
        *bytes += (uint64_t)st->st_blocks * 512;
        (*inodes)++;
}

static int usage_dir(int dirfd, uint64_t *bytes, uint64_t *inodes)
{
        struct stat st;

        if (fstat(dirfd, &st) < 0)
                return negative_errno();
        usage_add(&st, bytes, inodes);
        _cleanup_closedir_ DIR *d = opendir_at(dirfd);
        if (!d)
                return negative_errno();
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        usage_add(&st, bytes, inodes);
        return 0;
}

int store_usage(struct store *s, uint64_t *ret_bytes, uint64_t *ret_inodes)
{
        uint64_t bytes = 0, inodes = 0;
        struct stat st;
        int r;

        if (fstat(s->root_fd, &st) < 0)
                return negative_errno();
        usage_add(&st, &bytes, &inodes);
        if (fstatat(s->root_fd, "blobs", &st, AT_SYMLINK_NOFOLLOW) == 0)
                usage_add(&st, &bytes, &inodes);
        int dirs[] = {s->blobs_fd[0], s->blobs_fd[1], s->ingest_fd, s->images_fd};
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
                if ((r = usage_dir(dirs[i], &bytes, &inodes)) < 0)
                        return r;
        *ret_bytes = bytes;
        *ret_inodes = inodes;
        return 0;
}

static int cmp_layer_chain(const void *a, const void *b)
{
        const struct store_layer *x = *(const struct store_layer *const *)a;
        const struct store_layer *y = *(const struct store_layer *const *)b;

        return strcmp(x->chain_id, y->chain_id);
}

void store_layers_usage(struct store *s, uint64_t *ret_bytes, uint64_t *ret_inodes)
{
        uint64_t bytes = 0, inodes = 0;
        const struct store_layer **all = NULL;
        size_t n = 0;

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_images; i++)
                n += s->images[i]->n_layers;
        all = n ? calloc(n, sizeof(*all)) : NULL;
        if (all) {
                size_t k = 0;
                for (size_t i = 0; i < s->n_images; i++)
                        for (size_t l = 0; l < s->images[i]->n_layers; l++)
                                all[k++] = &s->images[i]->layers[l];
                /* Sorted, each chain id is counted at its first occurrence. */
                qsort(all, n, sizeof(*all), cmp_layer_chain);
                for (size_t k2 = 0; k2 < n; k2++) {
                        if (k2 > 0 && strcmp(all[k2 - 1]->chain_id, all[k2]->chain_id) == 0)
                                continue;
                        bytes += all[k2]->unpacked_bytes;
                        inodes += all[k2]->unpacked_inodes;
                }
        }
        pthread_mutex_unlock(&s->lock);
        free(all);
        *ret_bytes = bytes;
        *ret_inodes = inodes;
}
