/* registry_fetch.c: test-only command line over daemon/registry.h, used by
 * tests/integration/test_registry_client.py. It fetches manifests and blobs
 * through the real client and prints what arrived (sizes, sha256) as JSON
 * on stdout; on failure it prints "error: <message>" on stderr and exits
 * with the errno value, so tests can assert both.
 *
 *   registry_fetch [options] manifest HOST REPO REF
 *   registry_fetch [options] blob HOST REPO DIGEST SIZE FILE [OFFSET]
 *   registry_fetch [options] pull HOST REPO REF DIR
 *
 * `blob` writes FILE from OFFSET on (keeping the bytes before it, as a
 * resumed download would). `pull` fetches the manifest, every manifest an
 * index lists, then every config and layer blob concurrently into DIR, and
 * checks each against its descriptor's size and digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/digest.h"
#include "daemon/registry.h"
#include "log.h"
#include "util.h"

#define MAX_BLOBS   256
#define MAX_THREADS 4

struct ctx {
        struct registry_client *client;
        struct registry_endpoint ep;
        struct registry_creds creds;
        const char *repo;
        bool progress;
};

struct sink {
        int fd;
        uint64_t pos;
        uint64_t last_progress;
};

static int sink_write(const void *buf, size_t len, void *userdata)
{
        struct sink *s = userdata;
        const char *p = buf;

        while (len > 0) {
                ssize_t n = pwrite(s->fd, p, len, (off_t)s->pos);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
                s->pos += (uint64_t)n;
        }
        return 0;
}

static void on_progress(uint64_t done, uint64_t total, void *userdata)
{
        struct sink *s = userdata;

        if (done - s->last_progress < 1024 * 1024 && done != total)
                return;
        s->last_progress = done;
        fprintf(stderr, "progress %" PRIu64 "/%" PRIu64 "\n", done, total);
}

/* sha256 of the whole file, read back: covers bytes kept from before an offset. */
static int sha256_file(int fd, uint64_t *size, char out[static DIGEST_STRING_MAX + 1])
{
        struct digest_hasher h = {0};
        char buf[65536];
        off_t pos = 0;
        ssize_t n;
        int r = digest_hasher_init(&h, DIGEST_SHA256);

        while (r == 0 && (n = pread(fd, buf, sizeof(buf), pos)) > 0) {
                r = digest_hasher_update(&h, buf, (size_t)n);
                pos += n;
        }
        if (r == 0 && n < 0)
                r = -errno;
        if (r == 0)
                r = digest_hasher_final(&h, out);
        digest_hasher_done(&h);
        *size = (uint64_t)pos;
        return r;
}

/* Downloads one blob into path from offset; returns 0 or -errno with err set. */
static int fetch_blob(struct ctx *c, const char *digest, uint64_t size, const char *path,
                      uint64_t offset, char *err, size_t err_size)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        struct sink s = {.fd = fd, .pos = offset};
        int r;

        if (fd < 0) {
                r = -errno;
                snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
                return r;
        }
        if (ftruncate(fd, (off_t)offset) < 0) {
                r = -errno;
                snprintf(err, err_size, "cannot truncate %s: %s", path, strerror(errno));
                return r;
        }
        struct registry_blob_request req = {
            .digest = digest,
            .offset = offset,
            .expected_size = size,
            .sink = sink_write,
            .progress = c->progress ? on_progress : NULL,
            .userdata = &s,
        };
        return registry_get_blob(c->client, &c->ep, c->repo, &req, &c->creds, err, err_size);
}

static int cmd_manifest(struct ctx *c, const char *ref, json_t *out, char *err, size_t err_size)
{
        struct registry_manifest m = {0};
        char sha[DIGEST_STRING_MAX + 1];

        int r =
            registry_get_manifest(c->client, &c->ep, c->repo, ref, &c->creds, &m, err, err_size);
        if (r < 0)
                return r;
        r = digest_buffer(DIGEST_SHA256, m.body, m.size, sha);
        if (r < 0) {
                registry_manifest_free(&m);
                return r;
        }
        json_object_set_new(out, "size", json_integer((json_int_t)m.size));
        json_object_set_new(out, "sha256", json_string(sha));
        json_object_set_new(out, "media_type",
                            m.media_type ? json_string(m.media_type) : json_null());
        json_object_set_new(out, "digest", m.digest ? json_string(m.digest) : json_null());
        json_object_set_new(out, "body", json_stringn(m.body, m.size));
        registry_manifest_free(&m);
        return 0;
}

static int cmd_blob(struct ctx *c, const char *digest, uint64_t size, const char *path,
                    uint64_t offset, json_t *out, char *err, size_t err_size)
{
        char sha[DIGEST_STRING_MAX + 1];
        uint64_t got = 0;

        int r = fetch_blob(c, digest, size, path, offset, err, err_size);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || sha256_file(fd, &got, sha) < 0) {
                snprintf(err, err_size, "cannot read back %s", path);
                return -EIO;
        }
        json_object_set_new(out, "size", json_integer((json_int_t)got));
        json_object_set_new(out, "sha256", json_string(sha));
        return 0;
}

struct blob_job {
        struct ctx *ctx;
        const char *dir;
        char *digest;
        uint64_t size;
        int result;
        char err[1024];
        char sha[DIGEST_STRING_MAX + 1];
        uint64_t got;
};

struct pull {
        struct blob_job jobs[MAX_BLOBS];
        size_t n_jobs;
        size_t next;
        pthread_mutex_t lock;
};

static void *blob_worker(void *arg)
{
        struct pull *p = arg;

        for (;;) {
                pthread_mutex_lock(&p->lock);
                size_t i = p->next < p->n_jobs ? p->next++ : SIZE_MAX;
                pthread_mutex_unlock(&p->lock);
                if (i == SIZE_MAX)
                        return NULL;
                struct blob_job *j = &p->jobs[i];
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", j->dir, j->digest);
                j->result = fetch_blob(j->ctx, j->digest, j->size, path, 0, j->err, sizeof(j->err));
                if (j->result == 0) {
                        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0 || sha256_file(fd, &j->got, j->sha) < 0)
                                j->result = -EIO;
                }
        }
}

static int add_blob(struct pull *p, struct ctx *c, const char *dir, json_t *desc)
{
        const char *digest = json_string_value(json_object_get(desc, "digest"));
        json_t *size = json_object_get(desc, "size");

        if (!digest || !json_is_integer(size) || json_integer_value(size) < 0 ||
            !digest_valid(digest))
                return -EPROTO;
        for (size_t i = 0; i < p->n_jobs; i++)
                if (strcmp(p->jobs[i].digest, digest) == 0)
                        return 0;
        if (p->n_jobs == MAX_BLOBS)
                return -E2BIG;
        struct blob_job *j = &p->jobs[p->n_jobs++];
        j->ctx = c;
        j->dir = dir;
        j->digest = strdup(digest);
        j->size = (uint64_t)json_integer_value(size);
        return j->digest ? 0 : -ENOMEM;
}

/* Fetches ref, recording its config and layers (and, for an index, its
 * children's) as blob jobs. */
static int pull_manifest(struct ctx *c, struct pull *p, const char *dir, const char *ref,
                         json_t *manifests, int depth, char *err, size_t err_size)
{
        json_t *one = json_object();
        int r = cmd_manifest(c, ref, one, err, err_size);
        if (r < 0) {
                json_decref(one);
                return r;
        }
        json_array_append_new(manifests, one);
        const char *body = json_string_value(json_object_get(one, "body"));
        json_t *doc = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
        if (!doc) {
                snprintf(err, err_size, "manifest %s is not JSON", ref);
                return -EPROTO;
        }
        json_t *children = json_object_get(doc, "manifests");
        json_t *layers = json_object_get(doc, "layers");
        json_t *config = json_object_get(doc, "config");
        size_t i;
        json_t *d;

        r = 0;
        if (json_is_array(children) && depth == 0) {
                json_array_foreach(children, i, d)
                {
                        const char *child = json_string_value(json_object_get(d, "digest"));
                        r = child ? pull_manifest(c, p, dir, child, manifests, 1, err, err_size)
                                  : -EPROTO;
                        if (r < 0)
                                break;
                }
        } else if (json_is_object(config) && json_is_array(layers)) {
                r = add_blob(p, c, dir, config);
                json_array_foreach(layers, i, d)
                {
                        if (r < 0)
                                break;
                        r = add_blob(p, c, dir, d);
                }
                if (r < 0)
                        snprintf(err, err_size, "manifest %s has a bad descriptor", ref);
        } else {
                snprintf(err, err_size, "manifest %s is neither an index nor an image", ref);
                r = -EPROTO;
        }
        json_decref(doc);
        return r;
}

static int cmd_pull(struct ctx *c, const char *ref, const char *dir, json_t *out, char *err,
                    size_t err_size)
{
        struct pull p = {.n_jobs = 0};
        pthread_t threads[MAX_THREADS];
        size_t n_threads = 0;
        json_t *manifests = json_array(), *blobs = json_array();
        int r;

        pthread_mutex_init(&p.lock, NULL);
        json_object_set_new(out, "manifests", manifests);
        json_object_set_new(out, "blobs", blobs);
        r = pull_manifest(c, &p, dir, ref, manifests, 0, err, err_size);
        if (r < 0)
                goto out;
        for (; n_threads < MAX_THREADS && n_threads < p.n_jobs; n_threads++)
                if (pthread_create(&threads[n_threads], NULL, blob_worker, &p) != 0)
                        break;
        for (size_t i = 0; i < n_threads; i++)
                pthread_join(threads[i], NULL);
        for (size_t i = 0; i < p.n_jobs; i++) {
                struct blob_job *j = &p.jobs[i];
                bool ok = j->result == 0 && j->got == j->size && strcmp(j->sha, j->digest) == 0;
                json_array_append_new(blobs,
                                      json_pack("{s:s, s:I, s:I, s:s, s:b}", "digest", j->digest,
                                                "size", (json_int_t)j->size, "got",
                                                (json_int_t)j->got, "sha256", j->sha, "ok", ok));
                if (j->result < 0 && r == 0) {
                        r = j->result;
                        snprintf(err, err_size, "%s", j->err);
                } else if (!ok && r == 0) {
                        r = -EBADMSG;
                        snprintf(err, err_size, "blob %s arrived with size %" PRIu64 " and %s",
                                 j->digest, j->got, j->sha);
                }
        }
out:
        for (size_t i = 0; i < p.n_jobs; i++)
                free(p.jobs[i].digest);
        pthread_mutex_destroy(&p.lock);
        return r;
}

static uint64_t parse_u64(const char *s, const char *what)
{
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || *s == '-') {
                fprintf(stderr, "error: bad %s \"%s\"\n", what, s);
                exit(EINVAL);
        }
        return v;
}

static void usage(void)
{
        fprintf(stderr,
                "usage: registry_fetch [--insecure] [--certs-dir D] [--user U --password P | "
                "--auth B64]\n"
                "         [--identity-token T] [--registry-token T] [--connect-timeout-ms N]\n"
                "         [--low-speed-time S] [--low-speed-limit B] [--attempts N] "
                "[--backoff-ms N]\n"
                "         [--max-retry-after-ms N] [--max-resumes N] [--repeat N] [--progress]\n"
                "       manifest HOST REPO REF | blob HOST REPO DIGEST SIZE FILE [OFFSET] |\n"
                "       pull HOST REPO REF DIR\n");
        exit(EINVAL);
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
            {"insecure", no_argument, NULL, 'k'},
            {"certs-dir", required_argument, NULL, 'C'},
            {"user", required_argument, NULL, 'u'},
            {"password", required_argument, NULL, 'p'},
            {"auth", required_argument, NULL, 'a'},
            {"identity-token", required_argument, NULL, 'i'},
            {"registry-token", required_argument, NULL, 't'},
            {"connect-timeout-ms", required_argument, NULL, 'c'},
            {"low-speed-time", required_argument, NULL, 's'},
            {"low-speed-limit", required_argument, NULL, 'l'},
            {"attempts", required_argument, NULL, 'n'},
            {"backoff-ms", required_argument, NULL, 'b'},
            {"max-retry-after-ms", required_argument, NULL, 'R'},
            {"max-resumes", required_argument, NULL, 'm'},
            {"repeat", required_argument, NULL, 'r'},
            {"progress", no_argument, NULL, 'P'},
            {NULL, 0, NULL, 0},
        };
        struct registry_auth_config auth = {0};
        struct registry_options o;
        struct ctx c = {0};
        unsigned repeat = 1;
        char err[2048] = "";
        int opt, r;

        registry_options_default(&o);
        while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (opt) {
                case 'k':
                        c.ep.insecure = true;
                        break;
                case 'C':
                        c.ep.certs_dir = optarg;
                        break;
                case 'u':
                        auth.username = optarg;
                        break;
                case 'p':
                        auth.password = optarg;
                        break;
                case 'a':
                        auth.auth = optarg;
                        break;
                case 'i':
                        auth.identity_token = optarg;
                        break;
                case 't':
                        auth.registry_token = optarg;
                        break;
                case 'c':
                        o.connect_timeout_ms = (long)parse_u64(optarg, "timeout");
                        break;
                case 's':
                        o.low_speed_time = (long)parse_u64(optarg, "time");
                        break;
                case 'l':
                        o.low_speed_limit = (long)parse_u64(optarg, "limit");
                        break;
                case 'n':
                        o.attempts = (unsigned)parse_u64(optarg, "attempts");
                        break;
                case 'b':
                        o.backoff_ms = (long)parse_u64(optarg, "backoff");
                        break;
                case 'R':
                        o.max_retry_after_ms = (long)parse_u64(optarg, "retry-after cap");
                        break;
                case 'm':
                        o.max_blob_resumes = (unsigned)parse_u64(optarg, "resumes");
                        break;
                case 'r':
                        repeat = (unsigned)parse_u64(optarg, "repeat");
                        break;
                case 'P':
                        c.progress = true;
                        break;
                default:
                        usage();
                }
        }
        argc -= optind;
        argv += optind;
        if (argc < 4)
                usage();
        log_set_program("registry_fetch");
        log_set_level(LOG_LEVEL_DEBUG);
        r = registry_creds_from_auth_config(&auth, &c.creds, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "error: %s\n", err);
                return -r;
        }
        if (registry_global_init() < 0 || registry_client_new(&o, &c.client) < 0) {
                fprintf(stderr, "error: cannot set up the registry client\n");
                return EIO;
        }
        c.ep.host = argv[1];
        c.repo = argv[2];

        json_t *out = json_object();
        for (unsigned i = 0; i < repeat && r == 0; i++) {
                json_object_clear(out);
                if (strcmp(argv[0], "manifest") == 0 && argc == 4)
                        r = cmd_manifest(&c, argv[3], out, err, sizeof(err));
                else if (strcmp(argv[0], "blob") == 0 && (argc == 6 || argc == 7))
                        r = cmd_blob(&c, argv[3], parse_u64(argv[4], "size"), argv[5],
                                     argc == 7 ? parse_u64(argv[6], "offset") : 0, out, err,
                                     sizeof(err));
                else if (strcmp(argv[0], "pull") == 0 && argc == 5)
                        r = cmd_pull(&c, argv[3], argv[4], out, err, sizeof(err));
                else
                        usage();
        }
        if (r == 0) {
                char *s = json_dumps(out, JSON_COMPACT);
                printf("%s\n", s ? s : "{}");
                free(s);
        } else {
                fprintf(stderr, "error: %s\n", err);
        }
        json_decref(out);
        registry_client_free(c.client);
        registry_creds_clear(&c.creds);
        return r < 0 ? -r : 0;
}
