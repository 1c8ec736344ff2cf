/* images.c: owns the image service: where a reference is pulled from
 * (registries.conf candidates and sources), the pull itself (manifest,
 * platform, config, layers downloaded concurrently into the verified store
 * and handed to brig-helper in parent order as soon as each is complete, the
 * downloads going on while earlier layers unpack),
 * image records, removal with the layers no image shares any more, and the
 * mapping of errors to gRPC codes. */
#include "images.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "helper_client.h"
#include "image_config.h"
#include "imageref.h"
#include "log.h"
#include "manifest.h"
#include "registries.h"
#include "registry.h"
#include "util.h"

/* Progress of a layer download is logged at most this often. */
#define PROGRESS_INTERVAL_S 5
/* A config blob is read into memory: bounded like the parser. */
#define CONFIG_MAX IMAGE_CONFIG_MAX_SIZE
/* UNPACKs brigd keeps in flight, all pulls together: well under the
 * helper's 64 requests per connection, and enough to keep a few CPUs busy
 * (each brig-unpack runs up to four threads). */
#define UNPACKS_IN_FLIGHT_MAX 8

struct images {
        const struct brig_config *config;
        struct helper_client *helper;
        struct store *store;
        struct registry_client *client;
        char *store_root;
        int lock_fd; /* flock()ed: one brigd per store */
        /* Pulls hold it shared from their first UNPACK until their record is
         * written; a removal holds it alone while it decides which layers
         * are unused and removes them, so no pull can come to rely on a
         * layer that is going away. */
        pthread_rwlock_t layers_lock;
        pthread_mutex_t unpack_lock;
        pthread_cond_t unpack_cond;
        unsigned unpacks_in_flight; /* at most UNPACKS_IN_FLIGHT_MAX */
};

int images_open(const struct brig_config *config, struct helper_client *helper, struct images **ret,
                char *err, size_t err_size)
{
        struct images *im = calloc(1, sizeof(*im));
        int r;

        if (!im)
                return -ENOMEM;
        im->config = config;
        im->helper = helper;
        im->lock_fd = -1;
        pthread_rwlock_init(&im->layers_lock, NULL);
        pthread_mutex_init(&im->unpack_lock, NULL);
        pthread_cond_init(&im->unpack_cond, NULL);
        if (asprintf(&im->store_root, "%s/" IMAGES_STORE_DIR, config->root) < 0) {
                im->store_root = NULL;
                r = -ENOMEM;
                goto fail;
        }
        /* Two brigds on one store would delete each other's temporary files. */
        im->lock_fd = open(im->store_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (im->lock_fd < 0 || flock(im->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                r = negative_errno();
                snprintf(err, err_size, "%s: %s", im->store_root,
                         r == -EWOULDBLOCK ? "another brigd uses the image store" : strerror(-r));
                goto fail;
        }
        r = store_open(im->store_root, &im->store, err, err_size);
        if (r < 0)
                goto fail;
        r = registry_client_new(NULL, &im->client);
        if (r < 0) {
                snprintf(err, err_size, "cannot create the registry client: %s", strerror(-r));
                goto fail;
        }
        *ret = im;
        return 0;
fail:
        images_close(im);
        return r;
}

void images_close(struct images *im)
{
        if (!im)
                return;
        registry_client_free(im->client);
        store_close(im->store);
        free(im->store_root);
        safe_close(im->lock_fd);
        pthread_rwlock_destroy(&im->layers_lock);
        pthread_cond_destroy(&im->unpack_cond);
        pthread_mutex_destroy(&im->unpack_lock);
        free(im);
}

grpc_status_code images_grpc_code(int error)
{
        switch (error) {
        case -EINVAL:
                return GRPC_STATUS_INVALID_ARGUMENT;
        case -ENOENT:
                return GRPC_STATUS_NOT_FOUND;
        case -EACCES:
                return GRPC_STATUS_PERMISSION_DENIED;
        case -EPERM:
                return GRPC_STATUS_UNAUTHENTICATED;
        case -EIO:
        case -ETIMEDOUT:
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
        case -ECONNRESET:
        case -EAGAIN:
                return GRPC_STATUS_UNAVAILABLE;
        case -EBADMSG:
        case -EILSEQ: /* brig-unpack: the layer is not what its diff id says */
                return GRPC_STATUS_DATA_LOSS;
        case -ENOTSUP:
        case -EFBIG:
                return GRPC_STATUS_FAILED_PRECONDITION;
        case -EBUSY:
                return GRPC_STATUS_FAILED_PRECONDITION;
        case -ENOMEM:
                return GRPC_STATUS_RESOURCE_EXHAUSTED;
        default:
                return GRPC_STATUS_INTERNAL;
        }
}

static bool pattern_matches(const char *pattern, const char *name)
{
        size_t len = strlen(pattern);

        if (len >= 2 && pattern[0] == '*' && pattern[len - 1] == '*') {
                _cleanup_free_ char *keyword = strndup(pattern + 1, len - 2);
                return keyword && strstr(name, keyword) != NULL;
        }
        if (len >= 1 && pattern[len - 1] == '*')
                return strncmp(name, pattern, len - 1) == 0;
        return strcmp(name, pattern) == 0;
}

bool images_is_pinned(const struct images *im, const struct store_image *img)
{
        const struct config_strv *p = &im->config->pinned_images;

        for (size_t i = 0; i < p->n; i++) {
                for (size_t t = 0; t < img->n_repo_tags; t++)
                        if (pattern_matches(p->items[i], img->repo_tags[t]))
                                return true;
                for (size_t d = 0; d < img->n_repo_digests; d++)
                        if (pattern_matches(p->items[i], img->repo_digests[d]))
                                return true;
        }
        return false;
}

/* registries.conf is read for every pull and lookup, so an operator's edit
 * takes effect without a restart; the files are small. */
static int load_registries(const struct images *im, struct registries_conf **ret, char *err,
                           size_t err_size)
{
        int r = registries_load(im->config->registries_conf, im->config->registries_conf_dir, ret,
                                err, err_size);

        if (r == 0)
                for (size_t i = 0; i < (*ret)->n_warnings; i++)
                        log_warn("registries.conf", "warning=\"%s\"", (*ret)->warnings[i]);
        return r;
}

/* The fully qualified references to try for image, in order. A short name
 * with nowhere configured to look means Docker Hub, as kubelet users
 * expect (busybox is docker.io/library/busybox). */
static int candidates(const struct registries_conf *conf, const char *image, struct imageref **ret,
                      size_t *ret_n, char *err, size_t err_size)
{
        struct imageref ref;
        int r = imageref_parse(image, &ref, err, err_size);

        if (r < 0)
                return r;
        r = registries_resolve(conf, &ref, ret, ret_n, err, err_size);
        if (r != -ENOENT)
                return r;
        *ret = malloc(sizeof(**ret));
        if (!*ret)
                return -ENOMEM;
        **ret = ref;
        *ret_n = 1;
        return 0;
}

/* ---- pulling ------------------------------------------------------------ */

/* What one pull shares between its threads. */
struct pull {
        struct images *im;
        struct registry_endpoint ep;
        const char *repo;
        const struct registry_creds *creds;
        uint64_t call_id;
        const struct manifest *manifest;
        const char *const *diff_ids;
        char (*chain_ids)[DIGEST_STRING_MAX + 1];
        struct helper_unpack_result *unpacked; /* per layer, set by the waiter */
        struct helper_unpack **pending;        /* per layer, sent and not yet waited for */

        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t cond;
        size_t next;       /* the next layer a worker takes */
        size_t sent;       /* UNPACKs of layers [0, sent) are on the helper channel */
        bool sending_done; /* every worker has ended: sent is final */
        int error;         /* the first failure; the other workers stop */
        char err[1024];    /* its message */
};

static void pull_fail(struct pull *p, int r, const char *message)
{
        pthread_mutex_lock(&p->lock);
        if (!p->error) {
                p->error = r;
                snprintf(p->err, sizeof(p->err), "%s", message);
        }
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

struct blob_sink {
        struct store_ingest *ingest;
        const char *digest;
        time_t last_log;
        char err[256];
};

static int sink_write(const void *buf, size_t len, void *userdata)
{
        struct blob_sink *s = userdata;

        return store_ingest_write(s->ingest, buf, len, s->err, sizeof(s->err));
}

static void sink_progress(uint64_t done, uint64_t total, void *userdata)
{
        struct blob_sink *s = userdata;
        time_t now = time(NULL);

        if (now - s->last_log < PROGRESS_INTERVAL_S)
                return;
        s->last_log = now;
        if (total == REGISTRY_SIZE_UNKNOWN)
                log_info("pulling blob", "digest=%s bytes=%" PRIu64, s->digest, done);
        else
                log_info("pulling blob", "digest=%s bytes=%" PRIu64 " total=%" PRIu64 " percent=%u",
                         s->digest, done, total, total ? (unsigned)(done * 100 / total) : 100);
}

/* Makes blob digest present in the store: fetched, verified, committed. A
 * blob another pull is fetching is waited for, not fetched twice; a partial
 * one left by an interrupted pull is resumed. */
static int fetch_blob(struct images *im, const struct registry_endpoint *ep, const char *repo,
                      const struct registry_creds *creds, const char *digest, uint64_t size,
                      char *err, size_t err_size)
{
        struct blob_sink sink = {.digest = digest, .last_log = time(NULL)};
        uint64_t offset = 0;
        int r;

        if (store_blob_exists(im->store, digest, NULL))
                return 0;
        r = store_ingest_open(im->store, digest, size, true, &sink.ingest, &offset, err, err_size);
        if (r == -EEXIST)
                return 0;
        if (r < 0)
                return r;
        if (offset > 0)
                log_info("resuming blob", "digest=%s offset=%" PRIu64, digest, offset);
        struct registry_blob_request req = {
            .digest = digest,
            .offset = offset,
            .expected_size = size,
            .sink = sink_write,
            .progress = sink_progress,
            .userdata = &sink,
        };
        r = registry_get_blob(im->client, ep, repo, &req, creds, err, err_size);
        if (r < 0) {
                if (sink.err[0])
                        snprintf(err, err_size, "%s", sink.err);
                store_ingest_close(sink.ingest, true);
                return r;
        }
        return store_ingest_commit(sink.ingest, err, err_size);
}

/* Stores a document already in memory (a manifest) as a blob. */
static int store_bytes(struct images *im, const char *digest, const void *buf, size_t len,
                       char *err, size_t err_size)
{
        struct store_ingest *in;
        uint64_t offset;
        int r = store_ingest_open(im->store, digest, len, true, &in, &offset, err, err_size);

        if (r == -EEXIST)
                return 0;
        if (r < 0)
                return r;
        if (offset == 0)
                r = store_ingest_write(in, buf, len, err, err_size);
        if (r < 0) {
                store_ingest_close(in, false);
                return r;
        }
        return store_ingest_commit(in, err, err_size);
}

static void unpack_slot_take(struct images *im)
{
        pthread_mutex_lock(&im->unpack_lock);
        while (im->unpacks_in_flight >= UNPACKS_IN_FLIGHT_MAX)
                pthread_cond_wait(&im->unpack_cond, &im->unpack_lock);
        im->unpacks_in_flight++;
        pthread_mutex_unlock(&im->unpack_lock);
}

static void unpack_slot_give(struct images *im)
{
        pthread_mutex_lock(&im->unpack_lock);
        im->unpacks_in_flight--;
        pthread_cond_signal(&im->unpack_cond);
        pthread_mutex_unlock(&im->unpack_lock);
}

/* One layer downloaded, then (after its parent's request is on the
 * channel) handed to the helper; the pull's waiter collects the result, so
 * this worker goes on to the next download while the layer unpacks. */
static int pull_layer(struct pull *p, size_t i, char *err, size_t err_size)
{
        const struct manifest_descriptor *l = &p->manifest->layers[i];
        struct helper_unpack *u = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = fetch_blob(p->im, &p->ep, p->repo, p->creds, l->digest, l->size, err, err_size);
        if (r < 0)
                return r;
        if (!p->im->helper) {
                snprintf(err, err_size,
                         "brigd runs without brig-helper: layers cannot be unpacked");
                return -ENOTCONN;
        }
        fd = store_blob_open(p->im->store, l->digest);
        if (fd < 0) {
                snprintf(err, err_size, "cannot open layer blob %s: %s", l->digest, strerror(-fd));
                return fd;
        }

        pthread_mutex_lock(&p->lock);
        while (p->sent < i && !p->error)
                pthread_cond_wait(&p->cond, &p->lock);
        if (p->error) {
                pthread_mutex_unlock(&p->lock);
                return -ECANCELED;
        }
        /* Not holding the lock while waiting for a slot: the waiters that
         * give slots back take it. Layer i+1's worker still waits for this
         * one, as sent stays i until the send. */
        pthread_mutex_unlock(&p->lock);
        unpack_slot_take(p->im);
        pthread_mutex_lock(&p->lock);
        r = helper_client_unpack_send(p->im->helper, p->call_id, p->chain_ids[i],
                                      i > 0 ? p->chain_ids[i - 1] : NULL, p->diff_ids[i],
                                      l->media_type, fd, &u, err, err_size);
        if (r == 0) {
                p->pending[i] = u;
                p->sent = i + 1;
        } else {
                unpack_slot_give(p->im);
        }
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        return r;
}

/* Collects the UNPACK results in layer order, each as soon as it is sent
 * and done, until every sent request has its answer. */
static void *unpack_waiter(void *arg)
{
        struct pull *p = arg;
        char err[1024];

        for (size_t i = 0; i < p->manifest->n_layers; i++) {
                struct helper_unpack_result res;
                struct helper_unpack *u;
                int r;

                pthread_mutex_lock(&p->lock);
                while (p->sent <= i && !p->sending_done)
                        pthread_cond_wait(&p->cond, &p->lock);
                u = p->sent > i ? p->pending[i] : NULL;
                p->pending[i] = NULL;
                pthread_mutex_unlock(&p->lock);
                if (!u)
                        return NULL;

                err[0] = '\0';
                r = helper_client_unpack_wait(u, &res, err, sizeof(err));
                unpack_slot_give(p->im);
                if (r < 0) {
                        pull_fail(p, r, err);
                        continue;
                }
                p->unpacked[i] = res;
                log_info(res.existed ? "layer already present" : "layer unpacked",
                         "call=%" PRIu64 " chain_id=%s digest=%s bytes=%" PRIu64 " entries=%" PRIu64
                         " skipped=%" PRIu64,
                         p->call_id, p->chain_ids[i], p->manifest->layers[i].digest, res.bytes,
                         res.entries, res.skipped);
        }
        return NULL;
}

static void *layer_worker(void *arg)
{
        struct pull *p = arg;
        char err[1024];

        for (;;) {
                size_t i;
                int r;

                pthread_mutex_lock(&p->lock);
                i = p->next;
                if (p->error || i >= p->manifest->n_layers) {
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                p->next++;
                pthread_mutex_unlock(&p->lock);

                err[0] = '\0';
                r = pull_layer(p, i, err, sizeof(err));
                if (r < 0 && r != -ECANCELED)
                        pull_fail(p, r, err);
        }
}

/* Downloads every layer with up to max_concurrent_downloads threads and
 * has the helper unpack each; one more thread collects the results. Returns
 * 0 or the first failure, its message in err. */
static int pull_layers(struct pull *p, char *err, size_t err_size)
{
        size_t n = p->manifest->n_layers;
        size_t n_workers = p->im->config->max_concurrent_downloads;
        pthread_t workers[16], waiter;
        size_t started = 0;
        bool waiting = false;
        int r;

        if (n_workers > ARRAY_SIZE(workers))
                n_workers = ARRAY_SIZE(workers);
        if (n_workers > n)
                n_workers = n;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        if (n > 0 && pthread_create(&waiter, NULL, unpack_waiter, p) == 0)
                waiting = true;
        for (; waiting && started < n_workers; started++)
                if (pthread_create(&workers[started], NULL, layer_worker, p) != 0)
                        break;
        if (started == 0 && n > 0)
                pull_fail(p, -EAGAIN, "cannot start a download thread");
        for (size_t i = 0; i < started; i++)
                pthread_join(workers[i], NULL);
        pthread_mutex_lock(&p->lock);
        p->sending_done = true;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        if (waiting)
                pthread_join(waiter, NULL);
        r = p->error;
        if (r < 0)
                snprintf(err, err_size, "%s", p->err);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        return r;
}

/* Fetches, verifies and stores the manifest reference names in repo. When
 * expected is set (a reference by digest) the document must hash to it;
 * otherwise its sha256 is computed. */
static int fetch_manifest(struct images *im, const struct registry_endpoint *ep, const char *repo,
                          const char *reference, const char *expected,
                          const struct registry_creds *creds, struct manifest **ret,
                          char digest[static DIGEST_STRING_MAX + 1], char *err, size_t err_size)
{
        struct registry_manifest rm = {0};
        int r;

        r = registry_get_manifest(im->client, ep, repo, reference, creds, &rm, err, err_size);
        if (r < 0)
                return r;
        if (expected) {
                r = manifest_verify_digest(rm.body, rm.size, expected, err, err_size);
                snprintf(digest, DIGEST_STRING_MAX + 1, "%s", expected);
        } else {
                r = digest_buffer(DIGEST_SHA256, rm.body, rm.size, digest);
        }
        if (r == 0)
                r = manifest_parse(rm.media_type, rm.body, rm.size, ret, err, err_size);
        if (r == 0) {
                r = store_bytes(im, digest, rm.body, rm.size, err, err_size);
                if (r < 0)
                        manifest_free(*ret);
        }
        registry_manifest_free(&rm);
        return r;
}

/* The image manifest for this machine: an index is resolved to its entry
 * for the host's platform. top is the digest the reference points at (an
 * index's, if it is one): the image's repo digest. */
static int resolve_manifest(struct images *im, const struct registry_endpoint *ep, const char *repo,
                            const struct imageref *ref, const struct registry_creds *creds,
                            struct manifest **ret, char top[static DIGEST_STRING_MAX + 1],
                            char image_digest[static DIGEST_STRING_MAX + 1], char *err,
                            size_t err_size)
{
        struct manifest *m = NULL, *child = NULL;
        struct manifest_platform host;
        const struct manifest_descriptor *d;
        int r;

        r = fetch_manifest(im, ep, repo, ref->digest[0] ? ref->digest : ref->tag,
                           ref->digest[0] ? ref->digest : NULL, creds, &m, top, err, err_size);
        if (r < 0)
                return r;
        if (!manifest_is_index(m)) {
                snprintf(image_digest, DIGEST_STRING_MAX + 1, "%s", top);
                *ret = m;
                return 0;
        }
        r = manifest_host_platform(&host);
        if (r == 0)
                r = manifest_select(m, host.os, host.architecture,
                                    host.variant[0] ? host.variant : NULL, &d, err, err_size);
        if (r == 0) {
                snprintf(image_digest, DIGEST_STRING_MAX + 1, "%s", d->digest);
                r = fetch_manifest(im, ep, repo, d->digest, d->digest, creds, &child, image_digest,
                                   err, err_size);
        }
        manifest_free(m);
        if (r < 0)
                return r;
        if (manifest_is_index(child)) {
                manifest_free(child);
                snprintf(err, err_size, "index entry %s is itself an index", image_digest);
                return -ENOTSUP;
        }
        *ret = child;
        return 0;
}

static int push_name(char ***names, size_t *n, const char *name)
{
        char **grown = realloc(*names, (*n + 1) * sizeof(**names));

        if (!grown)
                return -ENOMEM;
        *names = grown;
        grown[*n] = strdup(name);
        if (!grown[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

static void free_names(char **names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* The record of a pulled image. */
static int put_record(struct images *im, const struct imageref *ref, const char *top,
                      const char *image_digest, const struct manifest *m,
                      const struct image_config *cfg, char (*chain_ids)[DIGEST_STRING_MAX + 1],
                      const struct helper_unpack_result *unpacked, char *err, size_t err_size)
{
        struct store_image img = {0};
        char name[IMAGEREF_STRING_MAX], with_digest[IMAGEREF_STRING_MAX + DIGEST_STRING_MAX + 2];
        char username[256] = "";
        int r = 0;

        snprintf(img.id, sizeof(img.id), "%s", m->config.digest);
        snprintf(img.config_digest, sizeof(img.config_digest), "%s", m->config.digest);
        snprintf(img.manifest_digest, sizeof(img.manifest_digest), "%s", image_digest);
        snprintf(img.manifest_media_type, sizeof(img.manifest_media_type), "%s", m->media_type);
        if (imageref_format_tagged(ref, name, sizeof(name)) >= 0)
                r = push_name(&img.repo_tags, &img.n_repo_tags, name);
        if (r == 0 && imageref_format_name(ref, name, sizeof(name)) >= 0) {
                snprintf(with_digest, sizeof(with_digest), "%s@%s", name, top);
                r = push_name(&img.repo_digests, &img.n_repo_digests, with_digest);
        }
        img.layers = calloc(m->n_layers ? m->n_layers : 1, sizeof(*img.layers));
        if (r == 0 && !img.layers)
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < m->n_layers; i++) {
                struct store_layer *l = &img.layers[i];
                snprintf(l->digest, sizeof(l->digest), "%s", m->layers[i].digest);
                snprintf(l->media_type, sizeof(l->media_type), "%s", m->layers[i].media_type);
                l->size = m->layers[i].size;
                snprintf(l->diff_id, sizeof(l->diff_id), "%s", cfg->diff_ids[i]);
                snprintf(l->chain_id, sizeof(l->chain_id), "%s", chain_ids[i]);
                l->unpacked_bytes = unpacked[i].bytes;
                l->unpacked_inodes = unpacked[i].entries;
                img.size += l->size;
        }
        img.n_layers = m->n_layers;
        img.size += m->config.size;
        img.pulled_at = (int64_t)time(NULL);
        image_config_user(cfg->user, &img.has_uid, &img.uid, username, sizeof(username));
        img.username = img.has_uid ? NULL : username;
        if (r == 0)
                r = store_image_put(im->store, &img, err, err_size);
        else
                snprintf(err, err_size, "out of memory");
        free_names(img.repo_tags, img.n_repo_tags);
        free_names(img.repo_digests, img.n_repo_digests);
        free(img.layers);
        return r;
}

/* Pulls ref from one source. Returns 0 with the image id in id. */
static int pull_from(struct images *im, const struct imageref *ref, const struct pull_source *src,
                     const struct registry_creds *creds, uint64_t call_id,
                     char id[static DIGEST_STRING_MAX + 1], char *err, size_t err_size)
{
        struct pull p = {
            .im = im,
            .ep = {.host = src->host,
                   .insecure = src->insecure,
                   .certs_dir = im->config->registry_certs_dir},
            .repo = src->path,
            .creds = creds,
            .call_id = call_id,
        };
        struct manifest *m = NULL;
        struct image_config *cfg = NULL;
        char top[DIGEST_STRING_MAX + 1], image_digest[DIGEST_STRING_MAX + 1];
        char(*chain_ids)[DIGEST_STRING_MAX + 1] = NULL;
        _cleanup_free_ char *cfg_buf = NULL;
        size_t cfg_len = 0;
        int r;

        r = resolve_manifest(im, &p.ep, p.repo, ref, creds, &m, top, image_digest, err, err_size);
        if (r < 0)
                goto out;
        r = fetch_blob(im, &p.ep, p.repo, creds, m->config.digest, m->config.size, err, err_size);
        if (r == 0)
                r = store_blob_read(im->store, m->config.digest, CONFIG_MAX, &cfg_buf, &cfg_len,
                                    err, err_size);
        if (r == 0)
                r = image_config_parse(cfg_buf, cfg_len, &cfg, err, err_size);
        if (r == 0)
                r = image_config_check_layers(cfg, m->n_layers, err, err_size);
        if (r == 0) {
                chain_ids = calloc(m->n_layers ? m->n_layers : 1, sizeof(*chain_ids));
                r = chain_ids ? digest_chain_ids((const char *const *)cfg->diff_ids,
                                                 cfg->n_diff_ids, chain_ids, err, err_size)
                              : -ENOMEM;
        }
        if (r < 0)
                goto out;

        p.unpacked = calloc(m->n_layers ? m->n_layers : 1, sizeof(*p.unpacked));
        p.pending = calloc(m->n_layers ? m->n_layers : 1, sizeof(*p.pending));
        if (!p.unpacked || !p.pending) {
                r = -ENOMEM;
                goto out;
        }
        p.manifest = m;
        p.diff_ids = (const char *const *)cfg->diff_ids;
        p.chain_ids = chain_ids;
        pthread_rwlock_rdlock(&im->layers_lock);
        r = pull_layers(&p, err, err_size);
        if (r == 0)
                r = put_record(im, ref, top, image_digest, m, cfg, chain_ids, p.unpacked, err,
                               err_size);
        pthread_rwlock_unlock(&im->layers_lock);
        if (r == 0)
                snprintf(id, DIGEST_STRING_MAX + 1, "%s", m->config.digest);
out:
        free(p.pending);
        free(p.unpacked);
        free(chain_ids);
        image_config_free(cfg);
        manifest_free(m);
        /* The registry wants credentials and got none: UNAUTHENTICATED, not
         * the PERMISSION_DENIED of credentials it refused. */
        if (r == -EACCES && registry_creds_empty(creds))
                r = -EPERM;
        return r;
}

/* Tries each source of ref in order (mirrors, then the registry). */
static int pull_ref(struct images *im, const struct registries_conf *conf,
                    const struct imageref *ref, const struct registry_creds *creds,
                    uint64_t call_id, char id[static DIGEST_STRING_MAX + 1], char *err,
                    size_t err_size)
{
        _cleanup_free_ struct pull_source *sources = NULL;
        size_t n = 0;
        int r = registries_pull_sources(conf, ref, &sources, &n, err, err_size);

        for (size_t i = 0; r == 0 && i < n; i++) {
                r = pull_from(im, ref, &sources[i], creds, call_id, id, err, err_size);
                if (r < 0 && i + 1 < n) {
                        log_warn(
                            "pull from a source failed; trying the next",
                            "call=%" PRIu64 " host=%s repo=%s mirror=%d errno=%d reason=\"%s\"",
                            call_id, sources[i].host, sources[i].path, sources[i].mirror, -r, err);
                        r = 0;
                        continue;
                }
                break;
        }
        return r;
}

int images_pull(struct images *im, const char *image, const struct registry_auth_config *auth,
                uint64_t call_id, char image_ref[static DIGEST_STRING_MAX + 1], char *err,
                size_t err_size)
{
        _cleanup_(registries_freep) struct registries_conf *conf = NULL;
        _cleanup_free_ struct imageref *cands = NULL;
        struct registry_creds creds = {0};
        static const struct registry_auth_config anonymous;
        char reason[1024] = "", name[IMAGEREF_STRING_MAX];
        size_t n = 0;
        int r;

        r = registry_creds_from_auth_config(auth ? auth : &anonymous, &creds, reason,
                                            sizeof(reason));
        if (r == 0)
                r = load_registries(im, &conf, reason, sizeof(reason));
        if (r == 0)
                r = candidates(conf, image, &cands, &n, reason, sizeof(reason));
        for (size_t i = 0; r == 0 && i < n; i++) {
                imageref_format(&cands[i], name, sizeof(name));
                log_info("pulling image", "call=%" PRIu64 " image=\"%s\" ref=%s", call_id, image,
                         name);
                r = pull_ref(im, conf, &cands[i], &creds, call_id, image_ref, reason,
                             sizeof(reason));
                /* Another search registry may have it: only "not there" moves on. */
                if (r == -ENOENT && i + 1 < n) {
                        r = 0;
                        continue;
                }
                break;
        }
        registry_creds_clear(&creds);
        if (r < 0) {
                snprintf(err, err_size, "pulling image \"%s\": %s", image, reason);
                return r;
        }
        log_info("image pulled", "call=%" PRIu64 " image=\"%s\" id=%s", call_id, image, image_ref);
        return 0;
}

/* ---- finding, listing, removing ----------------------------------------- */

static bool all_hex(const char *s)
{
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

int images_find(struct images *im, const char *image, struct store_image **ret, char *err,
                size_t err_size)
{
        _cleanup_(registries_freep) struct registries_conf *conf = NULL;
        _cleanup_free_ struct imageref *cands = NULL;
        struct imageref ref;
        char name[IMAGEREF_STRING_MAX];
        size_t n = 0;
        int r;

        if (!image || !image[0]) {
                snprintf(err, err_size, "no image given");
                return -EINVAL;
        }
        /* An id, or what may be an id prefix, before names: a reference
         * cannot look like one (imageref refuses 64 hex as a name). */
        if (strncmp(image, "sha256:", 7) == 0 || (strlen(image) >= 12 && all_hex(image))) {
                r = store_image_get(im->store, image, ret, err, err_size);
                if (r != -ENOENT || strncmp(image, "sha256:", 7) == 0)
                        return r;
        }
        if (imageref_parse(image, &ref, err, err_size) < 0) {
                r = store_image_get(im->store, image, ret, err, err_size);
                return r == -ENOENT ? -EINVAL : r;
        }
        r = load_registries(im, &conf, err, err_size);
        if (r == 0) {
                /* For a lookup every candidate is fine: nothing is pulled. */
                conf->short_name_mode = SHORT_NAME_PERMISSIVE;
                r = candidates(conf, image, &cands, &n, err, err_size);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (cands[i].digest[0])
                        r = imageref_format_digested(&cands[i], name, sizeof(name));
                else
                        r = imageref_format_tagged(&cands[i], name, sizeof(name));
                if (r >= 0 && store_image_get(im->store, name, ret, err, err_size) == 0)
                        return 0;
        }
        snprintf(err, err_size, "image \"%s\" not found", image);
        return -ENOENT;
}

int images_list(struct images *im, struct store_image ***ret, size_t *ret_n)
{
        int r = store_image_list(im->store, ret, ret_n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < *ret_n; i++)
                (*ret)[i]->pinned = images_is_pinned(im, (*ret)[i]);
        return 0;
}

int images_remove(struct images *im, const char *image, uint64_t call_id, char *err,
                  size_t err_size)
{
        struct store_image *img = NULL;
        struct store_unref unref = {0};
        char reason[512];
        int r = images_find(im, image, &img, err, err_size);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        pthread_rwlock_wrlock(&im->layers_lock);
        r = store_image_remove(im->store, img->id, &unref, err, err_size);
        for (size_t i = 0; r == 0 && i < unref.n_chain_ids; i++) {
                if (!im->helper)
                        break;
                int e = helper_client_remove_layer(im->helper, call_id, unref.chain_ids[i], reason,
                                                   sizeof(reason));
                if (e < 0)
                        log_warn("cannot remove a layer; it stays until the next removal",
                                 "call=%" PRIu64 " chain_id=%s reason=\"%s\"", call_id,
                                 unref.chain_ids[i], reason);
        }
        pthread_rwlock_unlock(&im->layers_lock);
        for (size_t i = 0; r == 0 && i < unref.n_blobs; i++)
                store_blob_delete(im->store, unref.blobs[i]);
        if (r == 0)
                log_info("image removed", "call=%" PRIu64 " image=\"%s\" id=%s layers=%zu", call_id,
                         image, img->id, unref.n_chain_ids);
        store_unref_done(&unref);
        store_image_free(img);
        return r;
}

/* The mount point of the filesystem holding path: the longest mount point
 * in /proc/self/mountinfo that is a prefix of it on a component boundary. */
static void mountpoint_of(const char *path, char *out, size_t size)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[8192];
        size_t best = 0;

        snprintf(out, size, "/");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char mnt[4096];
                /* id parent major:minor root mountpoint ... */
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
                        continue;
                size_t len = strlen(mnt);
                bool prefix = strncmp(path, mnt, len) == 0 &&
                              (path[len] == '/' || path[len] == '\0' || strcmp(mnt, "/") == 0);
                if (prefix && len >= best) {
                        best = len;
                        snprintf(out, size, "%s", mnt);
                }
        }
}

int images_usage(struct images *im, struct images_usage *ret)
{
        uint64_t layer_bytes, layer_inodes;
        int r = store_usage(im->store, &ret->bytes, &ret->inodes);

        if (r < 0)
                return r;
        store_layers_usage(im->store, &layer_bytes, &layer_inodes);
        ret->bytes += layer_bytes;
        ret->inodes += layer_inodes;
        mountpoint_of(im->config->root, ret->mountpoint, sizeof(ret->mountpoint));
        return 0;
}

int images_read_config(struct images *im, const struct store_image *img, char **ret,
                       size_t *ret_len, char *err, size_t err_size)
{
        return store_blob_read(im->store, img->config_digest, CONFIG_MAX, ret, ret_len, err,
                               err_size);
}
