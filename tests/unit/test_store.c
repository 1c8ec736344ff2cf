/* test_store.c: unit tests for daemon/store.h in a temporary directory:
 * blob ingest, verification and resume, concurrent writers, stale ingest
 * collection, image records (round trip, lookups, tag moves, crash
 * leftovers, corrupt records), removal with shared layers, and usage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/store.h"
#include "log.h"

#define D(c)                                                                                       \
        "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
            c c c c c c c c c c c c c c c c c c c c c c c c

struct fixture {
        char dir[64];
        struct store *s;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char err[512] = "";
        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/brig-test-store-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        if (store_open(f->dir, &f->s, err, sizeof(err)) < 0) {
                fprintf(stderr, "store_open: %s\n", err);
                nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        store_close(f->s);
        nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static void reopen(struct fixture *f)
{
        char err[512] = "";
        store_close(f->s);
        f->s = NULL;
        if (store_open(f->dir, &f->s, err, sizeof(err)) < 0)
                fail_msg("reopen: %s", err);
}

static void digest_of(const char *data, char out[static DIGEST_STRING_MAX + 1])
{
        assert_int_equal(digest_buffer(DIGEST_SHA256, data, strlen(data), out), 0);
}

static size_t count_dir(struct fixture *f, const char *sub)
{
        char path[128];
        size_t n = 0;
        snprintf(path, sizeof(path), "%s/%s", f->dir, sub);
        DIR *d = opendir(path);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' || (de->d_name[1] && strcmp(de->d_name, "..") != 0))
                        n++;
        closedir(d);
        return n;
}

/* Writes content as blob digest in one ingest; returns commit's result. */
static int ingest_all(struct store *s, const char *digest, const char *content, uint64_t size)
{
        struct store_ingest *in = NULL;
        uint64_t off = 99;
        char err[512] = "";
        int r = store_ingest_open(s, digest, size, true, &in, &off, err, sizeof(err));
        if (r < 0)
                return r;
        assert_int_equal(off, 0);
        r = store_ingest_write(in, content, strlen(content), err, sizeof(err));
        if (r < 0) {
                store_ingest_close(in, false);
                return r;
        }
        return store_ingest_commit(in, err, sizeof(err));
}

static void test_ingest_commit(void **state)
{
        struct fixture *f = *state;
        char dg[DIGEST_STRING_MAX + 1], err[512] = "", buf[16] = "";
        struct store_ingest *in = NULL;
        uint64_t off = 1, size = 0;
        const char *content = "hello, layer";

        digest_of(content, dg);
        assert_false(store_blob_exists(f->s, dg, NULL));
        assert_int_equal(
            store_ingest_open(f->s, dg, strlen(content), false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(off, 0);
        assert_int_equal(store_ingest_write(in, content, 5, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_write(in, content + 5, strlen(content) - 5, err, sizeof(err)),
                         0);
        assert_int_equal(store_ingest_offset(in), strlen(content));
        assert_int_equal(store_ingest_commit(in, err, sizeof(err)), 0);
        assert_true(store_blob_exists(f->s, dg, &size));
        assert_int_equal(size, strlen(content));
        assert_int_equal(count_dir(f, "ingest"), 0);

        char *data = NULL;
        size_t len = 0;
        assert_int_equal(store_blob_read(f->s, dg, 100, &data, &len, err, sizeof(err)), 0);
        assert_int_equal(len, strlen(content));
        assert_string_equal(data, content);
        free(data);
        assert_int_equal(store_blob_read(f->s, dg, 4, &data, &len, err, sizeof(err)), -EFBIG);
        assert_null(data);

        int fd = store_blob_open(f->s, dg);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, buf, 5), 5);
        assert_memory_equal(buf, "hello", 5);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
        close(fd);

        /* Already there: a second pull skips it. */
        assert_int_equal(
            store_ingest_open(f->s, dg, STORE_SIZE_UNKNOWN, false, &in, &off, err, sizeof(err)),
            -EEXIST);
        assert_null(in);
        assert_int_equal(count_dir(f, "ingest"), 0);

        assert_int_equal(store_blob_delete(f->s, dg), 0);
        assert_false(store_blob_exists(f->s, dg, NULL));
        assert_int_equal(store_blob_delete(f->s, dg), -ENOENT);
        assert_int_equal(store_blob_open(f->s, dg), -ENOENT);
        assert_int_equal(store_blob_open(f->s, "sha256:../../etc/passwd"), -EINVAL);
        assert_int_equal(
            store_ingest_open(f->s, "sha256:../x", 1, false, &in, &off, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "invalid digest"));
}

static void test_ingest_mismatch(void **state)
{
        struct fixture *f = *state;
        char dg[DIGEST_STRING_MAX + 1], err[512] = "";
        struct store_ingest *in = NULL;
        uint64_t off;

        digest_of("the real content", dg);
        assert_int_equal(
            store_ingest_open(f->s, dg, STORE_SIZE_UNKNOWN, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_write(in, "tampered content", 16, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_commit(in, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, dg));
        assert_non_null(strstr(err, "failed verification"));
        assert_false(store_blob_exists(f->s, dg, NULL));
        assert_int_equal(count_dir(f, "ingest"), 0);
        assert_int_equal(count_dir(f, "blobs/sha256"), 0);

        /* Right digest, wrong size in the descriptor. */
        digest_of("12345", dg);
        assert_int_equal(store_ingest_open(f->s, dg, 4, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_write(in, "12345", 5, err, sizeof(err)), -EFBIG);
        assert_non_null(strstr(err, "bigger than the 4 bytes"));
        store_ingest_close(in, false);
        assert_int_equal(count_dir(f, "ingest"), 0);
        assert_int_equal(ingest_all(f->s, dg, "12345", 6), -EAGAIN);
        /* The short ingest stays for a resume. */
        assert_int_equal(count_dir(f, "ingest"), 1);
}

static void test_ingest_resume(void **state)
{
        struct fixture *f = *state;
        char dg[DIGEST_STRING_MAX + 1], err[512] = "";
        struct store_ingest *in = NULL;
        uint64_t off = 0;
        const char *content = "0123456789abcdef";

        digest_of(content, dg);
        assert_int_equal(store_ingest_open(f->s, dg, 16, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_write(in, content, 6, err, sizeof(err)), 0);
        /* The transfer breaks. */
        store_ingest_close(in, true);
        reopen(f);
        assert_int_equal(store_ingest_open(f->s, dg, 16, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(off, 6);
        assert_int_equal(store_ingest_write(in, content + 6, 4, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_commit(in, err, sizeof(err)), -EAGAIN);
        assert_non_null(strstr(err, "incomplete: 10 of 16 bytes"));
        assert_int_equal(store_ingest_open(f->s, dg, 16, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(off, 10);
        assert_int_equal(store_ingest_write(in, content + 10, 6, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_commit(in, err, sizeof(err)), 0);
        assert_true(store_blob_exists(f->s, dg, NULL));

        /* A partial file that holds wrong bytes fails at commit and goes. */
        digest_of("good data", dg);
        char path[256];
        snprintf(path, sizeof(path), "%s/ingest/sha256-%s", f->dir, dg + 7);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("bad", fp);
        fclose(fp);
        assert_int_equal(store_ingest_open(f->s, dg, 9, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(off, 3);
        assert_int_equal(store_ingest_write(in, " data!!", 7, err, sizeof(err)), -EFBIG);
        assert_int_equal(store_ingest_write(in, "d data", 6, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_commit(in, err, sizeof(err)), -EBADMSG);
        assert_int_equal(access(path, F_OK), -1);

        /* A partial longer than the blob is thrown away on open. */
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("good data and more", fp);
        fclose(fp);
        assert_int_equal(store_ingest_open(f->s, dg, 9, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(off, 0);
        assert_int_equal(store_ingest_write(in, "good data", 9, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_commit(in, err, sizeof(err)), 0);
}

/* A write that fails half way (file size limit) must not let the ingest
 * commit bytes the hasher never saw; a resume picks up what reached disk. */
static void test_ingest_write_failure(void **state)
{
        struct fixture *f = *state;
        char dg[DIGEST_STRING_MAX + 1], err[512] = "";
        struct store_ingest *in = NULL;
        uint64_t off = 0;
        const char *content = "0123456789";
        struct rlimit old, small = {.rlim_cur = 4, .rlim_max = RLIM_INFINITY};

        digest_of(content, dg);
        assert_int_equal(store_ingest_open(f->s, dg, 10, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        small.rlim_max = old.rlim_max;
        void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
        int r = store_ingest_write(in, content, 10, err, sizeof(err));
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        signal(SIGXFSZ, prev);
        assert_int_equal(r, -EFBIG);
        assert_int_equal(store_ingest_write(in, content + 4, 6, err, sizeof(err)), -EIO);
        assert_int_equal(store_ingest_commit(in, err, sizeof(err)), -EIO);
        assert_non_null(strstr(err, "resume"));
        assert_false(store_blob_exists(f->s, dg, NULL));

        assert_int_equal(store_ingest_open(f->s, dg, 10, false, &in, &off, err, sizeof(err)), 0);
        assert_int_equal(off, 4);
        assert_int_equal(store_ingest_write(in, content + 4, 6, err, sizeof(err)), 0);
        assert_int_equal(store_ingest_commit(in, err, sizeof(err)), 0);
}

struct racer {
        struct store *s;
        const char *digest;
        const char *content;
        int result;
};

static void *race(void *arg)
{
        struct racer *r = arg;
        r->result = ingest_all(r->s, r->digest, r->content, strlen(r->content));
        return NULL;
}

static void test_concurrent_writers(void **state)
{
        struct fixture *f = *state;
        char dg[DIGEST_STRING_MAX + 1], err[512] = "";
        struct store_ingest *a = NULL, *b = NULL;
        uint64_t off;
        const char *content = "shared base layer bytes";

        digest_of(content, dg);
        assert_int_equal(
            store_ingest_open(f->s, dg, STORE_SIZE_UNKNOWN, false, &a, &off, err, sizeof(err)), 0);
        assert_int_equal(
            store_ingest_open(f->s, dg, STORE_SIZE_UNKNOWN, false, &b, &off, err, sizeof(err)),
            -EBUSY);
        assert_null(b);
        assert_non_null(strstr(err, "being written by another pull"));

        /* A waiting writer sees the first one's commit and skips. */
        struct racer waiter = {f->s, dg, content, 1};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, race, &waiter), 0);
        usleep(50 * 1000);
        assert_int_equal(store_ingest_write(a, content, strlen(content), err, sizeof(err)), 0);
        assert_int_equal(store_ingest_commit(a, err, sizeof(err)), 0);
        pthread_join(t, NULL);
        assert_int_equal(waiter.result, -EEXIST);

        /* Many at once: one commits, the others find it done. */
        const char *c2 = "another blob, raced by eight threads";
        char dg2[DIGEST_STRING_MAX + 1];
        digest_of(c2, dg2);
        struct racer rs[8];
        pthread_t ts[8];
        for (int i = 0; i < 8; i++) {
                rs[i] = (struct racer){f->s, dg2, c2, 1};
                assert_int_equal(pthread_create(&ts[i], NULL, race, &rs[i]), 0);
        }
        int ok = 0, exist = 0;
        for (int i = 0; i < 8; i++) {
                pthread_join(ts[i], NULL);
                ok += rs[i].result == 0;
                exist += rs[i].result == -EEXIST;
        }
        assert_int_equal(ok, 1);
        assert_int_equal(exist, 7);
        char *data = NULL;
        size_t len;
        assert_int_equal(store_blob_read(f->s, dg2, 1000, &data, &len, err, sizeof(err)), 0);
        assert_string_equal(data, c2);
        free(data);
        assert_int_equal(count_dir(f, "ingest"), 0);
}

static void test_stale_ingests(void **state)
{
        struct fixture *f = *state;
        char old[256], fresh[256], junk[256];
        struct timespec times[2] = {{.tv_sec = time(NULL) - 2 * STORE_INGEST_MAX_AGE},
                                    {.tv_sec = time(NULL) - 2 * STORE_INGEST_MAX_AGE}};

        snprintf(old, sizeof(old), "%s/ingest/sha256-%s", f->dir, digest_hex(D("1")));
        snprintf(fresh, sizeof(fresh), "%s/ingest/sha256-%s", f->dir, digest_hex(D("2")));
        snprintf(junk, sizeof(junk), "%s/ingest/not-a-digest", f->dir);
        const char *paths[] = {old, fresh, junk};
        for (size_t i = 0; i < 3; i++) {
                FILE *fp = fopen(paths[i], "w");
                assert_non_null(fp);
                fputs("partial", fp);
                fclose(fp);
        }
        assert_int_equal(utimensat(AT_FDCWD, old, times, 0), 0);
        reopen(f);
        assert_int_equal(access(old, F_OK), -1);
        assert_int_equal(access(junk, F_OK), -1);
        assert_int_equal(access(fresh, F_OK), 0);
}

/* An image with the given id, tags and layers (diff ids; blob digests are
 * derived from them so that shared layers share blobs). */
static struct store_image *make_image(const char *id, const char *const *tags, size_t n_tags,
                                      const char *const *diff_ids, size_t n_layers)
{
        struct store_image *img = calloc(1, sizeof(*img));
        char chain[8][DIGEST_STRING_MAX + 1], err[256];
        assert_non_null(img);
        assert_true(n_layers <= 8);
        snprintf(img->id, sizeof(img->id), "%s", id);
        snprintf(img->config_digest, sizeof(img->config_digest), "%s", id);
        digest_of(id, img->manifest_digest);
        snprintf(img->manifest_media_type, sizeof(img->manifest_media_type),
                 "application/vnd.oci.image.manifest.v1+json");
        img->repo_tags = calloc(n_tags + 1, sizeof(char *));
        for (size_t i = 0; i < n_tags; i++)
                img->repo_tags[i] = strdup(tags[i]);
        img->n_repo_tags = n_tags;
        img->repo_digests = calloc(1, sizeof(char *));
        char rd[STORE_NAME_MAX];
        snprintf(rd, sizeof(rd), "docker.io/library/test@%s", img->manifest_digest);
        img->repo_digests[0] = strdup(rd);
        img->n_repo_digests = 1;
        assert_int_equal(digest_chain_ids(diff_ids, n_layers, chain, err, sizeof(err)), 0);
        img->layers = calloc(n_layers + 1, sizeof(*img->layers));
        for (size_t i = 0; i < n_layers; i++) {
                struct store_layer *l = &img->layers[i];
                digest_of(diff_ids[i], l->digest);
                snprintf(l->media_type, sizeof(l->media_type),
                         "application/vnd.oci.image.layer.v1.tar+gzip");
                l->size = 1000 + i;
                snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff_ids[i]);
                memcpy(l->chain_id, chain[i], sizeof(l->chain_id));
                img->size += l->size;
        }
        img->n_layers = n_layers;
        img->pulled_at = 1700000000;
        img->has_uid = true;
        img->uid = 0;
        return img;
}

static void put_ok(struct store *s, struct store_image *img)
{
        char err[512] = "";
        if (store_image_put(s, img, err, sizeof(err)) < 0)
                fail_msg("put %s: %s", img->id, err);
        store_image_free(img);
}

static struct store_image *get_ok(struct store *s, const char *ref)
{
        struct store_image *img = NULL;
        char err[512] = "";
        if (store_image_get(s, ref, &img, err, sizeof(err)) < 0)
                fail_msg("get %s: %s", ref, err);
        return img;
}

static const char *const base[] = {D("a"), D("b")};

static void test_records_round_trip(void **state)
{
        struct fixture *f = *state;
        const char *tags[] = {"docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"};
        struct store_image *img = make_image(D("1"), tags, 2, base, 2);
        img->has_uid = false;
        img->username = strdup("nobody");
        img->pinned = true;
        struct store_image *want = store_image_dup(img);
        put_ok(f->s, img);
        reopen(f);

        struct store_image *got = get_ok(f->s, D("1"));
        assert_string_equal(got->id, want->id);
        assert_int_equal(got->n_repo_tags, 2);
        assert_string_equal(got->repo_tags[1], tags[1]);
        assert_string_equal(got->repo_digests[0], want->repo_digests[0]);
        assert_string_equal(got->manifest_digest, want->manifest_digest);
        assert_string_equal(got->manifest_media_type, want->manifest_media_type);
        assert_int_equal(got->n_layers, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_string_equal(got->layers[i].digest, want->layers[i].digest);
                assert_string_equal(got->layers[i].media_type, want->layers[i].media_type);
                assert_int_equal(got->layers[i].size, want->layers[i].size);
                assert_string_equal(got->layers[i].diff_id, want->layers[i].diff_id);
                assert_string_equal(got->layers[i].chain_id, want->layers[i].chain_id);
        }
        assert_int_equal(got->size, want->size);
        assert_int_equal(got->pulled_at, 1700000000);
        assert_false(got->has_uid);
        assert_string_equal(got->username, "nobody");
        assert_true(got->pinned);
        store_image_free(got);

        /* Every way of naming it. */
        got = get_ok(f->s, tags[0]);
        store_image_free(got);
        got = get_ok(f->s, want->repo_digests[0]);
        store_image_free(got);
        got = get_ok(f->s, "111111111111");
        store_image_free(got);
        got = get_ok(f->s, "sha256:1111");
        store_image_free(got);
        store_image_free(want);

        struct store_image *miss = (struct store_image *)1;
        char err[512] = "";
        assert_int_equal(
            store_image_get(f->s, "docker.io/library/nginx:latest", &miss, err, sizeof(err)),
            -ENOENT);
        assert_null(miss);
        assert_non_null(strstr(err, "not found"));
        assert_int_equal(store_image_get(f->s, "2222", &miss, err, sizeof(err)), -ENOENT);
        assert_int_equal(store_image_get(f->s, "sha512:1111", &miss, err, sizeof(err)), -ENOENT);
        assert_int_equal(store_image_get(f->s, "", &miss, err, sizeof(err)), -EINVAL);

        /* A second image whose id shares a prefix. */
        char id2[DIGEST_STRING_MAX + 1] = "sha256:111";
        memset(id2 + 10, '2', 61);
        id2[71] = '\0';
        put_ok(f->s, make_image(id2, NULL, 0, base, 1));
        assert_int_equal(store_image_get(f->s, "111", &miss, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "ambiguous"));
        got = get_ok(f->s, "1112");
        store_image_free(got);

        struct store_image **list = NULL;
        size_t n = 0;
        assert_int_equal(store_image_list(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_true(strcmp(list[0]->id, list[1]->id) < 0);
        store_image_list_free(list, n);
}

static void test_put_validation(void **state)
{
        struct fixture *f = *state;
        char err[512] = "";
        struct store_image *img = make_image(D("1"), NULL, 0, base, 2);

        snprintf(img->config_digest, sizeof(img->config_digest), "%s", D("2"));
        assert_int_equal(store_image_put(f->s, img, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "is not its config digest"));
        snprintf(img->config_digest, sizeof(img->config_digest), "%s", D("1"));
        snprintf(img->layers[1].chain_id, sizeof(img->layers[1].chain_id), "%s", D("c"));
        assert_int_equal(store_image_put(f->s, img, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "does not follow from the diff ids"));
        store_image_free(img);

        img = make_image(D("1"), NULL, 0, base, 0);
        img->has_uid = false;
        assert_int_equal(store_image_put(f->s, img, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "empty username"));
        store_image_free(img);
        const char *bad_tag[] = {"has a space:latest"};
        img = make_image(D("1"), bad_tag, 1, base, 0);
        assert_int_equal(store_image_put(f->s, img, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "repo_tags[0] is not a valid name"));
        store_image_free(img);
        assert_int_equal(count_dir(f, "images"), 0);
}

/* Replaces the first occurrence of from in a valid record with to, and
 * checks that the loader refuses the result with a message containing why. */
static void record_bad(const char *good, const char *from, const char *to, int expect,
                       const char *why)
{
        char doc[8192], err[512] = "";
        struct store_image *img = (struct store_image *)1;
        const char *at = strstr(good, from);
        assert_non_null(at);
        snprintf(doc, sizeof(doc), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
        int r = store_record_parse(doc, strlen(doc), &img, err, sizeof(err));
        if (img)
                fail_msg("accepted: %s", doc);
        if (r != expect || !strstr(err, why))
                fail_msg("%s -> %s: got %d '%s', wanted %d '%s'", from, to, r, err, expect, why);
}

static void test_record_refusals(void **state)
{
        (void)state;
        const char *tags[] = {"docker.io/library/a:1", "docker.io/library/a:2"};
        struct store_image *img = make_image(D("1"), tags, 2, base, 2), *back = NULL;
        char *good = NULL, err[512];
        size_t len;
        assert_int_equal(store_record_format(img, &good, &len), 0);
        assert_int_equal(store_record_parse(good, len, &back, err, sizeof(err)), 0);
        store_image_free(back);

        record_bad(good, "\"version\":1", "\"version\":2", -EINVAL, "record version 2 is not 1");
        record_bad(good, "\"pinned\":false", "\"pinned\":0", -EINVAL,
                   "\"pinned\" is not a boolean");
        record_bad(good, "\"uid\":0", "\"uid\":0,\"username\":\"x\"", -EINVAL,
                   "both uid and username");
        record_bad(good, "\"uid\":0,", "", -EINVAL, "neither uid nor username");
        record_bad(good, "\"uid\":0", "\"uid\":4294967295", -EINVAL, "\"uid\" is missing or not");
        record_bad(good, "\"size\":1000", "\"size\":-1", -EINVAL, "\"size\" is missing or not");
        record_bad(good, "docker.io/library/a:2", "docker.io/library/a:1", -EINVAL,
                   "lists 'docker.io/library/a:1' twice");
        record_bad(good, "\"layers\":[", "\"layers\":[7,", -EINVAL, "layers[0] is not an object");
        record_bad(good, "\"media_type\":\"application", "\"media_type\":1,\"z\":\"", -EINVAL,
                   "\"media_type\" is not a string");
        record_bad(good, "{", "{\"id\":1,", -EINVAL, "not valid JSON");
        record_bad(good, "\"repo_tags\":[", "\"repo_tags\":[\"\",", -EINVAL,
                   "repo_tags[0] is not a valid name");
        record_bad(good, "\"manifest_digest\":\"sha256:", "\"manifest_digest\":\"sha384:", -EINVAL,
                   "unsupported algorithm");

        struct store_image *none = (struct store_image *)1;
        assert_int_equal(store_record_parse("[]", 2, &none, err, sizeof(err)), -EINVAL);
        assert_null(none);
        char *big = calloc(1, STORE_RECORD_MAX_SIZE + 1);
        assert_non_null(big);
        assert_int_equal(
            store_record_parse(big, STORE_RECORD_MAX_SIZE + 1, &none, err, sizeof(err)), -EFBIG);
        free(big);
        free(good);
        store_image_free(img);
}

static void write_file(struct fixture *f, const char *name, const char *content)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/images/%s", f->dir, name);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(content, fp);
        fclose(fp);
}

static bool exists(struct fixture *f, const char *name)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/images/%s", f->dir, name);
        return access(path, F_OK) == 0;
}

static void test_crash_leftovers(void **state)
{
        struct fixture *f = *state;
        const char *tags[] = {"docker.io/library/alpine:3"};
        char name1[128], name2[128], name3[128];

        put_ok(f->s, make_image(D("1"), tags, 1, base, 2));
        put_ok(f->s, make_image(D("2"), NULL, 0, base, 1));
        snprintf(name1, sizeof(name1), "sha256-%s.json", digest_hex(D("1")));
        snprintf(name2, sizeof(name2), "sha256-%s.json", digest_hex(D("2")));
        snprintf(name3, sizeof(name3), "sha256-%s.json", digest_hex(D("3")));

        /* A write interrupted before its rename, a torn record, and a
         * record filed under another image's name. */
        write_file(f, ".tmp-sha256-abc.json.1.0", "{\"version\":1,");
        write_file(f, name2, "{\"version\":1,\"id\":");
        char path[256], path3[256];
        snprintf(path, sizeof(path), "%s/images/%s", f->dir, name1);
        snprintf(path3, sizeof(path3), "%s/images/%s", f->dir, name3);
        FILE *in = fopen(path, "r"), *out = fopen(path3, "w");
        assert_non_null(in);
        assert_non_null(out);
        int c;
        while ((c = fgetc(in)) != EOF)
                fputc(c, out);
        fclose(in);
        fclose(out);

        reopen(f);
        struct store_image **list = NULL;
        size_t n = 0;
        assert_int_equal(store_image_list(f->s, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0]->id, D("1"));
        assert_string_equal(list[0]->repo_tags[0], tags[0]);
        store_image_list_free(list, n);
        assert_false(exists(f, ".tmp-sha256-abc.json.1.0"));
        assert_false(exists(f, name2));
        char corrupt[160];
        snprintf(corrupt, sizeof(corrupt), "%s.corrupt", name2);
        assert_true(exists(f, corrupt));
        snprintf(corrupt, sizeof(corrupt), "%s.corrupt", name3);
        assert_true(exists(f, corrupt));
        /* Corrupt files stay put across restarts and are not loaded. */
        reopen(f);
        assert_true(exists(f, corrupt));
}

static void test_tag_moves(void **state)
{
        struct fixture *f = *state;
        const char *a_tags[] = {"docker.io/library/app:latest", "docker.io/library/app:1.0"};
        const char *b_tags[] = {"docker.io/library/app:latest"};
        const char *a_more[] = {"docker.io/library/app:stable"};

        put_ok(f->s, make_image(D("1"), a_tags, 2, base, 2));
        put_ok(f->s, make_image(D("2"), b_tags, 1, base, 1));
        struct store_image *img = get_ok(f->s, "docker.io/library/app:latest");
        assert_string_equal(img->id, D("2"));
        store_image_free(img);
        img = get_ok(f->s, D("1"));
        assert_int_equal(img->n_repo_tags, 1);
        assert_string_equal(img->repo_tags[0], "docker.io/library/app:1.0");
        store_image_free(img);

        /* Re-pulling an image under another tag keeps its old tags. */
        put_ok(f->s, make_image(D("1"), a_more, 1, base, 2));
        img = get_ok(f->s, D("1"));
        assert_int_equal(img->n_repo_tags, 2);
        assert_string_equal(img->repo_tags[0], "docker.io/library/app:stable");
        assert_string_equal(img->repo_tags[1], "docker.io/library/app:1.0");
        assert_int_equal(img->n_repo_digests, 1);
        store_image_free(img);

        /* It all survives a restart. */
        reopen(f);
        img = get_ok(f->s, "docker.io/library/app:latest");
        assert_string_equal(img->id, D("2"));
        store_image_free(img);
        img = get_ok(f->s, "docker.io/library/app:1.0");
        assert_string_equal(img->id, D("1"));
        store_image_free(img);
}

static void test_tag_conflict_on_load(void **state)
{
        struct fixture *f = *state;
        const char *tags[] = {"docker.io/library/app:latest", "docker.io/library/app:old"};
        char *json = NULL, name[128];
        size_t len;

        /* As if brigd crashed after writing the new image and before
         * untagging the old one. */
        struct store_image *older = make_image(D("1"), tags, 2, base, 1);
        struct store_image *newer = make_image(D("2"), tags, 1, base, 1);
        newer->pulled_at = older->pulled_at + 60;
        assert_int_equal(store_record_format(older, &json, &len), 0);
        snprintf(name, sizeof(name), "sha256-%s.json", digest_hex(D("1")));
        write_file(f, name, json);
        free(json);
        assert_int_equal(store_record_format(newer, &json, &len), 0);
        snprintf(name, sizeof(name), "sha256-%s.json", digest_hex(D("2")));
        write_file(f, name, json);
        free(json);
        store_image_free(older);
        store_image_free(newer);

        reopen(f);
        struct store_image *img = get_ok(f->s, tags[0]);
        assert_string_equal(img->id, D("2"));
        store_image_free(img);
        img = get_ok(f->s, D("1"));
        assert_int_equal(img->n_repo_tags, 1);
        assert_string_equal(img->repo_tags[0], tags[1]);
        store_image_free(img);
}

static bool in_list(char (*list)[DIGEST_STRING_MAX + 1], size_t n, const char *d)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], d) == 0)
                        return true;
        return false;
}

static void test_remove_shared_layers(void **state)
{
        struct fixture *f = *state;
        const char *a_diffs[] = {D("a"), D("b")};
        const char *b_diffs[] = {D("a"), D("c")};
        const char *b_tags[] = {"docker.io/library/b:latest"};
        struct store_unref u;
        char err[512] = "";

        struct store_image *a = make_image(D("1"), NULL, 0, a_diffs, 2);
        struct store_image *b = make_image(D("2"), b_tags, 1, b_diffs, 2);
        struct store_image *a_copy = store_image_dup(a), *b_copy = store_image_dup(b);
        put_ok(f->s, a);
        put_ok(f->s, b);
        /* The base layer's chain id is its diff id, shared by both. */
        assert_string_equal(a_copy->layers[0].chain_id, b_copy->layers[0].chain_id);

        assert_int_equal(store_image_remove(f->s, D("1"), &u, err, sizeof(err)), 0);
        assert_int_equal(u.n_chain_ids, 1);
        assert_string_equal(u.chain_ids[0], a_copy->layers[1].chain_id);
        assert_int_equal(u.n_blobs, 3);
        assert_true(in_list(u.blobs, u.n_blobs, a_copy->layers[1].digest));
        assert_true(in_list(u.blobs, u.n_blobs, a_copy->config_digest));
        assert_true(in_list(u.blobs, u.n_blobs, a_copy->manifest_digest));
        assert_false(in_list(u.blobs, u.n_blobs, a_copy->layers[0].digest));
        store_unref_done(&u);
        assert_int_equal(store_image_remove(f->s, D("1"), &u, err, sizeof(err)), -ENOENT);

        reopen(f);
        assert_int_equal(
            store_image_remove(f->s, "docker.io/library/b:latest", &u, err, sizeof(err)), 0);
        assert_int_equal(u.n_chain_ids, 2);
        assert_true(in_list(u.chain_ids, u.n_chain_ids, b_copy->layers[0].chain_id));
        assert_true(in_list(u.chain_ids, u.n_chain_ids, b_copy->layers[1].chain_id));
        assert_int_equal(u.n_blobs, 4);
        store_unref_done(&u);
        assert_int_equal(count_dir(f, "images"), 0);
        reopen(f);
        struct store_image **list = NULL;
        size_t n = 9;
        assert_int_equal(store_image_list(f->s, &list, &n), 0);
        assert_int_equal(n, 0);
        store_image_list_free(list, n);
        store_image_free(a_copy);
        store_image_free(b_copy);
        assert_int_equal(store_image_remove(f->s, D("2"), NULL, err, sizeof(err)), -ENOENT);
}

static void test_usage(void **state)
{
        struct fixture *f = *state;
        uint64_t bytes = 0, inodes = 0, bytes2 = 0, inodes2 = 0;
        char dg[DIGEST_STRING_MAX + 1];
        char big[8193];

        assert_int_equal(store_usage(f->s, &bytes, &inodes), 0);
        /* root, blobs, blobs/sha256, blobs/sha512, ingest, images */
        assert_int_equal(inodes, 6);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        digest_of(big, dg);
        assert_int_equal(ingest_all(f->s, dg, big, strlen(big)), 0);
        put_ok(f->s, make_image(D("1"), NULL, 0, base, 1));
        assert_int_equal(store_usage(f->s, &bytes2, &inodes2), 0);
        assert_int_equal(inodes2, 8);
        assert_true(bytes2 >= bytes + 8192);
}

static void test_layers_usage(void **state)
{
        struct fixture *f = *state;
        const char *a_diffs[] = {D("a"), D("b")};
        const char *b_diffs[] = {D("a"), D("c")};
        uint64_t bytes = 1, inodes = 1;

        store_layers_usage(f->s, &bytes, &inodes);
        assert_true(bytes == 0 && inodes == 0);
        struct store_image *a = make_image(D("1"), NULL, 0, a_diffs, 2);
        struct store_image *b = make_image(D("2"), NULL, 0, b_diffs, 2);
        for (size_t i = 0; i < 2; i++) {
                a->layers[i].unpacked_bytes = b->layers[i].unpacked_bytes = 1000 * (i + 1);
                a->layers[i].unpacked_inodes = b->layers[i].unpacked_inodes = 10 * (i + 1);
        }
        b->layers[1].unpacked_bytes = 5000;
        put_ok(f->s, a);
        put_ok(f->s, b);
        /* The shared base layer counts once: 1000 + 2000 + 5000. */
        store_layers_usage(f->s, &bytes, &inodes);
        assert_int_equal(bytes, 8000);
        assert_int_equal(inodes, 50);
        /* The figures survive a reload of the records. */
        reopen(f);
        store_layers_usage(f->s, &bytes, &inodes);
        assert_int_equal(bytes, 8000);
        assert_int_equal(inodes, 50);
}

struct worker {
        struct store *s;
        int n;
        int failures;
};

static void *worker(void *arg)
{
        struct worker *w = arg;
        char id[DIGEST_STRING_MAX + 1], tag[64], err[512];
        for (int i = 0; i < 20; i++) {
                snprintf(tag, sizeof(tag), "docker.io/library/w:%d", i % 3);
                digest_of(tag + w->n, id);
                const char *tags[] = {tag};
                struct store_image *img = make_image(id, tags, 1, base, 2), *got = NULL;
                if (store_image_put(w->s, img, err, sizeof(err)) < 0)
                        w->failures++;
                store_image_free(img);
                if (store_image_get(w->s, tag, &got, err, sizeof(err)) < 0)
                        w->failures++;
                store_image_free(got);
                struct store_image **list = NULL;
                size_t n = 0;
                if (store_image_list(w->s, &list, &n) < 0)
                        w->failures++;
                store_image_list_free(list, n);
        }
        return NULL;
}

static void test_threads(void **state)
{
        struct fixture *f = *state;
        struct worker ws[4];
        pthread_t ts[4];
        for (int i = 0; i < 4; i++) {
                ws[i] = (struct worker){f->s, i, 0};
                assert_int_equal(pthread_create(&ts[i], NULL, worker, &ws[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(ts[i], NULL);
                assert_int_equal(ws[i].failures, 0);
        }
        /* Each tag ends up on exactly one image. */
        struct store_image **list = NULL;
        size_t n = 0, tagged = 0;
        assert_int_equal(store_image_list(f->s, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                tagged += list[i]->n_repo_tags;
        assert_int_equal(tagged, 3);
        store_image_list_free(list, n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_ingest_commit, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_mismatch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_resume, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_write_failure, setup, teardown),
            cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
            cmocka_unit_test_setup_teardown(test_stale_ingests, setup, teardown),
            cmocka_unit_test_setup_teardown(test_records_round_trip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_put_validation, setup, teardown),
            cmocka_unit_test(test_record_refusals),
            cmocka_unit_test_setup_teardown(test_crash_leftovers, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tag_moves, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tag_conflict_on_load, setup, teardown),
            cmocka_unit_test_setup_teardown(test_remove_shared_layers, setup, teardown),
            cmocka_unit_test_setup_teardown(test_layers_usage, setup, teardown),
            cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
            cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        };
        log_set_level(LOG_LEVEL_ERROR);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
